/*
 * curl_raw.c — a finished transfer of the curl engine as the `raw` table
 * ctx:parse reads (answer.c documents both shapes): a request's status and
 * Answer userdata (its header block and body, taken over, not copied), or
 * the failure (curl code, kind, message, whether any byte was sent); a
 * download's fields from its file sink.
 *
 * Owns: cra_push_xfer_raw (curl_raw.h). Called by curl_engine.c after
 * libcurl has returned, never from a libcurl callback.
 */
#include <stdio.h>

#include <curl/curl.h>

#include "context.h"
#include "curl_raw.h"
#include "download_sink.h"

static void cra_set_bool(lua_State *L, const char *k, int v) {
  if (!v) return;
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, k);
}

static void cra_set_int(lua_State *L, const char *k, long long v) {
  cra_pushint64(L, v);
  lua_setfield(L, -2, k);
}

/* Pushes raw for a finished request (see answer.c for its two shapes). */
static void cra_push_request_raw(lua_State *L, cra_xfer_t *x) {
  long redirects = 0;
  curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
  lua_createtable(L, 0, 6);
  /* libcurl re-sends a request by itself when a reused connection died
   * before any answer: those sends count as attempts too. */
  if (x->sends > 1 + redirects) cra_set_int(L, "resends", x->sends - 1 - redirects);
  if (x->result == CURLE_OK) {
    cra_set_int(L, "status", x->status);
    cra_push_answer(L, &x->hdrs, &x->body);
    lua_setfield(L, -2, "answer");
    return;
  }
  cra_set_int(L, "curl_code", (long long)x->result);
  if (x->too_big || x->result == CURLE_FILESIZE_EXCEEDED) {
    lua_pushliteral(L, "protocol");
    lua_setfield(L, -2, "kind");
    {
      char m[96];
      snprintf(m, sizeof m, "response body exceeds max_body (%llu bytes)",
               (unsigned long long)x->max_body);
      lua_pushstring(L, m);
    }
    lua_setfield(L, -2, "message");
    cra_set_bool(L, "too_big", 1);
    if (x->status > 0) cra_set_int(L, "status", x->status);
  } else if (x->hdr_too_big) {
    lua_pushliteral(L, "protocol");
    lua_setfield(L, -2, "kind");
    lua_pushfstring(L, "response headers exceed %d bytes", (int)CRA_MAX_HEADER_BYTES);
    lua_setfield(L, -2, "message");
  } else {
    lua_pushstring(L, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
    lua_setfield(L, -2, "message");
  }
  /* Did any byte of the request leave? A refused connection or a failed
   * resolve never sends; otherwise CURLINFO_REQUEST_SIZE says. */
  lua_pushboolean(L, !(x->result == CURLE_COULDNT_RESOLVE_HOST ||
                       x->result == CURLE_COULDNT_RESOLVE_PROXY ||
                       x->result == CURLE_COULDNT_CONNECT) && x->request_size > 0);
  lua_setfield(L, -2, "sent");
}

/* Pushes raw for a finished download (fields read by answer.c). */
static void cra_push_download_raw(lua_State *L, cra_xfer_t *x) {
  lua_createtable(L, 0, 14);
  if (x->status > 0) cra_set_int(L, "status", x->status);
  lua_pushlstring(L, x->hdrs.data ? x->hdrs.data : "", x->hdrs.len);
  lua_setfield(L, -2, "headers");
  cra_sink_push_fields(L, &x->dl);
  if (x->result != CURLE_OK) {
    cra_set_int(L, "curl_code", (long long)x->result);
    lua_pushstring(L, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result));
    lua_setfield(L, -2, "message");
  }
}

void cra_push_xfer_raw(lua_State *L, cra_xfer_t *x) {
  if (x->dl.active) cra_push_download_raw(L, x);
  else cra_push_request_raw(L, x);
}
