/*
 * json_encode.c — Lua values -> JSON text.
 *
 * Owns: cra_json_encode and the json_encode module field.
 *
 * Rules (docs/json.md): integers exact; floats in their shortest round-trip
 * form (cra_json_dtoa, locale independent); integral floats within
 * ±2^53 are written as integers; NaN/inf are errors; object keys sorted
 * bytewise; a table is an array if it carries core.array_mt or its keys are
 * exactly 1..n; empty plain tables are {}; mixed/sparse tables, other key
 * types, functions, userdata, threads and invalid UTF-8 are errors; a table
 * that is its own ancestor is a "cycle" error at any depth; the recursion is
 * bounded by min(max_depth, CRA_JSON_DEPTH_CAP).
 *
 * Memory: the output buffer and the key scratch are malloc'd and owned by a
 * userdata box (with __gc) kept on the Lua stack during the encode, so a Lua
 * memory error (the only way out other than returning) leaks nothing. We do
 * not use luaL_Buffer (its 5.4.3+ stack placeholder conflicts with the
 * negative-index stack juggling below).
 *
 * GC safety: while C holds pointers to the bytes of the string keys being
 * sorted, each key is also anchored, so it cannot be collected even if a
 * finalizer runs during an allocation and mutates the table being encoded:
 * the first STACK_KEYS keys of an object on the Lua stack, each with its
 * value right above it (pass 2 needs no lookup for them), the rest
 * in an anchor table (one per encode, used as a stack parallel to e->keys).
 * Not all on the stack: LuaJIT allows a C function only ~8000 slots, which
 * would cap objects at that many keys.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define ENC_MT "creatorapi.json_encoder"
#define PATH_MAX_LEN 120
#define STACK_KEYS 32

typedef struct {
  const char *s;    /* bytes of the key: anchored[pos], or stack[-pos] if pos < 0 */
  size_t len;
  uint64_t pfx;     /* first 8 bytes, big-endian, zero-padded: fast compare */
  int pos;          /* index in the anchor table */
} cra_key_t;

typedef struct {
  char *buf;
  size_t len, cap;
  cra_key_t *keys;  /* a stack of key arrays, one slice per open object */
  size_t nkeys, keys_cap;
  const void **open; /* open[0..depth): the tables being encoded (cycles) */
  int open_cap;
  int depth, max_depth;
  int capped;       /* max_depth was clamped to CRA_JSON_DEPTH_CAP */
  int mt_idx;       /* stack index of core.array_mt */
  int anchor_idx;   /* stack index of the key anchor table */
  int nomem;
  char msg[128];    /* error reason */
  char path[PATH_MAX_LEN + 1]; /* error location, right-aligned */
  size_t pstart;
  int ptrunc;
} cra_enc_t;

static void enc_release(cra_enc_t *e) {
  free(e->buf);
  e->buf = NULL;
  e->len = e->cap = 0;
  free(e->keys);
  e->keys = NULL;
  e->nkeys = e->keys_cap = 0;
  free(e->open);
  e->open = NULL;
  e->open_cap = 0;
}

static int enc_gc(lua_State *L) {
  cra_enc_t *e = (cra_enc_t *)lua_touserdata(L, 1);
  if (e != NULL) enc_release(e);
  return 0;
}

static int enc_fail(cra_enc_t *e, const char *why) {
  size_t n = strlen(why);
  if (n >= sizeof e->msg) n = sizeof e->msg - 1;
  memcpy(e->msg, why, n);
  e->msg[n] = '\0';
  return 0;
}

static int enc_nomem(cra_enc_t *e) {
  e->nomem = 1;
  return enc_fail(e, "not enough memory");
}

/* Prepends one path segment (".key" or "[i]") while a failure unwinds. */
static void enc_path(cra_enc_t *e, const char *seg, size_t n) {
  if (e->ptrunc) return; /* keep the innermost part of a long path */
  if (n + 3 > e->pstart) { /* invariant: pstart >= 3 */
    e->pstart -= 3;
    memcpy(e->path + e->pstart, "...", 3);
    e->ptrunc = 1;
    return;
  }
  e->pstart -= n;
  memcpy(e->path + e->pstart, seg, n);
}

