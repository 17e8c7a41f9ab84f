/*
 * context.c — core.context(config): configuration, lifetime and ctx:config()
 * of the pure client core (see context.h). prepare.c, answer.c and
 * retry_policy.c hold the other methods.
 *
 * Invariants: every C allocation is stored in the context before the next
 * Lua API call that could raise, so a memory error never leaks; the userdata
 * gets its metatable first, so __gc frees a half-built context; credentials
 * are wiped before they are freed and never copied into an error, a message,
 * __tostring or config().
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "context.h"
#include "error.h"
#include "version.h"

#define CRA_DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define CRA_DEFAULT_MAX_DEPTH 1000
#define CRA_DEFAULT_MAX_RETRIES 2
#define CRA_DEFAULT_RETRY_BASE 0.5
#define CRA_DEFAULT_RETRY_CAP 8.0
#define CRA_DEFAULT_MAX_RETRY_AFTER 60.0
#define CRA_DEFAULT_LOW_SPEED_LIMIT 1024L
#define CRA_DEFAULT_LOW_SPEED_TIME 30L

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
int cra_has_crlfnul(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 1;
  return 0;
}

/* Duplicates len bytes into *dst (freeing the old value). Returns 0 on OOM. */
int cra_store(char **dst, const char *s, size_t len) {
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
int cra_timeout_ms(lua_State *L, int idx, long dflt, long disabled_ms, long *out) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: *out = dflt; return 1;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, idx)) return 0;
    *out = disabled_ms;
    return 1;
  case LUA_TNUMBER: {
    double s = (double)lua_tonumber(L, idx);
    double ms;
    if (!(s > 0) || s != s || isinf(s)) return 0; /* math.huge is not "no limit": false is */
    ms = ceil(s * 1000.0);
    if (ms > 2147483647.0) ms = 2147483647.0;
    *out = (long)ms;
    return 1;
  }
  default:
    return 0;
  }
}

/* Number at idx: nil → *out unchanged (returns 1); a number in [lo, hi]
 * (integral when `integral`) → *out; anything else → 0. */
int cra_opt_number(lua_State *L, int idx, double lo, double hi, int integral, double *out) {
  double v;
  if (lua_isnil(L, idx)) return 1;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  v = (double)lua_tonumber(L, idx);
  if (!(v >= lo && v <= hi) || (integral && v != floor(v))) return 0;
  *out = v;
  return 1;
}

/* low_speed_limit / low_speed_time: positive number or false (0 = off);
 * nil keeps *out. Seconds are rounded up (libcurl takes whole seconds). */
int cra_opt_low_speed(lua_State *L, int idx, long *out) {
  double v;
  if (lua_isnil(L, idx)) return 1;
  if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
    *out = 0;
    return 1;
  }
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  v = (double)lua_tonumber(L, idx);
  if (!(v > 0 && v <= 2147483647.0)) return 0;
  *out = (long)ceil(v);
  return 1;
}


void cra_push_validation(lua_State *L, const char *field, const char *msg, const char *method,
                         const char *path) {
  cra_error_push(L, "validation", msg, strlen(msg));
  cra_error_setint(L, "attempts", 0); /* nothing was sent */
  if (field) cra_error_setstr(L, "field", field);
  if (method) cra_error_setstr(L, "method", method);
  if (path) cra_error_setstr(L, "path", path);
}

cra_ctx_t *cra_ctx_check(lua_State *L, int idx) {
  cra_ctx_t *c = (cra_ctx_t *)luaL_checkudata(L, idx, CRA_CONTEXT_MT);
  if (c->closed) luaL_error(L, "creatorapi.Context: context is closed");
  return c;
}

/* *dst = prefix .. value (a header line prepare sends as it is); nothing for
 * a missing or bad value. Returns 0 when out of memory. */
static int cra_header_line(char **dst, const char *prefix, const char *value, int bad) {
  size_t np, nv;
  char *s;
  if (value == NULL || bad) return 1;
  np = strlen(prefix);
  nv = strlen(value);
  s = (char *)malloc(np + nv + 1);
  if (s == NULL) return 0;
  memcpy(s, prefix, np);
  memcpy(s + np, value, nv + 1);
  cra_wipe_free(dst);
  *dst = s;
  return 1;
}

