/*
 * hmac.h — HMAC-SHA256 and SHA-256 through libcrypto, and a constant-time
 * string compare, for webhook signature checks in the Lua layer.
 */
#ifndef CRA_HMAC_H
#define CRA_HMAC_H

#include "compat.h"

/* Adds hmac_sha256, sha256, constant_time_equal to the table on top.
 * stack: [-0, +0] */
CRA_HIDDEN void cra_hmac_open(lua_State *L);

#endif /* CRA_HMAC_H */
