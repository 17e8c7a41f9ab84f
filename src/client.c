/*
 * client.c — core.client(config) and the creatorapi.Client methods.
 *
 * Invariants:
 * - Every C allocation is stored in the client struct (or a transfer slot
 *   owned by it) before the next Lua API call that could raise, so a memory
 *   error never leaks (practice 12).
 * - No Lua code runs inside a libcurl call (practice 8). Lua values are built
 *   before cra_transport_run() and in its hooks, which run between
 *   curl_multi_poll iterations: the done hook builds each result/error (and
 *   decides on a retry), the tick hook calls a download's on_progress under
 *   lua_pcall. The lua_State is the current call's, passed down in a stack
 *   struct (cra_run_ctx) and never stored in the client (practice 9).
 * - The batch body runs under lua_pcall so the `busy` flag is always cleared;
 *   re-entrant use of one client (from a metamethod or finaliser) raises.
 * - Credentials are never copied into an error, a message or __tostring.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
#define CRA_DEFAULT_MAX_RETRIES 2
#define CRA_DEFAULT_RETRY_BASE 0.5
#define CRA_DEFAULT_RETRY_CAP 8.0
#define CRA_DEFAULT_MAX_RETRY_AFTER 60.0
#define CRA_DEFAULT_LOW_SPEED_LIMIT 1024L
#define CRA_DEFAULT_LOW_SPEED_TIME 30L
#define CRA_MAX_RETRIES_LIMIT 100
#define CRA_PROGRESS_INTERVAL 0.25

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
  /* retries (docs/reliability.md "Transport") */
  int max_retries;
  double retry_base, retry_cap, max_retry_after;
  unsigned long long rng;    /* xorshift64* state for the backoff jitter */
  /* downloads: abort below low_speed_limit B/s for low_speed_time s (0 = off) */
  long low_speed_limit, low_speed_time;
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

/* ---- backoff jitter: xorshift64*, seeded per client (no Lua) ---------- */

