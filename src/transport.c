/*
 * transport.c — multi handle, easy-handle pool, buffers, batch loop.
 *
 * Keep-alive: connections live in the multi handle's connection cache, not
 * in the easy handles, so every request made through the same client reuses
 * the same TCP/TLS connection when the server allows it. Easy handles are
 * pooled too (after curl_easy_reset) to keep their DNS/TLS session state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

/* CURLOPT_WRITEFUNCTION: append to the response body, enforce max_body.
 * Returning a short count makes libcurl abort with CURLE_WRITE_ERROR. */
static size_t cra_write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  size_t n = size * nmemb;
  if (n > x->max_body || x->body.len > x->max_body - n) {
    x->too_big = 1;
    return 0;
  }
  if (!cra_buf_append(&x->body, ptr, n)) return 0; /* OOM → WRITE_ERROR */
  return n;
}

/* CURLOPT_HEADERFUNCTION: keep only the header block of the last response
 * (a new status line resets it: 100 Continue, proxy CONNECT, redirects). */
static size_t cra_header_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  size_t n = size * nmemb;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) cra_buf_reset(&x->hdrs);
  if (x->hdrs.len + n > CRA_MAX_HEADER_BYTES) {
    x->hdr_too_big = 1;
    return 0;
  }
  if (!cra_buf_append(&x->hdrs, ptr, n)) return 0;
  return n;
}

int cra_transport_init(cra_transport_t *t) {
  memset(t, 0, sizeof *t);
  t->multi = curl_multi_init();
  if (t->multi == NULL) return 0;
  /* At most 8 parallel connections per host; a batch larger than that
   * queues inside libcurl. Keep a few idle connections in the cache. */
  curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
  curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, 16L);
  /* Single-threaded use: no lock callbacks needed. */
  t->share = curl_share_init();
  if (t->share == NULL) return 0;
  curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  return 1;
}

static void cra_xfer_release(cra_transport_t *t, cra_xfer_t *x) {
  if (x->easy) {
    /* A handle is only reused after a completed, fully read transfer
     * (pitfall 13). Anything else is destroyed; libcurl then closes a
     * connection left in an unknown state instead of caching it. */
    int reusable = x->state == CRA_XFER_DONE && x->result == CURLE_OK &&
                   !x->too_big && !x->hdr_too_big;
    if (t->multi) curl_multi_remove_handle(t->multi, x->easy); /* no-op if not added */
    if (reusable && t->npool < CRA_POOL_MAX) {
      curl_easy_reset(x->easy);
      t->pool[t->npool++] = x->easy;
    } else {
      curl_easy_cleanup(x->easy);
    }
    x->easy = NULL;
  }
  curl_slist_free_all(x->headers);
  x->headers = NULL;
  free(x->url);
  x->url = NULL;
  free(x->path);
  x->path = NULL;
  cra_buf_free(&x->req_body);
  cra_buf_free(&x->body);
  cra_buf_free(&x->hdrs);
  x->state = CRA_XFER_UNUSED;
}

void cra_transport_finish(cra_transport_t *t) {
  size_t i;
  for (i = 0; i < t->nxfers; i++) cra_xfer_release(t, &t->xfers[i]);
  free(t->xfers);
  t->xfers = NULL;
  t->nxfers = 0;
}

void cra_transport_close(cra_transport_t *t) {
  int i;
  cra_transport_finish(t);
  for (i = 0; i < t->npool; i++) curl_easy_cleanup(t->pool[i]);
  t->npool = 0;
  if (t->multi) {
    curl_multi_cleanup(t->multi);
    t->multi = NULL;
  }
  /* Last: every easy handle that used the share is gone by now. */
  if (t->share) {
    curl_share_cleanup(t->share);
    t->share = NULL;
  }
}

int cra_transport_prepare(cra_transport_t *t, size_t n) {
  cra_transport_finish(t);
  if (n == 0) return 1;
  t->xfers = (cra_xfer_t *)calloc(n, sizeof *t->xfers);
  if (t->xfers == NULL) return 0;
  t->nxfers = n;
  return 1;
}

CURL *cra_transport_easy(cra_transport_t *t, cra_xfer_t *x, size_t max_body) {
  CURL *e = t->npool > 0 ? t->pool[--t->npool] : curl_easy_init();
  if (e == NULL) return NULL;
  x->easy = e;
  x->max_body = max_body;
  x->errbuf[0] = '\0';
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cra_write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, cra_header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
  if (t->share) curl_easy_setopt(e, CURLOPT_SHARE, t->share);
  /* Early abort when Content-Length already says the body is too big. */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
  return e;
}

CURLMcode cra_transport_run(cra_transport_t *t) {
  size_t i, pending = 0;
  CURLMcode mc = CURLM_OK;
  int running = 0;

  for (i = 0; i < t->nxfers; i++) {
    cra_xfer_t *x = &t->xfers[i];
    if (x->state != CRA_XFER_READY) continue;
    mc = curl_multi_add_handle(t->multi, x->easy);
    if (mc != CURLM_OK) {
      x->state = CRA_XFER_DONE;
      x->result = CURLE_FAILED_INIT;
      continue;
    }
    pending++;
  }

  while (pending > 0) {
    CURLMsg *msg;
    int left;
    mc = curl_multi_perform(t->multi, &running);
    if (mc != CURLM_OK) break;
    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
      cra_xfer_t *x = NULL;
      if (msg->msg != CURLMSG_DONE) continue;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      if (x == NULL || x->state != CRA_XFER_READY) continue;
      x->result = msg->data.result;
      x->state = CRA_XFER_DONE;
      curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
      curl_multi_remove_handle(t->multi, x->easy);
      pending--;
    }
    if (pending == 0) break;
    mc = curl_multi_poll(t->multi, NULL, 0, 1000, NULL);
    if (mc != CURLM_OK) break;
  }

  if (mc != CURLM_OK) {
    /* The multi handle is broken: fail what is left. */
    for (i = 0; i < t->nxfers; i++) {
      cra_xfer_t *x = &t->xfers[i];
      if (x->state != CRA_XFER_READY) continue;
      curl_multi_remove_handle(t->multi, x->easy);
      x->state = CRA_XFER_DONE;
      x->result = CURLE_FAILED_INIT;
      snprintf(x->errbuf, sizeof x->errbuf, "libcurl multi error: %s",
               curl_multi_strerror(mc));
    }
  }
  return mc;
}
