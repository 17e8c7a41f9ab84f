/*
 * fuzz_query.c — libFuzzer target for the query-string encoder
 * (cra_query_encode in src/query.c, and core.encode_query built on it).
 *
 * The input bytes drive the construction of one Lua table (see fz_build):
 * string keys with any bytes (NUL included), a few integer/boolean/float
 * keys, and values that are integers, floats (raw bit patterns, so NaN and
 * infinities too, plus a table of awkward values), booleans, strings with any
 * bytes, creatorapi.null, other light userdata, arrays (possibly nested or
 * holding null), empty arrays, hash tables and functions. Byte 0 bit 0 runs
 * the encoder under the de_DE.UTF-8 locale (decimal comma) when installed.
 *
 * Oracle (written independently from src/query.c, from docs/internals.md):
 *   - a non-string key or a key with NUL → failure reported for key "?";
 *   - else the first key in byte order whose value is invalid (NaN/inf,
 *     unsupported type, non-sequence table, array element that is not a
 *     string/number/boolean) → failure reported for that key;
 *   - else success, and the output is checked: only unreserved bytes,
 *     "%XX" (upper-case hex, never for an unreserved byte), '=', '&', ',';
 *     pairs in key order, null values and empty arrays dropped; each key and
 *     value percent-decodes back to the input: strings bytewise, booleans
 *     true/false, integers "%lld", floats parse back (with '.') to the same
 *     double, integral floats below 2^63 without '.' or exponent.
 *   core.encode_query(t) must agree: the same string, or nil and a
 *   validation error whose field is the key.
 * Then the same job with an allocation failing (see fuzz_json.c).
 */
#include <locale.h>
#include <math.h>

#include "fuzz_common.h"

#include "../src/error.h"
#include "../src/json.h"
#include "../src/query.h"

static locale_t fz_de = (locale_t)0;
static int fz_lightud_target;

typedef struct {
  const uint8_t *p;
  size_t n;
} fz_reader;

static unsigned fz_byte(fz_reader *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

static uint64_t fz_u64(fz_reader *r) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++) v = v << 8 | fz_byte(r);
  return v;
}

static void fz_push_bytes(lua_State *L, fz_reader *r, size_t len, int allow_nul) {
  char buf[64];
  size_t i;
  for (i = 0; i < len && i < sizeof buf; i++) {
    buf[i] = (char)fz_byte(r);
    if (!allow_nul && buf[i] == '\0') buf[i] = 'a';
  }
  lua_pushlstring(L, buf, i);
}

static const double fz_special[] = {
    0.1, -0.0, 1e300, 9223372036854775808.0, -9223372036854775808.0,
    9007199254740993.0, 1e-300, 5e-324, 1.5, 123.0, 1e21, -1e-7, 2.62,
    0.30000000000000004, 1e15, 1e16, 1e17, -1.0, 4503599627370496.5,
    9223372036854774784.0};

static int fz_dummy_fn(lua_State *L) { return 0; }

/* Pushes one value chosen by the reader. depth bounds nested arrays. */
static void fz_push_value(lua_State *L, fz_reader *r, int depth) {
  unsigned vt = fz_byte(r) % 18;
  switch (vt) {
  case 0: lua_pushinteger(L, (lua_Integer)fz_u64(r)); break;
  case 1: lua_pushinteger(L, (lua_Integer)(signed char)fz_byte(r)); break;
  case 2: {
    uint64_t bits = fz_u64(r);
    double x;
    memcpy(&x, &bits, sizeof x);
    lua_pushnumber(L, x);
    break;
  }
  case 3: {
    unsigned k = fz_byte(r);
    size_t ns = sizeof fz_special / sizeof fz_special[0];
    if (k % (ns + 3) < ns) lua_pushnumber(L, fz_special[k % (ns + 3)]);
    else if (k % (ns + 3) == ns) lua_pushnumber(L, NAN);
    else if (k % (ns + 3) == ns + 1) lua_pushnumber(L, HUGE_VAL);
    else lua_pushnumber(L, -HUGE_VAL);
    break;
  }
  case 4: lua_pushboolean(L, 1); break;
  case 5: lua_pushboolean(L, 0); break;
  case 6: case 7: case 8: fz_push_bytes(L, r, fz_byte(r) % 40, 1); break;
  case 9: lua_pushlightuserdata(L, NULL); break; /* creatorapi.null */
  case 10: lua_pushlightuserdata(L, &fz_lightud_target); break;
  case 11: case 12: case 13: {
    unsigned m = fz_byte(r) % 6, i;
    lua_createtable(L, (int)m, 0);
    for (i = 1; i <= m; i++) {
      if (depth > 2) lua_pushinteger(L, (lua_Integer)i);
      else fz_push_value(L, r, depth + 1);
      lua_rawseti(L, -2, (lua_Integer)i);
    }
    break;
  }
  case 14: lua_newtable(L); break; /* empty array: dropped */
  case 15:
    lua_newtable(L);
    lua_pushinteger(L, 1);
    if (fz_byte(r) & 1) lua_setfield(L, -2, "x");   /* hash part */
    else lua_rawseti(L, -2, 2);                     /* not a sequence */
    break;
  case 16: lua_pushcfunction(L, fz_dummy_fn); break;
  default: fz_push_bytes(L, r, fz_byte(r) % 8, 0); break;
  }
}

