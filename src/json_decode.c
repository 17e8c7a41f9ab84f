/*
 * json_decode.c — JSON text -> Lua values: the entry point and the module
 * fields.
 *
 * Owns: cra_json_decode, cra_json_open (module fields json_decode, null,
 * array_mt; json_encode comes from json_encode.c).
 *
 * Two decoders, one contract (docs/json.md): every text goes first to the
 * simdjson fast path (json_simd.cpp), which accepts valid documents only and
 * builds their values; whatever it declines goes to the yajl decoder
 * (json_yajl.c), which words the error with its byte offset, or decodes the
 * few valid texts simdjson cannot hold. Both give the same values.
 */
#include <limits.h>

#include "json.h"

CRA_HIDDEN int cra_json_decode(lua_State *L, const char *text, size_t len,
                               int max_depth) {
  int md = max_depth < 0 ? 0 : max_depth > CRA_JSON_DEPTH_CAP ? CRA_JSON_DEPTH_CAP : max_depth;
  if (cra_json_decode_simd(L, text, len, md)) return 1;
  return cra_json_decode_yajl(L, text, len, max_depth);
}

/* ------------------------------------------------------------------------ */
/* Lua functions and registration                                           */
/* ------------------------------------------------------------------------ */

typedef int (*cra_decoder_fn)(lua_State *L, const char *text, size_t len, int max_depth);

/* (s [, max_depth]) -> value | nil, msg */
static int decode_args(lua_State *L, cra_decoder_fn fn) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_Integer md = luaL_optinteger(L, 2, CRA_JSON_MAX_DEPTH);
  luaL_argcheck(L, md >= 0 && md < INT_MAX, 2, "max_depth out of range");
  lua_settop(L, 2);
  if (fn(L, s, len, (int)md)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

/* core.json_decode(s [, max_depth]) -> value | nil, msg */
static int l_json_decode(lua_State *L) { return decode_args(L, cra_json_decode); }

/* core._json_decode_yajl(s [, max_depth]): the yajl decoder alone, for the
 * specs (both decoders must agree) and bench/json_bench.lua. Not public. */
static int l_json_decode_yajl(lua_State *L) { return decode_args(L, cra_json_decode_yajl); }

CRA_HIDDEN void cra_json_open(lua_State *L) {
  int t = cra_absindex(L, -1);
  luaL_checkstack(L, 4, "json");

  cra_json_yajl_open(L);

  /* The array metatable, shared by decoder and encoder. luaL_newmetatable
   * sets __name on 5.3+; set it ourselves for 5.1/LuaJIT. */
  luaL_newmetatable(L, CRA_JSON_ARRAY_MT);
  lua_pushliteral(L, CRA_JSON_ARRAY_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, t, "array_mt");

  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, t, "null");

  lua_pushcfunction(L, l_json_decode);
  lua_setfield(L, t, "json_decode");
  lua_pushcfunction(L, l_json_decode_yajl);
  lua_setfield(L, t, "_json_decode_yajl");
  lua_pushcfunction(L, cra_json_key_cache_stats);
  lua_setfield(L, t, "_json_key_cache");

  cra_json_encode_open(L);
  cra_json_text_open();
}
