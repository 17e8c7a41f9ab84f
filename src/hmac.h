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

/* SHA-256 of everything in the file open at fd (pread from offset 0; the fd's
 * position is untouched). Returns 0, an errno value, or -1 (libcrypto). */
CRA_HIDDEN int cra_sha256_fd(int fd, unsigned char *md, unsigned int *mdlen);
/* Pushes the lower-case hex of a digest. stack: [-0, +1] */
CRA_HIDDEN void cra_push_sha256_hex(lua_State *L, const unsigned char *md, unsigned int mdlen);

#endif /* CRA_HMAC_H */
