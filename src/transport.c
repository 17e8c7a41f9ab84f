/*
 * transport.c — multi handle, easy-handle pool, buffers, download sink,
 * rate limiter and the batch loop.
 *
 * Keep-alive: connections live in the multi handle's connection cache, not
 * in the easy handles, so every request made through the same client reuses
 * the same TCP/TLS connection when the server allows it. Easy handles are
 * pooled too (after curl_easy_reset) to keep their DNS/TLS session state.
 *
 * Scheduling: an attempt is added to the multi handle only when its
 * not_before time has passed and, for rate-limited requests, a token is
 * free. Until then the slot stays READY and the loop sleeps in
 * curl_multi_poll with a timeout that ends at the earliest such time, so a
 * request waiting for its retry never blocks the others of its batch.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* Parses "bytes a-b/total" (total may be '*'). Returns 1 on success. */
static int cra_parse_content_range(const char *v, curl_off_t *a, curl_off_t *b,
                                   curl_off_t *total) {
  char *e;
  long long x, y;
  if (strncasecmp(v, "bytes", 5) != 0) return 0;
  v += 5;
  while (*v == ' ') v++;
  errno = 0;
  x = strtoll(v, &e, 10);
  if (e == v || *e != '-' || errno) return 0;
  v = e + 1;
  y = strtoll(v, &e, 10);
  if (e == v || *e != '/' || errno || y < x) return 0;
  v = e + 1;
  if (*v == '*') {
    *total = -1;
  } else {
    long long z = strtoll(v, &e, 10);
    if (e == v || errno || z <= y) return 0;
    *total = (curl_off_t)z;
  }
  *a = (curl_off_t)x;
  *b = (curl_off_t)y;
  return 1;
}

/* First body byte (or end of an empty body): decide from the final status
 * whether the body goes to the file, and open it. Returns 0 to abort. */
static int cra_dl_begin(cra_xfer_t *x) {
  cra_download_t *d = &x->dl;
  long status = 0;
  curl_off_t cl = -1;
  d->checked = 1;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    /* Never write an error page into the file. */
    d->http_error = 1;
    return 1;
  }
  curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  if (status == 206) {
    curl_off_t a = 0, b = 0, total = -1;
    const char *cr = cra_find_header(&x->hdrs, "content-range:");
    if (cr == NULL || !cra_parse_content_range(cr, &a, &b, &total) || a != d->offset) {
      d->bad_range = 1;
      return 0;
    }
    d->expected = total >= 0 ? total : b + 1;
    d->fp = fopen(d->path, d->offset > 0 ? "r+b" : "wb");
    if (d->fp == NULL) goto io_error;
    if (d->offset > 0) {
      /* Drop anything past offset (a previous, longer attempt), append. */
      if (ftruncate(fileno(d->fp), (off_t)d->offset) != 0) goto io_error;
      if (fseeko(d->fp, (off_t)d->offset, SEEK_SET) != 0) goto io_error;
    }
    d->start = d->offset;
    d->resumed = d->offset > 0;
  } else {
    /* 200 (the server ignored Range, or none was sent): start over. */
    d->expected = cl >= 0 ? cl : -1;
    d->fp = fopen(d->path, "wb");
    if (d->fp == NULL) goto io_error;
    d->start = 0;
    d->resumed = 0;
  }
  return 1;
io_error:
  d->io_errno = errno ? errno : EIO;
  return 0;
}

static size_t cra_dl_write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  cra_xfer_t *x = (cra_xfer_t *)ud;
  cra_download_t *d = &x->dl;
  size_t n = size * nmemb;
  if (!d->checked && !cra_dl_begin(x)) return 0;
  if (d->http_error) {
    size_t room = d->excerpt.len < CRA_DL_EXCERPT_MAX ? CRA_DL_EXCERPT_MAX - d->excerpt.len : 0;
    if (room > n) room = n;
    if (room > 0 && !cra_buf_append(&d->excerpt, ptr, room)) return 0;
    return n; /* read and drop the rest of the error body */
  }
  if (d->max_bytes >= 0 && d->start + d->written + (curl_off_t)n > d->max_bytes) {
    d->over_max = 1;
    return 0;
  }
  if (n > 0 && fwrite(ptr, 1, n, d->fp) != n) {
    d->io_errno = errno ? errno : EIO;
    return 0;
  }
  d->written += (curl_off_t)n;
  return n;
}

/* After the transfer: an empty 2xx body still creates/truncates the file;
 * flush and close (a failed flush is an io error). */
