/*
 * prepare.c — ctx:prepare(req) and ctx:prepare_download(opts): a request
 * table checked and turned into the prepared request `p` that every
 * transport sends as it is:
 *
 *   p = { method, url, scheme, host, port, target, path, headers = {"Name: value", …},
 *         user_agent, body, retry = "safe"|"submit"|"never", fresh, follow,
 *         timeout, connect_timeout (seconds or false), max_retries, limited }
 *
 * `headers` never holds Host, User-Agent, Content-Length or Connection: each
 * transport writes those itself. Validation failures push the usual
 * `validation` error (nothing can have been sent). Fields of `req` are read
 * with raw access, so no metamethod (arbitrary Lua) runs in between.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "context.h"
#include "error.h"
#include "json.h"
#include "part_file.h"
#include "query.h"

/* Field names and values prepare reads and writes on every call, interned
 * once: ctx:prepare is a closure over this table (cra_prepare_keys), so a
 * field costs an array read instead of lua_setfield's lookup of a C string.
 * kt = 0 (prepare_download, or no upvalue) falls back to the C strings. */
enum {
  K_METHOD = 1, K_PATH, K_AUTH, K_TIMEOUT, K_CONNECT_TIMEOUT, K_RETRY, K_FRESH, K_MAX_RETRIES,
  K_LIMITED, K_QUERY, K_BODY, K_HEADERS, K_TARGET, K_URL, K_FOLLOW, K_SCHEME, K_HOST, K_PORT,
  K_USER_AGENT, K_GET, K_POST, K_SAFE, K_SUBMIT, K_NEVER, K_COUNT
};
static const char *const cra_key_names[K_COUNT] = {
  NULL, "method", "path", "auth", "timeout", "connect_timeout", "retry", "fresh", "max_retries",
  "limited", "query", "body", "headers", "target", "url", "follow", "scheme", "host", "port",
  "user_agent", "GET", "POST", "safe", "submit", "never"
};

void cra_prepare_keys(lua_State *L) {
  int k;
  lua_createtable(L, K_COUNT, 0);
  for (k = 1; k < K_COUNT; k++) {
    lua_pushstring(L, cra_key_names[k]);
    lua_rawseti(L, -2, k);
  }
}

/* stack: [-0, +1] The interned string k. */
static void cra_pushk(lua_State *L, int kt, int k) {
  if (kt) lua_rawgeti(L, kt, k);
  else lua_pushstring(L, cra_key_names[k]);
}

/* stack: [-1, +0] p[k] = the value on top (p: a fresh table, no metatable). */
static void cra_setk(lua_State *L, int p, int kt, int k) {
  if (kt) {
    lua_rawgeti(L, kt, k);
    lua_insert(L, -2);
    lua_rawset(L, p);
  } else {
    lua_setfield(L, p, cra_key_names[k]);
  }
}

/* stack: [-0, +1] t[k], raw. */
static void cra_getk(lua_State *L, int t, int kt, int k) {
  cra_pushk(L, kt, k);
  lua_rawget(L, t);
}

/* Default headers that a same-named entry in req.headers replaces. */
enum { H_ACCEPT = 1, H_CTYPE = 2, H_APIKEY = 4, H_IDENT = 8, H_AUTHZ = 16 };

static int cra_header_bit(const char *name) {
  if (strcasecmp(name, "Accept") == 0) return H_ACCEPT;
  if (strcasecmp(name, "Content-Type") == 0) return H_CTYPE;
  if (strcasecmp(name, "X-API-Key") == 0) return H_APIKEY;
  if (strcasecmp(name, "X-User-Identity") == 0) return H_IDENT;
  if (strcasecmp(name, "Authorization") == 0) return H_AUTHZ;
  return 0;
}