static void cra_rng_seed(cra_client_t *c) {
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

/* Uniform in [0, 1). */
static double cra_rand01(cra_client_t *c) {
  unsigned long long x = c->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->rng = x;
  return (double)((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* Backoff before retry n (1 = first retry): min(cap, base * 2^(n-1)) * U(0.5, 1). */
static double cra_backoff(cra_client_t *c, int n) {
  double d = c->retry_base * pow(2.0, (double)(n - 1));
  if (d > c->retry_cap || d != d) d = c->retry_cap;
  return d * (0.5 + 0.5 * cra_rand01(c));
}

/* Number at idx: nil → *out unchanged (returns 1); a number in [lo, hi]
 * (integral when `integral`) → *out; anything else → 0. */
static int cra_opt_number(lua_State *L, int idx, double lo, double hi, int integral, double *out) {
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
static int cra_opt_low_speed(lua_State *L, int idx, long *out) {
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
    if (!cra_store(&c->user_agent, ua, strlen(ua))) luaL_error(L, "creatorapi.core.client: out of memory");
  }

  /* curl resources last. */
  if (!cra_transport_init(&c->tr)) {
    cra_transport_close(&c->tr);
    return luaL_error(L, "creatorapi.core.client: curl_multi_init failed");
  }
  c->tr_ready = 1;
  /* rate_limit = { requests = N, per = seconds } | false | nil (off) */
  lua_getfield(L, 1, "rate_limit");
  if (lua_istable(L, -1)) {
    double n = -1, per = -1;
    lua_getfield(L, -1, "requests");
    if (!cra_opt_number(L, -1, 1, 1000000, 1, &n) || n < 1)
      cra_config_error(L, "rate_limit", "must be { requests = <integer >= 1>, per = <seconds > 0> } or false");
    lua_pop(L, 1);
    lua_getfield(L, -1, "per");
    if (!cra_opt_number(L, -1, 0, 86400, 0, &per) || !(per > 0))
      cra_config_error(L, "rate_limit", "must be { requests = <integer >= 1>, per = <seconds > 0> } or false");
    lua_pop(L, 1);
    if (!cra_limiter_set(&c->tr.lim, (int)n, per)) luaL_error(L, "creatorapi.core.client: out of memory");
  } else if (!lua_isnil(L, -1) && !(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
    cra_config_error(L, "rate_limit", "must be { requests = <integer >= 1>, per = <seconds > 0> } or false");
  }
  lua_pop(L, 1);
  cra_rng_seed(c);
  c->closed = 0;
  lua_settop(L, 2);
  return 1;
}

/* ---- request setup ------------------------------------------------------ */

/* Pushes a validation error (and returns 0). stack: [-0, +1] */
static int cra_validation(lua_State *L, cra_xfer_t *x, const char *field, const char *msg) {
  cra_error_push(L, "validation", msg, strlen(msg));
  cra_error_setint(L, "attempts", 0); /* nothing was sent */
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

  /* retry policy: "safe" (default for GET), "submit" (default for POST: a
   * POST may create billable work), "never"; max_retries overrides the
   * client's. */
  x->retry = is_post ? CRA_RETRY_SUBMIT : CRA_RETRY_SAFE;
  lua_pushliteral(L, "retry");
  lua_rawget(L, ri);
  if (!lua_isnil(L, -1)) {
    const char *r = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(r, "safe") == 0) x->retry = CRA_RETRY_SAFE;
    else if (strcmp(r, "submit") == 0) x->retry = CRA_RETRY_SUBMIT;
    else if (strcmp(r, "never") == 0) x->retry = CRA_RETRY_NEVER;
    else return cra_validation(L, x, "retry", "request retry must be \"safe\", \"submit\" or \"never\"");
  }
  lua_pop(L, 1);
  {
    double mr = c->max_retries;
    lua_pushliteral(L, "max_retries");
    lua_rawget(L, ri);
    if (!cra_opt_number(L, -1, 0, CRA_MAX_RETRIES_LIMIT, 1, &mr))
      return cra_validation(L, x, "max_retries", "max_retries must be an integer between 0 and 100");
    lua_pop(L, 1);
    x->max_retries = (int)mr;
  }
  x->limited = 1;

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
  /* libcurl silently re-sends a request when a reused keep-alive connection
   * dies before any answer, even a POST the server may already have acted
   * on. "submit" and "never" requests therefore use a fresh, one-shot
   * connection, which libcurl never re-sends on. */
  if (x->retry != CRA_RETRY_SAFE) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  }
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

/* ---- retries ------------------------------------------------------------ */

typedef enum { CRA_FINAL = 0, CRA_RETRY, CRA_UNKNOWN } cra_decision;

/* Integer field of the table at idx, or `dflt`. */
static long long cra_int_field(lua_State *L, int idx, const char *name, long long dflt) {
  long long v = dflt;
  lua_getfield(L, idx, name);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, -1);
    if (n == n && n > -9.2e18 && n < 9.2e18) v = (long long)n;
  }
  lua_pop(L, 1);
  return v;
}

/* Decides what to do with the error table at `err` for slot x (see
 * docs/reliability.md "Transport"). On CRA_RETRY, *delay is the sleep. */
static cra_decision cra_retry_decision(lua_State *L, cra_client_t *c, cra_xfer_t *x,
                                       int err, double *delay) {
  enum { T_NONE, T_RATE, T_TIMEOUT, T_NET, T_SERVER } cls = T_NONE;
  const char *kind;
  long long code, ra;
  int sent;
  lua_getfield(L, err, "kind");
  kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  code = cra_int_field(L, err, "code", -1);
  ra = cra_int_field(L, err, "retry_after", -1);
  if (strcmp(kind, "rate_limited") == 0) {
    cls = T_RATE;
  } else if (strcmp(kind, "timeout") == 0) {
    cls = T_TIMEOUT; /* curl timeout, or HTTP 408 */
  } else if (strcmp(kind, "network") == 0) {
    cls = T_NET;
  } else if (strcmp(kind, "server") == 0) {
    long st = x->status;
    if (st == 500 || st == 502 || st == 503 || st == 504) cls = T_SERVER;
    else if (c->dialect == CRA_DIALECT_CREATIVAULT && code == 50001) cls = T_SERVER;
    else if (c->dialect == CRA_DIALECT_KEYAPI &&
             (code == 500 || code == 502 || code == 503 || code == 504)) cls = T_SERVER;
  }
  lua_pop(L, 1); /* kind */
  if (cls == T_NONE || x->retry == CRA_RETRY_NEVER) return CRA_FINAL;

  /* Did any byte of the request leave? A refused connection or a failed
   * resolve never sends; otherwise CURLINFO_REQUEST_SIZE says. */
  if (x->result == CURLE_OK) {
    sent = 1;
  } else if (x->result == CURLE_COULDNT_RESOLVE_HOST || x->result == CURLE_COULDNT_RESOLVE_PROXY ||
             x->result == CURLE_COULDNT_CONNECT) {
    sent = 0;
  } else {
    sent = x->request_size > 0;
  }
  if (x->retry == CRA_RETRY_SUBMIT && cls != T_RATE && sent) return CRA_UNKNOWN;

  if (x->attempts > x->max_retries || x->final_only) return CRA_FINAL;
  *delay = cra_backoff(c, x->attempts);
  if (ra > 0) {
    /* Retry-After is a minimum, up to max_retry_after; beyond it the caller
     * gets the error (with retry_after) at once. */
    if ((double)ra > c->max_retry_after) return CRA_FINAL;
    if ((double)ra > *delay) *delay = (double)ra;
  }
  return CRA_RETRY;
}

/* Turns the error table on top into kind "unknown_outcome" (cause = the
 * original kind; status, code, curl_code, request_id are kept). */
static void cra_make_unknown_outcome(lua_State *L) {
  int err = lua_gettop(L);
  const char *msg;
  lua_getfield(L, err, "kind");
  lua_setfield(L, err, "cause");
  lua_getfield(L, err, "message");
  msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_pushfstring(L,
                  "outcome unknown: the request was sent but failed (%s); the task may or may "
                  "not have been created. Check (e.g. by task name) before submitting again",
                  msg);
  lua_setfield(L, err, "message");
  lua_pop(L, 1);
  lua_pushliteral(L, "unknown_outcome");
  lua_setfield(L, err, "kind");
  lua_pushboolean(L, 0);
  lua_setfield(L, err, "retryable");
}

/* ---- the run loop's hooks ------------------------------------------------ */

typedef struct cra_run_ctx {
  lua_State *L;             /* the current call's state; lives only for this call */
  cra_client_t *c;
  int results;              /* absolute index: results list */
  int progress;             /* absolute index: on_progress function, or 0 */
  int abort_slot;           /* absolute index: message of an on_progress error */
  double last_progress;
  curl_off_t last_bytes;
} cra_run_ctx;

static void cra_push_download_outcome(lua_State *L, cra_run_ctx *ctx, cra_xfer_t *x);
static int cra_call_progress(cra_run_ctx *ctx, cra_xfer_t *x);

/* done hook: builds the outcome and stores it in results[i], or schedules
 * a retry. Runs between polls, under the batch's lua_pcall. */
static int cra_on_done(void *ud, cra_xfer_t *x) {
  cra_run_ctx *ctx = (cra_run_ctx *)ud;
  lua_State *L = ctx->L;
  cra_client_t *c = ctx->c;
  int idx = (int)(x - c->tr.xfers) + 1;
  luaL_checkstack(L, 8, "result");
  if (x->dl.active) {
    cra_push_download_outcome(L, ctx, x);
    lua_rawseti(L, ctx->results, idx);
    return 0;
  }
  cra_push_outcome(L, c, x);
  lua_getfield(L, -1, "err");
  if (!lua_isnil(L, -1)) {
    double delay = 0;
    cra_decision d = cra_retry_decision(L, c, x, lua_gettop(L), &delay);
    if (d == CRA_RETRY) {
      lua_pop(L, 2);
      x->not_before = cra_monotonic() + delay;
      return 1;
    }
    if (d == CRA_UNKNOWN) cra_make_unknown_outcome(L);
  } else {
    lua_pop(L, 1);
    lua_getfield(L, -1, "res");
  }
  cra_error_setint(L, "attempts", x->attempts); /* res or err */
  lua_pop(L, 1);
  lua_rawseti(L, ctx->results, idx);
  return 0;
}

/* tick hook: on_progress of a running download, at most every 250 ms. */
static void cra_on_tick(void *ud) {
  cra_run_ctx *ctx = (cra_run_ctx *)ud;
  cra_xfer_t *x;
  double now;
  curl_off_t bytes;
  if (!ctx->progress || ctx->c->tr.nxfers == 0) return;
  x = &ctx->c->tr.xfers[0];
  if (x->state != CRA_XFER_RUNNING || !x->dl.checked || x->dl.http_error) return;
  now = cra_monotonic();
  bytes = x->dl.start + x->dl.written;
  if (now - ctx->last_progress < CRA_PROGRESS_INTERVAL || bytes == ctx->last_bytes) return;
  ctx->last_progress = now;
  ctx->last_bytes = bytes;
  if (!cra_call_progress(ctx, x)) x->abort_requested = 1;
}

/* Calls on_progress(bytes_so_far, expected_or_nil) under lua_pcall. Returns
 * 1, or 0 after storing the error message in the abort slot. Never called
 * from a libcurl callback: the no-longjmp rule holds by construction. */
static int cra_call_progress(cra_run_ctx *ctx, cra_xfer_t *x) {
  lua_State *L = ctx->L;
  luaL_checkstack(L, 4, "on_progress");
  lua_pushvalue(L, ctx->progress);
  cra_pushint64(L, (long long)(x->dl.start + x->dl.written));
  if (x->dl.expected >= 0) cra_pushint64(L, (long long)x->dl.expected);
  else lua_pushnil(L);
  if (lua_pcall(L, 2, 0, 0) == 0) return 1;
  if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
    lua_pushstring(L, lua_tostring(L, -1)); /* a copy, never convert in place */
    lua_remove(L, -2);
  } else {
    lua_pushfstring(L, "on_progress raised a %s value", luaL_typename(L, -1));
    lua_remove(L, -2);
  }
  lua_replace(L, ctx->abort_slot);
  return 0;
}

/* Protected body of a batch: (client lightuserdata, reqs) → results. */
static int cra_batch_impl(lua_State *L) {
  cra_client_t *c = (cra_client_t *)lua_touserdata(L, 1);
  size_t n = cra_rawlen(L, 2), i;
  int results;
  cra_run_ctx ctx;
  cra_hooks_t hooks;
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
  memset(&ctx, 0, sizeof ctx);
  ctx.L = L;
  ctx.c = c;
  ctx.results = results;
  hooks.ud = &ctx;
  hooks.done = cra_on_done;
  hooks.tick = NULL;
  hooks.tick_interval = 0;
  /* Lua runs only in the done hook, between polls. */
  cra_transport_run(&c->tr, &hooks);
  cra_transport_finish(&c->tr);
  lua_settop(L, results);
  return 1;
}

/* Runs impl(c, arg at idx) under lua_pcall with the busy flag set; pushes
 * its `nres` results. On error the batch is freed and the error re-raised. */
static void cra_run_protected(lua_State *L, cra_client_t *c, lua_CFunction impl, int idx,
                              int nres) {
  int status;
  if (c->busy) luaL_error(L, "creatorapi.Client: re-entrant call on a busy client");
  c->busy = 1;
  lua_pushcfunction(L, impl);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, idx);
  status = lua_pcall(L, 2, nres, 0);
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
  cra_run_protected(L, c, cra_batch_impl, 3, 1);
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
  cra_run_protected(L, c, cra_batch_impl, 2, 1);
  return 1;
}

