/*
 * envelope.c — response body → result or error table (see envelope.h).
 *
 * Runs after the transfer, with the body still in a C buffer owned by the
 * client, so a memory error raised while decoding or building tables leaks
 * nothing (the buffer is freed by the next batch or by close/__gc).
 */
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "error.h"
#include "json.h"

void cra_push_redacted(lua_State *L, const char *s, size_t len,
                       const char *secret) {
  size_t slen = secret ? strlen(secret) : 0;
  const char *p, *end = s + len;
  /* Keys shorter than 4 bytes would redact ordinary words; skip them. */
  if (slen < 4 || len < slen) {
    lua_pushlstring(L, s, len);
    return;
  }
  luaL_checkstack(L, 4, "redact");
  lua_pushliteral(L, "");
  p = s;
  while (p < end) {
    const char *hit = NULL, *q;
    for (q = p; q + slen <= end; q++) {
      if (*q == *secret && memcmp(q, secret, slen) == 0) { hit = q; break; }
    }
    if (hit == NULL) {
      lua_pushlstring(L, p, (size_t)(end - p));
      lua_concat(L, 2);
      break;
    }
    lua_pushlstring(L, p, (size_t)(hit - p));
    lua_pushliteral(L, "[REDACTED]");
    lua_concat(L, 3);
    p = hit + slen;
  }
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid.
 * Strict RFC 3629, like the JSON codec: no overlong forms, no UTF-16
 * surrogates (U+D800..DFFF), nothing above U+10FFFF — so an excerpt always
 * re-encodes as JSON (the envelope fuzzer checks this). */
static size_t cra_utf8_len(const unsigned char *p, size_t avail) {
  size_t n, i;
  unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (p[0] < 0x80) return 1;
  if (p[0] >= 0xC2 && p[0] <= 0xDF) n = 2;
  else if (p[0] >= 0xE0 && p[0] <= 0xEF) n = 3;
  else if (p[0] >= 0xF0 && p[0] <= 0xF4) n = 4;
  else return 0;
  if (p[0] == 0xE0) lo = 0xA0;      /* overlong below U+0800 */
  else if (p[0] == 0xED) hi = 0x9F; /* surrogates */
  else if (p[0] == 0xF0) lo = 0x90; /* overlong below U+10000 */
  else if (p[0] == 0xF4) hi = 0x8F; /* above U+10FFFF */
  if (avail < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

void cra_push_excerpt(lua_State *L, const char *s, size_t len,
                      const char *secret) {
  /* Sanitise a window long enough that a key straddling the cut is still
   * whole, redact, and only then cut: a key prefix never survives. */
  size_t slen = secret ? strlen(secret) : 0;
  size_t win = len < CRA_EXCERPT_MAX + slen ? len : CRA_EXCERPT_MAX + slen;
  size_t i = 0, o, rlen;
  const unsigned char *u = (const unsigned char *)s;
  const char *r;
  luaL_Buffer b;
  luaL_checkstack(L, 4, "excerpt");
  luaL_buffinit(L, &b);
  while (i < win) {
    size_t n = cra_utf8_len(u + i, len - i);
    if (n == 1) {
      unsigned char c = u[i];
      luaL_addchar(&b, (c < 0x20 || c == 0x7F) ? ' ' : (char)c);
      i++;
    } else if (n == 0) {
      luaL_addchar(&b, '?');
      i++;
    } else {
      luaL_addlstring(&b, s + i, n);
      i += n;
    }
  }
  luaL_pushresult(&b);
  r = lua_tolstring(L, -1, &rlen);
  cra_push_redacted(L, r, rlen, secret);
  lua_remove(L, -2);
  r = lua_tolstring(L, -1, &rlen);
  o = rlen < CRA_EXCERPT_MAX ? rlen : CRA_EXCERPT_MAX;
  /* never cut a character in half */
  if (o < rlen) {
    size_t k = o;
    while (k > 0 && (((unsigned char)r[k]) & 0xC0) == 0x80) k--;
    o = k;
  }
  /* Trim trailing spaces left from newlines. */
  while (o > 0 && r[o - 1] == ' ') o--;
  if (o < rlen) {
    lua_pushlstring(L, r, o);
    lua_remove(L, -2);
  }
}

/* Replaces, in place, every string value of the table at idx (and of the
 * tables in it, a few levels down) that contains the secret by its redacted
 * form: a server that echoes the key into a successful answer's meta must
 * not leak it into res.meta, stats() or a log line. */
void cra_redact_table(lua_State *L, int idx, const char *secret, int depth) {
  size_t slen = secret ? strlen(secret) : 0;
  if (slen < 4 || depth > 4 || !lua_istable(L, idx)) return;
  idx = cra_absindex(L, idx);
  luaL_checkstack(L, 6, "redact");
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t n;
      const char *v = lua_tolstring(L, -1, &n);
      size_t k;
      int hit = 0;
      for (k = 0; !hit && k + slen <= n; k++) hit = v[k] == *secret && memcmp(v + k, secret, slen) == 0;
      if (hit) {
        cra_push_redacted(L, v, n, secret);
        lua_pushvalue(L, -3); /* key */
        lua_insert(L, -2);
        lua_rawset(L, idx);   /* assigning an existing field during lua_next is allowed */
      }
    } else if (lua_type(L, -1) == LUA_TTABLE) {
      cra_redact_table(L, -1, secret, depth + 1);
    }
    lua_pop(L, 1);
  }
}

/* True when the value at idx is a number or numeric string; sets *v. */
static int cra_get_code(lua_State *L, int idx, long long *v) {
  if (lua_type(L, idx) == LUA_TNUMBER ||
      (lua_type(L, idx) == LUA_TSTRING && lua_isnumber(L, idx))) {
    lua_Number n = lua_tonumber(L, idx);
    if (n != n || n > 9.2e18 || n < -9.2e18) return 0;
    *v = cra_isinteger(L, idx) ? cra_tointeger(L, idx) : (long long)n;
    return 1;
  }
  return 0;
}

/* Pushes the string/number field `name` of the table at idx as a string,
 * or nil. stack: [-0, +1] */
static void cra_push_strfield(lua_State *L, int idx, const char *name) {
  if (!lua_istable(L, idx)) {
    lua_pushnil(L);
    return;
  }
  lua_getfield(L, idx, name);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    char num[40];
    if (cra_isinteger(L, -1)) snprintf(num, sizeof num, "%lld", cra_tointeger(L, -1));
    else snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, -1));
    lua_pop(L, 1);
    lua_pushstring(L, num);
  } else if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
}

