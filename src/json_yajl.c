/*
 * json_yajl.c — JSON text -> Lua values on yajl 2's callback parser: the
 * decoder of record for every text the simdjson fast path declines
 * (json_simd.cpp): all invalid JSON, whose error it words with a byte
 * offset, and the few valid texts simdjson cannot hold (integers beyond
 * uint64, which become floats here).
 *
 * Owns: cra_json_decode_yajl, cra_json_yajl_open.
 *
 * How it works: yajl calls us once per token; each callback pushes exactly
 * one Lua value (or a key) and immediately stores it into the container
 * below it, so between callbacks the Lua stack holds only
 *   [box, array_mt, container_1, (key_1), container_2, (key_2), ...]
 * Invariants:
 *   - every callback leaves that shape intact or returns 0 (cancel) with
 *     d->err set; nothing is left half-stored that a later callback could
 *     trip over (the whole stack above the box is discarded on error);
 *   - every C allocation (yajl handle, depth array, scratch) hangs off the
 *     box userdata, whose __gc frees it. A Lua memory error raised by a
 *     lua_push* inside a callback longjmps straight through yajl_parse;
 *     nothing is leaked because the box is then garbage and collected;
 *   - numbers come through yajl's raw `yajl_number` callback and are parsed
 *     here: integers exactly (int64), floats with a correctly rounded fast
 *     path or strtod_l in the "C" locale — never under LC_NUMERIC (yajl's
 *     own double callback uses plain strtod, lloyd/yajl #4);
 *   - yajl's UTF-8 validation is switched off and replaced by our own
 *     stricter check (rejects overlongs, UTF-8 encoded surrogates, > U+10FFFF);
 *     strings containing escapes are re-decoded from the raw input here,
 *     because yajl silently turns a lone high surrogate into '?' and a lone
 *     low surrogate into invalid UTF-8.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"

#define DEC_MT "creatorapi.json_decoder"
#define LV_INLINE 32

/* ------------------------------------------------------------------------ */
/* Decoder state (lives in a userdata box)                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
  int count;         /* values stored so far in the open container */
  int hint_map;      /* size of the last object closed at this depth */
  int hint_arr;      /* size of the last array closed at this depth */
  int is_array;
} cra_level_t;

typedef struct {
  yajl_handle h;
  lua_State *L;
  const unsigned char *text;
  size_t len;
  int depth, max_depth;
  int mt_idx;             /* stack index of the array metatable */
  int in_complete;        /* inside yajl_complete_parse (offsets = len) */
  cra_level_t *lv;        /* lv[1..depth]; lv_inline or malloc'd */
  int lv_cap;
  char *scratch;          /* malloc'd, for long numbers and escaped strings */
  size_t scratch_cap;
  const char *err;        /* static reason when a callback cancelled */
  size_t err_off;
  cra_level_t lv_inline[LV_INLINE];
} cra_dec_t;

static void dec_release(cra_dec_t *d) {
  if (d->h != NULL) {
    yajl_free(d->h);
    d->h = NULL;
  }
  if (d->lv != NULL && d->lv != d->lv_inline) free(d->lv);
  d->lv = NULL;
  free(d->scratch);
  d->scratch = NULL;
  d->scratch_cap = 0;
}

static int dec_gc(lua_State *L) {
  cra_dec_t *d = (cra_dec_t *)lua_touserdata(L, 1);
  if (d != NULL) dec_release(d);
  return 0;
}

/* Current byte offset of the lexer in our text. */
static size_t dec_offset(cra_dec_t *d) {
  if (d->in_complete || d->h == NULL) return d->len;
  return yajl_get_bytes_consumed(d->h);
}

static int dec_fail(cra_dec_t *d, const char *why, size_t off) {
  d->err = why;
  d->err_off = off;
  return 0; /* cancels the parse */
}

static char *dec_scratch(cra_dec_t *d, size_t need) {
  if (need > d->scratch_cap) {
    size_t cap = d->scratch_cap ? d->scratch_cap : 256;
    char *p;
    while (cap < need) cap *= 2;
    p = (char *)realloc(d->scratch, cap);
    if (p == NULL) return NULL;
    d->scratch = p;
    d->scratch_cap = cap;
  }
  return d->scratch;
}