/* client:transport_stats() → { attempts =, retries =, requests = } */
static int cra_client_transport_stats(lua_State *L) {
  cra_client_t *c = cra_check_client(L, 1);
  /* The counters survive close (cra_transport_close leaves them). */
  long long a = c->tr.n_attempts, r = c->tr.n_requests;
  lua_createtable(L, 0, 3);
  cra_pushint64(L, a);
  lua_setfield(L, -2, "attempts");
  cra_pushint64(L, a - r);
  lua_setfield(L, -2, "retries");
  cra_pushint64(L, r);
  lua_setfield(L, -2, "requests");
  return 1;
}

/* ---- downloads ------------------------------------------------------------- */

/* Configures slot x from the download options at oi. Returns 1, or pushes
 * a validation error and returns 0. */
static int cra_setup_download(lua_State *L, cra_client_t *c, cra_xfer_t *x, int oi) {
  const char *url, *path;
  size_t ulen, plen, i;
  double offset = 0, max_bytes = -1;
  long timeout_ms, connect_ms, lsl = c->low_speed_limit, lst = c->low_speed_time;
  CURL *e;
  luaL_checkstack(L, 8, "download");
  x->method = "GET";

  lua_getfield(L, oi, "url");
  if (lua_type(L, -1) != LUA_TSTRING) return cra_validation(L, x, "url", "download url must be a string");
  url = lua_tolstring(L, -1, &ulen);
  if (!(ulen > 7 && strncmp(url, "http://", 7) == 0) && !(ulen > 8 && strncmp(url, "https://", 8) == 0))
    return cra_validation(L, x, "url", "download url must start with http:// or https://");
  for (i = 0; i < ulen; i++) {
    unsigned char ch = (unsigned char)url[i];
    if (ch <= 0x20 || ch == 0x7f)
      return cra_validation(L, x, "url", "download url must not contain spaces or control characters");
  }
  if (!cra_store(&x->url, url, ulen)) luaL_error(L, "creatorapi: out of memory");
  lua_pop(L, 1);

  lua_getfield(L, oi, "path");
  if (lua_type(L, -1) != LUA_TSTRING) return cra_validation(L, x, "path", "download path must be a string");
  path = lua_tolstring(L, -1, &plen);
  if (plen == 0 || memchr(path, '\0', plen) != NULL)
    return cra_validation(L, x, "path", "download path must be a non-empty string without NUL");
  if (!cra_store(&x->dl.path, path, plen)) luaL_error(L, "creatorapi: out of memory");
  lua_pop(L, 1);

  lua_getfield(L, oi, "offset");
  if (!cra_opt_number(L, -1, 0, 9.0e15, 1, &offset))
    return cra_validation(L, x, "offset", "download offset must be an integer >= 0");
  lua_pop(L, 1);
  if (offset > 0) {
    /* Appending needs the first `offset` bytes to be there already. */
    struct stat sb;
    if (stat(x->dl.path, &sb) != 0 || !S_ISREG(sb.st_mode))
      return cra_validation(L, x, "offset", "download offset > 0 but path is not an existing file");
    if ((double)sb.st_size < offset)
      return cra_validation(L, x, "offset", "download offset is beyond the end of the file at path");
  }
  lua_getfield(L, oi, "max_bytes");
  if (!cra_opt_number(L, -1, 1, 9.0e15, 1, &max_bytes))
    return cra_validation(L, x, "max_bytes", "download max_bytes must be a positive integer");
  lua_pop(L, 1);

  lua_getfield(L, oi, "timeout"); /* downloads: no total limit unless asked */
  if (!cra_timeout_ms(L, -1, 0, 0, &timeout_ms))
    return cra_validation(L, x, "timeout", "timeout must be a positive number of seconds or false");
  lua_pop(L, 1);
  lua_getfield(L, oi, "connect_timeout");
  if (!cra_timeout_ms(L, -1, c->connect_timeout_ms, CRA_NO_CONNECT_TIMEOUT_MS, &connect_ms))
    return cra_validation(L, x, "connect_timeout",
                          "connect_timeout must be a positive number of seconds or false");
  lua_pop(L, 1);
  lua_getfield(L, oi, "low_speed_limit");
  if (!cra_opt_low_speed(L, -1, &lsl))
    return cra_validation(L, x, "low_speed_limit",
                          "low_speed_limit must be a positive number of bytes per second or false");
  lua_pop(L, 1);
  lua_getfield(L, oi, "low_speed_time");
  if (!cra_opt_low_speed(L, -1, &lst))
    return cra_validation(L, x, "low_speed_time", "low_speed_time must be a positive number of seconds or false");
  lua_pop(L, 1);
  lua_getfield(L, oi, "on_progress");
  if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
    return cra_validation(L, x, "on_progress", "on_progress must be a function");
  lua_pop(L, 1);

  x->dl.offset = (curl_off_t)offset;
  x->dl.max_bytes = max_bytes > 0 ? (curl_off_t)max_bytes : -1;
  e = cra_transport_easy(&c->tr, x, c->max_body);
  if (e == NULL) luaL_error(L, "creatorapi: curl_easy_init failed");
  cra_transport_download(x);
  curl_easy_setopt(e, CURLOPT_URL, x->url);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  /* Up to 5 redirects, never https → http. */
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR,
                   strncmp(x->url, "https://", 8) == 0 ? "https" : "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                   strncmp(x->url, "https://", 8) == 0 ? (long)CURLPROTO_HTTPS
                                                     : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  /* The file host is not the API: no API key, identity or Bearer header,
   * no custom headers at all (nothing to forward on a redirect). */
  curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, lsl > 0 && lst > 0 ? lsl : 0L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, lsl > 0 && lst > 0 ? lst : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  if (x->dl.offset > 0) {
    char range[48];
    snprintf(range, sizeof range, "%lld-", (long long)x->dl.offset);
    curl_easy_setopt(e, CURLOPT_RANGE, range); /* libcurl copies it */
  }
  x->retry = CRA_RETRY_NEVER; /* the caller resumes with offset */
  x->max_retries = 0;
  x->limited = 0;             /* the file host is not the API */
  x->state = CRA_XFER_READY;
  return 1;
}

