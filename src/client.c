/*
 * client.c — core.client(config) and the creatorapi.Client methods.
 *
 * Invariants:
 * - Every C allocation is stored in the client struct (or a transfer slot
 *   owned by it) before the next Lua API call that could raise, so a memory
 *   error never leaks (practice 12).
 * - Lua values are built only before and after cra_transport_run(); during a
 *   transfer no Lua code runs (practice 8).
 * - The batch body runs under lua_pcall so the `busy` flag is always cleared;
 *   re-entrant use of one client (from a metamethod or finaliser) raises.
 * - Credentials are never copied into an error, a message or __tostring.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client.h"
#include "envelope.h"
#include "error.h"
#include "json.h"
#include "query.h"
#include "transport.h"
#include "util.h"
#include "version.h"

#define CRA_DEFAULT_TIMEOUT_MS 60000L
#define CRA_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define CRA_DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define CRA_DEFAULT_MAX_DEPTH 1000
/* libcurl has no "no connect timeout" (0 means its 300 s default), so
 * `connect_timeout = false` uses the largest value it accepts. */
#define CRA_NO_CONNECT_TIMEOUT_MS 2147483647L

typedef struct cra_client {
  int closed;
  int busy;                  /* a batch is running (re-entrancy guard) */
  int dialect;               /* CRA_DIALECT_* */
  char *base_url;            /* no trailing '/' */
  char *display_url;         /* base_url without userinfo, for __tostring */
  char *api_key;
  int api_key_bad;           /* contains CR, LF or NUL */
  char *user_identity;
  int user_identity_bad;
  char *user_agent;
  char *ca_file;
  char *proxy;
  long timeout_ms;           /* 0 = disabled */
  long connect_timeout_ms;
  int insecure;
  size_t max_body;
  int max_depth;
  int tr_ready;
  cra_transport_t tr;
} cra_client_t;

/* ---- small helpers ---------------------------------------------------- */

static void cra_wipe_free(char **p) {
  if (*p) {
    volatile char *v = *p;
    size_t n = strlen(*p);
    while (n--) *v++ = 0; /* credentials do not linger in freed memory */
    free(*p);
    *p = NULL;
  }
}

/* True when s[0..len) contains CR, LF or NUL. */
static int cra_has_crlfnul(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 1;
  return 0;
}

/* Duplicates len bytes into *dst (freeing the old value). Returns 0 on OOM. */
static int cra_store(char **dst, const char *s, size_t len) {
  char *p = (char *)malloc(len + 1);
  if (p == NULL) return 0;
  memcpy(p, s, len);
  p[len] = '\0';
  cra_wipe_free(dst);
  *dst = p;
  return 1;
}

/* Seconds (number > 0) or false → milliseconds; nil → dflt. Returns 1, or 0
 * when the value is invalid. `false` gives disabled_ms. */
static int cra_timeout_ms(lua_State *L, int idx, long dflt, long disabled_ms, long *out) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: *out = dflt; return 1;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx)) return 0;
    *out = disabled_ms;
    return 1;
  case LUA_TNUMBER: {
    double s = (double)lua_tonumber(L, idx);
    double ms;
    if (!(s > 0) || s != s) return 0;
    ms = ceil(s * 1000.0);
    if (ms > 2147483647.0) ms = 2147483647.0;
    *out = (long)ms;
    return 1;
  }
  default:
    return 0;
  }
}

static cra_client_t *cra_check_client(lua_State *L, int idx) {
  return (cra_client_t *)luaL_checkudata(L, idx, CRA_CLIENT_MT);
}

static cra_client_t *cra_check_open(lua_State *L, int idx) {
  cra_client_t *c = cra_check_client(L, idx);
  if (c->closed) luaL_error(L, "creatorapi.Client: client is closed");
  return c;
}

/* ---- close / gc ------------------------------------------------------- */

static void cra_client_release(cra_client_t *c) {
  if (c->tr_ready) {
    cra_transport_close(&c->tr);
    c->tr_ready = 0;
  }
  cra_wipe_free(&c->base_url);
  cra_wipe_free(&c->display_url);
  cra_wipe_free(&c->api_key);
  cra_wipe_free(&c->user_identity);
  cra_wipe_free(&c->user_agent);
  cra_wipe_free(&c->ca_file);
  cra_wipe_free(&c->proxy);
  c->closed = 1;
}