/* stack: [-1|-2, +0] Stores the value on top into the open container. */
static inline int dec_add(cra_dec_t *d) {
  cra_level_t *lv;
  if (d->depth == 0) return 1; /* the top-level value stays on the stack */
  lv = &d->lv[d->depth];
  if (lv->count == INT_MAX) return dec_fail(d, "container too large", dec_offset(d));
  lv->count++;
  if (lv->is_array)
    lua_rawseti(d->L, -2, lv->count);
  else
    lua_rawset(d->L, -3);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                  */
/* ------------------------------------------------------------------------ */

static const double pow10_tab[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* stack: [-0, +1] or returns 0 with d->err set.
 * yajl has already checked the JSON number grammar:
 *   -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?                          */
static int dec_number(cra_dec_t *d, const char *s, size_t len) {
  const char *p = s, *e = s + len;
  uint64_t m = 0;
  int nd = 0, slow = 0, isfloat = 0, exp10 = 0, neg = 0;
  double v;

  if (*p == '-') {
    neg = 1;
    p++;
  }
  for (; p < e && (unsigned)(*p - '0') < 10; p++) {
    if (nd < 19) {
      m = m * 10 + (unsigned)(*p - '0');
      nd += (m != 0);
    } else {
      slow = 1;
    }
  }
  if (p < e && *p == '.') {
    isfloat = 1;
    for (p++; p < e && (unsigned)(*p - '0') < 10; p++) {
      if (nd < 19) {
        m = m * 10 + (unsigned)(*p - '0');
        nd += (m != 0);
        exp10--;
      } else {
        slow = 1;
      }
    }
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    int eneg = 0, ev = 0;
    isfloat = 1;
    p++;
    if (*p == '+' || *p == '-') eneg = (*p++ == '-');
    for (; p < e && (unsigned)(*p - '0') < 10; p++)
      if (ev < 100000) ev = ev * 10 + (*p - '0');
    exp10 += eneg ? -ev : ev;
  }

  if (!isfloat && !slow) {
    /* m < 10^19 < 2^64: exact. */
#if CRA_HAS_INTEGERS && defined(LUA_MAXINTEGER)
    /* A Lua built with narrower integers (LUA_INT_INT) gets a float. */
    if ((long long)LUA_MAXINTEGER < INT64_MAX &&
        m > (neg ? (uint64_t)LUA_MAXINTEGER + 1 : (uint64_t)LUA_MAXINTEGER))
      goto as_float;
#endif
    if (!neg && m <= (uint64_t)INT64_MAX) {
      cra_pushint64(d->L, (long long)m);
      return 1;
    }
    if (neg && m <= (uint64_t)INT64_MAX + 1) {
      /* 0 - m wraps to the two's complement; gcc/clang convert modulo 2^64. */
      cra_pushint64(d->L, (long long)(0 - m));
      return 1;
    }
    /* beyond int64: fall through to a float */
  }
#if CRA_HAS_INTEGERS && defined(LUA_MAXINTEGER)
as_float:
#endif
  if (!slow && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
    /* Clinger's fast path: both operands exact, one correctly rounded op. */
    v = (double)m;
    v = exp10 < 0 ? v / pow10_tab[-exp10] : v * pow10_tab[exp10];
    lua_pushnumber(d->L, neg ? -v : v);
    return 1;
  }
  {
    char buf[64], *num = buf;
    if (len >= sizeof buf) {
      num = dec_scratch(d, len + 1);
      if (num == NULL) return dec_fail(d, "not enough memory", dec_offset(d));
    }
    memcpy(num, s, len);
    num[len] = '\0';
    v = cra_json_strtod(num, NULL);
  }
  if (isinf(v)) {
    size_t off = dec_offset(d);
    return dec_fail(d, "number out of range", off >= len ? off - len : 0);
  }
  lua_pushnumber(d->L, v); /* underflow gives 0 or a subnormal: accepted */
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                  */
/* ------------------------------------------------------------------------ */

static int hexval(unsigned c) {
  if (c - '0' < 10) return (int)(c - '0');
  c |= 0x20;
  if (c - 'a' < 6) return (int)(c - 'a' + 10);
  return -1;
}

static long hex4(const unsigned char *p) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* stack: [-0, +1] A string that contained escapes: yajl hands us its own
 * decoded copy, which hides lone surrogates. Find the raw token in our text
 * (it ends just before the lexer offset) and decode it strictly. */
static int dec_escaped(cra_dec_t *d) {
  const unsigned char *text = d->text;
  size_t off = dec_offset(d), rawlen, bad, i;
  const unsigned char *q, *p, *raw;
  unsigned char *out;
  size_t o = 0;

  if (off < 2 || off > d->len || text[off - 1] != '"')
    return dec_fail(d, "internal error locating string", off);
  q = text + off - 1; /* closing quote */
  p = q;
  for (;;) {
    /* The opening quote is the nearest '"' preceded by an even number of
     * backslashes: inside the token every '"' is escaped. */
    const unsigned char *b;
    size_t n = 0;
    p = (const unsigned char *)memrchr(text, '"', (size_t)(p - text));
    if (p == NULL) return dec_fail(d, "internal error locating string", off);
    for (b = p; b > text && b[-1] == '\\'; b--) n++;
    if ((n & 1) == 0) break;
  }
  raw = p + 1;
  rawlen = (size_t)(q - raw);
  bad = cra_json_utf8_check(raw, rawlen);
  if (bad != rawlen)
    return dec_fail(d, "invalid UTF-8 in string", (size_t)(raw - text) + bad);
  out = (unsigned char *)dec_scratch(d, rawlen + 1);
  if (out == NULL) return dec_fail(d, "not enough memory", off);
  for (i = 0; i < rawlen;) {
    unsigned char c;
    long cp;
    /* Copy the run up to the next backslash in one go. */
    const unsigned char *bs = (const unsigned char *)memchr(raw + i, '\\', rawlen - i);
    size_t run = bs ? (size_t)(bs - (raw + i)) : rawlen - i;
    memcpy(out + o, raw + i, run);
    o += run;
    i += run;
    if (i >= rawlen) break;
    c = raw[i + 1]; /* the lexer guarantees a valid escape */
    switch (c) {
      case 'b': out[o++] = '\b'; i += 2; continue;
      case 'f': out[o++] = '\f'; i += 2; continue;
      case 'n': out[o++] = '\n'; i += 2; continue;
      case 'r': out[o++] = '\r'; i += 2; continue;
      case 't': out[o++] = '\t'; i += 2; continue;
      case 'u': break;
      default: out[o++] = c; i += 2; continue; /* " \ / */
    }
    cp = (i + 6 <= rawlen) ? hex4(raw + i + 2) : -1;
    if (cp < 0) return dec_fail(d, "invalid \\u escape", (size_t)(raw - text) + i);
    if (cp >= 0xDC00 && cp <= 0xDFFF)
      return dec_fail(d, "lone surrogate in \\u escape", (size_t)(raw - text) + i);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      long lo = (i + 12 <= rawlen && raw[i + 6] == '\\' && raw[i + 7] == 'u')
                    ? hex4(raw + i + 8) : -1;
      if (lo < 0xDC00 || lo > 0xDFFF)
        return dec_fail(d, "lone surrogate in \\u escape", (size_t)(raw - text) + i);
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 12;
    } else {
      i += 6;
    }
    if (cp < 0x80) {
      out[o++] = (unsigned char)cp;
    } else if (cp < 0x800) {
      out[o++] = (unsigned char)(0xC0 | (cp >> 6));
      out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[o++] = (unsigned char)(0xE0 | (cp >> 12));
      out[o++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
      out[o++] = (unsigned char)(0xF0 | (cp >> 18));
      out[o++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      out[o++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      out[o++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
  }
  lua_pushlstring(d->L, (const char *)out, o);
  return 1;
}

/* stack: [-0, +1] */
static inline int dec_pushstr(cra_dec_t *d, const unsigned char *s, size_t len) {
  uintptr_t ps = (uintptr_t)s, pt = (uintptr_t)d->text;
  if (ps >= pt && ps + len <= pt + d->len) {
    /* No escapes: yajl points into our text. */
    size_t bad = cra_json_utf8_check(s, len);
    if (bad != len) return dec_fail(d, "invalid UTF-8 in string", (size_t)(ps - pt) + bad);
    lua_pushlstring(d->L, (const char *)s, len);
    return 1;
  }
  return dec_escaped(d);
}

/* ------------------------------------------------------------------------ */
/* yajl callbacks: each returns 1 to continue or 0 (with d->err) to cancel  */
/* ------------------------------------------------------------------------ */

static int cb_null(void *ctx) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  lua_pushlightuserdata(d->L, NULL);
  return dec_add(d);
}

static int cb_boolean(void *ctx, int b) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  lua_pushboolean(d->L, b);
  return dec_add(d);
}

static int cb_number(void *ctx, const char *s, size_t len) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  return dec_number(d, s, len) && dec_add(d);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  return dec_pushstr(d, s, len) && dec_add(d);
}

static int cb_map_key(void *ctx, const unsigned char *s, size_t len) {
  /* The key stays on the stack until the value arrives (dec_add). */
  return dec_pushstr((cra_dec_t *)ctx, s, len);
}

/* Opens a level: depth limit, Lua stack room, level array. */
static int dec_open(cra_dec_t *d, int is_array) {
  cra_level_t *lv;
  /* The offending '[' or '{' is the byte just before the lexer offset. */
  if (d->depth >= d->max_depth)
    return dec_fail(d, "nesting deeper than max_depth", dec_offset(d) - 1);
  /* table + key + value + metatable copy, with room to spare */
  if (!lua_checkstack(d->L, 6))
    return dec_fail(d, "nesting too deep for the Lua stack", dec_offset(d) - 1);
  if (d->depth + 1 >= d->lv_cap) {
    int cap = d->lv_cap * 2;
    cra_level_t *n;
    if (d->lv == d->lv_inline) {
      n = (cra_level_t *)malloc(sizeof *n * (size_t)cap);
      if (n != NULL) memcpy(n, d->lv, sizeof *n * (size_t)d->lv_cap);
    } else {
      n = (cra_level_t *)realloc(d->lv, sizeof *n * (size_t)cap);
    }
    if (n == NULL) return dec_fail(d, "not enough memory", dec_offset(d));
    memset(n + d->lv_cap, 0, sizeof *n * (size_t)(cap - d->lv_cap));
    d->lv = n;
    d->lv_cap = cap;
  }
  lv = &d->lv[++d->depth];
  lv->count = 0;
  lv->is_array = is_array;
  return 1;
}

static int cb_start_map(void *ctx) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  if (!dec_open(d, 0)) return 0;
  /* Pre-size from the last object closed at this depth: rows of a page
   * share their shape, so this saves every rehash after the first row. */
  lua_createtable(d->L, 0, d->lv[d->depth].hint_map);
  return 1;
}

static int cb_end_map(void *ctx) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  cra_level_t *lv = &d->lv[d->depth--];
  lv->hint_map = lv->count;
  return dec_add(d);
}

static int cb_start_array(void *ctx) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  if (!dec_open(d, 1)) return 0;
  lua_createtable(d->L, d->lv[d->depth].hint_arr, 0);
  lua_pushvalue(d->L, d->mt_idx);
  lua_setmetatable(d->L, -2);
  return 1;
}

static int cb_end_array(void *ctx) {
  cra_dec_t *d = (cra_dec_t *)ctx;
  cra_level_t *lv = &d->lv[d->depth--];
  lv->hint_arr = lv->count;
  return dec_add(d);
}

static const yajl_callbacks dec_callbacks = {
    cb_null,      cb_boolean, NULL /* integer */, NULL /* double */,
    cb_number,    cb_string,  cb_start_map,       cb_map_key,
    cb_end_map,   cb_start_array, cb_end_array};

/* ------------------------------------------------------------------------ */
/* Entry point                                                              */
/* ------------------------------------------------------------------------ */

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

CRA_HIDDEN int cra_json_decode_yajl(lua_State *L, const char *text, size_t len,
                                    int max_depth) {
  cra_dec_t *d;
  int base, ok = 1;
  yajl_status st;
  size_t i;
  char msg[200];

  for (i = 0; i < len && is_ws((unsigned char)text[i]); i++) {
  }
  if (i == len) {
    lua_pushliteral(L, "json: empty input at byte 0");
    return 0;
  }
  {
    /* yajl takes a form feed for whitespace; JSON allows only space, tab,
     * CR and LF, and no raw control byte inside strings either, so any
     * 0x0C byte makes the text invalid. */
    const char *ff = (const char *)memchr(text, '\f', len);
    if (ff != NULL) {
      snprintf(msg, sizeof msg, "json: invalid character (form feed) at byte %lu",
               (unsigned long)(ff - text));
      lua_pushstring(L, msg);
      return 0;
    }
  }

  luaL_checkstack(L, 8, "json_decode");
  base = lua_gettop(L) + 1;
  /* Box first (zeroed, __gc set), then acquire C resources. */
  d = (cra_dec_t *)cra_newuserdata(L, sizeof *d);
  memset(d, 0, sizeof *d);
  luaL_getmetatable(L, DEC_MT);
  if (lua_isnil(L, -1)) luaL_error(L, "json: cra_json_open was not called");
  lua_setmetatable(L, -2);
  luaL_getmetatable(L, CRA_JSON_ARRAY_MT); /* base + 1 */

  d->L = L;
  d->text = (const unsigned char *)text;
  d->len = len;
  d->max_depth = max_depth < 0 ? 0 : max_depth > CRA_JSON_DEPTH_CAP ? CRA_JSON_DEPTH_CAP : max_depth;
  d->mt_idx = base + 1;
  d->lv = d->lv_inline;
  d->lv_cap = LV_INLINE;
  d->h = yajl_alloc(&dec_callbacks, NULL, d);
  if (d->h == NULL) luaL_error(L, "not enough memory");
  yajl_config(d->h, yajl_dont_validate_strings, 1); /* we validate, stricter */

  st = yajl_parse(d->h, (const unsigned char *)text, len);
  if (st == yajl_status_ok) {
    d->in_complete = 1;
    st = yajl_complete_parse(d->h);
  }
  if (st != yajl_status_ok) {
    ok = 0;
    if (st == yajl_status_client_canceled && d->err != NULL) {
      if (strcmp(d->err, "not enough memory") == 0) {
        dec_release(d);
        luaL_error(L, "not enough memory");
      }
      if (strcmp(d->err, "nesting deeper than max_depth") == 0 && max_depth > CRA_JSON_DEPTH_CAP)
        snprintf(msg, sizeof msg, "json: nesting deeper than the depth cap (%d) at byte %lu",
                 CRA_JSON_DEPTH_CAP, (unsigned long)d->err_off);
      else if (strcmp(d->err, "nesting deeper than max_depth") == 0)
        snprintf(msg, sizeof msg, "json: nesting deeper than max_depth (%d) at byte %lu",
                 d->max_depth, (unsigned long)d->err_off);
      else
        snprintf(msg, sizeof msg, "json: %s at byte %lu", d->err,
                 (unsigned long)d->err_off);
    } else {
      /* yajl's message, e.g. "parse error: trailing garbage\n". */
      unsigned char *ye = yajl_get_error(d->h, 0, NULL, 0);
      size_t off = dec_offset(d);
      size_t n;
      const char *ys = ye ? (const char *)ye : "syntax error";
      n = strlen(ys);
      while (n > 0 && (ys[n - 1] == '\n' || ys[n - 1] == '.' || ys[n - 1] == ' ')) n--;
      snprintf(msg, sizeof msg, "json: %.*s at byte %lu", (int)(n > 120 ? 120 : n), ys,
               (unsigned long)off);
      if (ye != NULL) yajl_free_error(d->h, ye);
    }
  }
  dec_release(d);
  if (!ok) {
    lua_settop(L, base - 1);
    lua_pushstring(L, msg);
    return 0;
  }
  /* stack: [box, array_mt, value] -> [value] */
  lua_replace(L, base);
  lua_settop(L, base);
  return 1;
}

CRA_HIDDEN void cra_json_yajl_open(lua_State *L) {
  luaL_checkstack(L, 2, "json");
  luaL_newmetatable(L, DEC_MT);
  lua_pushcfunction(L, dec_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}