/* Headers each transport writes itself; a caller may not set them. */
static int cra_header_reserved(const char *name) {
  return strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Length") == 0 ||
         strcasecmp(name, "Connection") == 0 || strcasecmp(name, "Transfer-Encoding") == 0 ||
         strcasecmp(name, "User-Agent") == 0;
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

/* Appends "name: value" to the array at t. */
static void cra_add_line(lua_State *L, int t, const char *name, const char *value) {
  lua_pushfstring(L, "%s: %s", name, value);
  lua_rawseti(L, t, (int)cra_rawlen(L, t) + 1);
}

/* Appends a whole line to the array at t. */
static void cra_add_built(lua_State *L, int t, const char *line) {
  lua_pushstring(L, line);
  lua_rawseti(L, t, (int)cra_rawlen(L, t) + 1);
}

static void cra_set_timeout(lua_State *L, int p, int kt, int field, long ms, long disabled) {
  if (ms == disabled) lua_pushboolean(L, 0);
  else lua_pushnumber(L, (lua_Number)ms / 1000.0);
  cra_setk(L, p, kt, field);
}

/* The connection part of p (scheme, host, port) from the context. */
static void cra_set_endpoint(lua_State *L, int p, int kt, const cra_ctx_t *c) {
  lua_pushstring(L, c->scheme);
  cra_setk(L, p, kt, K_SCHEME);
  lua_pushstring(L, c->host);
  cra_setk(L, p, kt, K_HOST);
  lua_pushinteger(L, c->port);
  cra_setk(L, p, kt, K_PORT);
  lua_pushstring(L, c->user_agent);
  cra_setk(L, p, kt, K_USER_AGENT);
}

/* A validation result: nil, err. */
static int cra_invalid(lua_State *L, const char *field, const char *msg, const char *method,
                       const char *path) {
  lua_pushnil(L);
  cra_push_validation(L, field, msg, method, path);
  return 2;
}

/* Reads req.method/path/auth; returns 0 after pushing nil, err. */
typedef struct cra_req_head {
  const char *method, *path, *auth;
  size_t plen;
  int is_post, send_key, send_ident;
  int kt; /* stack index of the key table, or 0 */
} cra_req_head;

static int cra_read_head(lua_State *L, cra_ctx_t *c, int ri, cra_req_head *h) {
  size_t i;
  cra_getk(L, ri, h->kt, K_METHOD);
  h->method = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  if (strcmp(h->method, "GET") == 0) { h->method = "GET"; h->is_post = 0; }
  else if (strcmp(h->method, "POST") == 0) { h->method = "POST"; h->is_post = 1; }
  else return cra_invalid(L, "method", "request method must be \"GET\" or \"POST\"", NULL, NULL), 0;

  cra_getk(L, ri, h->kt, K_PATH); /* stays on the stack: h->path points into it */
  if (lua_type(L, -1) != LUA_TSTRING)
    return cra_invalid(L, "path", "request path must be a string", h->method, NULL), 0;
  h->path = lua_tolstring(L, -1, &h->plen);
  if (h->plen == 0 || h->path[0] != '/')
    return cra_invalid(L, "path", "request path must start with '/'", h->method, NULL), 0;
  for (i = 0; i < h->plen; i++) {
    unsigned char ch = (unsigned char)h->path[i];
    if (ch <= 0x20 || ch == 0x7f || ch == '#' || ch == '?')
      return cra_invalid(L, "path", "request path must not contain spaces, control characters, '?' or '#'",
                         h->method, NULL), 0;
  }

  h->auth = "full";
  cra_getk(L, ri, h->kt, K_AUTH);
  if (!lua_isnil(L, -1)) {
    h->auth = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(h->auth, "full") != 0 && strcmp(h->auth, "key") != 0 && strcmp(h->auth, "none") != 0)
      return cra_invalid(L, "auth", "request auth must be \"full\", \"key\" or \"none\"", h->method,
                         h->path), 0;
    h->auth = strcmp(h->auth, "full") == 0 ? "full" : strcmp(h->auth, "key") == 0 ? "key" : "none";
  }
  lua_pop(L, 1);
  h->send_key = strcmp(h->auth, "none") != 0 && c->api_key != NULL;
  h->send_ident = strcmp(h->auth, "full") == 0 && c->dialect == CRA_DIALECT_CREATIVAULT &&
                  c->user_identity != NULL;
  if (h->send_key && c->api_key_bad)
    return cra_invalid(L, "api_key", "api_key contains CR, LF or NUL", h->method, h->path), 0;
  if (h->send_ident && c->user_identity_bad)
    return cra_invalid(L, "user_identity", "user_identity contains CR, LF or NUL", h->method, h->path), 0;
  return 1;
}