/* The backoff jitter's xorshift64* state (retry_policy.c draws from it). */
static void cra_ctx_rng_seed(cra_ctx_t *c) {
  unsigned long long seed = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed) seed = 0;
    close(fd);
  }
  seed ^= (unsigned long long)time(NULL) * 0x9E3779B97F4A7C15ULL;
  seed ^= (unsigned long long)getpid() << 32;
  seed ^= (unsigned long long)(size_t)c;
  c->rng = seed ? seed : 0x2545F4914F6CDD1DULL;
}

/* ---- close / gc ------------------------------------------------------- */

static void cra_ctx_release(cra_ctx_t *c) {
  cra_wipe_free(&c->base_url);
  cra_wipe_free(&c->display_url);
  cra_wipe_free(&c->scheme);
  cra_wipe_free(&c->host);
  cra_wipe_free(&c->base_path);
  cra_wipe_free(&c->api_key);
  cra_wipe_free(&c->user_identity);
  cra_wipe_free(&c->user_agent);
  cra_wipe_free(&c->line_key);
  cra_wipe_free(&c->line_ident);
  cra_wipe_free(&c->line_authz);
  cra_wipe_free(&c->ca_file);
  cra_wipe_free(&c->proxy);
  cra_buf_free(&c->spare_body);
  cra_buf_free(&c->spare_hdrs);
  c->closed = 1;
}

/* ctx:close(), __gc and __close: idempotent. */
static int cra_ctx_close(lua_State *L) {
  cra_ctx_release((cra_ctx_t *)luaL_checkudata(L, 1, CRA_CONTEXT_MT));
  return 0;
}

static int cra_ctx_tostring(lua_State *L) {
  cra_ctx_t *c = (cra_ctx_t *)luaL_checkudata(L, 1, CRA_CONTEXT_MT);
  if (c->closed)
    lua_pushfstring(L, "creatorapi.Context (closed): %p", (void *)c);
  else
    lua_pushfstring(L, "creatorapi.Context (%s, %s): %p",
                    c->dialect == CRA_DIALECT_KEYAPI ? "keyapi" : "creativault",
                    c->display_url ? c->display_url : "?", (void *)c);
  return 1;
}

/* Whether one of the variables libcurl takes a proxy from (for http and
 * https URLs) is set: http_proxy (never HTTP_PROXY: CGI), https_proxy,
 * all_proxy, either case for the last two. Read once per context: libcurl
 * would read them (and no_proxy) again on every transfer (curl_options.c). */
static int cra_proxy_env_set(void) {
  static const char *const names[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    if (v != NULL && v[0] != '\0') return 1;
  }
  return 0;
}

/* Splits base_url into scheme, host (no brackets, no userinfo), port and
 * base path. Returns 0 when there is no host or the port is invalid. */
static int cra_parse_base_url(cra_ctx_t *c) {
  const char *u = c->base_url, *p = strstr(u, "://"), *auth, *end, *at, *hs, *he, *colon = NULL;
  long port;
  if (p == NULL) return 0;
  if (!cra_store(&c->scheme, u, (size_t)(p - u))) return 0;
  auth = p + 3;
  end = auth + strcspn(auth, "/?#");
  at = NULL;
  for (p = auth; p < end; p++) if (*p == '@') at = p;
  hs = at ? at + 1 : auth;
  if (*hs == '[') {
    he = memchr(hs, ']', (size_t)(end - hs));
    if (he == NULL) return 0;
    if (!cra_store(&c->host, hs + 1, (size_t)(he - hs - 1))) return 0;
    if (he + 1 < end && he[1] == ':') colon = he + 1;
  } else {
    colon = memchr(hs, ':', (size_t)(end - hs));
    he = colon ? colon : end;
    if (!cra_store(&c->host, hs, (size_t)(he - hs))) return 0;
  }
  if (c->host[0] == '\0') return 0;
  port = strcmp(c->scheme, "https") == 0 ? 443 : 80;
  if (colon && colon + 1 < end) {
    char *e;
    port = strtol(colon + 1, &e, 10);
    if (e != end || port < 1 || port > 65535) return 0;
  }
  c->port = (int)port;
  {
    size_t n = strcspn(end, "?#");
    while (n > 0 && end[n - 1] == '/') n--;
    if (!cra_store(&c->base_path, end, n)) return 0;
  }
  return 1;
}

