/*
 * query.c — query-string encoder (see query.h for the rules).
 *
 * Memory: the only scratch allocation (the array of key pointers used for
 * sorting) is a Lua userdata, so a memory error raised half-way leaks
 * nothing. The output is built with luaL_Buffer; while it is open the stack
 * is addressed only with absolute indices (pitfall 12).
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "query.h"

/* Decimal text of v into out (size >= 21); returns its length. snprintf
 * costs ten times as much, and page numbers are in every GET. */
static size_t cra_format_int(long long v, char *out) {
  char tmp[24];
  size_t n = 0, len = 0;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0);
  if (v < 0) out[len++] = '-';
  while (n > 0) out[len++] = tmp[--n];
  out[len] = '\0';
  return len;
}

/* Writes a locale-independent text form of a finite double into out (size
 * >= 40): integral values (|n| < 2^63) without ".0", others the shortest of
 * %.15g..%.17g that reads back exactly, with "." as the decimal point. */
static void cra_format_double(double n, char *out, size_t size) {
  int prec;
  if (n == floor(n) && fabs(n) < 9.2233720368547758e18) {
    (void)cra_format_int((long long)n, out);
    return;
  }
  for (prec = 15; prec <= 17; prec++) {
    snprintf(out, size, "%.*g", prec, n);
    /* strtod uses the same locale as snprintf, so the round-trip check is
     * consistent; the decimal point is normalised afterwards. */
    if (strtod(out, NULL) == n) break;
  }
  {
    /* Replace the locale's decimal point (possibly multi-byte) by '.'. */
    const char *dp = localeconv()->decimal_point;
    size_t dplen = dp ? strlen(dp) : 0;
    if (dplen && !(dplen == 1 && dp[0] == '.')) {
      char *p = strstr(out, dp);
      if (p) {
        *p = '.';
        memmove(p + 1, p + dplen, strlen(p + dplen) + 1);
      }
    }
  }
}

static void cra_add_escaped(luaL_Buffer *b, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
      luaL_addchar(b, (char)c);
    } else {
      luaL_addchar(b, '%');
      luaL_addchar(b, hex[c >> 4]);
      luaL_addchar(b, hex[c & 15]);
    }
  }
}

/* Appends the scalar at absolute index vi; returns 0 for an unsupported type
 * (nothing appended) and sets *why. */
static int cra_add_scalar(lua_State *L, luaL_Buffer *b, int vi, const char **why) {
  switch (lua_type(L, vi)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, vi, &len);
    cra_add_escaped(b, s, len);
    return 1;
  }
  case LUA_TBOOLEAN:
    luaL_addstring(b, lua_toboolean(L, vi) ? "true" : "false");
    return 1;
  case LUA_TNUMBER: {
    char num[64];
    if (cra_isinteger(L, vi)) {
      luaL_addlstring(b, num, cra_format_int(cra_tointeger(L, vi), num)); /* digits and '-' need no escape */
      return 1;
    } else {
      double n = (double)lua_tonumber(L, vi);
      if (n != n || n == HUGE_VAL || n == -HUGE_VAL) {
        *why = "NaN and infinity cannot be sent";
        return 0;
      }
      cra_format_double(n, num, sizeof num);
    }
    cra_add_escaped(b, num, strlen(num)); /* '-', '+', '.' are kept; 'e' too */
    return 1;
  }
  default:
    *why = "unsupported value type";
    return 0;
  }
}

/* True when the table at idx is a sequence 1..n with nothing else. */
static int cra_is_sequence(lua_State *L, int idx, size_t *n_out) {
  size_t n = cra_rawlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
    if (!cra_isinteger(L, -1)) { lua_pop(L, 1); return 0; }
    {
      long long k = cra_tointeger(L, -1);
      if (k < 1 || (size_t)k > n) { lua_pop(L, 1); return 0; }
    }
  }
  *n_out = n;
  return count == n;
}

static int cra_key_cmp(const void *a, const void *b) {
  const char *const *x = (const char *const *)a;
  const char *const *y = (const char *const *)b;
  return strcmp(*x, *y);
}

/* Leaves exactly (key, message) above base and returns 0. */
static int cra_query_fail(lua_State *L, int base, const char *key, const char *msg) {
  lua_pushstring(L, key);
  lua_pushstring(L, msg);
  lua_replace(L, base + 2);
  lua_replace(L, base + 1);
  lua_settop(L, base + 2);
  return 0;
}

/* Up to this many keys are sorted in a C array (no scratch table or userdata). */
#define CRA_QUERY_SMALL 32