/* Timeouts, retry class and max_retries into p. Returns 0 after nil, err. */
static int cra_read_policy(lua_State *L, cra_ctx_t *c, int ri, int p, const cra_req_head *h) {
  long timeout_ms, connect_ms;
  double mr = c->max_retries;
  int retry = h->is_post ? K_SUBMIT : K_SAFE; /* a key of the table: its value is the name */
  cra_getk(L, ri, h->kt, K_TIMEOUT);
  if (!cra_timeout_ms(L, -1, c->timeout_ms, 0, &timeout_ms))
    return cra_invalid(L, "timeout", "timeout must be a positive number of seconds or false",
                       h->method, h->path), 0;
  lua_pop(L, 1);
  cra_getk(L, ri, h->kt, K_CONNECT_TIMEOUT);
  if (!cra_timeout_ms(L, -1, c->connect_timeout_ms, CRA_NO_CONNECT_TIMEOUT_MS, &connect_ms))
    return cra_invalid(L, "connect_timeout", "connect_timeout must be a positive number of seconds or false",
                       h->method, h->path), 0;
  lua_pop(L, 1);
  cra_set_timeout(L, p, h->kt, K_TIMEOUT, timeout_ms, 0);
  cra_set_timeout(L, p, h->kt, K_CONNECT_TIMEOUT, connect_ms, CRA_NO_CONNECT_TIMEOUT_MS);

  /* "safe" (default for GET), "submit" (default for POST: a POST may create
   * billable work), "never". */
  cra_getk(L, ri, h->kt, K_RETRY);
  if (!lua_isnil(L, -1)) {
    const char *r = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    if (strcmp(r, "safe") == 0) retry = K_SAFE;
    else if (strcmp(r, "submit") == 0) retry = K_SUBMIT;
    else if (strcmp(r, "never") == 0) retry = K_NEVER;
    else return cra_invalid(L, "retry", "request retry must be \"safe\", \"submit\" or \"never\"",
                            h->method, h->path), 0;
  }
  lua_pop(L, 1);
  cra_pushk(L, h->kt, retry);
  cra_setk(L, p, h->kt, K_RETRY);
  /* libcurl (and a keep-alive pool) silently re-sends a request when a
   * reused connection dies before any answer, even a POST the server may
   * already have acted on: "submit" and "never" requests get a fresh,
   * one-shot connection that no transport re-sends on. */
  lua_pushboolean(L, retry != K_SAFE);
  cra_setk(L, p, h->kt, K_FRESH);

  cra_getk(L, ri, h->kt, K_MAX_RETRIES);
  if (!cra_opt_number(L, -1, 0, CRA_MAX_RETRIES_LIMIT, 1, &mr))
    return cra_invalid(L, "max_retries", "max_retries must be an integer between 0 and 100",
                       h->method, h->path), 0;
  lua_pop(L, 1);
  lua_pushinteger(L, (lua_Integer)mr);
  cra_setk(L, p, h->kt, K_MAX_RETRIES);
  lua_pushboolean(L, 1);
  cra_setk(L, p, h->kt, K_LIMITED);
  return 1;
}

/* req.headers checked; *overridden gets the default headers they replace;
 * the table stays at *uh (0 when none). Returns 0 after nil, err. */