long long cra_field_int(lua_State *L, int t, const char *name, long long dflt) {
  long long v = dflt;
  lua_getfield(L, t, name);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, -1);
    if (n == n && n > -9.2e18 && n < 9.2e18) v = (long long)n;
  }
  lua_pop(L, 1);
  return v;
}

int cra_field_bool(lua_State *L, int t, const char *name) {
  int v;
  lua_getfield(L, t, name);
  v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* ctx:config() → the settings a transport needs; never the credentials. */
static int cra_ctx_config(lua_State *L) {
  cra_ctx_t *c = cra_ctx_check(L, 1);
  lua_createtable(L, 0, 16);
  lua_pushstring(L, c->display_url);
  lua_setfield(L, -2, "base_url");
  lua_pushstring(L, c->dialect == CRA_DIALECT_KEYAPI ? "keyapi" : "creativault");
  lua_setfield(L, -2, "dialect");
  if (c->timeout_ms > 0) lua_pushnumber(L, (lua_Number)c->timeout_ms / 1000.0);
  else lua_pushboolean(L, 0);
  lua_setfield(L, -2, "timeout");
  if (c->connect_timeout_ms != CRA_NO_CONNECT_TIMEOUT_MS)
    lua_pushnumber(L, (lua_Number)c->connect_timeout_ms / 1000.0);
  else lua_pushboolean(L, 0);
  lua_setfield(L, -2, "connect_timeout");
  lua_pushboolean(L, c->insecure);
  lua_setfield(L, -2, "insecure");
  if (c->ca_file) { lua_pushstring(L, c->ca_file); lua_setfield(L, -2, "ca_file"); }
  if (c->proxy) { lua_pushboolean(L, 1); lua_setfield(L, -2, "proxy"); }
  cra_pushint64(L, (long long)c->max_body);
  lua_setfield(L, -2, "max_body");
  cra_pushint64(L, c->max_depth);
  lua_setfield(L, -2, "max_depth");
  cra_pushint64(L, c->max_retries);
  lua_setfield(L, -2, "max_retries");
  lua_pushstring(L, c->user_agent);
  lua_setfield(L, -2, "user_agent");
  return 1;
}

/* ---- core.context(config) ---------------------------------------------- */

static void cra_config_error(lua_State *L, const char *key, const char *what) {
  luaL_error(L, "creatorapi.core.context: config.%s %s", key, what);
}

/* Reads an optional string field into *dst; returns 1 when present.
 * *bad (optional) reports CR/LF/NUL instead of raising. */
static int cra_config_string(lua_State *L, cra_ctx_t *c, const char *key,
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
  if (!cra_store(dst, s, len)) luaL_error(L, "creatorapi.core.context: out of memory");
  lua_pop(L, 1);
  return 1;
}

/* Builds display_url: base_url with any "user:pass@" removed. */
static int cra_make_display_url(cra_ctx_t *c) {
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

/* core.context(config) → context userdata. Invalid config raises. */
static int cra_context_new(lua_State *L) {
  cra_ctx_t *c;
  const char *s;
  size_t len;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);

  /* Userdata first, zeroed, with the full metatable: from here on, any
   * raise leaves an object that __gc frees correctly. */
  c = (cra_ctx_t *)cra_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  cra_setmetatable(L, CRA_CONTEXT_MT);
  /* stack: config at 1, client at 2 */
  c->closed = 1; /* not usable until fully configured */
  {
    static unsigned long long serials;
    c->serial = ++serials;
  }
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
  if (!cra_store(&c->base_url, s, len)) luaL_error(L, "creatorapi.core.context: out of memory");
  lua_pop(L, 1);
  if (!cra_make_display_url(c)) luaL_error(L, "creatorapi.core.context: out of memory");

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
  c->proxy_env = cra_proxy_env_set();

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

  /* retries */
  {
    double v = CRA_DEFAULT_MAX_RETRIES;
    lua_getfield(L, 1, "max_retries");
    if (!cra_opt_number(L, -1, 0, CRA_MAX_RETRIES_LIMIT, 1, &v))
      cra_config_error(L, "max_retries", "must be an integer between 0 and 100");
    c->max_retries = (int)v;
    lua_pop(L, 1);
    c->retry_base = CRA_DEFAULT_RETRY_BASE;
    lua_getfield(L, 1, "retry_base");
    if (!cra_opt_number(L, -1, 0, 3600, 0, &c->retry_base))
      cra_config_error(L, "retry_base", "must be a number of seconds (0 to 3600)");
    lua_pop(L, 1);
    c->retry_cap = CRA_DEFAULT_RETRY_CAP;
    lua_getfield(L, 1, "retry_cap");
    if (!cra_opt_number(L, -1, 0, 3600, 0, &c->retry_cap))
      cra_config_error(L, "retry_cap", "must be a number of seconds (0 to 3600)");
    lua_pop(L, 1);
    c->max_retry_after = CRA_DEFAULT_MAX_RETRY_AFTER;
    lua_getfield(L, 1, "max_retry_after");
    if (!cra_opt_number(L, -1, 0, 86400, 0, &c->max_retry_after))
      cra_config_error(L, "max_retry_after", "must be a number of seconds (0 to 86400)");
    lua_pop(L, 1);
  }

  /* downloads: low-speed abort */
  c->low_speed_limit = CRA_DEFAULT_LOW_SPEED_LIMIT;
  c->low_speed_time = CRA_DEFAULT_LOW_SPEED_TIME;
  lua_getfield(L, 1, "low_speed_limit");
  if (!cra_opt_low_speed(L, -1, &c->low_speed_limit))
    cra_config_error(L, "low_speed_limit", "must be a positive number of bytes per second or false");
  lua_pop(L, 1);
  lua_getfield(L, 1, "low_speed_time");
  if (!cra_opt_low_speed(L, -1, &c->low_speed_time))
    cra_config_error(L, "low_speed_time", "must be a positive number of seconds or false");
  lua_pop(L, 1);

  if (c->user_agent == NULL) {
    char ua[128];
    snprintf(ua, sizeof ua, "creatorapi-lua/%s libcurl/%s", CRA_VERSION,
             curl_version_info(CURLVERSION_NOW)->version);
    if (!cra_store(&c->user_agent, ua, strlen(ua))) luaL_error(L, "creatorapi.core.context: out of memory");
  }

  if (!cra_parse_base_url(c)) cra_config_error(L, "base_url", "has no host");
  if (!cra_header_line(&c->line_key, "X-API-Key: ", c->api_key, c->api_key_bad) ||
      !cra_header_line(&c->line_authz, "Authorization: Bearer ", c->api_key, c->api_key_bad) ||
      !cra_header_line(&c->line_ident, "X-User-Identity: ", c->user_identity, c->user_identity_bad))
    luaL_error(L, "creatorapi.core.context: out of memory");
  cra_ctx_rng_seed(c);
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}



void cra_context_open(lua_State *L, const luaL_Reg *ops) {
  static const luaL_Reg methods[] = {
    {"config", cra_ctx_config},
    {"close", cra_ctx_close},
    {NULL, NULL}
  };
  /* On re-require the registry metatable already exists: refresh in place. */
  luaL_newmetatable(L, CRA_CONTEXT_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  cra_setfuncs(L, ops, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_ctx_close);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, cra_ctx_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushcfunction(L, cra_ctx_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, CRA_CONTEXT_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_context_new);
  lua_setfield(L, -2, "context");
}