/* client:close(), __gc and __close: idempotent. */
static int cra_client_close(lua_State *L) {
  cra_client_t *c = cra_check_client(L, 1);
  if (c->busy) return luaL_error(L, "creatorapi.Client: cannot close a client while a request is running");
  cra_client_release(c);
  return 0;
}

static int cra_client_gc(lua_State *L) {
  cra_client_t *c = cra_check_client(L, 1);
  /* A busy client cannot be garbage (it is on the stack of the running
   * call); at lua_close everything is torn down anyway. */
  cra_client_release(c);
  return 0;
}

static int cra_client_tostring(lua_State *L) {
  cra_client_t *c = cra_check_client(L, 1);
  if (c->closed)
    lua_pushfstring(L, "creatorapi.Client (closed): %p", (void *)c);
  else
    lua_pushfstring(L, "creatorapi.Client (%s, %s): %p",
                    c->dialect == CRA_DIALECT_KEYAPI ? "keyapi" : "creativault",
                    c->display_url ? c->display_url : "?", (void *)c);
  return 1;
}

/* ---- core.client(config) ---------------------------------------------- */

static void cra_config_error(lua_State *L, const char *key, const char *what) {
  luaL_error(L, "creatorapi.core.client: config.%s %s", key, what);
}

/* Reads an optional string field into *dst; returns 1 when present.
 * *bad (optional) reports CR/LF/NUL instead of raising. */