/* Builds the query table from the reader and leaves it on top. */
static void fz_build(lua_State *L, fz_reader *r) {
  unsigned n = fz_byte(r) % 12, i;
  lua_newtable(L);
  for (i = 0; i < n && r->n > 0; i++) {
    unsigned kt = fz_byte(r);
    switch (kt % 24) {
    case 0: lua_pushinteger(L, (lua_Integer)fz_byte(r) + 1); break;
    case 1: lua_pushboolean(L, 1); break;
    case 2: lua_pushnumber(L, 1.5); break;
    default: fz_push_bytes(L, r, fz_byte(r) % 32, (kt & 0x80) != 0); break;
    }
    fz_push_value(L, r, 0);
    if (lua_isnil(L, -2)) lua_pop(L, 2);
    else lua_rawset(L, -3);
  }
}

/* ----- oracle ----------------------------------------------------------- */

static int fz_valid_scalar(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: case LUA_TBOOLEAN: return 1;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return 1;
    return isfinite((double)lua_tonumber(L, idx));
  default: return 0;
  }
}

/* 1 when the value at idx may be sent. */
static int fz_valid_value(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TLIGHTUSERDATA: return lua_touserdata(L, idx) == NULL;
  case LUA_TTABLE: {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0, i;
    int ok = 1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      count++;
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) ok = 0;
    }
    if (!ok || count != n) return 0;
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      ok = fz_valid_scalar(L, -1);
      lua_pop(L, 1);
      if (!ok) return 0;
    }
    return 1;
  }
  default: return fz_valid_scalar(L, idx);
  }
}

static int fz_unreserved(unsigned c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

static int fz_hex(unsigned c) {
  if (c >= '0' && c <= '9') return (int)(c - '0');
  if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
  return -1;
}

/* Percent-decodes s[0..n) into out (size >= n); returns the length. The
 * charset was checked before. */
static size_t fz_pct_decode(const char *s, size_t n, char *out) {
  size_t i, o = 0;
  for (i = 0; i < n; i++) {
    if (s[i] == '%') {
      out[o++] = (char)(fz_hex((unsigned char)s[i + 1]) * 16 + fz_hex((unsigned char)s[i + 2]));
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  return o;
}

/* Checks one encoded scalar s[0..n) against the value at idx. */
static void fz_check_scalar(lua_State *L, int idx, const char *s, size_t n) {
  char dec[256];
  size_t dn;
  FZ_CHECK(n < sizeof dec, "value too long");
  dn = fz_pct_decode(s, n, dec);
  dec[dn] = '\0';
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t len;
    const char *v = lua_tolstring(L, idx, &len);
    FZ_CHECK(len == dn && memcmp(v, dec, dn) == 0, "string value encoded as %.*s", (int)n, s);
    break;
  }
  case LUA_TBOOLEAN:
    FZ_CHECK(strcmp(dec, lua_toboolean(L, idx) ? "true" : "false") == 0, "boolean as %s", dec);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      char want[32];
      snprintf(want, sizeof want, "%lld", (long long)lua_tointeger(L, idx));
      FZ_CHECK(strcmp(dec, want) == 0, "integer %s encoded as %s", want, dec);
    } else {
      double x = (double)lua_tonumber(L, idx), y;
      char *end;
      y = cra_json_strtod(dec, &end);
      FZ_CHECK(*end == '\0' && end != dec, "float %.17g encoded as unparseable %s", x, dec);
      FZ_CHECK(y == x, "float %.17g encoded as %s (reads back %.17g)", x, dec, y);
      if (x == floor(x) && fabs(x) < 9223372036854775808.0)
        FZ_CHECK(strpbrk(dec, ".eE") == NULL, "integral float %.17g encoded as %s", x, dec);
    }
    break;
  default:
    FZ_CHECK(0, "unexpected %s value was encoded", luaL_typename(L, idx));
  }
}