static void cra_dl_close(cra_xfer_t *x) {
  cra_download_t *d = &x->dl;
  if (x->state == CRA_XFER_DONE && x->result == CURLE_OK && !d->checked) cra_dl_begin(x);
  if (x->state == CRA_XFER_DONE && x->result == CURLE_OK && x->status == 416 && d->offset > 0) {
    /* "Range Not Satisfiable" with "bytes * / <offset>" (no space): the file already has
     * every byte (a resume after the last byte arrived). Success. */
    const char *cr = cra_find_header(&x->hdrs, "content-range:");
    char *e;
    long long total;
    if (cr && strncasecmp(cr, "bytes */", 8) == 0) {
      errno = 0;
      total = strtoll(cr + 8, &e, 10);
      if (errno == 0 && e != cr + 8 && (curl_off_t)total == d->offset) {
        if (truncate(d->path, (off_t)d->offset) != 0) {
          d->io_errno = errno ? errno : EIO;
        } else {
          d->complete = 1;
          d->http_error = 0;
          d->start = d->offset;
          d->expected = d->offset;
          d->resumed = 1;
        }
      }
    }
  }
  if (d->fp) {
    if (fflush(d->fp) != 0 && !d->io_errno) d->io_errno = errno ? errno : EIO;
    if (fclose(d->fp) != 0 && !d->io_errno) d->io_errno = errno ? errno : EIO;
    d->fp = NULL;
  }
}

void cra_transport_download(cra_xfer_t *x) {
  x->dl.active = 1;
  x->dl.expected = -1;
  curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, cra_dl_write_cb);
  curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, (void *)x);
  curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
}

/* ---- rate limiter -------------------------------------------------------- */

int cra_limiter_set(cra_limiter_t *l, int n, double per) {
  int i;
  free(l->free_at);
  l->free_at = NULL;
  l->n = 0;
  if (n <= 0) return 1;
  l->free_at = (double *)malloc((size_t)n * sizeof *l->free_at);
  if (l->free_at == NULL) return 0;
  for (i = 0; i < n; i++) l->free_at[i] = 0.0; /* the bucket starts full */
  l->n = n;
  l->per = per;
  return 1;
}

/* Earliest time a token is free (HUGE_VAL: all held by running attempts);
 * *slot gets its index. */
static double cra_limiter_next(const cra_limiter_t *l, int *slot) {
  double best = HUGE_VAL;
  int i;
  *slot = -1;
  for (i = 0; i < l->n; i++) {
    if (l->free_at[i] < best) {
      best = l->free_at[i];
      *slot = i;
    }
  }
  return best;
}

static void cra_limiter_put(cra_transport_t *t, cra_xfer_t *x, double now) {
  if (x->lim_token > 0 && x->lim_token <= t->lim.n)
    t->lim.free_at[x->lim_token - 1] = now + t->lim.per;
  x->lim_token = 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

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
  if (x->lim_token) cra_limiter_put(t, x, cra_monotonic());
  if (x->dl.fp) {
    fclose(x->dl.fp);
    x->dl.fp = NULL;
  }
  free(x->dl.path);
  x->dl.path = NULL;
  cra_buf_free(&x->dl.excerpt);
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
  cra_limiter_set(&t->lim, 0, 0);
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
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, cra_prereq_cb);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, (void *)x);
#endif
  /* Early abort when Content-Length already says the body is too big. */
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
  return e;
}

void cra_transport_rearm(cra_xfer_t *x) {
  cra_buf_reset(&x->body);
  cra_buf_reset(&x->hdrs);
  x->too_big = x->hdr_too_big = 0;
  x->result = CURLE_OK;
  x->status = 0;
  x->request_size = 0;
  x->sends = 0;
  x->abort_requested = 0;
  x->errbuf[0] = '\0';
  x->state = CRA_XFER_READY;
}

/* ---- the loop -------------------------------------------------------------- */

/* Marks x finished with `rc` (handle already out of the multi), returns
 * its token and lets the done hook decide: final, or another attempt. */
static void cra_finish_attempt(cra_transport_t *t, const cra_hooks_t *h,
                               cra_xfer_t *x, CURLcode rc, double now) {
  x->result = rc;
  x->state = CRA_XFER_DONE;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &x->request_size);
  {
    /* libcurl re-sends a request by itself when a reused connection died
     * before any answer: count those sends as attempts too. */
    long redirects = 0;
    curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_COUNT, &redirects);
    if (x->sends > 1 + redirects) {
      int extra = x->sends - 1 - (int)redirects;
      x->attempts += extra;
      t->n_attempts += extra;
    }
  }
  cra_limiter_put(t, x, now);
  if (x->dl.active) cra_dl_close(x);
  if (h && h->done && h->done(h->ud, x) && !x->final_only) cra_transport_rearm(x);
}