static int cra_config_string(lua_State *L, cra_client_t *c, const char *key,
                             char **dst, int *bad) {
  size_t len;
  const char *s;
  (void)c;
  lua_getfield(L, 1, key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  if (lua_type(L, -1) != LUA_TSTRING) cra_config_error(L, key, "must be a string");
  s = lua_tolstring(L, -1, &len);
  if (cra_has_crlfnul(s, len)) {
    if (bad != NULL) *bad = 1;
    else cra_config_error(L, key, "must not contain CR, LF or NUL"); /* raises */
  }
  if (!cra_store(dst, s, len)) luaL_error(L, "creatorapi.core.client: out of memory");
  lua_pop(L, 1);
  return 1;
}

/* Builds display_url: base_url with any "user:pass@" removed. */
static int cra_make_display_url(cra_client_t *c) {
  const char *u = c->base_url, *scheme_end = strstr(u, "://");
  const char *host = scheme_end ? scheme_end + 3 : u;
  const char *slash = strchr(host, '/');
  const char *at = strchr(host, '@');
  char *out;
  size_t n;
  if (at && (slash == NULL || at < slash)) {
    size_t pre = (size_t)(host - u);
    n = strlen(u) - (size_t)(at + 1 - host);
    out = (char *)malloc(n + 1);
    if (!out) return 0;
    memcpy(out, u, pre);
    strcpy(out + pre, at + 1);
  } else {
    n = strlen(u);
    out = (char *)malloc(n + 1);
    if (!out) return 0;
    memcpy(out, u, n + 1);
  }
  /* Drop any query string or fragment from the printed form. */
  {
    char *q = strpbrk(out, "?#");
    if (q) *q = '\0';
  }
  c->display_url = out;
  return 1;
}

/* core.client(config) → client userdata. Invalid config raises. */
static int cra_client_new(lua_State *L) {
  cra_client_t *c;
  const char *s;
  size_t len;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);

  /* Userdata first, zeroed, with the full metatable: from here on, any
   * raise leaves an object that __gc frees correctly. */
  c = (cra_client_t *)cra_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  cra_setmetatable(L, CRA_CLIENT_MT);
  /* stack: config at 1, client at 2 */
  c->closed = 1; /* not usable until fully configured */
  c->timeout_ms = CRA_DEFAULT_TIMEOUT_MS;
  c->connect_timeout_ms = CRA_DEFAULT_CONNECT_TIMEOUT_MS;
  c->max_body = CRA_DEFAULT_MAX_BODY;
  c->max_depth = CRA_DEFAULT_MAX_DEPTH;

  /* base_url */
  lua_getfield(L, 1, "base_url");
  if (lua_type(L, -1) != LUA_TSTRING) cra_config_error(L, "base_url", "is required (a string)");
  s = lua_tolstring(L, -1, &len);
  if (cra_has_crlfnul(s, len) || strpbrk(s, " \t") != NULL)
    cra_config_error(L, "base_url", "must not contain whitespace, CR, LF or NUL");
  if (!(len > 7 && strncmp(s, "http://", 7) == 0) && !(len > 8 && strncmp(s, "https://", 8) == 0))
    cra_config_error(L, "base_url", "must start with http:// or https://");
  while (len > 0 && s[len - 1] == '/') len--;
  if (!cra_store(&c->base_url, s, len)) luaL_error(L, "creatorapi.core.client: out of memory");
  lua_pop(L, 1);
  if (!cra_make_display_url(c)) luaL_error(L, "creatorapi.core.client: out of memory");

  /* dialect */
  lua_getfield(L, 1, "dialect");
  s = lua_tostring(L, -1);
  if (lua_type(L, -1) != LUA_TSTRING) s = NULL;
  if (s && strcmp(s, "creativault") == 0) c->dialect = CRA_DIALECT_CREATIVAULT;
  else if (s && strcmp(s, "keyapi") == 0) c->dialect = CRA_DIALECT_KEYAPI;
  else cra_config_error(L, "dialect", "must be \"creativault\" or \"keyapi\"");
  lua_pop(L, 1);

  /* Credentials with CR/LF/NUL are accepted here and refused per request
   * (a validation error, nothing sent), so the message can name them. */
  cra_config_string(L, c, "api_key", &c->api_key, &c->api_key_bad);
  cra_config_string(L, c, "user_identity", &c->user_identity, &c->user_identity_bad);
  cra_config_string(L, c, "user_agent", &c->user_agent, NULL);
  cra_config_string(L, c, "ca_file", &c->ca_file, NULL);
  cra_config_string(L, c, "proxy", &c->proxy, NULL);

  lua_getfield(L, 1, "timeout");
  if (!cra_timeout_ms(L, -1, CRA_DEFAULT_TIMEOUT_MS, 0, &c->timeout_ms))
    cra_config_error(L, "timeout", "must be a positive number of seconds or false");
  lua_pop(L, 1);
  lua_getfield(L, 1, "connect_timeout");
  if (!cra_timeout_ms(L, -1, CRA_DEFAULT_CONNECT_TIMEOUT_MS, CRA_NO_CONNECT_TIMEOUT_MS,
                      &c->connect_timeout_ms))
    cra_config_error(L, "connect_timeout", "must be a positive number of seconds or false");
  lua_pop(L, 1);

  lua_getfield(L, 1, "insecure");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TBOOLEAN)
    cra_config_error(L, "insecure", "must be a boolean");
  c->insecure = lua_toboolean(L, -1);
  lua_pop(L, 1);

  lua_getfield(L, 1, "max_body");
  if (!lua_isnil(L, -1)) {
    double v = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1.0;
    /* 1048576.0 is as good as 1048576 (5.4 floats from arithmetic). */
    if (!(v >= 1 && v <= 9.0e15) || v != floor(v))
      cra_config_error(L, "max_body", "must be a positive integer (bytes)");
    c->max_body = (size_t)v;
  }
  lua_pop(L, 1);

  lua_getfield(L, 1, "max_depth");
  if (!lua_isnil(L, -1)) {
    double v = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1.0;
    if (!(v >= 1 && v <= 100000) || v != floor(v))
      cra_config_error(L, "max_depth", "must be an integer between 1 and 100000");
    c->max_depth = (int)v;
  }
  lua_pop(L, 1);

  if (c->user_agent == NULL) {
    char ua[128];
    snprintf(ua, sizeof ua, "creatorapi-lua/%s libcurl/%s", CRA_VERSION,
             curl_version_info(CURLVERSION_NOW)->version);
    if (!cra_store(&c->user_agent, ua, strlen(ua))) luaL_error(L, "creatorapi.core.client: out of memory");
  }

  /* curl resources last. */
  if (!cra_transport_init(&c->tr)) {
    cra_transport_close(&c->tr);
    return luaL_error(L, "creatorapi.core.client: curl_multi_init failed");
  }
  c->tr_ready = 1;
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}

/* ---- request setup ------------------------------------------------------ */

/* Pushes a validation error (and returns 0). stack: [-0, +1] */
static int cra_validation(lua_State *L, cra_xfer_t *x, const char *field, const char *msg) {
  cra_error_push(L, "validation", msg, strlen(msg));
  if (field) cra_error_setstr(L, "field", field);
  if (x && x->method) cra_error_setstr(L, "method", x->method);
  if (x && x->path) cra_error_setstr(L, "path", x->path);
  return 0;
}