static int fz_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef struct {
  const uint8_t *data;
  size_t size;
  int ok;
  char outcome[300];
} fz_q_job;

static int fz_q_run(lua_State *L) {
  fz_q_job *j = (fz_q_job *)lua_touserdata(L, 1);
  fz_reader r;
  int t, top, keyerr = 0, ok, enc_q;
  const char *keys[16], *badkey = NULL;
  size_t nk = 0, i;
  locale_t old = (locale_t)0;

  r.p = j->data;
  r.n = j->size;
  enc_q = 2; /* the module table with encode_query */
  {
    unsigned flags = fz_byte(&r);
    if ((flags & 1) && fz_de != (locale_t)0) old = uselocale(fz_de);
  }
  fz_build(L, &r);
  t = lua_gettop(L);

  /* oracle */
  lua_pushnil(L);
  while (lua_next(L, t)) {
    size_t len;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) { keyerr = 1; continue; }
    if (strlen(lua_tolstring(L, -1, &len)) != len) { keyerr = 1; continue; }
    FZ_CHECK(nk < 16, "too many keys");
    keys[nk++] = lua_tostring(L, -1); /* anchored by t */
  }
  qsort(keys, nk, sizeof keys[0], fz_cmp);
  if (!keyerr) {
    for (i = 0; i < nk && !badkey; i++) {
      lua_getfield(L, t, keys[i]);
      if (!fz_valid_value(L, -1)) badkey = keys[i];
      lua_pop(L, 1);
    }
  }

  top = lua_gettop(L);
  ok = cra_query_encode(L, t);
  j->ok = ok;
  if (keyerr || badkey) {
    const char *want = keyerr ? "?" : badkey;
    FZ_CHECK(!ok, "encoded a table that should fail (key %s): %s", want, lua_tostring(L, -1));
    FZ_CHECK(lua_gettop(L) == top + 2, "failure pushed %d values", lua_gettop(L) - top);
    FZ_CHECK(lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), want) == 0,
             "failure names key %s, expected %s", lua_tostring(L, -2), want);
    FZ_CHECK(lua_type(L, -1) == LUA_TSTRING, "failure message is a %s", luaL_typename(L, -1));
    /* With several bad keys, which one pass 1 meets first depends on the
     * traversal order (per-state hash seed): record only the key. */
    snprintf(j->outcome, sizeof j->outcome, "fail %s", want);
  } else {
    size_t n, pos = 0, emitted = 0;
    const char *s;
    FZ_CHECK(ok, "failed on a valid table: key %s: %s", lua_tostring(L, -2),
             lua_tostring(L, -1));
    FZ_CHECK(lua_gettop(L) == top + 1, "success pushed %d values", lua_gettop(L) - top);
    s = lua_tolstring(L, -1, &n);
    FZ_CHECK(s != NULL, "result is a %s", luaL_typename(L, -1));
    snprintf(j->outcome, sizeof j->outcome, "ok %.280s", s);
    /* charset */
    for (i = 0; i < n; i++) {
      unsigned c = (unsigned char)s[i];
      if (c == '%') {
        int h1 = i + 2 < n ? fz_hex((unsigned char)s[i + 1]) : -1;
        int h2 = i + 2 < n ? fz_hex((unsigned char)s[i + 2]) : -1;
        FZ_CHECK(h1 >= 0 && h2 >= 0, "bad percent escape at %zu in %.300s", i, s);
        FZ_CHECK(!fz_unreserved((unsigned)(h1 * 16 + h2)), "unreserved byte escaped in %.300s", s);
        i += 2;
      } else {
        FZ_CHECK(fz_unreserved(c) || c == '=' || c == '&' || c == ',',
                 "byte 0x%02x at %zu in %.300s", c, i, s);
      }
    }
    /* pairs */
    for (i = 0; i < nk; i++) {
      const char *pair, *eq, *amp, *vs;
      char kd[128];
      size_t plen, kdn;
      int v;
      lua_getfield(L, t, keys[i]);
      v = lua_gettop(L);
      if (lua_type(L, v) == LUA_TLIGHTUSERDATA ||
          (lua_type(L, v) == LUA_TTABLE && lua_rawlen(L, v) == 0)) {
        lua_pop(L, 1);
        continue; /* dropped */
      }
      FZ_CHECK(pos < n, "pair for key %s missing in %.300s", keys[i], s);
      pair = s + pos;
      amp = memchr(pair, '&', n - pos);
      plen = amp ? (size_t)(amp - pair) : n - pos;
      eq = memchr(pair, '=', plen);
      FZ_CHECK(eq != NULL, "pair without '=' in %.300s", s);
      FZ_CHECK(memchr(eq + 1, '=', plen - (size_t)(eq + 1 - pair)) == NULL, "two '=' in %.300s", s);
      FZ_CHECK((size_t)(eq - pair) < sizeof kd, "key too long");
      kdn = fz_pct_decode(pair, (size_t)(eq - pair), kd);
      FZ_CHECK(kdn == strlen(keys[i]) && memcmp(kd, keys[i], kdn) == 0,
               "pair %zu is for another key than %s: %.300s", emitted, keys[i], s);
      vs = eq + 1;
      if (lua_type(L, v) == LUA_TTABLE) {
        lua_Integer m = (lua_Integer)lua_rawlen(L, v), e;
        const char *p = vs, *vend = pair + plen;
        for (e = 1; e <= m; e++) {
          const char *comma = memchr(p, ',', (size_t)(vend - p));
          const char *ee = comma ? comma : vend;
          FZ_CHECK(e == m ? comma == NULL : comma != NULL, "array element count in %.300s", s);
          lua_rawgeti(L, v, e);
          fz_check_scalar(L, lua_gettop(L), p, (size_t)(ee - p));
          lua_pop(L, 1);
          p = ee + 1;
        }
      } else {
        FZ_CHECK(memchr(vs, ',', (size_t)(pair + plen - vs)) == NULL, "',' in scalar: %.300s", s);
        fz_check_scalar(L, v, vs, (size_t)(pair + plen - vs));
      }
      lua_pop(L, 1);
      emitted++;
      pos += plen + (amp ? 1 : 0);
      FZ_CHECK(amp == NULL || pos < n, "trailing '&' in %.300s", s);
    }
    FZ_CHECK(pos == n, "extra text after the last pair: %.300s", s);
  }

  /* core.encode_query agrees */
  lua_getfield(L, enc_q, "encode_query");
  lua_pushvalue(L, t);
  lua_call(L, 1, 2);
  if (ok) {
    FZ_CHECK(lua_rawequal(L, -2, top + 1), "encode_query differs from cra_query_encode");
  } else {
    FZ_CHECK(lua_isnil(L, -2) && lua_istable(L, -1), "encode_query did not return nil, err");
    lua_getfield(L, -1, "kind");
    FZ_CHECK(strcmp(lua_tostring(L, -1), "validation") == 0, "kind %s", lua_tostring(L, -1));
    lua_getfield(L, -2, "field");
    FZ_CHECK(lua_rawequal(L, -1, top + 1), "field differs from the failing key");
  }
  if (old != (locale_t)0) uselocale(old);
  lua_settop(L, 1);
  return 0;
}

