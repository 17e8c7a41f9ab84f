/*
 * fuzz_envelope.c — libFuzzer target for the response-envelope parser
 * (cra_envelope_build in src/envelope.c, with src/error.c and the JSON
 * decoder), for both dialects. cra_envelope_build is pure: it needs only the
 * metatables from cra_json_open/cra_error_open, no client.
 *
 * Input layout (fuzz/corpus/envelope/ seeds are built by fuzz/seeds.lua):
 *   byte 0     flags: bit0 dialect (0 creativault, 1 keyapi)
 *                     bits1-2 secret: 0 "cv_live_TOPSECRETkey123",
 *                       1 none (NULL), 2 "abc" (too short to redact),
 *                       3 "sk-keyapi-0123456789abcdef"
 *                     bit3 no headers table (headers_idx = 0)
 *                     bit4 max_depth 4 instead of 1000
 *   bytes 1-2  HTTP status, big endian, modulo 1000
 *   byte 3     H, length of the header block
 *   H bytes    header lines "name: value" separated by '\n' (names are
 *              lower-cased like the transport does)
 *   rest       the response body (NULL when empty)
 *
 * Invariants: exactly one table pushed; a result (return 1) only for a 2xx
 * and carries status/data/meta(table)/headers; an error (return 0) has the
 * error metatable, a documented kind, a boolean retryable matching the kind,
 * status equal to the input's when > 0, an integer retry_after >= 0, a
 * string message; a body_excerpt of <= 200 bytes of valid UTF-8 without
 * control characters; the secret (when >= 4 bytes) appears neither in
 * message, body_excerpt nor tostring(err). Then the same job again with an
 * allocation failing (see fuzz_json.c) for the memory-error paths.
 */
#include <ctype.h>

#include "fuzz_common.h"

#include "../src/envelope.h"
#include "../src/error.h"
#include "../src/json.h"

static const char *const fz_secrets[4] = {
    "cv_live_TOPSECRETkey123", NULL, "abc", "sk-keyapi-0123456789abcdef"};

static const char *const fz_kinds[] = {
    "validation", "auth", "credits", "permission", "not_found", "rate_limited",
    "quota", "server", "network", "timeout", "tls", "protocol", NULL};

typedef struct {
  const uint8_t *data;
  size_t size;
  int ret;
  char outcome[300];
} fz_env_job;

/* Fails when the string field `name` of the table at idx contains secret. */
static void fz_no_secret(lua_State *L, int idx, const char *name, const char *secret) {
  size_t n;
  const char *s;
  if (secret == NULL || strlen(secret) < 4) return;
  lua_getfield(L, idx, name);
  s = lua_tolstring(L, -1, &n);
  if (s != NULL) FZ_CHECK(memmem(s, n, secret, strlen(secret)) == NULL,
                          "secret leaks in %s: %.300s", name, s);
  lua_pop(L, 1);
}