/* Appends "Name: value" to x->headers. Raises only on OOM. */
static void cra_add_header(lua_State *L, cra_xfer_t *x, const char *name, const char *value) {
  struct curl_slist *l;
  lua_pushfstring(L, "%s: %s", name, value);
  l = curl_slist_append(x->headers, lua_tostring(L, -1));
  lua_pop(L, 1);
  if (l == NULL) luaL_error(L, "creatorapi: out of memory");
  x->headers = l;
}

static int cra_valid_header_name(const char *s, size_t len) {
  size_t i;
  if (len == 0) return 0;
  for (i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch <= 0x20 || ch >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", ch)) return 0;
  }
  return 1;
}

/* Default headers that a same-named entry in req.headers replaces. */
enum { H_ACCEPT = 1, H_CTYPE = 2, H_APIKEY = 4, H_IDENT = 8, H_AUTHZ = 16, H_EXPECT = 32 };

static int cra_header_bit(const char *name) {
  if (strcasecmp(name, "Accept") == 0) return H_ACCEPT;
  if (strcasecmp(name, "Content-Type") == 0) return H_CTYPE;
  if (strcasecmp(name, "X-API-Key") == 0) return H_APIKEY;
  if (strcasecmp(name, "X-User-Identity") == 0) return H_IDENT;
  if (strcasecmp(name, "Authorization") == 0) return H_AUTHZ;
  if (strcasecmp(name, "Expect") == 0) return H_EXPECT;
  return 0;
}

/* Configures slot x from the request table at ri. Returns 1, or pushes a
 * validation error and returns 0. Fields are read with raw access so no
 * metamethod (arbitrary Lua) runs while slots are half-built. */