/* Decorates the error table on top with status, code, request_id (value at
 * rid_idx, or the x-request-id header), retry_after, method and path. */
static void cra_error_decorate(lua_State *L, const cra_envelope_ctx *c,
                               int has_code, long long code, int rid_idx) {
  int err = lua_gettop(L);
  if (c->status > 0) cra_error_setint(L, "status", c->status);
  if (has_code) cra_error_setint(L, "code", code);
  /* request_id is printed by __tostring: a server that echoes the key into
   * it (found by fuzz/fuzz_envelope.c) must not leak it, so redact it too. */
  if (rid_idx && lua_type(L, rid_idx) == LUA_TSTRING) {
    size_t n;
    const char *rid = lua_tolstring(L, rid_idx, &n);
    cra_push_redacted(L, rid, n, c->secret);
    lua_setfield(L, err, "request_id");
  } else if (c->headers_idx) {
    lua_getfield(L, c->headers_idx, "x-request-id");
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t n;
      const char *rid = lua_tolstring(L, -1, &n);
      cra_push_redacted(L, rid, n, c->secret);
      lua_setfield(L, err, "request_id");
    }
    lua_pop(L, 1);
  }
  if (c->headers_idx) {
    lua_getfield(L, c->headers_idx, "retry-after");
    if (lua_type(L, -1) == LUA_TSTRING) {
      long long secs;
      int ok = cra_retry_after_parse(lua_tostring(L, -1), &secs);
      lua_pop(L, 1);
      if (ok) cra_error_setint(L, "retry_after", secs);
    } else {
      lua_pop(L, 1);
    }
  }
  if (c->method) cra_error_setstr(L, "method", c->method);
  if (c->path) cra_error_setstr(L, "path", c->path);
}

