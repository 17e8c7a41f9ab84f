/*
 * fuzz_json.c — libFuzzer target for the JSON codec (src/json_decode.c,
 * json_simd.cpp, json_yajl.c, json_encode.c, json_dtoa.cpp through
 * src/json.h).
 *
 * Input: arbitrary bytes, decoded as one JSON text with the default
 * max_depth (1000).
 *
 * Pass 1 (unlimited memory):
 *   - cra_json_decode leaves exactly one value on the stack; on failure a
 *     message "json: ... at byte N".
 *   - for inputs that decode: the yajl decoder alone (cra_json_decode_yajl)
 *     gives an identical value (same number subtypes and bits) as the
 *     simdjson fast path.
 *   - for inputs that decode: encode(v1) must succeed (every decoded value is
 *     encodable), decode(encode(v1)) = v2 must succeed and be deep-equal to v1
 *     (numbers by value: "1.0" decodes to a float and re-encodes as "1"),
 *     and encode(v2) must be byte-identical to encode(v1) (the encoder is
 *     deterministic: sorted keys, shortest floats).
 * Pass 2 (same input, a fresh state): the same job with the k-th Lua
 *   allocation failing, k derived from the input hash and the number of
 *   allocations pass 1 made. The job must either finish with pass 1's
 *   outcome or fail with a memory error; lua_close then frees everything, so
 *   LeakSanitizer sees any C allocation (yajl handle, scratch, key cache,
 *   encoder buffers) lost on the longjmp path.
 */
#include "fuzz_common.h"

#include "../src/json.h"

#define FZ_DEPTH CRA_JSON_MAX_DEPTH

typedef struct {
  const char *data;
  size_t size;
  int decoded;           /* outcome, for comparing pass 2 with pass 1 */
  char msg[256];
} fz_json_job;

/* Deep identity of two decoded values: like fz_equal, and numbers must have
 * the same subtype and the same bits (1 vs 1.0, 0.0 vs -0.0 differ). */
static int fz_identical(lua_State *L, int a, int b) {
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != lua_type(L, b)) return 0;
  if (lua_type(L, a) == LUA_TNUMBER) {
    lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
    return lua_isinteger(L, a) == lua_isinteger(L, b) &&
           (lua_isinteger(L, a) ? lua_tointeger(L, a) == lua_tointeger(L, b)
                                : memcmp(&x, &y, sizeof x) == 0);
  }
  if (lua_type(L, a) != LUA_TTABLE) return lua_rawequal(L, a, b);
  if (!fz_equal(L, a, b)) return 0;
  luaL_checkstack(L, 4, "fz_identical");
  lua_pushnil(L);
  while (lua_next(L, a)) {
    lua_pushvalue(L, -2);
    lua_rawget(L, b);
    if (!fz_identical(L, -2, -1)) {
      lua_pop(L, 3);
      return 0;
    }
    lua_pop(L, 2);
  }
  return 1;
}

/* lua_CFunction run under lua_pcall: [job] -> () */
static int fz_json_run(lua_State *L) {
  fz_json_job *j = (fz_json_job *)lua_touserdata(L, 1);
  int top = lua_gettop(L), v1, s1, v2;
  size_t n1, n2;
  const char *e1, *e2;

  j->decoded = cra_json_decode(L, j->data, j->size, FZ_DEPTH);
  FZ_CHECK(lua_gettop(L) == top + 1, "decode pushed %d values", lua_gettop(L) - top);
  if (!j->decoded) {
    const char *m = lua_tostring(L, -1);
    FZ_CHECK(m != NULL && strncmp(m, "json: ", 6) == 0 && strstr(m, " at byte ") != NULL,
             "decode error message %s", m ? m : "(not a string)");
    snprintf(j->msg, sizeof j->msg, "%s", m);
    return 0;
  }
  v1 = top + 1;

  /* Both decoders give the same values (simdjson fast path vs yajl). */
  FZ_CHECK(cra_json_decode_yajl(L, j->data, j->size, FZ_DEPTH), "yajl rejects what simdjson took: %s",
           lua_tostring(L, -1));
  FZ_CHECK(fz_identical(L, v1, -1), "the simdjson and yajl decoders disagree on %.200s", j->data);
  lua_pop(L, 1);

  FZ_CHECK(cra_json_encode(L, v1, FZ_DEPTH), "decoded value does not re-encode: %s",
           lua_tostring(L, -1));
  s1 = lua_gettop(L);
  e1 = lua_tolstring(L, s1, &n1);
  FZ_CHECK(e1 != NULL, "encode pushed a non-string");

  FZ_CHECK(cra_json_decode(L, e1, n1, FZ_DEPTH), "re-decode of %.200s failed: %s", e1,
           lua_tostring(L, -1));
  v2 = lua_gettop(L);
  FZ_CHECK(fz_equal(L, v1, v2), "round trip changed the value; encoded: %.300s", e1);

  FZ_CHECK(cra_json_encode(L, v2, FZ_DEPTH), "second encode failed: %s", lua_tostring(L, -1));
  e2 = lua_tolstring(L, -1, &n2);
  FZ_CHECK(n1 == n2 && memcmp(e1, e2, n1) == 0,
           "encoding is not a fixed point:\n  %.300s\n  %.300s", e1, e2);
  snprintf(j->msg, sizeof j->msg, "%.*s", (int)(n1 < 200 ? n1 : 200), e1);
  lua_settop(L, top);
  return 0;
}

/* Runs the job in a fresh state; budget < 0: unlimited. Returns the number
 * of allocations the job made. */
static long long fz_json_pass(fz_json_job *j, long long budget, const fz_json_job *ref) {
  fz_alloc_t a;
  lua_State *L = fz_state(&a);
  long long start, used;
  int st;
  lua_newtable(L);
  cra_json_open(L); /* metatables: array_mt, decoder and encoder boxes */
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  start = a.count;
  if (budget >= 0) fz_arm(&a, budget);
  lua_pushcfunction(L, fz_json_run);
  lua_pushlightuserdata(L, j);
  st = lua_pcall(L, 1, 0, 0);
  used = a.count - start;
  fz_disarm(&a);
  if (budget < 0) {
    FZ_CHECK(st == LUA_OK, "unexpected Lua error: %s", lua_tostring(L, -1));
  } else if (st != LUA_OK) {
    FZ_CHECK(fz_is_memerr(L, st), "allocation %lld failed and gave a non-memory error: %s",
             budget + 1, lua_tostring(L, -1));
  } else {
    /* the job finished despite the budget: same outcome as pass 1 */
    FZ_CHECK(j->decoded == ref->decoded && strcmp(j->msg, ref->msg) == 0,
             "outcome under allocation failure %lld differs:\n  %s\n  %s", budget + 1,
             j->msg, ref->msg);
  }
  lua_close(L);
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_json_job j1, j2;
  long long used;
  memset(&j1, 0, sizeof j1);
  j1.data = (const char *)data;
  j1.size = size;
  used = fz_json_pass(&j1, -1, NULL);

  j2 = j1;
  j2.decoded = 0;
  j2.msg[0] = '\0';
  if (used > 0) fz_json_pass(&j2, (long long)(fz_hash(data, size) % (uint64_t)used), &j1);
  return 0;
}
