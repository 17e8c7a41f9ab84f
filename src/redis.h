/*
 * redis.h — core.redis (a blocking hiredis connection), core.resp_reader
 * (hiredis's RESP reader for transports that own their sockets) and
 * core.resp_command (hiredis's command encoder).
 */
#ifndef CRA_REDIS_H
#define CRA_REDIS_H

#include "compat.h"

/* Adds redis, resp_reader and resp_command to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_redis_open(lua_State *L);

#endif /* CRA_REDIS_H */
