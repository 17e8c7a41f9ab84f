/*
 * fuzz_http_response.c — libFuzzer target for core.http_response
 * (src/http_response.c on libhttp-parser).
 *
 * Input: byte 0 picks the feed stride (1..16), byte 1 max_body (0..255 bytes
 * × 4), the rest is an HTTP answer. Oracle (differential, from
 * docs/internals.md): feeding the bytes in one piece and in stride-sized
 * pieces, all of them even after "done" (then feed_eof when "more"), gives the same outcome — result, kind,
 * status(), keep_alive(), too_big(), and after "done" headers() and body()
 * (after an error they hold whatever was accepted so far); errors are sticky
 * (one more feed repeats the error); a body never exceeds max_body. Then the
 * same job with a Lua allocation failing: either the same outcome or a
 * memory error, never a crash or a leak.
 */
#include "fuzz_common.h"

#include <lualib.h>

#include "../src/http_response.h"

static const char *const fz_chunk =
  "local hr, data, stride, max = ...\n"
  "local function run(step)\n"
  "  local p = hr(max)\n"
  "  local r, k, m\n"
  "  if step == 0 then r, k, m = p:feed(data)\n"
  "  else for i = 1, #data, step do\n"
  "    r, k, m = p:feed(data:sub(i, i + step - 1)); if r == nil then break end end end\n"
  "  if r == 'more' or (r == nil and k == nil) then r, k, m = p:feed_eof() end\n"
  "  if r == nil then\n"
  "    local r2, k2, m2 = p:feed('x')\n"
  "    assert(r2 == nil and k2 == k and m2 == m, 'error not sticky')\n"
  "  end\n"
  "  assert(#p:body() <= max, 'body over max_body')\n"
  "  local done = r == 'done'\n"
  "  return { r = r, k = k, m = m, s = p:status(), h = done and p:headers(), b = done and p:body(),\n"
  "    ka = p:keep_alive(), big = p:too_big() }\n"
  "end\n"
  "return run(0), run(stride)\n";

typedef struct { const uint8_t *d; size_t n; } fz_input;

/* Runs under lua_pcall, so an allocation failure anywhere is a Lua error. */
static int fz_body(lua_State *L) {
  const fz_input *in = (const fz_input *)lua_touserdata(L, 1);
  lua_newtable(L);
  cra_http_response_open(L);
  if (luaL_loadstring(L, fz_chunk) != LUA_OK) return lua_error(L);
  lua_getfield(L, -2, "http_response");
  lua_pushlstring(L, (const char *)in->d + 2, in->n - 2);
  lua_pushinteger(L, 1 + in->d[0] % 16);
  lua_pushinteger(L, (lua_Integer)in->d[1] * 4);
  lua_call(L, 4, 2);
  return 2;
}

static int fz_run(lua_State *L, const uint8_t *d, size_t n) {
  fz_input in;
  in.d = d;
  in.n = n;
  lua_pushcfunction(L, fz_body); /* a light C function: no allocation */
  lua_pushlightuserdata(L, &in);
  return lua_pcall(L, 1, 2, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
  fz_alloc_t a;
  lua_State *L;
  int st;
  if (n < 2) return 0;
  L = fz_state(&a);
  luaL_openlibs(L);
  st = fz_run(L, d, n);
  FZ_CHECK(st == LUA_OK, "%s", lua_tostring(L, -1));
  FZ_CHECK(fz_equal(L, -1, -2), "whole and split feeds differ (stride %d)", 1 + d[0] % 16);
  lua_close(L);

  L = fz_state(&a);
  luaL_openlibs(L);
  fz_arm(&a, (long long)(fz_hash(d, n) % 64));
  st = fz_run(L, d, n);
  fz_disarm(&a);
  FZ_CHECK(st == LUA_OK || fz_is_memerr(L, st), "failed without a memory error: %s",
           lua_tostring(L, -1));
  lua_close(L);
  return 0;
}