static int enc_reserve(cra_enc_t *e, size_t n) {
  if (n > e->cap - e->len) {
    size_t cap = e->cap ? e->cap : 256;
    char *p;
    if (n > SIZE_MAX / 2 - e->len) return enc_nomem(e);
    while (cap - e->len < n) cap *= 2;
    p = (char *)realloc(e->buf, cap);
    if (p == NULL) return enc_nomem(e);
    e->buf = p;
    e->cap = cap;
  }
  return 1;
}

static inline int enc_append(cra_enc_t *e, const char *s, size_t n) {
  if (!enc_reserve(e, n)) return 0;
  memcpy(e->buf + e->len, s, n);
  e->len += n;
  return 1;
}

static inline int enc_char(cra_enc_t *e, char c) {
  if (e->len == e->cap && !enc_reserve(e, 1)) return 0;
  e->buf[e->len++] = c;
  return 1;
}

static int enc_int(cra_enc_t *e, long long v) {
  char tmp[24];
  char *p = tmp + sizeof tmp;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--p = '-';
  return enc_append(e, p, (size_t)(tmp + sizeof tmp - p));
}

static int enc_double(cra_enc_t *e, double x) {
  char tmp[40];
  int n;
  if (isnan(x) || isinf(x)) return enc_fail(e, "cannot encode NaN or infinity");
  /* Integral floats within ±2^53 are written as integers: the APIs never
   * need "183.0", and LuaJIT/5.1 callers (no integer subtype) then send ints. */
  if (x >= -9007199254740992.0 && x <= 9007199254740992.0 &&
      x == (double)(long long)x)
    return enc_int(e, (long long)x);
  n = cra_json_dtoa(x, tmp, sizeof tmp);
  if (n <= 0 || (size_t)n >= sizeof tmp) return enc_fail(e, "cannot format number");
  return enc_append(e, tmp, (size_t)n);
}

/* 0: copy as is; 1: needs an escape. Bytes >= 0x80 are copied (the string
 * is validated as UTF-8 first). */
static const unsigned char esc_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1 /* " */, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 /* \ */, 0, 0, 0,
};

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* True when none of the 8 bytes of w needs an escape (no byte below 0x20,
 * no '"', no '\\'; bytes >= 0x80 pass). Exact: the borrow of the classic
 * "has zero byte" test only spreads upwards from a byte that is flagged. */
static inline int clean8(uint64_t w) {
  uint64_t q, b, lt;
  lt = (w - 0x20 * ONES) & ~w;
  q = w ^ (0x22 * ONES);
  q = (q - ONES) & ~q;
  b = w ^ (0x5C * ONES);
  b = (b - ONES) & ~b;
  return ((lt | q | b) & HIGHS) == 0;
}

/* Escapes in one pass and notes whether any byte is >= 0x80; only such
 * strings are then validated (simdjson's SIMD validator for long ones; the
 * scalar check finds the offset of a bad byte). Same strict rules both ways. */
static int enc_string(cra_enc_t *e, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  uint64_t hi = 0;
  char *out;
  if (len > (SIZE_MAX - 2) / 6) return enc_nomem(e);
  if (!enc_reserve(e, len * 6 + 2)) return 0; /* worst case: all \u00XX */
  out = e->buf + e->len;
  *out++ = '"';
  while (i < len) {
    unsigned char c;
    if (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, u + i, 8);
      if (clean8(w)) {
        hi |= w;
        memcpy(out, &w, 8);
        out += 8;
        i += 8;
        continue;
      }
    }
    c = u[i++];
    if (!esc_class[c]) {
      hi |= c;
      *out++ = (char)c;
      continue;
    }
    *out++ = '\\';
    switch (c) {
      case '"': *out++ = '"'; break;
      case '\\': *out++ = '\\'; break;
      case '\b': *out++ = 'b'; break;
      case '\f': *out++ = 'f'; break;
      case '\n': *out++ = 'n'; break;
      case '\r': *out++ = 'r'; break;
      case '\t': *out++ = 't'; break;
      default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = hex[c >> 4];
        *out++ = hex[c & 15];
    }
  }
  if ((hi & HIGHS) != 0 && !(len >= 32 && cra_json_utf8_valid(s, len))) {
    size_t bad = cra_json_utf8_check(u, len);
    if (bad != len) {
      char m[80];
      snprintf(m, sizeof m, "invalid UTF-8 in string (byte %lu)", (unsigned long)bad);
      return enc_fail(e, m); /* e->len unchanged: nothing written */
    }
  }
  *out++ = '"';
  e->len = (size_t)(out - e->buf);
  return 1;
}

