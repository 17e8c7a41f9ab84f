/*
 * error.c — error tables, kind mapping, Retry-After parsing, __tostring.
 *
 * Kinds (docs/internals.md):
 *   validation auth credits permission not_found rate_limited quota server
 *   network timeout tls protocol
 *   unknown_outcome (a "submit" request failed after it was sent)
 *   aborted (on_progress raised), io (local file error in a download)
 * retryable = network, timeout, rate_limited, server.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"

int cra_error_retryable(const char *kind) {
  return strcmp(kind, "network") == 0 || strcmp(kind, "timeout") == 0 ||
         strcmp(kind, "rate_limited") == 0 || strcmp(kind, "server") == 0;
}

void cra_error_push(lua_State *L, const char *kind, const char *msg,
                    size_t msglen) {
  lua_createtable(L, 0, 8);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushlstring(L, msg, msglen);
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, cra_error_retryable(kind));
  lua_setfield(L, -2, "retryable");
  cra_setmetatable(L, CRA_ERROR_MT);
}

void cra_error_setint(lua_State *L, const char *field, long long v) {
  cra_pushint64(L, v);
  lua_setfield(L, -2, field);
}

void cra_error_setstr(lua_State *L, const char *field, const char *s) {
  lua_pushstring(L, s);
  lua_setfield(L, -2, field);
}

const char *cra_error_kind_for_status(long status) {
  switch (status) {
  case 400: case 422: return "validation";
  case 401: return "auth";
  case 402: return "credits";
  case 403: return "permission";
  case 404: return "not_found";
  case 408: return "timeout";
  case 429: return "rate_limited";
  default: break;
  }
  if (status >= 500 && status <= 599) return "server";
  /* Any other 4xx: the API refused this request as sent; not retryable. */
  if (status >= 400 && status <= 499) return "validation";
  return "protocol";
}

const char *cra_error_kind_for_code(int dialect, long long code, long status) {
  if (dialect == CRA_DIALECT_CREATIVAULT) {
    if (code == 42902) return "quota";
    if (code == 40201) return "credits";
    /* 40001 → 400, 40101..40104 → 401, 50001 → 500, …: the first three
     * digits are the HTTP status the code belongs to. Unknown codes in the
     * same family (the video-audit 40002/40003) map the same way. */
    if (code >= 40000 && code <= 59999) return cra_error_kind_for_status((long)(code / 100));
  } else {
    if (code >= 400 && code <= 599) return cra_error_kind_for_status((long)code);
  }
  if (status >= 400) return cra_error_kind_for_status(status);
  /* An unknown business code on a 2xx: the API refused the request. */
  return "validation";
}

const char *cra_error_kind_for_curl(CURLcode rc) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return "timeout";
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_USE_SSL_FAILED:
    return "tls";
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return "validation"; /* a bad base_url or path: nothing was sent */
  case CURLE_FILESIZE_EXCEEDED:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_WEIRD_SERVER_REPLY:
    return "protocol";
  default:
    return "network";
  }
}

int cra_retry_after_parse(const char *s, long long *seconds) {
  const char *p = s;
  while (*p == ' ' || *p == '\t') p++;
  if (isdigit((unsigned char)*p)) {
    long long v = 0;
    while (isdigit((unsigned char)*p)) {
      if (v > 1000000000LL) v = 1000000000LL; /* clamp absurd values */
      else v = v * 10 + (*p - '0');
      p++;
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '\0') return 0;
    *seconds = v;
    return 1;
  } else {
    /* curl_getdate parses RFC 7231 IMF-fixdate and the obsolete forms,
     * independent of the locale. */
    time_t t = curl_getdate(p, NULL);
    time_t now = time(NULL);
    if (t == (time_t)-1) return 0;
    *seconds = t > now ? (long long)(t - now) : 0;
    return 1;
  }
}

/* stack: [-0, +1]; pushes the string/integer field `name` of the table at
 * idx as a string, or nothing. Returns the number of values pushed. */
static int cra_push_field_text(lua_State *L, int idx, const char *name) {
  lua_getfield(L, idx, name);
  if (lua_type(L, -1) == LUA_TNUMBER && cra_isinteger(L, -1)) {
    char num[32];
    snprintf(num, sizeof num, "%lld", cra_tointeger(L, -1));
    lua_pop(L, 1);
    lua_pushstring(L, num);
    return 1;
  }
  if (lua_type(L, -1) == LUA_TSTRING) return 1;
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_pushstring(L, lua_tostring(L, -1)); /* copy; never convert in place */
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* error_mt.__tostring:
 *   creatorapi: rate_limited (HTTP 429, code 42901, request_id req_x): msg (retry after 60 s)
 * Reads only the fields named here, so credentials can never be printed.
 * Built as pieces on the stack and joined with lua_concat (no luaL_Buffer,
 * pitfall 12). Never raises on odd field types. */
static int cra_error_tostring(lua_State *L) {
  static const char *const labels[][2] = {
    {"HTTP ", "status"}, {"code ", "code"}, {"request_id ", "request_id"},
    {"curl ", "curl_code"},
  };
  int n = 0, inner = 0;
  size_t i;
  luaL_checkstack(L, 24, "tostring");
  lua_pushstring(L, "creatorapi: ");
  n++;
  if (!cra_push_field_text(L, 1, "kind")) lua_pushstring(L, "error");
  n++;
  for (i = 0; i < sizeof labels / sizeof labels[0]; i++) {
    int base = lua_gettop(L);
    if (cra_push_field_text(L, 1, labels[i][1])) {
      lua_pushstring(L, inner ? ", " : " (");
      lua_pushstring(L, labels[i][0]);
      lua_pushvalue(L, base + 1);
      lua_remove(L, base + 1);
      n += 3;
      inner = 1;
    }
  }
  if (inner) { lua_pushstring(L, ")"); n++; }
  if (cra_push_field_text(L, 1, "message")) {
    lua_pushstring(L, ": ");
    lua_insert(L, -2);
    n += 2;
  }
  lua_getfield(L, 1, "retry_after");
  if (lua_type(L, -1) == LUA_TNUMBER) {
    char tail[64];
    lua_Number ra = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (ra == (lua_Number)(long long)ra)
      snprintf(tail, sizeof tail, " (retry after %lld s)", (long long)ra);
    else
      snprintf(tail, sizeof tail, " (retry after %.3g s)", (double)ra);
    lua_pushstring(L, tail);
    n++;
  } else {
    lua_pop(L, 1);
  }
  lua_concat(L, n);
  return 1;
}

/* core.new_error(t) → t with error_mt set (for the Lua layer). Fills
 * `retryable` from `kind` when the caller left it nil. */
static int cra_l_new_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "retryable");
  if (lua_isnil(L, -1)) {
    lua_getfield(L, 1, "kind");
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pushboolean(L, cra_error_retryable(lua_tostring(L, -1)));
      lua_setfield(L, 1, "retryable");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  cra_setmetatable(L, CRA_ERROR_MT);
  return 1;
}

void cra_error_open(lua_State *L) {
  /* Reused when the module is required again: errors created before keep
   * the same metatable, so `getmetatable(e) == core.error_mt` stays true. */
  luaL_newmetatable(L, CRA_ERROR_MT);
  lua_pushcfunction(L, cra_error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, CRA_ERROR_MT);
  lua_setfield(L, -2, "__name");
  lua_setfield(L, -2, "error_mt");
  lua_pushcfunction(L, cra_l_new_error);
  lua_setfield(L, -2, "new_error");
}