static int cra_setup(lua_State *L, cra_client_t *c, cra_xfer_t *x, int ri) {
  const char *method, *path, *auth = "full";
  size_t plen, i;
  int is_post, send_key = 0, send_ident = 0, overridden = 0, has_body = 0;
  int base = lua_gettop(L), qs_idx = 0, body_idx = 0, uh = 0;
  long timeout_ms, connect_ms;
  CURL *e;

  luaL_checkstack(L, 12, "request");
  /* method */
  lua_pushliteral(L, "method");
  lua_rawget(L, ri);
  method = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (method && strcmp(method, "GET") == 0) { x->method = "GET"; is_post = 0; }
  else if (method && strcmp(method, "POST") == 0) { x->method = "POST"; is_post = 1; }
  else return cra_validation(L, x, "method", "request method must be \"GET\" or \"POST\"");
  lua_pop(L, 1);

  /* path */
  lua_pushliteral(L, "path");
  lua_rawget(L, ri);
  if (lua_type(L, -1) != LUA_TSTRING)
    return cra_validation(L, x, "path", "request path must be a string");
  path = lua_tolstring(L, -1, &plen);
  if (plen == 0 || path[0] != '/')
    return cra_validation(L, x, "path", "request path must start with '/'");
  for (i = 0; i < plen; i++) {
    unsigned char ch = (unsigned char)path[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '#' || ch == '?')
      return cra_validation(L, x, "path",
                            "request path must not contain spaces, control characters, '?' or '#'");
  }
  if (!cra_store(&x->path, path, plen)) luaL_error(L, "creatorapi: out of memory");
  lua_pop(L, 1);

  /* auth */
  lua_pushliteral(L, "auth");
  lua_rawget(L, ri);
  if (!lua_isnil(L, -1)) {
    auth = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(auth, "full") != 0 && strcmp(auth, "key") != 0 && strcmp(auth, "none") != 0)
      return cra_validation(L, x, "auth", "request auth must be \"full\", \"key\" or \"none\"");
  }
  lua_pop(L, 1);
  if (strcmp(auth, "none") != 0 && c->api_key) send_key = 1;
  if (strcmp(auth, "full") == 0 && c->dialect == CRA_DIALECT_CREATIVAULT && c->user_identity)
    send_ident = 1;
  if (send_key && c->api_key_bad)
    return cra_validation(L, x, "api_key", "api_key contains CR, LF or NUL");
  if (send_ident && c->user_identity_bad)
    return cra_validation(L, x, "user_identity", "user_identity contains CR, LF or NUL");

  /* timeouts */
  lua_pushliteral(L, "timeout");
  lua_rawget(L, ri);
  if (!cra_timeout_ms(L, -1, c->timeout_ms, 0, &timeout_ms))
    return cra_validation(L, x, "timeout", "timeout must be a positive number of seconds or false");
  lua_pop(L, 1);
  lua_pushliteral(L, "connect_timeout");
  lua_rawget(L, ri);
  if (!cra_timeout_ms(L, -1, c->connect_timeout_ms, CRA_NO_CONNECT_TIMEOUT_MS, &connect_ms))
    return cra_validation(L, x, "connect_timeout",
                          "connect_timeout must be a positive number of seconds or false");
  lua_pop(L, 1);

  /* query → string at qs_idx */
  lua_pushliteral(L, "query");
  lua_rawget(L, ri);
  if (lua_istable(L, -1)) {
    int q = lua_gettop(L);
    if (!cra_query_encode(L, q)) {
      /* stack: query, key, message */
      cra_validation(L, x, NULL, lua_tostring(L, -1));
      lua_pushvalue(L, -3);
      lua_setfield(L, -2, "field");
      return 0;
    }
    lua_remove(L, q);
    qs_idx = lua_gettop(L);
  } else if (!lua_isnil(L, -1)) {
    return cra_validation(L, x, "query", "request query must be a table");
  } else {
    lua_pop(L, 1);
  }

  /* body → JSON string at body_idx (POST only; nil sends {}) */
  lua_pushliteral(L, "body");
  lua_rawget(L, ri);
  if (!is_post) {
    if (!lua_isnil(L, -1))
      return cra_validation(L, x, "body", "a GET request cannot have a body");
    lua_pop(L, 1);
  } else if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "{}");
    body_idx = lua_gettop(L);
    has_body = 1;
  } else {
    int b = lua_gettop(L);
    if (!cra_json_encode(L, b, c->max_depth)) {
      char msg[200];
      snprintf(msg, sizeof msg, "request body cannot be encoded as JSON: %.150s",
               lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
      return cra_validation(L, x, "body", msg);
    }
    lua_remove(L, b);
    body_idx = lua_gettop(L);
    has_body = 1;
  }
  if (has_body) {
    size_t blen;
    const char *bs = lua_tolstring(L, body_idx, &blen);
    if (!cra_buf_append(&x->req_body, bs, blen)) luaL_error(L, "creatorapi: out of memory");
  }

  /* extra headers: validate and note which defaults they replace */
  lua_pushliteral(L, "headers");
  lua_rawget(L, ri);
  if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1))
      return cra_validation(L, x, "headers", "request headers must be a table");
    uh = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, uh)) {
      size_t nlen, vlen;
      const char *n, *v;
      if (lua_type(L, -2) != LUA_TSTRING ||
          (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)) {
        return cra_validation(L, x, "headers", "request headers must map names to strings");
      }
      n = lua_tolstring(L, -2, &nlen);
      if (!cra_valid_header_name(n, nlen))
        return cra_validation(L, x, "headers", "invalid header name");
      lua_pushvalue(L, -1); /* convert a copy, never the key's value in place */
      v = lua_tolstring(L, -1, &vlen);
      if (cra_has_crlfnul(v, vlen)) {
        char msg[160];
        snprintf(msg, sizeof msg, "header %.80s contains CR, LF or NUL", n);
        lua_pop(L, 1);
        cra_validation(L, x, NULL, msg);
        lua_pushvalue(L, -3); /* the header name */
        lua_setfield(L, -2, "field");
        return 0;
      }
      lua_pop(L, 2);
      overridden |= cra_header_bit(n);
    }
  }

  /* URL = base_url .. path [.. "?" .. query] */
  {
    size_t qlen = 0, blen = strlen(c->base_url), ulen;
    const char *qs = qs_idx ? lua_tolstring(L, qs_idx, &qlen) : NULL;
    ulen = blen + plen + (qlen ? qlen + 1 : 0);
    x->url = (char *)malloc(ulen + 1);
    if (x->url == NULL) luaL_error(L, "creatorapi: out of memory");
    memcpy(x->url, c->base_url, blen);
    memcpy(x->url + blen, x->path, plen);
    if (qlen) {
      x->url[blen + plen] = '?';
      memcpy(x->url + blen + plen + 1, qs, qlen);
    }
    x->url[ulen] = '\0';
  }

  /* headers */
  if (!(overridden & H_ACCEPT)) cra_add_header(L, x, "Accept", "application/json");
  if (has_body && !(overridden & H_CTYPE)) cra_add_header(L, x, "Content-Type", "application/json");
  if (has_body && !(overridden & H_EXPECT)) {
    /* No "Expect: 100-continue" round trip for JSON bodies. */
    struct curl_slist *l = curl_slist_append(x->headers, "Expect:");
    if (l == NULL) luaL_error(L, "creatorapi: out of memory");
    x->headers = l;
  }
  if (c->dialect == CRA_DIALECT_CREATIVAULT) {
    if (send_key && !(overridden & H_APIKEY)) cra_add_header(L, x, "X-API-Key", c->api_key);
    if (send_ident && !(overridden & H_IDENT))
      cra_add_header(L, x, "X-User-Identity", c->user_identity);
  } else if (send_key && !(overridden & H_AUTHZ)) {
    lua_pushfstring(L, "Bearer %s", c->api_key);
    cra_add_header(L, x, "Authorization", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (uh) {
    lua_pushnil(L);
    while (lua_next(L, uh)) {
      lua_pushvalue(L, -1);
      cra_add_header(L, x, lua_tostring(L, -3), lua_tostring(L, -1));
      lua_pop(L, 2);
    }
  }

  /* the easy handle */
  e = cra_transport_easy(&c->tr, x, c->max_body);
  if (e == NULL) luaL_error(L, "creatorapi: curl_easy_init failed");
  curl_easy_setopt(e, CURLOPT_URL, x->url);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (is_post) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req_body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req_body.len);
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  /* Redirects: never for POST, and never when a credential header is sent
   * (libcurl would forward custom headers such as X-API-Key to the new
   * host). Unauthenticated GETs follow up to 5, without https → http. */
  if (!is_post && !send_key && !send_ident && !(overridden & (H_APIKEY | H_IDENT | H_AUTHZ))) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                     strncmp(c->base_url, "https://", 8) == 0 ? "https" : "http,https");