/* Pushes an error table whose message is the string at msg_idx (or
 * fallback), redacted. */
static void cra_push_api_error(lua_State *L, const cra_envelope_ctx *c,
                               const char *kind, int msg_idx,
                               const char *fallback) {
  size_t len;
  const char *m;
  if (msg_idx && lua_type(L, msg_idx) == LUA_TSTRING) {
    m = lua_tolstring(L, msg_idx, &len);
  } else {
    m = fallback;
    len = strlen(fallback);
  }
  cra_push_redacted(L, m, len, c->secret);
  cra_error_push(L, kind, "", 0);
  lua_insert(L, -2);
  lua_setfield(L, -2, "message");
}

/* stack: [-0, +1] → result table from the envelope table at env. */
static void cra_push_result(lua_State *L, const cra_envelope_ctx *c, int data_idx,
                            int meta_idx) {
  /* Room for res.attempts (request_loop.lua) and paging's fields: filling
   * the four slots exactly would rehash the table at the next key. */
  lua_createtable(L, 0, 8);
  cra_pushint64(L, c->status);
  lua_setfield(L, -2, "status");
  lua_pushvalue(L, data_idx);
  lua_setfield(L, -2, "data");
  lua_pushvalue(L, meta_idx);
  lua_setfield(L, -2, "meta");
  if (c->headers_idx) lua_pushvalue(L, c->headers_idx);
  else lua_newtable(L);
  lua_setfield(L, -2, "headers");
}

/* CreatiVault envelope at env. Returns 1 (result pushed), 0 (error
 * pushed) or -1 (not an envelope, nothing pushed). */
static int cra_envelope_creativault(lua_State *L, const cra_envelope_ctx *c, int env) {
  int success, base = lua_gettop(L), meta, errt, data, rid, msg;
  long long code = 0;
  int has_code = 0;
  lua_getfield(L, env, "success");
  if (lua_type(L, -1) != LUA_TBOOLEAN) {
    lua_settop(L, base);
    return -1;
  }
  success = lua_toboolean(L, -1);
  lua_getfield(L, env, "meta");            /* base+2 */
  meta = base + 2;
  if (!lua_istable(L, meta)) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  lua_getfield(L, env, "data");            /* base+3 */
  data = base + 3;
  lua_getfield(L, env, "error");           /* base+4 */
  errt = base + 4;
  cra_push_strfield(L, meta, "request_id"); /* base+5 */
  rid = base + 5;
  if (success && c->status >= 200 && c->status <= 299) {
    cra_redact_table(L, meta, c->secret, 0);
    if (c->headers_idx) cra_redact_table(L, c->headers_idx, c->secret, 0);
    cra_push_result(L, c, data, meta);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
  }
  cra_push_strfield(L, errt, "message");   /* base+6 */
  msg = base + 6;
  if (lua_istable(L, errt)) {
    lua_getfield(L, errt, "code");
    has_code = cra_get_code(L, -1, &code);
    lua_pop(L, 1);
  }
  {
    char fb[64];
    const char *kind;
    if (has_code) kind = cra_error_kind_for_code(CRA_DIALECT_CREATIVAULT, code, c->status);
    else if (c->status >= 400) kind = cra_error_kind_for_status(c->status);
    else kind = "protocol"; /* success:false with no code: malformed */
    if (has_code) snprintf(fb, sizeof fb, "API error %lld", code);
    else snprintf(fb, sizeof fb, "HTTP %ld", c->status);
    cra_push_api_error(L, c, kind, msg, fb);
  }
  cra_error_decorate(L, c, has_code, code, rid);
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 0;
}