int cra_query_encode(lua_State *L, int idx) {
  size_t nkeys = 0, i, count = 0;
  int base, keys, slot_v, slot_e, out_first = 1, small;
  const char **sorted;
  const char *few[CRA_QUERY_SMALL];
  luaL_Buffer b;
  idx = cra_absindex(L, idx);
  luaL_checkstack(L, 12, "encode_query");
  base = lua_gettop(L);

  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  small = count <= CRA_QUERY_SMALL;
  /* Pass 1: collect the string keys: a few into `few` (the query table
   * anchors them, and nothing here changes it), more into a Lua array. */
  if (small) lua_pushnil(L); /* keeps the stack shape of the Lua array's slot */
  else lua_newtable(L);
  keys = base + 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t klen;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      char msg[96];
      snprintf(msg, sizeof msg, "query keys must be strings (got a %s key)",
               luaL_typename(L, -1));
      lua_pop(L, 1);
      lua_pushnil(L); /* keep the stack at keys + 1 for cra_query_fail */
      return cra_query_fail(L, base, "?", msg);
    }
    if (strlen(lua_tolstring(L, -1, &klen)) != klen) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return cra_query_fail(L, base, "?", "query key contains NUL");
    }
    if (small) {
      few[nkeys++] = lua_tostring(L, -1);
      continue;
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, (int)++nkeys);
  }
  if (small) {
    sorted = few;
  } else {
    /* Pointers stay valid: every key string is referenced by `keys`. */
    sorted = (const char **)cra_newuserdata(L, (nkeys ? nkeys : 1) * sizeof *sorted);
    for (i = 0; i < nkeys; i++) {
      lua_rawgeti(L, keys, (int)i + 1);
      sorted[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
  }
  qsort(sorted, nkeys, sizeof *sorted, cra_key_cmp);
  lua_pushnil(L);
  slot_v = lua_gettop(L);  /* scratch: current value */
  lua_pushnil(L);
  slot_e = lua_gettop(L);  /* scratch: current array element */

  /* Pass 2: validate every value first, so the error path never has to
   * unwind an open luaL_Buffer. */
  for (i = 0; i < nkeys; i++) {
    const char *why = NULL;
    lua_getfield(L, idx, sorted[i]);
    lua_replace(L, slot_v);
    switch (lua_type(L, slot_v)) {
    case LUA_TSTRING: case LUA_TBOOLEAN: case LUA_TNIL: break;
    case LUA_TNUMBER: {
      double n = (double)lua_tonumber(L, slot_v);
      if (!cra_isinteger(L, slot_v) && (n != n || n == HUGE_VAL || n == -HUGE_VAL))
        why = "NaN and infinity cannot be sent";
      break;
    }
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, slot_v) != NULL) why = "unsupported value type";
      break;
    case LUA_TTABLE: {
      size_t n, j;
      if (!cra_is_sequence(L, slot_v, &n)) { why = "tables must be arrays (a sequence 1..n)"; break; }
      for (j = 1; j <= n && !why; j++) {
        int t;
        lua_rawgeti(L, slot_v, (int)j);
        t = lua_type(L, -1);
        if (t == LUA_TNUMBER) {
          double d = (double)lua_tonumber(L, -1);
          if (!cra_isinteger(L, -1) && (d != d || d == HUGE_VAL || d == -HUGE_VAL))
            why = "NaN and infinity cannot be sent";
        } else if (t != LUA_TSTRING && t != LUA_TBOOLEAN) {
          why = "array elements must be strings, numbers or booleans";
        }
        lua_pop(L, 1);
      }
      break;
    }
    default:
      why = "unsupported value type";
      break;
    }
    if (why) {
      char msg[200];
      snprintf(msg, sizeof msg, "query parameter '%.60s': %s (%s)", sorted[i],
               why, luaL_typename(L, slot_v));
      return cra_query_fail(L, base, sorted[i], msg);
    }
  }

  /* Pass 3: build. Every push is moved into a scratch slot before the next
   * buffer operation, so the buffer's stack use stays balanced. */
  luaL_buffinit(L, &b);
  for (i = 0; i < nkeys; i++) {
    const char *why = NULL;
    lua_getfield(L, idx, sorted[i]);
    lua_replace(L, slot_v);
    if (lua_isnil(L, slot_v) || lua_type(L, slot_v) == LUA_TLIGHTUSERDATA)
      continue; /* creatorapi.null → key dropped */
    if (lua_type(L, slot_v) == LUA_TTABLE && cra_rawlen(L, slot_v) == 0)
      continue; /* an empty array sends nothing */
    if (!out_first) luaL_addchar(&b, '&');
    out_first = 0;
    cra_add_escaped(&b, sorted[i], strlen(sorted[i]));
    luaL_addchar(&b, '=');
    if (lua_type(L, slot_v) == LUA_TTABLE) {
      size_t n = cra_rawlen(L, slot_v), j;
      for (j = 1; j <= n; j++) {
        if (j > 1) luaL_addchar(&b, ',');
        lua_rawgeti(L, slot_v, (int)j);
        lua_replace(L, slot_e);
        (void)cra_add_scalar(L, &b, slot_e, &why);
      }
    } else {
      (void)cra_add_scalar(L, &b, slot_v, &why);
    }
  }
  luaL_pushresult(&b);
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 1;
}

/* core.encode_query(t) → string | nil, err (a validation error table) */
static int cra_l_encode_query(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (cra_query_encode(L, 1)) return 1;
  /* stack: t, key, message */
  {
    size_t len;
    const char *msg = lua_tolstring(L, 3, &len);
    lua_pushnil(L);
    cra_error_push(L, "validation", msg, len);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "field");
  }
  return 2;
}

void cra_query_open(lua_State *L) {
  lua_pushcfunction(L, cra_l_encode_query);
  lua_setfield(L, -2, "encode_query");
}
