/*
 * curl_options.c — sets the libcurl options of one transfer (see
 * curl_options.h). On a pooled handle that still carries its context's
 * options (x->configured), only what varies per request is set again.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "context.h"
#include "curl_options.h"
#include "curl_xfer.h"
#include "part_file.h"
#include "util.h"

static long cra_p_ms(lua_State *L, int p, const char *field, long dflt, long disabled) {
  long ms = dflt;
  lua_getfield(L, p, field);
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    ms = disabled;
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    double v = ceil((double)lua_tonumber(L, -1) * 1000.0);
    if (v >= 1 && v <= 2147483647.0) ms = (long)v;
  }
  lua_pop(L, 1);
  return ms;
}

int cra_p_dup(lua_State *L, int p, const char *field, char **dst) {
  size_t n;
  const char *s;
  lua_getfield(L, p, field);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    return 0;
  }
  s = lua_tolstring(L, -1, &n);
  if (!cra_store(dst, s, n)) luaL_error(L, "creatorapi: out of memory");
  lua_pop(L, 1);
  return 1;
}

/* Header lines a prepared request may carry (prepare.c makes at most a
 * handful plus the caller's req.headers), and the longest User-Agent line. */
#define CRA_HEADER_LINES_MAX 256
#define CRA_UA_LINE_MAX 424

/* The User-Agent: a header line of the request's list (libcurl formats
 * CURLOPT_USERAGENT anew for every request, at about twice the cost), or,
 * through a proxy, CURLOPT_USERAGENT (custom headers never reach a CONNECT).
 * Returns the line in `line` (NULL: none in the list). */
static const char *cra_user_agent(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x,
                                  char line[CRA_UA_LINE_MAX]) {
  size_t n;
  const char *ua, *out = NULL;
  lua_getfield(L, p, "user_agent");
  ua = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
  if (ua != NULL && (c->proxy != NULL || x->dl.path != NULL || n > CRA_UA_LINE_MAX - 13)) {
    if (!x->configured) curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
  } else if (ua != NULL && n > 0) { /* "" sends none, as CURLOPT_USERAGENT "" did */
    memcpy(line, "User-Agent: ", 12);
    memcpy(line + 12, ua, n + 1);
    out = line;
  }
  lua_pop(L, 1); /* libcurl copies strings */
  return out;
}

/* x->headers = the list of `lines`: the list the struct had before when it
 * holds the same lines in the same order (the usual case: a client sends the
 * same header lines on every call), else a new one. */
static void cra_header_list(lua_State *L, cra_xfer_t *x, const char **lines, size_t n) {
  struct curl_slist *prev = x->headers_prev, *l;
  size_t i;
  x->headers_prev = NULL;
  for (l = prev, i = 0; l != NULL && i < n; l = l->next, i++)
    if (strcmp(l->data, lines[i]) != 0) break;
  if (l == NULL && i == n && prev != NULL) {
    x->headers = prev;
    return;
  }
  curl_slist_free_all(prev);
  for (i = 0; i < n; i++) {
    l = curl_slist_append(x->headers, lines[i]);
    if (l == NULL) luaL_error(L, "creatorapi: out of memory");
    x->headers = l;
  }
}

#if CRA_HAVE_CURLU
/* The request target of an absolute http(s) `url` ("path?query") when its
 * query may travel there, with *query at its '?'; else NULL (no query, or
 * bytes libcurl's parser would have changed or refused). One pass. */
static const char *cra_url_target(const char *url, const char **query) {
  const char *path, *s;
  size_t skip = strncasecmp(url, "https://", 8) == 0 ? 8 : 7;
  *query = NULL;
  path = strpbrk(url + skip, "/?#");
  if (path == NULL || *path != '/') return NULL;
  for (s = path; *s != '\0'; s++) {
    unsigned char b = (unsigned char)*s;
    if (b <= 0x20 || b >= 0x7f || b == '#') return NULL;
    if (b == '?') {
      if (*query == NULL) *query = s;
    } else if (b == '/' && s[1] == '.' && *query == NULL) {
      return NULL; /* a dot segment */
    }
  }
  return *query != NULL ? path : NULL;
}