static uint64_t key_prefix(const char *s, size_t len) {
  unsigned char b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(b, s, len < 8 ? len : 8);
  return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) | ((uint64_t)b[2] << 40) |
         ((uint64_t)b[3] << 32) | ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
         ((uint64_t)b[6] << 8) | (uint64_t)b[7];
}

/* Bytewise order; the prefixes decide most comparisons. */
static int key_cmp(const void *a, const void *b) {
  const cra_key_t *x = (const cra_key_t *)a, *y = (const cra_key_t *)b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c;
  if (x->pfx != y->pfx) return x->pfx < y->pfx ? -1 : 1;
  c = memcmp(x->s, y->s, n);
  if (c != 0) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Objects are small: insertion sort (no allocation, unlike glibc's qsort)
 * up to 24 keys, qsort beyond. */
static void sort_keys(cra_key_t *k, size_t n) {
  size_t i, j;
  if (n > 24) {
    qsort(k, n, sizeof *k, key_cmp);
    return;
  }
  for (i = 1; i < n; i++) {
    cra_key_t x = k[i];
    for (j = i; j > 0 && key_cmp(&k[j - 1], &x) > 0; j--) k[j] = k[j - 1];
    k[j] = x;
  }
}

static int enc_value(lua_State *L, cra_enc_t *e, int idx);

static void path_key(cra_enc_t *e, const char *s, size_t len) {
  char seg[48];
  size_t n = len > 40 ? 40 : len;
  size_t i;
  seg[0] = '.';
  /* Printable ASCII only: the message may end up in logs. */
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    seg[1 + i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
  }
  if (n < len) {
    memcpy(seg + 1 + n, "...", 3);
    n += 3;
  }
  enc_path(e, seg, n + 1);
}

static void path_index(cra_enc_t *e, long long i) {
  char seg[32];
  int n = snprintf(seg, sizeof seg, "[%lld]", i);
  enc_path(e, seg, (size_t)n);
}

/* Opens one nesting level for the table at idx: a table that is already
 * being encoded further up is a cycle (named as such at any max_depth);
 * then the depth limit, which CRA_JSON_DEPTH_CAP bounds so that the C
 * recursion never outgrows the C stack. */
static int enc_enter(lua_State *L, cra_enc_t *e, int idx) {
  const void *p = lua_topointer(L, idx);
  char m[96];
  int i;
  for (i = e->depth - 1; i >= 0; i--)
    if (e->open[i] == p) return enc_fail(e, "cycle: a table contains itself");
  if (e->depth >= e->max_depth) {
    if (e->capped)
      snprintf(m, sizeof m, "nesting deeper than the depth cap (%d)", CRA_JSON_DEPTH_CAP);
    else
      snprintf(m, sizeof m, "nesting deeper than max_depth (%d)", e->max_depth);
    return enc_fail(e, m);
  }
  if (!lua_checkstack(L, 4)) return enc_fail(e, "nesting too deep for the Lua stack");
  if (e->depth == e->open_cap) {
    int cap = e->open_cap ? e->open_cap * 2 : 16;
    const void **o = (const void **)realloc((void *)e->open, sizeof *o * (size_t)cap);
    if (o == NULL) return enc_nomem(e);
    e->open = o;
    e->open_cap = cap;
  }
  e->open[e->depth++] = p;
  return 1;
}

/* Encodes the table at absolute index idx. Leaves the stack as found. */
static int enc_table(lua_State *L, cra_enc_t *e, int idx) {
  int top = lua_gettop(L), is_arr = 0, ok = 1;
  size_t kbase = e->nkeys, nstr = 0, room, j;
  long long nint = 0, maxi = 0, i;
  char m[96];

  if (!enc_enter(L, e, idx)) return 0;
  if (lua_getmetatable(L, idx)) {
    is_arr = lua_rawequal(L, -1, e->mt_idx);
    lua_pop(L, 1);
  }

  /* Pass 1: classify keys. The first STACK_KEYS string keys are kept on
   * the Lua stack (cheapest), later ones in the anchor table (LuaJIT gives a
   * C function only ~8000 slots). */
  room = lua_checkstack(L, 2 * STACK_KEYS + 4) ? STACK_KEYS : 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int keep = lua_type(L, -2) == LUA_TSTRING && nstr < room;
    if (!keep) lua_pop(L, 1); /* value; kept pairs stay as [key, value] */
    switch (lua_type(L, keep ? -2 : -1)) {
      case LUA_TSTRING:
        if (e->nkeys == e->keys_cap) {
          size_t cap = e->keys_cap ? e->keys_cap * 2 : 64;
          cra_key_t *k;
          if (cap > INT_MAX) cap = INT_MAX;
          if (e->nkeys >= cap) {
            lua_settop(L, top);
            return enc_fail(e, "too many keys");
          }
          k = (cra_key_t *)realloc(e->keys, cap * sizeof *k);
          if (k == NULL) {
            lua_settop(L, top);
            return enc_nomem(e);
          }
          e->keys = k;
          e->keys_cap = cap;
        }
        {
          cra_key_t *k = &e->keys[e->nkeys];
          k->s = lua_tolstring(L, keep ? -2 : -1, &k->len);
          k->pfx = key_prefix(k->s, k->len);
          /* Anchor first: the copy is what keeps k->s valid from here on. */
          if (keep) {
            k->pos = -(lua_gettop(L) - 1); /* the pair stays: key, value above it */
            lua_pushvalue(L, -2);          /* the key lua_next continues from */
          } else {
            lua_pushvalue(L, -1);
            k->pos = (int)e->nkeys + 1;
            lua_rawseti(L, e->anchor_idx, k->pos);
          }
        }
        e->nkeys++;
        nstr++;
        break;
      case LUA_TNUMBER:
        if (cra_isinteger(L, -1) && cra_tointeger(L, -1) >= 1) {
          long long k = cra_tointeger(L, -1);
          nint++;
          if (k > maxi) maxi = k;
          break;
        }
        snprintf(m, sizeof m, "table key %.14g is not a positive integer",
                 (double)lua_tonumber(L, -1));
        lua_settop(L, top);
        e->nkeys = kbase;
        return enc_fail(e, m);
      default:
        snprintf(m, sizeof m, "table key of type %s cannot be encoded",
                 lua_typename(L, lua_type(L, -1)));
        lua_settop(L, top);
        e->nkeys = kbase;
        return enc_fail(e, m);
    }
  }

  if (nstr > 0 && nint > 0) {
    ok = enc_fail(e, "table mixes string and integer keys");
  } else if (nint > 0) {
    if (maxi != nint) {
      snprintf(m, sizeof m, "sparse array (%lld entries, largest index %lld)", nint, maxi);
      ok = enc_fail(e, m);
    } else {
      ok = enc_char(e, '[');
      for (i = 1; ok && i <= nint; i++) {
        if (i > 1 && !enc_char(e, ',')) { ok = 0; break; }
        lua_rawgeti(L, idx, (int)i);
        ok = enc_value(L, e, lua_gettop(L));
        lua_pop(L, 1);
        if (!ok) path_index(e, i);
      }
      ok = ok && enc_char(e, ']');
    }
  } else if (nstr > 0) {
    if (is_arr) {
      ok = enc_fail(e, "table with array_mt has string keys");
    } else {
      sort_keys(e->keys + kbase, nstr);
      ok = enc_char(e, '{');
      for (j = 0; ok && j < nstr; j++) {
        /* e->keys may move when a nested object grows it: index, no pointer. */
        cra_key_t k = e->keys[kbase + j];
        if ((j > 0 && !enc_char(e, ',')) || !enc_string(e, k.s, k.len) ||
            !enc_char(e, ':')) {
          ok = 0;
          path_key(e, k.s, k.len);
          break;
        }
        if (k.pos < 0) {
          ok = enc_value(L, e, -k.pos + 1); /* the value kept by pass 1 */
        } else {
          lua_rawgeti(L, e->anchor_idx, k.pos);
          lua_rawget(L, idx);
          ok = enc_value(L, e, lua_gettop(L));
          lua_pop(L, 1);
        }
        if (!ok) path_key(e, k.s, k.len);
      }
      ok = ok && enc_char(e, '}');
    }
  } else {
    ok = enc_append(e, is_arr ? "[]" : "{}", 2);
  }
  lua_settop(L, top);
  e->nkeys = kbase;
  e->depth--;
  return ok;
}

static int enc_value(lua_State *L, cra_enc_t *e, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return enc_append(e, "null", 4);
    case LUA_TBOOLEAN:
      return lua_toboolean(L, idx) ? enc_append(e, "true", 4) : enc_append(e, "false", 5);
    case LUA_TNUMBER:
#if CRA_HAS_INTEGERS
      if (lua_isinteger(L, idx)) return enc_int(e, (long long)lua_tointeger(L, idx));
#endif
      return enc_double(e, (double)lua_tonumber(L, idx));
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      return enc_string(e, s, len);
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) return enc_append(e, "null", 4);
      return enc_fail(e, "cannot encode a light userdata other than null");
    case LUA_TTABLE:
      return enc_table(L, e, idx);
    default: {
      char m[64];
      snprintf(m, sizeof m, "cannot encode a %s", lua_typename(L, lua_type(L, idx)));
      return enc_fail(e, m);
    }
  }
}