/* Pushes {res = …} or {err = …} for a finished download. stack: [-0, +1] */
static void cra_push_download_outcome(lua_State *L, cra_run_ctx *ctx, cra_xfer_t *x) {
  cra_client_t *c = ctx->c;
  cra_download_t *d = &x->dl;
  int t, ok_http = (x->status >= 200 && x->status <= 299) || d->complete;
  char msg[CURL_ERROR_SIZE + 160];
  const char *kind = NULL;
  luaL_checkstack(L, 8, "download");
  lua_createtable(L, 0, 1);
  t = lua_gettop(L);
  msg[0] = '\0';
  if (x->result == CURLE_ABORTED_BY_CALLBACK && lua_type(L, ctx->abort_slot) == LUA_TSTRING) {
    kind = "aborted";
  } else if (d->io_errno) {
    kind = "io";
    snprintf(msg, sizeof msg, "cannot write the download file: %s", strerror(d->io_errno));
  } else if (d->over_max) {
    kind = "protocol";
    snprintf(msg, sizeof msg, "download exceeds max_bytes (%lld bytes)", (long long)d->max_bytes);
  } else if (d->bad_range) {
    kind = "protocol";
    snprintf(msg, sizeof msg, "HTTP 206 with a Content-Range that does not start at offset %lld",
             (long long)d->offset);
  } else if (x->result != CURLE_OK) {
    kind = cra_error_kind_for_curl(x->result);
    snprintf(msg, sizeof msg, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
  } else if (!ok_http || d->http_error) {
    kind = cra_error_kind_for_status(x->status);
    snprintf(msg, sizeof msg, "HTTP %ld from the download host", x->status);
  } else if (ctx->progress && !cra_call_progress(ctx, x)) {
    kind = "aborted"; /* the final on_progress call raised */
  }

  if (kind != NULL) {
    if (strcmp(kind, "aborted") == 0) {
      cra_error_push(L, kind, "", 0);
      lua_pushvalue(L, ctx->abort_slot);
      lua_setfield(L, -2, "message");
    } else {
      cra_push_redacted(L, msg, strlen(msg), c->api_key);
      cra_error_push(L, kind, "", 0);
      lua_insert(L, -2);
      lua_setfield(L, -2, "message");
    }
    if (x->status > 0) cra_error_setint(L, "status", x->status);
    if (x->result != CURLE_OK && x->result != CURLE_ABORTED_BY_CALLBACK)
      cra_error_setint(L, "curl_code", (long long)x->result);
    if (d->excerpt.len > 0) {
      cra_push_excerpt(L, d->excerpt.data, d->excerpt.len, c->api_key);
      lua_setfield(L, -2, "body_excerpt");
    }
    if (x->status >= 400) {
      const char *ra = NULL;
      long long secs;
      cra_push_headers(L, &x->hdrs);
      lua_getfield(L, -1, "retry-after");
      if (lua_type(L, -1) == LUA_TSTRING) ra = lua_tostring(L, -1);
      if (ra && cra_retry_after_parse(ra, &secs)) {
        lua_pop(L, 2);
        cra_error_setint(L, "retry_after", secs);
      } else {
        lua_pop(L, 2);
      }
    }
    cra_error_setint(L, "bytes", (long long)d->written);
    cra_error_setint(L, "total", (long long)(d->start + d->written));
    cra_error_setint(L, "attempts", x->attempts);
    cra_error_setstr(L, "method", "GET");
    lua_setfield(L, t, "err");
    return;
  }
  lua_createtable(L, 0, 8);
  cra_pushint64(L, x->status);
  lua_setfield(L, -2, "status");
  cra_pushint64(L, (long long)d->written);
  lua_setfield(L, -2, "bytes");
  cra_pushint64(L, (long long)(d->start + d->written));
  lua_setfield(L, -2, "total");
  if (d->expected >= 0) {
    cra_pushint64(L, (long long)d->expected);
    lua_setfield(L, -2, "expected");
  }
  lua_pushboolean(L, d->resumed);
  lua_setfield(L, -2, "resumed");
  cra_push_headers(L, &x->hdrs);
  lua_setfield(L, -2, "headers");
  cra_pushint64(L, x->attempts);
  lua_setfield(L, -2, "attempts");
  lua_setfield(L, t, "res");
}

/* Protected body of a download: (client lightuserdata, opts) → res | nil, err */
static int cra_download_impl(lua_State *L) {
  cra_client_t *c = (cra_client_t *)lua_touserdata(L, 1);
  cra_run_ctx ctx;
  cra_hooks_t hooks;
  lua_settop(L, 2);
  lua_createtable(L, 1, 0);      /* 3: results */
  lua_pushnil(L);                /* 4: abort message */
  lua_getfield(L, 2, "on_progress"); /* 5 */
  if (!cra_transport_prepare(&c->tr, 1)) return luaL_error(L, "creatorapi: out of memory");
  if (!cra_setup_download(L, c, &c->tr.xfers[0], 2)) {
    c->tr.xfers[0].state = CRA_XFER_UNUSED;
    cra_transport_finish(&c->tr);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_settop(L, 5);
  memset(&ctx, 0, sizeof ctx);
  ctx.L = L;
  ctx.c = c;
  ctx.results = 3;
  ctx.abort_slot = 4;
  ctx.progress = lua_isfunction(L, 5) ? 5 : 0;
  ctx.last_bytes = -1;
  hooks.ud = &ctx;
  hooks.done = cra_on_done;
  hooks.tick = cra_on_tick;
  hooks.tick_interval = ctx.progress ? CRA_PROGRESS_INTERVAL / 2 : 0;
  cra_transport_run(&c->tr, &hooks);
  cra_transport_finish(&c->tr);
  lua_rawgeti(L, 3, 1);
  lua_getfield(L, -1, "res");
  if (!lua_isnil(L, -1)) {
    lua_pushnil(L);
    return 2;
  }
  lua_pushnil(L);
  lua_getfield(L, -3, "err");
  return 2;
}

/* client:download{ url =, path =, … } → res | nil, err */
static int cra_client_download(lua_State *L) {
  cra_client_t *c = cra_check_open(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  cra_run_protected(L, c, cra_download_impl, 2, 2);
  if (!lua_isnil(L, -2)) lua_pop(L, 1); /* res, nil → res */
  return lua_gettop(L) - 2;
}

void cra_client_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"request", cra_client_request},
    {"batch", cra_client_batch},
    {"download", cra_client_download},
    {"transport_stats", cra_client_transport_stats},
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