#endif
  } else {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  }
  x->state = CRA_XFER_READY;
  lua_settop(L, base);
  return 1;
}

/* ---- results ------------------------------------------------------------ */

/* Pushes {lower-case name = value} from the raw header block. Repeated
 * names are joined with ", ". stack: [-0, +1] */
static void cra_push_headers(lua_State *L, const cra_buf_t *h) {
  const char *p = h->data, *end = h->data ? h->data + h->len : NULL;
  int t;
  lua_newtable(L);
  t = lua_gettop(L);
  if (p == NULL) return;
  /* skip the status line */
  while (p < end && *p != '\n') p++;
  while (p < end) {
    const char *line = ++p, *eol, *colon, *v, *ve;
    char name[128];
    size_t nlen, k;
    while (p < end && *p != '\n') p++;
    eol = p;
    colon = memchr(line, ':', (size_t)(eol - line));
    if (colon == NULL) continue;
    nlen = (size_t)(colon - line);
    if (nlen == 0 || nlen >= sizeof name) continue;
    for (k = 0; k < nlen; k++) name[k] = (char)tolower((unsigned char)line[k]);
    v = colon + 1;
    ve = eol;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    lua_pushlstring(L, name, nlen);
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    if (lua_isstring(L, -1)) {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, v, (size_t)(ve - v));
      lua_concat(L, 3);
    } else {
      lua_pop(L, 1);
      lua_pushlstring(L, v, (size_t)(ve - v));
    }
    lua_rawset(L, t);
  }
}

/* Pushes {res = …} or {err = …} for a finished slot. stack: [-0, +1] */
static void cra_push_outcome(lua_State *L, cra_client_t *c, cra_xfer_t *x) {
  int base = lua_gettop(L);
  luaL_checkstack(L, 10, "result");
  lua_createtable(L, 0, 1);
  if (x->result != CURLE_OK) {
    char msg[CURL_ERROR_SIZE + 64];
    const char *kind;
    if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) {
      kind = "protocol";
      snprintf(msg, sizeof msg, "response body exceeds max_body (%llu bytes)",
               (unsigned long long)c->max_body);
    } else if (x->hdr_too_big) {
      kind = "protocol";
      snprintf(msg, sizeof msg, "response headers exceed %u bytes", CRA_MAX_HEADER_BYTES);
    } else {
      kind = cra_error_kind_for_curl(x->result);
      snprintf(msg, sizeof msg, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
    }
    cra_push_redacted(L, msg, strlen(msg), c->api_key);
    cra_error_push(L, kind, "", 0);
    lua_insert(L, -2);
    lua_setfield(L, -2, "message");
    cra_error_setint(L, "curl_code", (long long)x->result);
    if ((x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) && x->status > 0)
      cra_error_setint(L, "status", x->status);
    cra_error_setstr(L, "method", x->method);
    cra_error_setstr(L, "path", x->path);
    lua_setfield(L, base + 1, "err");
  } else {
    cra_envelope_ctx ctx;
    int ok;
    cra_push_headers(L, &x->hdrs);
    ctx.dialect = c->dialect;
    ctx.status = x->status;
    ctx.body = x->body.data;
    ctx.len = x->body.len;
    ctx.max_depth = c->max_depth;
    ctx.headers_idx = lua_gettop(L);
    ctx.method = x->method;
    ctx.path = x->path;
    ctx.secret = c->api_key;
    ok = cra_envelope_build(L, &ctx);
    lua_setfield(L, base + 1, ok ? "res" : "err");
    lua_pop(L, 1); /* headers */
  }
}