static int cra_read_headers(lua_State *L, int ri, const cra_req_head *h, int *uh, int *overridden) {
  *uh = 0;
  cra_getk(L, ri, h->kt, K_HEADERS);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 1;
  }
  if (!lua_istable(L, -1))
    return cra_invalid(L, "headers", "request headers must be a table", h->method, h->path), 0;
  *uh = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, *uh)) {
    size_t nlen, vlen;
    const char *n, *v;
    if (lua_type(L, -2) != LUA_TSTRING ||
        (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
      return cra_invalid(L, "headers", "request headers must map names to strings", h->method, h->path), 0;
    n = lua_tolstring(L, -2, &nlen);
    if (!cra_valid_header_name(n, nlen))
      return cra_invalid(L, "headers", "invalid header name", h->method, h->path), 0;
    if (cra_header_reserved(n)) {
      char msg[160];
      snprintf(msg, sizeof msg, "header %.80s is set by the transport and cannot be given", n);
      return cra_invalid(L, "headers", msg, h->method, h->path), 0;
    }
    lua_pushvalue(L, -1); /* convert a copy, never the key's value in place */
    v = lua_tolstring(L, -1, &vlen);
    if (cra_has_crlfnul(v, vlen)) {
      char msg[160];
      snprintf(msg, sizeof msg, "header %.80s contains CR, LF or NUL", n);
      lua_pushnil(L);
      cra_push_validation(L, NULL, msg, h->method, h->path);
      lua_pushvalue(L, -5); /* the header name */
      lua_setfield(L, -2, "field");
      return 0;
    }
    lua_pop(L, 2);
    *overridden |= cra_header_bit(n);
  }
  return 1;
}

/* ctx:prepare(req) → p | nil, err */
int cra_ctx_prepare(lua_State *L) {
  cra_ctx_t *c = cra_ctx_check(L, 1);
  cra_req_head h;
  int ri = 2, p, hl, uh = 0, overridden = 0, has_body = 0;
  size_t qlen = 0;
  const char *qs = NULL;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  luaL_checkstack(L, 16, "prepare");
  memset(&h, 0, sizeof h);
  /* stack: ctx, req, key table (or nil: a copy of prepare without it) */
  lua_pushvalue(L, lua_upvalueindex(1));
  h.kt = lua_istable(L, 3) ? 3 : 0;
  if (!cra_read_head(L, c, ri, &h)) return 2;
  /* stack: ctx, req, keys, path */
  lua_createtable(L, 0, 20);
  p = lua_gettop(L);
  cra_pushk(L, h.kt, h.is_post ? K_POST : K_GET);
  cra_setk(L, p, h.kt, K_METHOD);
  lua_pushvalue(L, 4);
  cra_setk(L, p, h.kt, K_PATH);
  if (!cra_read_policy(L, c, ri, p, &h)) return 2;

  /* query → string */
  cra_getk(L, ri, h.kt, K_QUERY);
  if (lua_istable(L, -1)) {
    int q = lua_gettop(L);
    if (!cra_query_encode(L, q)) {
      /* stack: query, key, message */
      const char *msg = lua_tostring(L, -1);
      lua_pushnil(L);
      cra_push_validation(L, NULL, msg ? msg : "invalid query", h.method, h.path);
      lua_pushvalue(L, -4);
      lua_setfield(L, -2, "field");
      return 2;
    }
    qs = lua_tolstring(L, -1, &qlen);
  } else if (!lua_isnil(L, -1)) {
    return cra_invalid(L, "query", "request query must be a table", h.method, h.path);
  }
  /* the query string (or nil) stays on the stack: qs points into it */
  {
    luaL_Buffer b;
    cra_getk(L, ri, h.kt, K_BODY);
    if (!h.is_post) {
      if (!lua_isnil(L, -1))
        return cra_invalid(L, "body", "a GET request cannot have a body", h.method, h.path);
      lua_pop(L, 1);
    } else {
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "{}");
      } else if (!cra_json_encode(L, lua_gettop(L), c->max_depth)) {
        char msg[200];
        snprintf(msg, sizeof msg, "request body cannot be encoded as JSON: %.150s",
                 lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        return cra_invalid(L, "body", msg, h.method, h.path);
      } else {
        lua_remove(L, -2);
      }
      cra_setk(L, p, h.kt, K_BODY);
      has_body = 1;
    }
    if (!cra_read_headers(L, ri, &h, &uh, &overridden)) return 2;

    /* url = base_url .. path [.. "?" .. query]; target = base path .. path [.. "?" .. query]:
     * the url's tail, since base_url ends with the base path. */
    {
      size_t ulen, blen = strlen(c->base_url), bp = strlen(c->base_path);
      const char *u;
      luaL_buffinit(L, &b);
      luaL_addlstring(&b, c->base_url, blen);
      luaL_addlstring(&b, h.path, h.plen);
      if (qs && qlen) {
        luaL_addchar(&b, '?');
        luaL_addlstring(&b, qs, qlen);
      }
      luaL_pushresult(&b);
      u = lua_tolstring(L, -1, &ulen);
      if (blen >= bp && memcmp(c->base_url + blen - bp, c->base_path, bp) == 0) {
        lua_pushlstring(L, u + blen - bp, ulen - (blen - bp));
      } else { /* a base_url with "?…" or "#…" after its path */
        lua_pushstring(L, c->base_path);
        lua_pushlstring(L, u + blen, ulen - blen);
        lua_concat(L, 2);
      }
      cra_setk(L, p, h.kt, K_TARGET);
      cra_setk(L, p, h.kt, K_URL);
    }
  }
  cra_set_endpoint(L, p, h.kt, c);

  lua_createtable(L, 6, 0);
  hl = lua_gettop(L);
  /* The default lines are built once per context (context.c). */
  if (!(overridden & H_ACCEPT)) cra_add_built(L, hl, "Accept: application/json");
  if (has_body && !(overridden & H_CTYPE)) cra_add_built(L, hl, "Content-Type: application/json");
  if (c->dialect == CRA_DIALECT_CREATIVAULT) {
    if (h.send_key && !(overridden & H_APIKEY)) cra_add_built(L, hl, c->line_key);
    if (h.send_ident && !(overridden & H_IDENT)) cra_add_built(L, hl, c->line_ident);
  } else if (h.send_key && !(overridden & H_AUTHZ)) {
    cra_add_built(L, hl, c->line_authz);
  }
  if (uh) {
    lua_pushnil(L);
    while (lua_next(L, uh)) {
      lua_pushvalue(L, -1);
      cra_add_line(L, hl, lua_tostring(L, -3), lua_tostring(L, -1));
      lua_pop(L, 2);
    }
  }
  cra_setk(L, p, h.kt, K_HEADERS);
  /* Redirects: never for POST, and never when a credential header is sent
   * (it would be forwarded to the new host). Unauthenticated GETs follow up
   * to 5, without https → http. */
  lua_pushboolean(L, !h.is_post && !h.send_key && !h.send_ident &&
                         !(overridden & (H_APIKEY | H_IDENT | H_AUTHZ)));
  cra_setk(L, p, h.kt, K_FOLLOW);
  lua_settop(L, p);
  return 1;
}