static int fz_env_run(lua_State *L) {
  fz_env_job *j = (fz_env_job *)lua_touserdata(L, 1);
  const uint8_t *d = j->data;
  size_t n = j->size, hlen, i;
  cra_envelope_ctx c;
  int top, res, r;
  const char *secret;

  memset(&c, 0, sizeof c);
  if (n < 4) return 0;
  c.dialect = (d[0] & 1) ? CRA_DIALECT_KEYAPI : CRA_DIALECT_CREATIVAULT;
  secret = fz_secrets[(d[0] >> 1) & 3];
  c.secret = secret;
  c.max_depth = (d[0] & 16) ? 4 : CRA_JSON_MAX_DEPTH;
  c.status = (long)(((unsigned)d[1] << 8 | d[2]) % 1000);
  hlen = d[3];
  if (hlen > n - 4) hlen = n - 4;
  c.method = "POST";
  c.path = "/openapi/v1/creators/tiktok/search";

  /* headers table */
  if (!(d[0] & 8)) {
    const char *h = (const char *)d + 4, *end = h + hlen;
    lua_newtable(L);
    c.headers_idx = lua_gettop(L);
    while (h < end) {
      const char *nl = memchr(h, '\n', (size_t)(end - h));
      const char *le = nl ? nl : end, *colon = memchr(h, ':', (size_t)(le - h));
      if (colon != NULL && colon > h) {
        luaL_Buffer b;
        const char *v = colon + 1;
        luaL_buffinit(L, &b);
        for (i = 0; i < (size_t)(colon - h); i++)
          luaL_addchar(&b, (char)tolower((unsigned char)h[i]));
        luaL_pushresult(&b);
        while (v < le && (*v == ' ' || *v == '\t')) v++;
        lua_pushlstring(L, v, (size_t)(le - v));
        lua_rawset(L, c.headers_idx);
      }
      h = le + (nl ? 1 : 0);
    }
  }
  c.len = n - 4 - hlen;
  c.body = c.len ? (const char *)d + 4 + hlen : NULL;

  top = lua_gettop(L);
  r = cra_envelope_build(L, &c);
  FZ_CHECK(lua_gettop(L) == top + 1, "envelope pushed %d values", lua_gettop(L) - top);
  FZ_CHECK(lua_istable(L, -1), "envelope pushed a %s", luaL_typename(L, -1));
  res = lua_gettop(L);
  j->ret = r;

  if (r == 1) {
    FZ_CHECK(c.status >= 200 && c.status <= 299, "result for HTTP %ld", c.status);
    lua_getfield(L, res, "status");
    FZ_CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == c.status, "result status");
    lua_getfield(L, res, "meta");
    FZ_CHECK(lua_istable(L, -1), "result meta is a %s", luaL_typename(L, -1));
    lua_getfield(L, res, "headers");
    FZ_CHECK(lua_istable(L, -1), "result headers is a %s", luaL_typename(L, -1));
    lua_getfield(L, res, "data"); /* any value, nil when absent */
    FZ_CHECK(lua_getmetatable(L, res) == 0, "result has a metatable");
    snprintf(j->outcome, sizeof j->outcome, "result");
  } else {
    int ok = 0, k;
    const char *kind, *msg;
    size_t len;
    FZ_CHECK(r == 0, "cra_envelope_build returned %d", r);
    FZ_CHECK(lua_getmetatable(L, res), "error without metatable");
    luaL_getmetatable(L, CRA_ERROR_MT);
    FZ_CHECK(lua_rawequal(L, -1, -2), "error metatable is not " CRA_ERROR_MT);
    lua_pop(L, 2);

    lua_getfield(L, res, "kind");
    kind = lua_tostring(L, -1);
    FZ_CHECK(lua_type(L, -1) == LUA_TSTRING, "kind is a %s", luaL_typename(L, -1));
    for (k = 0; fz_kinds[k]; k++) ok |= strcmp(kind, fz_kinds[k]) == 0;
    FZ_CHECK(ok, "undocumented kind %s", kind);
    lua_getfield(L, res, "retryable");
    FZ_CHECK(lua_type(L, -1) == LUA_TBOOLEAN &&
                 lua_toboolean(L, -1) == cra_error_retryable(kind),
             "retryable does not match kind %s", kind);
    lua_getfield(L, res, "message");
    msg = lua_tolstring(L, -1, &len);
    FZ_CHECK(lua_type(L, -1) == LUA_TSTRING, "message is a %s", luaL_typename(L, -1));
    snprintf(j->outcome, sizeof j->outcome, "%s: %.*s", kind, (int)(len < 200 ? len : 200),
             msg);
    lua_pop(L, 3);

    lua_getfield(L, res, "status");
    if (c.status > 0)
      FZ_CHECK(lua_isinteger(L, -1) && lua_tointeger(L, -1) == c.status, "error status");
    else
      FZ_CHECK(lua_isnil(L, -1), "status set for status 0");
    lua_getfield(L, res, "retry_after");
    FZ_CHECK(lua_isnil(L, -1) || (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0),
             "retry_after is not a non-negative integer");
    lua_getfield(L, res, "code");
    FZ_CHECK(lua_isnil(L, -1) || lua_isinteger(L, -1), "code is not an integer");
    lua_getfield(L, res, "request_id");
    FZ_CHECK(lua_isnil(L, -1) || lua_type(L, -1) == LUA_TSTRING, "request_id type");
    lua_pop(L, 4);

    lua_getfield(L, res, "body_excerpt");
    if (!lua_isnil(L, -1)) {
      const unsigned char *e = (const unsigned char *)lua_tolstring(L, -1, &len);
      FZ_CHECK(e != NULL, "body_excerpt is a %s", luaL_typename(L, -1));
      FZ_CHECK(len <= CRA_EXCERPT_MAX, "body_excerpt has %zu bytes", len);
#ifndef FZ_SKIP_EXCERPT_UTF8 /* -D to explore past the known finding */
      FZ_CHECK(cra_json_utf8_check(e, len) == len, "body_excerpt is not UTF-8");
#endif
      for (i = 0; i < len; i++)
        FZ_CHECK(e[i] >= 0x20 && e[i] != 0x7F, "control byte 0x%02x in body_excerpt", e[i]);
    }
    lua_pop(L, 1);

    fz_no_secret(L, res, "message", secret);
    fz_no_secret(L, res, "body_excerpt", secret);
#ifndef FZ_SKIP_TOSTRING_SECRET /* -D to explore past the known finding */
    luaL_tolstring(L, res, &len); /* error_mt.__tostring */
    lua_setfield(L, res, "_tostring");
    fz_no_secret(L, res, "_tostring", secret);
#endif
  }
  lua_settop(L, top);
  return 0;
}

static long long fz_env_pass(fz_env_job *j, long long budget, const fz_env_job *ref) {
  fz_alloc_t a;
  lua_State *L = fz_state(&a);
  long long start, used;
  int st;
  lua_newtable(L);
  cra_json_open(L);
  cra_error_open(L);
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
  start = a.count;
  if (budget >= 0) fz_arm(&a, budget);
  lua_pushcfunction(L, fz_env_run);
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
    FZ_CHECK(j->ret == ref->ret && strcmp(j->outcome, ref->outcome) == 0,
             "outcome under allocation failure %lld differs:\n  %s\n  %s", budget + 1,
             j->outcome, ref->outcome);
  }
  lua_close(L);
  return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_env_job j1, j2;
  long long used;
  memset(&j1, 0, sizeof j1);
  j1.data = data;
  j1.size = size;
  used = fz_env_pass(&j1, -1, NULL);
  memset(&j2, 0, sizeof j2);
  j2.data = data;
  j2.size = size;
  if (used > 0) fz_env_pass(&j2, (long long)(fz_hash(data, size) % (uint64_t)used), &j1);
  return 0;
}