/* Protected body of a batch: (client lightuserdata, reqs) → results. */
static int cra_batch_impl(lua_State *L) {
  cra_client_t *c = (cra_client_t *)lua_touserdata(L, 1);
  size_t n = cra_rawlen(L, 2), i;
  int results;
  lua_createtable(L, (int)n, 0);
  results = lua_gettop(L);
  if (!cra_transport_prepare(&c->tr, n)) return luaL_error(L, "creatorapi: out of memory");
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (int)i + 1);
    if (!lua_istable(L, -1)) {
      lua_createtable(L, 0, 1);
      cra_validation(L, NULL, NULL, "each request must be a table");
      lua_setfield(L, -2, "err");
      lua_rawseti(L, results, (int)i + 1);
    } else if (!cra_setup(L, c, &c->tr.xfers[i], lua_gettop(L))) {
      /* stack: req, …, err: keep only err */
      int top = lua_gettop(L);
      lua_createtable(L, 0, 1);
      lua_pushvalue(L, top);
      lua_setfield(L, -2, "err");
      lua_rawseti(L, results, (int)i + 1);
      /* the slot may hold a partly built easy: release it now */
      c->tr.xfers[i].state = CRA_XFER_UNUSED;
    }
    lua_settop(L, results);
  }
  /* No Lua code runs inside. */
  cra_transport_run(&c->tr);
  for (i = 0; i < n; i++) {
    cra_xfer_t *x = &c->tr.xfers[i];
    if (x->state != CRA_XFER_DONE) continue;
    cra_push_outcome(L, c, x);
    lua_rawseti(L, results, (int)i + 1);
  }
  cra_transport_finish(&c->tr);
  lua_settop(L, results);
  return 1;
}

/* Runs reqs (table at idx) and pushes the results list. stack: [-0, +1] */
static void cra_run_batch(lua_State *L, cra_client_t *c, int idx) {
  int status;
  if (c->busy) luaL_error(L, "creatorapi.Client: re-entrant call on a busy client");
  c->busy = 1;
  lua_pushcfunction(L, cra_batch_impl);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, idx);
  status = lua_pcall(L, 2, 1, 0);
  c->busy = 0;
  if (status != 0) {
    /* Buffers stay owned by the client; free them now rather than later. */
    cra_transport_finish(&c->tr);
    lua_error(L);
  }
}

/* client:request(req) → res | nil, err */
static int cra_client_request(lua_State *L) {
  cra_client_t *c = cra_check_open(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 1);
  cra_run_batch(L, c, 3);
  lua_rawgeti(L, -1, 1);
  lua_getfield(L, -1, "res");
  if (!lua_isnil(L, -1)) return 1;
  lua_pushnil(L);
  lua_getfield(L, -3, "err");
  return 2;
}

/* client:batch({req, …}) → { {res=…} | {err=…}, … } */
static int cra_client_batch(lua_State *L) {
  cra_client_t *c = cra_check_open(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  cra_run_batch(L, c, 2);
  return 1;
}

void cra_client_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"request", cra_client_request},
    {"batch", cra_client_batch},
    {"close", cra_client_close},
    {NULL, NULL}
  };
  /* On re-require the registry metatable already exists (instances from the
   * first load use it); refresh its fields in place. */
  luaL_newmetatable(L, CRA_CLIENT_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_client_gc);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, cra_client_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushcfunction(L, cra_client_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, CRA_CLIENT_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_client_new);
  lua_setfield(L, -2, "client");
}