/* Starts the READY slots that may start now. Returns the number of slots
 * still READY or RUNNING; *wake gets the earliest time a waiting slot may
 * start (unchanged when none waits). */
static size_t cra_start_due(cra_transport_t *t, const cra_hooks_t *h, double now,
                            double *wake) {
  size_t i, active = 0;
  for (i = 0; i < t->nxfers; i++) {
    cra_xfer_t *x = &t->xfers[i];
    if (x->state == CRA_XFER_RUNNING) {
      active++;
      continue;
    }
    if (x->state != CRA_XFER_READY) continue;
    active++;
    if (x->not_before > now) {
      if (x->not_before < *wake) *wake = x->not_before;
      continue;
    }
    if (x->limited && t->lim.n > 0) {
      int slot;
      double at = cra_limiter_next(&t->lim, &slot);
      if (slot < 0 || at > now) {
        if (at < *wake) *wake = at;
        continue;
      }
      t->lim.free_at[slot] = HUGE_VAL;
      x->lim_token = slot + 1;
    }
    x->attempts++;
    t->n_attempts++;
    if (x->attempts == 1) t->n_requests++;
    if (curl_multi_add_handle(t->multi, x->easy) != CURLM_OK) {
      snprintf(x->errbuf, sizeof x->errbuf, "libcurl: curl_multi_add_handle failed");
      x->final_only = 1;
      cra_finish_attempt(t, h, x, CURLE_FAILED_INIT, now);
      active--;
      continue;
    }
    x->state = CRA_XFER_RUNNING;
  }
  return active;
}

CURLMcode cra_transport_run(cra_transport_t *t, const cra_hooks_t *h) {
  size_t i;
  CURLMcode mc = CURLM_OK;
  int running = 0;

  for (;;) {
    CURLMsg *msg;
    int left;
    double now = cra_monotonic(), wake = now + 1.0, wait;
    if (cra_start_due(t, h, now, &wake) == 0) break;

    mc = curl_multi_perform(t->multi, &running);
    if (mc != CURLM_OK) break;
    while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
      cra_xfer_t *x = NULL;
      CURLcode rc;
      if (msg->msg != CURLMSG_DONE) continue;
      rc = msg->data.result;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
      if (x == NULL || x->state != CRA_XFER_RUNNING) continue;
      /* msg is invalid after remove_handle: everything is read above. */
      curl_multi_remove_handle(t->multi, x->easy);
      cra_finish_attempt(t, h, x, rc, cra_monotonic());
    }
    if (h && h->tick) {
      h->tick(h->ud);
      for (i = 0; i < t->nxfers; i++) {
        cra_xfer_t *x = &t->xfers[i];
        if (x->state != CRA_XFER_RUNNING || !x->abort_requested) continue;
        curl_multi_remove_handle(t->multi, x->easy);
        x->final_only = 1;
        cra_finish_attempt(t, h, x, CURLE_ABORTED_BY_CALLBACK, cra_monotonic());
      }
    }

    /* Sleep until libcurl has work, or the next scheduled start / tick. */
    now = cra_monotonic();
    wake = now + 1.0;
    if (h && h->tick && h->tick_interval > 0 && now + h->tick_interval < wake)
      wake = now + h->tick_interval;
    if (cra_start_due(t, h, now, &wake) == 0) break;
    wait = (wake - now) * 1000.0;
    if (wait < 0) wait = 0;
    if (wait > 1000) wait = 1000;
    mc = curl_multi_poll(t->multi, NULL, 0, (int)ceil(wait), NULL);
    if (mc != CURLM_OK) break;
  }

  if (mc != CURLM_OK) {
    /* The multi handle is broken: fail what is left. */
    for (i = 0; i < t->nxfers; i++) {
      cra_xfer_t *x = &t->xfers[i];
      if (x->state != CRA_XFER_READY && x->state != CRA_XFER_RUNNING) continue;
      curl_multi_remove_handle(t->multi, x->easy);
      snprintf(x->errbuf, sizeof x->errbuf, "libcurl multi error: %s",
               curl_multi_strerror(mc));
      x->final_only = 1;
      cra_finish_attempt(t, h, x, CURLE_FAILED_INIT, cra_monotonic());
    }
  }
  return mc;
}
