/*
 * compat.h — the few Lua C API differences between 5.1/LuaJIT and 5.3/5.4.
 *
 * Every helper here is `static inline` with a `cra_` prefix: we never define a
 * `lua_*` or `luaL_*` symbol ourselves, so nothing can clash with LuaJIT's own
 * 5.2 extensions or another module's copy of lua-compat-5.3 (LuaJIT #325,
 * luasocket #214, Lua-cURL #77). Debian's compat-5.3 0.7 refuses Lua 5.4, so it
 * is not used at all.
 *
 * Integers: on 5.3+ Lua integers are exact 64-bit. On 5.1/LuaJIT every number
 * is a double; `cra_isinteger` then means "integral and within ±2^53".
 */
#ifndef CRA_COMPAT_H
#define CRA_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if defined(__GNUC__)
#define CRA_HIDDEN __attribute__((visibility("hidden")))
#define CRA_UNUSED __attribute__((unused))
#else
#define CRA_HIDDEN
#define CRA_UNUSED
#endif

#if LUA_VERSION_NUM >= 503
#define CRA_HAS_INTEGERS 1
#else
#define CRA_HAS_INTEGERS 0
#endif

/* stack: [-0, +0] */
static inline int cra_absindex(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 502
  return lua_absindex(L, idx);
#else
  return (idx > 0 || idx <= LUA_REGISTRYINDEX) ? idx : lua_gettop(L) + idx + 1;
#endif
}

static inline size_t cra_rawlen(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 502
  return (size_t)lua_rawlen(L, idx);
#else
  return (size_t)lua_objlen(L, idx);
#endif
}

/* True when the value at idx is a number with an exact integer value. */
static inline int cra_isinteger(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 503
  return lua_isinteger(L, idx);
#else
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  {
    lua_Number n = lua_tonumber(L, idx);
    return n >= -9007199254740992.0 && n <= 9007199254740992.0 &&
           n == (lua_Number)(long long)n;
  }
#endif
}

static inline long long cra_tointeger(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 503
  return (long long)lua_tointeger(L, idx);
#else
  return (long long)lua_tonumber(L, idx);
#endif
}

/* Pushes a 64-bit integer; on 5.1/LuaJIT it becomes a double (exact below 2^53). */
static inline void cra_pushint64(lua_State *L, long long v) {
#if LUA_VERSION_NUM >= 503
  lua_pushinteger(L, (lua_Integer)v);
#else
  lua_pushnumber(L, (lua_Number)v);
#endif
}

/* stack: [-nup, +0] */
static inline void cra_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
#if LUA_VERSION_NUM >= 502
  luaL_setfuncs(L, l, nup);
#else
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
#endif
}

/* stack: [-0, +0]; sets the metatable registered under tname on the value on top. */
static inline void cra_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}

/* Like luaL_testudata (5.2+): the userdata pointer or NULL. */
static inline void *cra_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}

/* A full userdata with no user values (5.4 allocates none; older Lua has one env). */
static inline void *cra_newuserdata(lua_State *L, size_t size) {
#if LUA_VERSION_NUM >= 504
  return lua_newuserdatauv(L, size, 0);
#else
  return lua_newuserdata(L, size);
#endif
}

#endif /* CRA_COMPAT_H */
