/*
 * answer.c — ctx:parse(p, raw): what one transport attempt brought back →
 * res | nil, err, the same for every transport.
 *
 *   raw = { status =, headers = <raw block string | {lower-case name = value}>, body = }
 *       | { status =, answer = <Answer userdata: header block and body> }    (curl engine)
 *       | { kind = | curl_code =, message =, sent =, too_big =, status = }   (no answer)
 *
 * An answer goes through the envelope (envelope.c: JSON, error-kind mapping,
 * redaction, excerpts). A failure becomes the error table of its kind, its
 * message redacted. Downloads (p.kind == "download") have their own raw
 * fields, written by the curl engine's file sink (see curl_engine.c).
 */
#include <stdio.h>
#include <string.h>

#include <ctype.h>
#include <curl/curl.h>

#include "context.h"
#include "envelope.h"
#include "error.h"

void cra_push_header_block(lua_State *L, const char *data, size_t len) {
  const char *p = data, *end = data ? data + len : NULL;
  int t, lines = 0;
  /* Sized for every line up front: filling an empty table rehashes it at
   * each power of two, which cost more than the parsing itself. */
  for (; p != NULL && p < end; p++) {
    p = memchr(p, '\n', (size_t)(end - p));
    if (p == NULL) break;
    lines++;
  }
  p = data;
  lua_createtable(L, 0, lines > 1 ? lines - 1 : 0); /* minus the status line */
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

static int cra_answer_gc(lua_State *L) {
  cra_answer_t *a = (cra_answer_t *)luaL_checkudata(L, 1, CRA_ANSWER_MT);
  cra_buf_free(&a->hdrs);
  cra_buf_free(&a->body);
  return 0;
}

void cra_push_answer(lua_State *L, cra_buf_t *hdrs, cra_buf_t *body) {
  cra_answer_t *a = (cra_answer_t *)cra_newuserdata(L, sizeof *a);
  memset(a, 0, sizeof *a);
  cra_setmetatable(L, CRA_ANSWER_MT);
  a->hdrs = *hdrs;
  a->body = *body;
  memset(hdrs, 0, sizeof *hdrs);
  memset(body, 0, sizeof *body);
}

void cra_answer_open(lua_State *L) {
  luaL_newmetatable(L, CRA_ANSWER_MT);
  lua_pushcfunction(L, cra_answer_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushliteral(L, CRA_ANSWER_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

/* raw.answer, or NULL. */
static cra_answer_t *cra_raw_answer(lua_State *L, int raw) {
  cra_answer_t *a;
  lua_getfield(L, raw, "answer");
  a = (cra_answer_t *)cra_testudata(L, -1, CRA_ANSWER_MT);
  lua_pop(L, 1); /* raw keeps it alive */
  return a;
}

/* Pushes raw.headers as a table: a string block (or raw.answer's) is parsed,
 * a table is used as it is (transports give lower-case names), anything
 * else is empty. */
static void cra_push_raw_headers(lua_State *L, int raw) {
  cra_answer_t *a = cra_raw_answer(L, raw);
  if (a != NULL) {
    cra_push_header_block(L, a->hdrs.data, a->hdrs.len);
    return;
  }
  lua_getfield(L, raw, "headers");
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    cra_push_header_block(L, s, n);
    lua_remove(L, -2);
  } else if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
}

/* A string field of p (method, path) or NULL; stays valid while p lives. */
static const char *cra_p_str(lua_State *L, int p, const char *name) {
  const char *s;
  lua_getfield(L, p, name);
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1); /* p keeps the string alive */
  return s;
}

/* Error for an attempt that brought no usable answer. stack: [-0, +1] */
static void cra_push_failure(lua_State *L, cra_ctx_t *c, int p, int raw) {
  const char *kind = NULL, *msg;
  size_t mlen = 0;
  long long curl_code = cra_field_int(L, raw, "curl_code", -1);
  lua_getfield(L, raw, "kind");
  if (lua_type(L, -1) == LUA_TSTRING) kind = lua_tostring(L, -1);
  if (kind == NULL) kind = curl_code >= 0 ? cra_error_kind_for_curl((CURLcode)curl_code) : "network";
  lua_getfield(L, raw, "message");
  msg = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &mlen) : NULL;
  if (msg == NULL) {
    msg = curl_code >= 0 ? curl_easy_strerror((CURLcode)curl_code) : "request failed";
    mlen = strlen(msg);
  }
  cra_push_redacted(L, msg, mlen, c->api_key);
  cra_error_push(L, kind, "", 0);
  lua_insert(L, -2);
  lua_setfield(L, -2, "message");
  lua_remove(L, -2); /* raw.message */
  lua_remove(L, -2); /* raw.kind */
  if (curl_code >= 0) cra_error_setint(L, "curl_code", curl_code);
  if (cra_field_bool(L, raw, "too_big")) {
    long long st = cra_field_int(L, raw, "status", 0);
    if (st > 0) cra_error_setint(L, "status", st);
  }
  {
    const char *m = cra_p_str(L, p, "method"), *path = cra_p_str(L, p, "path");
    if (m) cra_error_setstr(L, "method", m);
    if (path) cra_error_setstr(L, "path", path);
  }
}

/* The outcome of a download attempt (raw from the engine's file sink). */
static int cra_parse_download(lua_State *L, cra_ctx_t *c, int p, int raw) {
  long long status = cra_field_int(L, raw, "status", 0), written = cra_field_int(L, raw, "written", 0);
  long long start = cra_field_int(L, raw, "start", 0), expected = cra_field_int(L, raw, "expected", -1);
  int complete = cra_field_bool(L, raw, "complete");
  int ok_http = (status >= 200 && status <= 299) || complete;
  int failed;
  char msg[CURL_ERROR_SIZE + 160];
  const char *kind = NULL;
  lua_getfield(L, raw, "curl_code");
  lua_getfield(L, raw, "kind");
  failed = !lua_isnil(L, -1) || !lua_isnil(L, -2);
  lua_pop(L, 2);
  msg[0] = '\0';
  if (cra_field_bool(L, raw, "io_error")) {
    kind = "io";
    lua_getfield(L, raw, "io_message");
    snprintf(msg, sizeof msg, "cannot write the download file: %s",
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "I/O error");
    lua_pop(L, 1);
  } else if (cra_field_bool(L, raw, "over_max")) {
    kind = "protocol";
    snprintf(msg, sizeof msg, "download exceeds max_bytes (%lld bytes)", cra_field_int(L, p, "max_bytes", 0));
  } else if (cra_field_bool(L, raw, "bad_range")) {
    kind = "protocol";
    snprintf(msg, sizeof msg, "HTTP 206 with a Content-Range that does not start at offset %lld",
             cra_field_int(L, p, "offset", 0));
  } else if (failed) {
    cra_push_failure(L, c, p, raw);
  } else if (!ok_http || cra_field_bool(L, raw, "http_error")) {
    kind = cra_error_kind_for_status((long)status);
    snprintf(msg, sizeof msg, "HTTP %lld from the download host", status);
  }
  if (kind != NULL || failed) {
    int err;
    if (kind != NULL) {
      cra_push_redacted(L, msg, strlen(msg), c->api_key);
      cra_error_push(L, kind, "", 0);
      lua_insert(L, -2);
      lua_setfield(L, -2, "message");
      cra_error_setstr(L, "method", "GET");
    }
    err = lua_gettop(L);
    if (status > 0) cra_error_setint(L, "status", status);
    lua_getfield(L, raw, "excerpt");
    if (lua_type(L, -1) == LUA_TSTRING && cra_rawlen(L, -1) > 0) {
      size_t n;
      const char *s = lua_tolstring(L, -1, &n);
      cra_push_excerpt(L, s, n, c->api_key);
      lua_setfield(L, err, "body_excerpt");
    }
    lua_pop(L, 1);
    if (status >= 400) {
      long long secs;
      cra_push_raw_headers(L, raw);
      lua_getfield(L, -1, "retry-after");
      if (lua_type(L, -1) == LUA_TSTRING && cra_retry_after_parse(lua_tostring(L, -1), &secs)) {
        lua_pop(L, 2);
        cra_error_setint(L, "retry_after", secs);
      } else {
        lua_pop(L, 2);
      }
    }
    cra_error_setint(L, "bytes", written);
    cra_error_setint(L, "total", start + written);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_createtable(L, 0, 8);
  cra_pushint64(L, status);
  lua_setfield(L, -2, "status");
  cra_pushint64(L, written);
  lua_setfield(L, -2, "bytes");
  cra_pushint64(L, start + written);
  lua_setfield(L, -2, "total");
  if (expected >= 0) {
    cra_pushint64(L, expected);
    lua_setfield(L, -2, "expected");
  }
  lua_pushboolean(L, cra_field_bool(L, raw, "resumed"));
  lua_setfield(L, -2, "resumed");
  cra_push_raw_headers(L, raw);
  lua_setfield(L, -2, "headers");
  return 1;
}

/* ctx:parse(p, raw) → res | nil, err */
int cra_ctx_parse(lua_State *L) {
  cra_ctx_t *c = cra_ctx_check(L, 1);
  int p = 2, raw = 3, ok;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  luaL_checkstack(L, 16, "parse");
  lua_getfield(L, p, "kind");
  if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "download") == 0) {
    lua_pop(L, 1);
    return cra_parse_download(L, c, p, raw);
  }
  lua_pop(L, 1);
  lua_getfield(L, raw, "status");
  lua_getfield(L, raw, "kind");
  lua_getfield(L, raw, "curl_code");
  if (lua_type(L, -3) != LUA_TNUMBER || !lua_isnil(L, -2) || !lua_isnil(L, -1)) {
    lua_settop(L, 3);
    lua_pushnil(L);
    cra_push_failure(L, c, p, raw);
    return 2;
  }
  lua_settop(L, 3);
  {
    cra_envelope_ctx ec;
    size_t blen = 0;
    const char *body;
    cra_answer_t *a = cra_raw_answer(L, raw);
    cra_push_raw_headers(L, raw); /* 4 */
    lua_getfield(L, raw, "body"); /* 5: stays while the envelope reads it */
    if (a != NULL) {
      body = a->body.data ? a->body.data : "";
      blen = a->body.len;
    } else {
      body = lua_type(L, 5) == LUA_TSTRING ? lua_tolstring(L, 5, &blen) : NULL;
    }
    if (blen > c->max_body) {
      /* A transport that did not enforce the cap: same error as one that did. */
      char m[96];
      snprintf(m, sizeof m, "response body exceeds max_body (%llu bytes)",
               (unsigned long long)c->max_body);
      lua_pushnil(L);
      cra_error_push(L, "protocol", m, strlen(m));
      cra_error_setint(L, "status", cra_field_int(L, raw, "status", 0));
      if (cra_p_str(L, p, "method")) cra_error_setstr(L, "method", cra_p_str(L, p, "method"));
      if (cra_p_str(L, p, "path")) cra_error_setstr(L, "path", cra_p_str(L, p, "path"));
      return 2;
    }
    ec.dialect = c->dialect;
    ec.status = (long)cra_field_int(L, raw, "status", 0);
    ec.body = body;
    ec.len = blen;
    ec.max_depth = c->max_depth;
    ec.headers_idx = 4;
    ec.method = cra_p_str(L, p, "method");
    ec.path = cra_p_str(L, p, "path");
    ec.secret = c->api_key;
    lua_settop(L, 5);
    ok = cra_envelope_build(L, &ec);
    /* Consumed: the buffers go now, not when the collector gets to raw;
     * up to CRA_SPARE_BYTES each, they serve the context's next request. */
    if (a != NULL) {
      cra_buf_keep(&c->spare_hdrs, &a->hdrs, CRA_SPARE_BYTES);
      cra_buf_keep(&c->spare_body, &a->body, CRA_SPARE_BYTES);
    }
  }
  if (ok) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}
