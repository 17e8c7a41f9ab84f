/*
 * curl_xfer.c — multi handle, easy-handle pool, buffers and the download
 * sink under core.curl_engine (see curl_xfer.h).
 *
 * Keep-alive: connections live in the multi handle's connection cache, not
 * in the easy handles, so every request made through the same engine reuses
 * the same TCP/TLS connection when the server allows it. Easy handles are
 * pooled too (after curl_easy_reset) to keep their DNS/TLS session state.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "curl_xfer.h"

/* CURLOPT_WRITEFUNCTION: append to the response body, enforce max_body.
 * Returning a short count makes libcurl abort with CURLE_WRITE_ERROR. */
static size_t cra_write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  size_t n = size * nmemb;
  if (n > x->max_body || x->body.len > x->max_body - n) {
    x->too_big = 1;
    return 0;
  }
  if (x->body.len == 0) {
    /* First bytes: room for the whole announced body at once (a hint only:
     * a compressed body decodes to more, the cap above still rules, and no
     * more than 8 MiB is taken on the word of a Content-Length). */
    curl_off_t cl = -1;
    if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl > 0 &&
        (curl_off_t)n <= cl && (unsigned long long)cl <= (unsigned long long)x->max_body)
      (void)cra_buf_reserve(&x->body, cl < ((curl_off_t)1 << 23) ? (size_t)cl : ((size_t)1 << 23));
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

#if LIBCURL_VERSION_NUM >= 0x075000
/* CURLOPT_PREREQFUNCTION: called before every request libcurl sends,
 * including the silent re-send after a reused connection died without an
 * answer (Curl_retry_request) and redirects; counted into `attempts`. */
static int cra_prereq_cb(void *ud, char *conn_primary_ip, char *conn_local_ip,
                         int conn_primary_port, int conn_local_port) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  (void)conn_primary_ip; (void)conn_local_ip; (void)conn_primary_port; (void)conn_local_port;
  x->sends++;
  return CURL_PREREQFUNC_OK;
}
#endif

/* ---- download sink (plain C: runs inside libcurl's write callback) ----- */

/* Finds header `name` (lower-case, with the colon) in the raw block; returns
 * a pointer to its value or NULL. */
static const char *cra_find_header(const cra_buf_t *h, const char *name) {
  size_t nlen = strlen(name);
  const char *p = h->data, *end;
  if (p == NULL) return NULL;
  end = p + h->len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0) {
      p += nlen;
      while (p < eol && (*p == ' ' || *p == '\t')) p++;
      return p;
    }
    p = eol + 1;
  }
  return NULL;
}

/* The final answer's status, Content-Length and Content-Range, for the sink. */
static void cra_dl_answer(cra_xfer_t *x, long *status, long long *cl, const char **cr) {
  curl_off_t len = -1;
  *status = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, status);
  curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
  *cl = (long long)len;
  *cr = cra_find_header(&x->hdrs, "content-range:");
}

static size_t cra_dl_write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  size_t n = size * nmemb;
  long status;
  long long cl;
  const char *cr;
  cra_dl_answer(x, &status, &cl, &cr);
  return cra_sink_write(&x->dl, status, cl, cr, ptr, n) ? n : 0;
}

/* After the transfer: the sink's end-of-body rules, then flush and close. */
void cra_dl_close(cra_xfer_t *x) {
  long status;
  long long cl;
  const char *cr;
  cra_dl_answer(x, &status, &cl, &cr);
  cra_sink_finish(&x->dl, x->state == CRA_XFER_DONE && x->result == CURLE_OK, status, cl, cr);
}

void cra_curl_download(cra_xfer_t *x, int part_fd) {
  cra_sink_init(&x->dl, part_fd);
  curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, cra_dl_write_cb);
  curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, (void *)x);
  curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
}

/* ---- lifecycle ------------------------------------------------------------ */

int cra_curl_init(cra_curl_t *t) {
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

void cra_urlh_free(cra_urlh_t *u) {
#if CRA_HAVE_CURLU
  curl_url_cleanup(u->h); /* NULL: no-op */
#endif
  u->h = NULL;
  free(u->text);
  u->text = NULL;
}

void cra_xfer_release(cra_curl_t *t, cra_xfer_t *x) {
  if (x->easy) {
    /* A handle is only reused after a completed, fully read transfer
     * (pitfall 13). Anything else is destroyed; libcurl then closes a
     * connection left in an unknown state instead of caching it. */
    int reusable = x->state == CRA_XFER_DONE && x->result == CURLE_OK &&
                   !x->too_big && !x->hdr_too_big;
    if (t->multi) curl_multi_remove_handle(t->multi, x->easy); /* no-op if not added */
    if (reusable && t->npool < CRA_POOL_MAX) {
      if (x->profile && !x->dl.active) {
        /* A plain request: its options stay for the next request of the same
         * context (no reset, no re-set). Pointers into x go now. */
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, (char *)NULL);
        if (x->req_body.data) curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, "");
        t->pool_profile[t->npool] = x->profile;
      } else {
        curl_easy_reset(x->easy);
        t->pool_profile[t->npool] = 0;
      }
#if CRA_HAVE_CURLU
      curl_easy_setopt(x->easy, CURLOPT_CURLU, (CURLU *)NULL);
#endif
      t->pool_uh[t->npool] = x->uh;
      t->pool[t->npool++] = x->easy;
      x->uh = (cra_urlh_t){NULL, NULL}; /* moved to the pool */
    } else {
      curl_easy_cleanup(x->easy);
    }
    x->easy = NULL;
  }
  cra_urlh_free(&x->uh);
  if (x->dl.active) cra_sink_release(&x->dl); /* its descriptor, path and excerpt */
  free(x->dl.path);                            /* set before the sink started */
  x->dl.path = NULL;
  curl_slist_free_all(x->headers);
  x->headers = NULL;
  x->url = NULL;
  cra_buf_free(&x->req_body);
  cra_buf_free(&x->body);
  cra_buf_free(&x->hdrs);
  x->state = CRA_XFER_UNUSED;
}

void cra_curl_close(cra_curl_t *t) {
  int i;
  for (i = 0; i < t->npool; i++) {
    curl_easy_cleanup(t->pool[i]);
    cra_urlh_free(&t->pool_uh[i]);
  }
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

CURL *cra_curl_easy(cra_curl_t *t, cra_xfer_t *x, size_t max_body, unsigned long long profile) {
  CURL *e;
  if (t->npool > 0) {
    t->npool--;
    e = t->pool[t->npool];
    x->uh = t->pool_uh[t->npool];
    t->pool_uh[t->npool] = (cra_urlh_t){NULL, NULL}; /* moved to x */
    x->configured = profile != 0 && t->pool_profile[t->npool] == profile;
    if (!x->configured && t->pool_profile[t->npool] != 0) curl_easy_reset(e);
  } else {
    e = curl_easy_init();
    x->configured = 0;
  }
  if (e == NULL) return NULL;
  x->easy = e;
  x->profile = profile;
  x->max_body = max_body;
  x->errbuf[0] = '\0';
  /* Pointers into x: every transfer. */
  curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(e, CURLOPT_PREREQDATA, (void *)x);
#endif
  if (x->configured) return e;
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cra_write_cb);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, cra_header_cb);
  if (t->share) curl_easy_setopt(e, CURLOPT_SHARE, t->share);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, cra_prereq_cb);
#endif
  /* Early abort when Content-Length already says the body is too big. */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
  return e;
}