CRA_HIDDEN int cra_json_encode(lua_State *L, int idx, int max_depth) {
  cra_enc_t *e;
  int base;
  idx = cra_absindex(L, idx);
  luaL_checkstack(L, 8, "json_encode");
  base = lua_gettop(L) + 1;
  /* Box first (zeroed, __gc set), then acquire C resources. */
  e = (cra_enc_t *)cra_newuserdata(L, sizeof *e);
  memset(e, 0, sizeof *e);
  luaL_getmetatable(L, ENC_MT);
  if (lua_isnil(L, -1)) luaL_error(L, "json: cra_json_open was not called");
  lua_setmetatable(L, -2);
  luaL_getmetatable(L, CRA_JSON_ARRAY_MT); /* base + 1 */
  lua_createtable(L, 64, 0);               /* base + 2: key anchors */
  e->mt_idx = base + 1;
  e->anchor_idx = base + 2;
  e->max_depth = max_depth < 0 ? 0 : max_depth;
  if (e->max_depth > CRA_JSON_DEPTH_CAP) {
    e->max_depth = CRA_JSON_DEPTH_CAP;
    e->capped = 1;
  }
  e->pstart = PATH_MAX_LEN;

  if (enc_value(L, e, idx)) {
    lua_pushlstring(L, e->buf, e->len);
    enc_release(e);
    lua_replace(L, base);
    lua_settop(L, base);
    return 1;
  }
  enc_release(e);
  if (e->nomem) luaL_error(L, "not enough memory");
  e->path[PATH_MAX_LEN] = '\0';
  if (e->pstart < PATH_MAX_LEN)
    lua_pushfstring(L, "json: %s at %s", e->msg, e->path + e->pstart);
  else
    lua_pushfstring(L, "json: %s", e->msg);
  lua_replace(L, base);
  lua_settop(L, base);
  return 0;
}

/* core.json_encode(v [, max_depth]) -> string | nil, msg */
static int l_json_encode(lua_State *L) {
  lua_Integer md = luaL_optinteger(L, 2, CRA_JSON_MAX_DEPTH);
  luaL_argcheck(L, md >= 0 && md < INT_MAX, 2, "max_depth out of range");
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  if (cra_json_encode(L, 1, (int)md)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

CRA_HIDDEN void cra_json_encode_open(lua_State *L) {
  int t = cra_absindex(L, -1);
  luaL_checkstack(L, 3, "json");
  luaL_newmetatable(L, ENC_MT);
  lua_pushcfunction(L, enc_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_json_encode);
  lua_setfield(L, t, "json_encode");
}
