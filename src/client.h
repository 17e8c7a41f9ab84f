/*
 * client.h — the creatorapi.Client userdata: config, request/batch/close.
 *
 * Lifecycle: the userdata is created zeroed with its complete metatable
 * (__gc present at setmetatable time, pitfall 8); curl resources are
 * acquired only afterwards, so a failure half-way is still collected.
 * close(), __gc and __close (5.4) share one idempotent close.
 */
#ifndef CRA_CLIENT_H
#define CRA_CLIENT_H

#include "compat.h"

#define CRA_CLIENT_MT "creatorapi.Client"

/* Registers the Client metatable (or refreshes it on re-require) and adds
 * `client` to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_client_open(lua_State *L);

#endif /* CRA_CLIENT_H */