/* KeyAPI envelope {code, message, data, requestId}; same returns. */
static int cra_envelope_keyapi(lua_State *L, const cra_envelope_ctx *c, int env) {
  int base = lua_gettop(L);
  long long code;
  lua_getfield(L, env, "code");            /* base+1 */
  if (lua_type(L, -1) != LUA_TNUMBER || !cra_get_code(L, -1, &code)) {
    lua_settop(L, base);
    return -1;
  }
  cra_push_strfield(L, env, "message");    /* base+2 */
  cra_push_strfield(L, env, "requestId");  /* base+3 */
  if (code == 0 && c->status >= 200 && c->status <= 299) {
    lua_getfield(L, env, "data");          /* base+4 */
    lua_createtable(L, 0, 2);              /* base+5: meta */
    lua_pushvalue(L, base + 3);
    lua_setfield(L, -2, "request_id");
    lua_pushvalue(L, base + 2);
    lua_setfield(L, -2, "message");
    cra_redact_table(L, -1, c->secret, 0);
    if (c->headers_idx) cra_redact_table(L, c->headers_idx, c->secret, 0);
    cra_push_result(L, c, base + 4, base + 5);
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
    return 1;
  }
  {
    char fb[64];
    const char *kind;
    if (code != 0) {
      kind = cra_error_kind_for_code(CRA_DIALECT_KEYAPI, code, c->status);
      snprintf(fb, sizeof fb, "API error %lld", code);
    } else {
      kind = cra_error_kind_for_status(c->status);
      snprintf(fb, sizeof fb, "HTTP %ld", c->status);
    }
    cra_push_api_error(L, c, kind, base + 2, fb);
    cra_error_decorate(L, c, code != 0, code, base + 3);
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 0;
}

int cra_envelope_build(lua_State *L, const cra_envelope_ctx *c) {
  int base = lua_gettop(L), decoded = 0, r;
  luaL_checkstack(L, 16, "envelope");
  if (c->len > 0) {
    decoded = cra_json_decode(L, c->body, c->len, c->max_depth);
  } else {
    lua_pushliteral(L, "empty response body");
  }
  /* base+1: decoded value, or the decoder's message */
  if (decoded && lua_istable(L, base + 1)) {
    r = c->dialect == CRA_DIALECT_KEYAPI ? cra_envelope_keyapi(L, c, base + 1)
                                         : cra_envelope_creativault(L, c, base + 1);
    if (r >= 0) {
      lua_replace(L, base + 1);
      lua_settop(L, base + 1);
      return r;
    }
  }
  /* No recognisable envelope. */
  {
    char msg[160];
    const char *kind;
    int msg_idx = 0;
    if (c->status >= 400) {
      kind = cra_error_kind_for_status(c->status);
      if (decoded && lua_istable(L, base + 1)) {
        /* FastAPI {"detail": "..."} or a bare {"message": "..."} */
        cra_push_strfield(L, base + 1, "message");
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          cra_push_strfield(L, base + 1, "detail");
        }
        if (!lua_isnil(L, -1)) msg_idx = lua_gettop(L);
      }
      snprintf(msg, sizeof msg, "HTTP %ld%s", c->status,
               decoded ? "" : (c->len ? " (non-JSON response body)" : " (empty body)"));
    } else if (c->status >= 200 && c->status <= 299) {
      kind = "protocol";
      if (!decoded && c->len > 0)
        snprintf(msg, sizeof msg, "HTTP %ld: response is not JSON (%.100s)", c->status,
                 lua_tostring(L, base + 1));
      else if (!decoded)
        snprintf(msg, sizeof msg, "HTTP %ld: empty response body", c->status);
      else
        snprintf(msg, sizeof msg, "HTTP %ld: response is not a %s envelope", c->status,
                 c->dialect == CRA_DIALECT_KEYAPI ? "KeyAPI" : "CreatiVault");
    } else {
      kind = "protocol";
      snprintf(msg, sizeof msg, "unexpected HTTP status %ld", c->status);
    }
    cra_push_api_error(L, c, kind, msg_idx, msg);
    cra_error_decorate(L, c, 0, 0, 0);
    if (!decoded && c->len > 0) {
      cra_push_excerpt(L, c->body, c->len, c->secret);
      lua_setfield(L, -2, "body_excerpt");
    }
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 0;
}
