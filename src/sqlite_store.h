/*
 * sqlite_store.h — core.sqlite_store(path): a file-backed key → value store
 * with expiry (libsqlite3), for the paid-answer cache on machines without Redis.
 */
#ifndef CRA_SQLITE_STORE_H
#define CRA_SQLITE_STORE_H

#include "compat.h"

/* Adds sqlite_store to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_sqlite_store_open(lua_State *L);

#endif /* CRA_SQLITE_STORE_H */
