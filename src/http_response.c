/*
 * http_response.c — core.http_response(max_body) → parser (see http_response.h).
 *
 *   local p = core.http_response(64 * 1024 * 1024)
 *   p:feed(bytes)   → "more" | "done" | nil, "protocol", message
 *   p:feed_eof()    → "done" | nil, "protocol", message   (read-until-close answers)
 *   p:status() (nil until the headers are complete), p:headers() {lower-case name = value, repeats joined ", "},
 *   p:body(), p:take_body() (the body so far, then forgotten: streaming),
 *   p:keep_alive(), p:too_big(), p:header_bytes()
 *
 *   local q = core.http_request(max_body)      -- the same parser for a request
 *   q:feed(bytes) … q:method() ("POST", nil until the headers are complete), q:url() (request target)
 *
 * Content-Length, chunked and close-delimited bodies are http_parser's. The
 * parser pauses itself on message completion, so bytes after the answer are
 * not parsed (they make keep_alive() false: the connection is not reusable).
 * Header bytes are capped at 1 MiB, the body at max_body.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>

#include "http_response.h"
#include "util.h"

#define CRA_HTTP_RESPONSE_MT "creatorapi.http_response"
#define CRA_HTTP_MAX_HEADER (1024u * 1024u)

typedef struct cra_hdr_span {
  size_t name_off, value_off; /* offsets into hbuf; lengths follow from the next span */
} cra_hdr_span_t;

typedef struct cra_http_response {
  http_parser parser;
  cra_buf_t hbuf;   /* header names and values, back to back */
  cra_buf_t spans;  /* cra_hdr_span_t array */
  cra_buf_t body;
  cra_buf_t url;    /* request target (requests only) */
  size_t max_body;
  int in_value;     /* last header callback was a value */
  int have_head;    /* status line and headers complete */
  int done, failed, too_big, hdr_too_big, oom, trailing;
  char errmsg[160];
} cra_http_response_t;

static cra_http_response_t *cra_hr_of(http_parser *p) {
  return (cra_http_response_t *)p->data;
}

static size_t cra_hr_nspans(const cra_http_response_t *r) {
  return r->spans.len / sizeof(cra_hdr_span_t);
}

static int cra_hr_header_bytes(cra_http_response_t *r, const char *at, size_t n) {
  if (r->hbuf.len + n > CRA_HTTP_MAX_HEADER) { r->hdr_too_big = 1; return 1; }
  if (!cra_buf_append(&r->hbuf, at, n)) { r->oom = 1; return 1; }
  return 0;
}

static int cra_hr_on_field(http_parser *p, const char *at, size_t n) {
  cra_http_response_t *r = cra_hr_of(p);
  if (r->in_value || r->spans.len == 0) {
    cra_hdr_span_t s;
    s.name_off = r->hbuf.len;
    s.value_off = (size_t)-1;
    if (!cra_buf_append(&r->spans, (const char *)&s, sizeof s)) { r->oom = 1; return 1; }
    r->in_value = 0;
  }
  return cra_hr_header_bytes(r, at, n);
}

static int cra_hr_on_value(http_parser *p, const char *at, size_t n) {
  cra_http_response_t *r = cra_hr_of(p);
  if (!r->in_value) {
    cra_hdr_span_t *s;
    if (r->spans.len == 0) return 1;
    s = (cra_hdr_span_t *)r->spans.data + cra_hr_nspans(r) - 1;
    s->value_off = r->hbuf.len;
    r->in_value = 1;
  }
  return cra_hr_header_bytes(r, at, n);
}

static int cra_hr_on_url(http_parser *p, const char *at, size_t n) {
  cra_http_response_t *r = cra_hr_of(p);
  if (r->url.len + n > CRA_HTTP_MAX_HEADER) { r->hdr_too_big = 1; return 1; }
  if (!cra_buf_append(&r->url, at, n)) { r->oom = 1; return 1; }
  return 0;
}

static int cra_hr_on_headers_complete(http_parser *p) {
  cra_http_response_t *r = cra_hr_of(p);
  r->have_head = 1;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length != ULLONG_MAX &&
      p->content_length > (unsigned long long)r->max_body) {
    r->too_big = 1;
    return -1; /* HPE_CB_headers_complete */
  }
  return 0;
}

static int cra_hr_on_body(http_parser *p, const char *at, size_t n) {
  cra_http_response_t *r = cra_hr_of(p);
  if (r->body.len + n > r->max_body) { r->too_big = 1; return 1; }
  if (!cra_buf_append(&r->body, at, n)) { r->oom = 1; return 1; }
  return 0;
}