/* ctx:prepare_download{ url=, path=, offset=, max_bytes=, timeout=, connect_timeout=,
 * low_speed_limit=, low_speed_time=, on_progress= } → p | nil, err.
 * p.kind = "download", p.file = the local path. The file host is not the
 * API: no credential or custom header, no rate limit, no retries (the
 * caller resumes with offset). Redirects are followed (up to 5, never
 * https → http). */
int cra_ctx_prepare_download(lua_State *L) {
  cra_ctx_t *c = cra_ctx_check(L, 1);
  const char *url, *path;
  size_t ulen, plen, i;
  double offset = 0, max_bytes = -1;
  long timeout_ms, connect_ms, lsl = c->low_speed_limit, lst = c->low_speed_time;
  int p;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  luaL_checkstack(L, 8, "download");

  lua_getfield(L, 2, "url");
  if (lua_type(L, -1) != LUA_TSTRING) return cra_invalid(L, "url", "download url must be a string", "GET", NULL);
  url = lua_tolstring(L, -1, &ulen);
  if (!(ulen > 7 && strncmp(url, "http://", 7) == 0) && !(ulen > 8 && strncmp(url, "https://", 8) == 0))
    return cra_invalid(L, "url", "download url must start with http:// or https://", "GET", NULL);
  for (i = 0; i < ulen; i++) {
    unsigned char ch = (unsigned char)url[i];
    if (ch <= 0x20 || ch == 0x7f)
      return cra_invalid(L, "url", "download url must not contain spaces or control characters", "GET", NULL);
  }
  lua_getfield(L, 2, "path");
  if (lua_type(L, -1) != LUA_TSTRING) return cra_invalid(L, "path", "download path must be a string", "GET", NULL);
  path = lua_tolstring(L, -1, &plen);
  if (plen == 0 || memchr(path, '\0', plen) != NULL)
    return cra_invalid(L, "path", "download path must be a non-empty string without NUL", "GET", NULL);

  lua_getfield(L, 2, "offset");
  if (!cra_opt_number(L, -1, 0, 9.0e15, 1, &offset))
    return cra_invalid(L, "offset", "download offset must be an integer >= 0", "GET", NULL);
  lua_pop(L, 1);
  if (offset > 0) {
    /* Appending needs the first `offset` bytes to be there already. */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
      return cra_invalid(L, "offset", "download offset > 0 but path is not an existing file", "GET", NULL);
    if ((double)sb.st_size < offset)
      return cra_invalid(L, "offset", "download offset is beyond the end of the file at path", "GET", NULL);
  }
  lua_getfield(L, 2, "max_bytes");
  if (!cra_opt_number(L, -1, 1, 9.0e15, 1, &max_bytes))
    return cra_invalid(L, "max_bytes", "download max_bytes must be a positive integer", "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "timeout"); /* downloads: no total limit unless asked */
  if (!cra_timeout_ms(L, -1, 0, 0, &timeout_ms))
    return cra_invalid(L, "timeout", "timeout must be a positive number of seconds or false", "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "connect_timeout");
  if (!cra_timeout_ms(L, -1, c->connect_timeout_ms, CRA_NO_CONNECT_TIMEOUT_MS, &connect_ms))
    return cra_invalid(L, "connect_timeout", "connect_timeout must be a positive number of seconds or false",
                       "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "low_speed_limit");
  if (!cra_opt_low_speed(L, -1, &lsl))
    return cra_invalid(L, "low_speed_limit",
                       "low_speed_limit must be a positive number of bytes per second or false", "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "low_speed_time");
  if (!cra_opt_low_speed(L, -1, &lst))
    return cra_invalid(L, "low_speed_time", "low_speed_time must be a positive number of seconds or false",
                       "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "on_progress");
  if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
    return cra_invalid(L, "on_progress", "on_progress must be a function", "GET", NULL);
  lua_pop(L, 1);
  lua_getfield(L, 2, "part"); /* stack: ctx, opts, url, path, part */
  if (!lua_isnil(L, -1) && cra_test_part(L, -1) == NULL)
    return cra_invalid(L, "part", "download part must be an open core.part_file", "GET", NULL);

  /* stack: ctx, opts, url, path, part */
  lua_createtable(L, 0, 16);
  p = lua_gettop(L);
  lua_pushliteral(L, "download");
  lua_setfield(L, p, "kind");
  lua_pushliteral(L, "GET");
  lua_setfield(L, p, "method");
  lua_pushvalue(L, 3);
  lua_setfield(L, p, "url");
  lua_pushvalue(L, 4);
  lua_setfield(L, p, "file");
  lua_pushvalue(L, 5);
  lua_setfield(L, p, "part");
  cra_pushint64(L, (long long)offset);
  lua_setfield(L, p, "offset");
  if (max_bytes > 0) {
    cra_pushint64(L, (long long)max_bytes);
    lua_setfield(L, p, "max_bytes");
  }
  cra_set_timeout(L, p, 0, K_TIMEOUT, timeout_ms, 0);
  cra_set_timeout(L, p, 0, K_CONNECT_TIMEOUT, connect_ms, CRA_NO_CONNECT_TIMEOUT_MS);
  lua_pushinteger(L, lsl > 0 && lst > 0 ? lsl : 0);
  lua_setfield(L, p, "low_speed_limit");
  lua_pushinteger(L, lsl > 0 && lst > 0 ? lst : 0);
  lua_setfield(L, p, "low_speed_time");
  lua_pushliteral(L, "never");
  lua_setfield(L, p, "retry");
  lua_pushinteger(L, 0);
  lua_setfield(L, p, "max_retries");
  lua_pushboolean(L, 1);
  lua_setfield(L, p, "follow");
  lua_pushboolean(L, 0);
  lua_setfield(L, p, "limited");
  lua_newtable(L);
  lua_setfield(L, p, "headers");
  lua_pushstring(L, c->user_agent);
  lua_setfield(L, p, "user_agent");
  return 1;
}
