/*
 * sqlite_store.c — core.sqlite_store(path): key → value with expiry in one
 * SQLite file (Debian libsqlite3-dev), shared by the processes of one machine.
 *
 *   local s, err = core.sqlite_store("/var/cache/creatorapi.sqlite")
 *   s:set(key, value, ttl_seconds)  → true | nil, msg
 *   s:get(key)                      → value | nil (missing or expired) | nil, msg
 *   s:close()                       -- also __gc / __close; idempotent
 *
 * WAL journal and a 2 s busy timeout, so several processes can read and write
 * the file at once. Expiry times are SQLite's clock (unixepoch, fractional).
 * Blocking file I/O: not for OpenResty handlers. No callbacks into Lua; every
 * statement is reset before use, so a memory error while pushing a value
 * leaves nothing behind that the next call or __gc does not clean up.
 */
#include <string.h>

#include <sqlite3.h>

#include "sqlite_store.h"

#define CRA_SQLITE_MT "creatorapi.SqliteStore"
#define CRA_NOW "((julianday('now') - 2440587.5) * 86400.0)"

typedef struct cra_sqlite {
  sqlite3 *db;
  sqlite3_stmt *get, *set, *sweep;
  unsigned sets;
} cra_sqlite_t;

static void cra_sqlite_release(cra_sqlite_t *s) {
  if (s->get) sqlite3_finalize(s->get);
  if (s->set) sqlite3_finalize(s->set);
  if (s->sweep) sqlite3_finalize(s->sweep);
  s->get = s->set = s->sweep = NULL;
  if (s->db) sqlite3_close_v2(s->db);
  s->db = NULL;
}

static cra_sqlite_t *cra_check_sqlite(lua_State *L) {
  return (cra_sqlite_t *)luaL_checkudata(L, 1, CRA_SQLITE_MT);
}

static int cra_sqlite_fail(lua_State *L, cra_sqlite_t *s, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "sqlite %s: %s", what, s->db ? sqlite3_errmsg(s->db) : "closed");
  return 2;
}

static int cra_sqlite_closed(lua_State *L) {
  lua_pushnil(L);
  lua_pushliteral(L, "sqlite store closed");
  return 2;
}

/* s:get(key) */
static int cra_sqlite_get(lua_State *L) {
  cra_sqlite_t *s = cra_check_sqlite(L);
  size_t klen;
  const char *k = luaL_checklstring(L, 2, &klen);
  int rc;
  if (!s->db) return cra_sqlite_closed(L);
  sqlite3_reset(s->get);
  sqlite3_bind_text(s->get, 1, k, (int)klen, SQLITE_STATIC);
  rc = sqlite3_step(s->get);
  if (rc == SQLITE_ROW) {
    const void *v = sqlite3_column_blob(s->get, 0);
    int n = sqlite3_column_bytes(s->get, 0);
    lua_pushlstring(L, v ? (const char *)v : "", (size_t)n);
    sqlite3_reset(s->get);
    return 1;
  }
  sqlite3_reset(s->get);
  if (rc == SQLITE_DONE) {
    lua_pushnil(L);
    return 1;
  }
  return cra_sqlite_fail(L, s, "get");
}

/* s:set(key, value, ttl) */
static int cra_sqlite_set(lua_State *L) {
  cra_sqlite_t *s = cra_check_sqlite(L);
  size_t klen, vlen;
  const char *k = luaL_checklstring(L, 2, &klen);
  const char *v = luaL_checklstring(L, 3, &vlen);
  double ttl = luaL_checknumber(L, 4);
  int rc;
  luaL_argcheck(L, ttl > 0, 4, "ttl must be > 0 seconds");
  if (!s->db) return cra_sqlite_closed(L);
  sqlite3_reset(s->set);
  sqlite3_bind_text(s->set, 1, k, (int)klen, SQLITE_STATIC);
  sqlite3_bind_blob(s->set, 2, v, (int)vlen, SQLITE_STATIC);
  sqlite3_bind_double(s->set, 3, ttl);
  rc = sqlite3_step(s->set);
  sqlite3_reset(s->set);
  if (rc != SQLITE_DONE) return cra_sqlite_fail(L, s, "set");
  if (++s->sets % 256 == 0) { /* drop expired entries now and then */
    sqlite3_reset(s->sweep);
    sqlite3_step(s->sweep);
    sqlite3_reset(s->sweep);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int cra_sqlite_close(lua_State *L) {
  cra_sqlite_release(cra_check_sqlite(L));
  return 0;
}

static int cra_sqlite_tostring(lua_State *L) {
  cra_sqlite_t *s = cra_check_sqlite(L);
  lua_pushfstring(L, "creatorapi.SqliteStore (%s): %p", s->db ? "open" : "closed", (void *)s);
  return 1;
}

/* core.sqlite_store(path) → store | nil, msg */
static int cra_sqlite_new(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  cra_sqlite_t *s = (cra_sqlite_t *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  luaL_getmetatable(L, CRA_SQLITE_MT);
  lua_setmetatable(L, -2);
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    return cra_sqlite_fail(L, s, "open");
  }
  sqlite3_busy_timeout(s->db, 2000);
  if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS creatorapi_store (k TEXT PRIMARY KEY, v BLOB NOT NULL,"
                   " expires REAL NOT NULL)", NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "SELECT v FROM creatorapi_store WHERE k = ?1 AND expires > " CRA_NOW,
                         -1, &s->get, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO creatorapi_store (k, v, expires) VALUES (?1, ?2, "
                         CRA_NOW " + ?3)", -1, &s->set, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "DELETE FROM creatorapi_store WHERE expires <= " CRA_NOW,
                         -1, &s->sweep, NULL) != SQLITE_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "sqlite open %s: %s", path, sqlite3_errmsg(s->db));
    cra_sqlite_release(s);
    return 2;
  }
  return 1;
}

void cra_sqlite_store_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"get", cra_sqlite_get},
    {"set", cra_sqlite_set},
    {"close", cra_sqlite_close},
    {NULL, NULL}
  };
  luaL_newmetatable(L, CRA_SQLITE_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_sqlite_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, cra_sqlite_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, cra_sqlite_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, CRA_SQLITE_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_sqlite_new);
  lua_setfield(L, -2, "sqlite_store");
}