static int cra_hr_on_message_complete(http_parser *p) {
  cra_http_response_t *r = cra_hr_of(p);
  if (p->type == HTTP_RESPONSE && p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
    /* an interim answer (100 Continue): forget it, parse the final one */
    cra_buf_reset(&r->hbuf);
    cra_buf_reset(&r->spans);
    cra_buf_reset(&r->body);
    r->in_value = 0;
    r->have_head = 0;
    return 0;
  }
  r->done = 1;
  http_parser_pause(p, 1);
  return 0;
}

static http_parser_settings cra_hr_settings;

static void cra_hr_fail(cra_http_response_t *r) {
  enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
  const char *what = r->parser.type == HTTP_REQUEST ? "request" : "answer";
  r->failed = 1;
  if (r->too_big)
    snprintf(r->errmsg, sizeof r->errmsg, "%s body larger than max_body (%lu bytes)", what,
             (unsigned long)r->max_body);
  else if (r->hdr_too_big)
    snprintf(r->errmsg, sizeof r->errmsg, "%s headers larger than %u bytes", what,
             CRA_HTTP_MAX_HEADER);
  else if (e == HPE_INVALID_EOF_STATE)
    snprintf(r->errmsg, sizeof r->errmsg, "connection closed before the end of the %s", what);
  else if (r->oom)
    snprintf(r->errmsg, sizeof r->errmsg, "out of memory while reading the %s", what);
  else
    snprintf(r->errmsg, sizeof r->errmsg, "malformed HTTP %s: %s (%s)", what,
             http_errno_description(e), http_errno_name(e));
}

/* stack: [-0, +1|+3] */
static int cra_hr_result(lua_State *L, cra_http_response_t *r) {
  if (r->failed) {
    lua_pushnil(L);
    lua_pushliteral(L, "protocol");
    lua_pushstring(L, r->errmsg);
    return 3;
  }
  if (r->done) lua_pushliteral(L, "done");
  else lua_pushliteral(L, "more");
  return 1;
}

static cra_http_response_t *cra_hr_check(lua_State *L) {
  return (cra_http_response_t *)luaL_checkudata(L, 1, CRA_HTTP_RESPONSE_MT);
}

static int cra_hr_feed(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (r->failed) return cra_hr_result(L, r);
  if (r->done) {
    if (n > 0) r->trailing = 1;
    return cra_hr_result(L, r);
  }
  if (n > 0) {
    size_t used = http_parser_execute(&r->parser, &cra_hr_settings, s, n);
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (e == HPE_PAUSED) {
      if (used < n) r->trailing = 1;
    } else if (e != HPE_OK || used != n) {
      cra_hr_fail(r);
    }
  }
  return cra_hr_result(L, r);
}

static int cra_hr_feed_eof(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  if (!r->failed && !r->done) {
    http_parser_execute(&r->parser, &cra_hr_settings, NULL, 0);
    if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK &&
        HTTP_PARSER_ERRNO(&r->parser) != HPE_PAUSED) {
      cra_hr_fail(r);
    } else if (!r->done) {
      r->failed = 1;
      snprintf(r->errmsg, sizeof r->errmsg, "connection closed before the end of the %s",
               r->parser.type == HTTP_REQUEST ? "request" : "answer");
    }
  }
  return cra_hr_result(L, r);
}

static int cra_hr_status(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  if (!r->have_head) lua_pushnil(L);
  else lua_pushinteger(L, (lua_Integer)r->parser.status_code);
  return 1;
}

/* stack: [-0, +1]; pushes the header name lower-cased */
static void cra_hr_push_lower(lua_State *L, const char *s, size_t n) {
  luaL_Buffer b;
  size_t i;
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    char c = s[i];
    luaL_addchar(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
  }
  luaL_pushresult(&b);
}

static int cra_hr_headers(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  size_t i, ns = cra_hr_nspans(r);
  const cra_hdr_span_t *sp = (const cra_hdr_span_t *)r->spans.data;
  lua_newtable(L);
  for (i = 0; i < ns; i++) {
    size_t end = (i + 1 < ns) ? sp[i + 1].name_off : r->hbuf.len;
    size_t voff = sp[i].value_off == (size_t)-1 ? end : sp[i].value_off;
    cra_hr_push_lower(L, r->hbuf.data + sp[i].name_off, voff - sp[i].name_off);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, r->hbuf.data + voff, end - voff);
    } else {
      lua_pushliteral(L, ", ");
      lua_pushlstring(L, r->hbuf.data + voff, end - voff);
      lua_concat(L, 3);
    }
    lua_rawset(L, -3);
  }
  return 1;
}