static long long fz_q_pass(fz_q_job *j, long long budget, const fz_q_job *ref) {
  fz_alloc_t a;
  lua_State *L = fz_state(&a);
  long long start, used;
  int st;
  lua_pushcfunction(L, fz_q_run);
  lua_pushlightuserdata(L, j);
  lua_newtable(L); /* argument 2: a module table with encode_query */
  cra_error_open(L);
  cra_query_open(L);
  lua_gc(L, LUA_GCCOLLECT, 0);
  start = a.count;
  if (budget >= 0) fz_arm(&a, budget);
  st = lua_pcall(L, 2, 0, 0);
  used = a.count - start;
  fz_disarm(&a);
  uselocale(LC_GLOBAL_LOCALE); /* a memory error skips the job's restore */
  if (budget < 0) {
    FZ_CHECK(st == LUA_OK, "unexpected Lua error: %s", lua_tostring(L, -1));
  } else if (st != LUA_OK) {
    FZ_CHECK(fz_is_memerr(L, st), "allocation %lld failed and gave a non-memory error: %s",
             budget + 1, lua_tostring(L, -1));
  } else {
    FZ_CHECK(j->ok == ref->ok && strcmp(j->outcome, ref->outcome) == 0,
             "outcome under allocation failure %lld differs:\n  %s\n  %s", budget + 1,
             j->outcome, ref->outcome);
  }
  lua_close(L);
  return used;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fz_de = newlocale(LC_ALL_MASK, "de_DE.UTF-8", (locale_t)0);
  if (fz_de == (locale_t)0) fprintf(stderr, "fuzz_query: de_DE.UTF-8 not installed, C locale only\n");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_q_job j1, j2;
  long long used;
  memset(&j1, 0, sizeof j1);
  j1.data = data;
  j1.size = size;
  used = fz_q_pass(&j1, -1, NULL);
  memset(&j2, 0, sizeof j2);
  j2.data = data;
  j2.size = size;
  if (used > 0) fz_q_pass(&j2, (long long)(fz_hash(data, size) % (uint64_t)used), &j1);
  return 0;
}