/* x->uh holds the first `len` bytes of `url`: parsed when they differ from
 * what it holds, else taken as it is. Returns 0 when libcurl's parser
 * rejects them. */
static int cra_urlh_hold(lua_State *L, cra_xfer_t *x, const char *url, size_t len) {
  if (x->uh.text != NULL && strncmp(x->uh.text, url, len) == 0 && x->uh.text[len] == '\0') return 1;
  if (x->uh.h == NULL && (x->uh.h = curl_url()) == NULL) luaL_error(L, "creatorapi: out of memory");
  if (!cra_store(&x->uh.text, url, len)) luaL_error(L, "creatorapi: out of memory");
  if (curl_url_set(x->uh.h, CURLUPART_URL, x->uh.text, 0) == CURLUE_OK) return 1;
  free(x->uh.text); /* rejected: nothing to reuse, parse again next time */
  x->uh.text = NULL;
  return 0;
}
#endif

/* The request URL. CURLOPT_URL alone makes libcurl parse the string and
 * print it back normalized on every transfer (about a seventh of a keep-alive
 * GET's instructions); handed over parsed (CURLOPT_CURLU, a handle reused with
 * the easy handle), it skips both. CURLOPT_URL is set too: libcurl keeps it
 * as the effective URL, which a relative redirect is resolved against. Only
 * an absolute http(s) URL is parsed here (a parse then replaces every part
 * of the handle); anything else, or a URL the parser rejects, goes to libcurl
 * as a string, which reports the error as it always did.
 *
 * With no proxy and no redirect to follow, the query goes in the request
 * target instead (CURLOPT_REQUEST_TARGET "path?query", copied into the request
 * line as it is) and the handle holds the URL without it. libcurl 7.x prints
 * "path?query" byte by byte twice a request otherwise (for HTTP
 * authentication, which the SDK never asks for, and into the request line),
 * and the query-less URL, the same for every call of an endpoint, is parsed
 * once per pooled handle, not once a call (x->uh.text). A proxy needs the
 * whole URL in the handle (the request line is the absolute URL) and a
 * redirect a target of its own, so both keep the query in the handle; so
 * does a URL whose path or query libcurl's parse would have changed or
 * rejected (a dot segment, a fragment, a space, control or non-ASCII byte). */
static void cra_set_url(lua_State *L, cra_ctx_t *c, CURL *e, cra_xfer_t *x, int follow) {
  curl_easy_setopt(e, CURLOPT_URL, x->url);
#if CRA_HAVE_CURLU
  if (strncasecmp(x->url, "http://", 7) == 0 || strncasecmp(x->url, "https://", 8) == 0) {
    const char *query = NULL;
    const char *target = follow || c->proxy != NULL || c->proxy_env ? NULL : cra_url_target(x->url, &query);
    size_t len = target != NULL ? (size_t)(query - x->url) : strlen(x->url);
    if (cra_urlh_hold(L, x, x->url, len)) {
      curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, target); /* NULL: from the handle */
      curl_easy_setopt(e, CURLOPT_CURLU, x->uh.h);
      return;
    }
  }
  curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, (char *)NULL);
  curl_easy_setopt(e, CURLOPT_CURLU, (CURLU *)NULL);
#else
  (void)L;
  (void)c;
  (void)follow;
#endif
}

/* Options shared by requests and downloads. On a handle that carries its
 * context's options (x->configured: a pooled handle of a plain request,
 * never reset), only what varies per request is set. */