/* q:method() → "GET" | "POST" | … (nil until the headers are complete; nil for answers) */
static int cra_hr_method(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  if (!r->have_head || r->parser.type != HTTP_REQUEST) lua_pushnil(L);
  else lua_pushstring(L, http_method_str((enum http_method)r->parser.method));
  return 1;
}

/* q:url() → the request target as sent ("/hook?x=1"); "" for answers */
static int cra_hr_url(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  lua_pushlstring(L, r->url.data ? r->url.data : "", r->url.len);
  return 1;
}

static int cra_hr_body(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  return 1;
}

/* p:take_body() → the body bytes parsed since the last take, forgotten here:
 * a streaming reader (downloads) holds at most one read's worth. */
static int cra_hr_take_body(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  lua_pushlstring(L, r->body.data ? r->body.data : "", r->body.len);
  cra_buf_reset(&r->body);
  return 1;
}

static int cra_hr_keep_alive(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  lua_pushboolean(L, r->done && !r->failed && !r->trailing && http_should_keep_alive(&r->parser));
  return 1;
}

static int cra_hr_too_big(lua_State *L) {
  lua_pushboolean(L, cra_hr_check(L)->too_big);
  return 1;
}

static int cra_hr_header_bytes_l(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)cra_hr_check(L)->hbuf.len);
  return 1;
}

static int cra_hr_gc(lua_State *L) {
  cra_http_response_t *r = cra_hr_check(L);
  cra_buf_free(&r->hbuf);
  cra_buf_free(&r->spans);
  cra_buf_free(&r->body);
  cra_buf_free(&r->url);
  return 0;
}

static int cra_hr_make(lua_State *L, enum http_parser_type type) {
  lua_Number max = luaL_optnumber(L, 1, 64.0 * 1024 * 1024);
  cra_http_response_t *r;
  luaL_argcheck(L, max >= 0, 1, "max_body must be >= 0");
  r = (cra_http_response_t *)lua_newuserdata(L, sizeof *r);
  memset(r, 0, sizeof *r);
  http_parser_init(&r->parser, type);
  r->parser.data = r;
  r->max_body = max > 1e15 ? (size_t)1e15 : (size_t)max;
  cra_setmetatable(L, CRA_HTTP_RESPONSE_MT);
  return 1;
}

/* core.http_response(max_body) */
static int cra_hr_new(lua_State *L) {
  return cra_hr_make(L, HTTP_RESPONSE);
}

/* core.http_request(max_body): the same parser for a request (a local webhook listener) */
static int cra_hq_new(lua_State *L) {
  return cra_hr_make(L, HTTP_REQUEST);
}

void cra_http_response_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"feed", cra_hr_feed},
    {"feed_eof", cra_hr_feed_eof},
    {"status", cra_hr_status},
    {"headers", cra_hr_headers},
    {"body", cra_hr_body},
    {"take_body", cra_hr_take_body},
    {"keep_alive", cra_hr_keep_alive},
    {"too_big", cra_hr_too_big},
    {"header_bytes", cra_hr_header_bytes_l},
    {"method", cra_hr_method},
    {"url", cra_hr_url},
    {NULL, NULL}
  };
  memset(&cra_hr_settings, 0, sizeof cra_hr_settings);
  cra_hr_settings.on_url = cra_hr_on_url;
  cra_hr_settings.on_header_field = cra_hr_on_field;
  cra_hr_settings.on_header_value = cra_hr_on_value;
  cra_hr_settings.on_headers_complete = cra_hr_on_headers_complete;
  cra_hr_settings.on_body = cra_hr_on_body;
  cra_hr_settings.on_message_complete = cra_hr_on_message_complete;
  /* process-wide in libhttp_parser; our own cap (1 MiB) is checked per parser */
  http_parser_set_max_header_size(CRA_HTTP_MAX_HEADER + 64 * 1024);
  luaL_newmetatable(L, CRA_HTTP_RESPONSE_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_hr_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, CRA_HTTP_RESPONSE_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_hr_new);
  lua_setfield(L, -2, "http_response");
  lua_pushcfunction(L, cra_hq_new);
  lua_setfield(L, -2, "http_request");
}