static void cra_common_opts(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x) {
  int follow = cra_field_bool(L, p, "follow");
  int fresh = cra_field_bool(L, p, "fresh");
  cra_set_url(L, c, e, x, follow);
  /* Redirects only when prepare allowed them (never with credentials). */
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
  if (follow) curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, cra_p_ms(L, p, "timeout", c->timeout_ms, 0));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   cra_p_ms(L, p, "connect_timeout", c->connect_timeout_ms, CRA_NO_CONNECT_TIMEOUT_MS));
  /* A request that must not be re-sent gets a fresh, one-shot connection:
   * libcurl silently re-sends on a reused connection that died. */
  if (fresh || x->configured) {
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
  }
  if (x->configured) return;
  {
    /* Same for every request of a context (its base_url fixes the scheme). */
    int https = strncmp(x->url, "https://", 8) == 0;
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                     https ? (long)CURLPROTO_HTTPS : (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  }
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
  if (c->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  if (c->proxy) curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  /* No proxy variable when the context was made: "" tells libcurl so, and it
   * stops looking them up (5-7 getenv scans of the environment a transfer,
   * no_proxy and NO_PROXY among them). */
  else if (!c->proxy_env) {
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  }
}

void cra_request_opts(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x) {
  int is_post, has_expect = 0, hl;
  size_t i, n, nlines = 0;
  const char *lines[CRA_HEADER_LINES_MAX + 2];
  char ua[CRA_UA_LINE_MAX];
  lua_getfield(L, p, "method");
  is_post = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "POST") == 0;
  lua_pop(L, 1);
  x->method = is_post ? "POST" : "GET";
  lua_getfield(L, p, "headers"); /* stays on the stack: lines[] point into its strings */
  hl = lua_gettop(L);
  n = lua_istable(L, hl) ? cra_rawlen(L, hl) : 0;
  if (n > CRA_HEADER_LINES_MAX) luaL_error(L, "creatorapi: more than %d header lines", CRA_HEADER_LINES_MAX);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, hl, (int)i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *line = lua_tostring(L, -1);
      if (strncasecmp(line, "Expect:", 7) == 0) has_expect = 1;
      lines[nlines++] = line; /* the headers table keeps it alive */
    }
    lua_pop(L, 1);
  }
  if (cra_user_agent(L, c, e, p, x, ua) != NULL) lines[nlines++] = ua;
  lua_getfield(L, p, "body");
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t blen;
    const char *b = lua_tolstring(L, -1, &blen);
    if (!cra_buf_append(&x->req_body, b, blen)) luaL_error(L, "creatorapi: out of memory");
    /* No "Expect: 100-continue" round trip for JSON bodies. */
    if (!has_expect) lines[nlines++] = "Expect:";
  }
  lua_pop(L, 1);
  cra_header_list(L, x, lines, nlines);
  lua_pop(L, 1); /* p.headers: libcurl's list has its own copies */
  if (is_post) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req_body.data ? x->req_body.data : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req_body.len);
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  /* gzip only (docs/decisions.md): libcurl formats the line for every request */
  if (!x->configured) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
  cra_common_opts(L, c, e, p, x);
}

void cra_download_opts(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x) {
  long long lsl = cra_field_int(L, p, "low_speed_limit", 0), lst = cra_field_int(L, p, "low_speed_time", 0);
  long long max_bytes = cra_field_int(L, p, "max_bytes", -1);
  x->method = "GET";
  if (!cra_p_dup(L, p, "file", &x->dl.path)) luaL_error(L, "creatorapi.CurlEngine: download p has no file");
  x->dl.offset = (curl_off_t)cra_field_int(L, p, "offset", 0);
  x->dl.max_bytes = max_bytes > 0 ? (curl_off_t)max_bytes : -1;
  lua_getfield(L, p, "part");
  {
    cra_part_t *pf = cra_test_part(L, -1);
    lua_pop(L, 1);
    cra_curl_download(x, pf ? pf->fd : -1);
  }
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  /* The file host is not the API: no credential or custom header at all. */
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, (long)lsl);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)lst);
  if (x->dl.offset > 0) {
    char range[48];
    snprintf(range, sizeof range, "%lld-", (long long)x->dl.offset);
    curl_easy_setopt(e, CURLOPT_RANGE, range); /* libcurl copies it */
  }
  {
    char ua[CRA_UA_LINE_MAX]; /* a download sets CURLOPT_USERAGENT (x->dl.path): no line */
    (void)cra_user_agent(L, c, e, p, x, ua);
  }
  cra_common_opts(L, c, e, p, x);
}
