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

/* Opens the file by path when no part file was given (the low-level
 * client:download): never through a symlink at the last component. */
static int cra_dl_open(cra_download_t *d) {
  if (d->fd >= 0) return 1;
  if (d->io_errno) return 0; /* the part file's descriptor could not be duplicated */
  d->fd = open(d->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (d->fd < 0) {
    d->io_errno = errno ? errno : EIO;
    return 0;
  }
  return 1;
}

/* First body byte (or end of an empty body): decide from the final status
 * whether the body goes to the file, and prepare it. Returns 0 to abort. */
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
    d->start = d->offset;
    d->resumed = d->offset > 0;
  } else {
    /* 200 (the server ignored Range, or none was sent): start over. */
    d->expected = cl >= 0 ? cl : -1;
    d->start = 0;
    d->resumed = 0;
  }
  /* Drop anything past start (a previous, longer attempt); writes are
   * pwrite at start + written, independent of the descriptor's position. */
  if (!cra_dl_open(d)) return 0;
  if (ftruncate(d->fd, (off_t)d->start) != 0) {
    d->io_errno = errno ? errno : EIO;
    return 0;
  }
  return 1;
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
  {
    size_t done = 0;
    while (done < n) {
      ssize_t w = pwrite(d->fd, ptr + done, n - done, (off_t)(d->start + d->written));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        d->io_errno = w < 0 && errno ? errno : EIO;
        return 0;
      }
      done += (size_t)w;
      d->written += (curl_off_t)w;
    }
  }
  return n;
}

/* After the transfer: an empty 2xx body still creates/truncates the file;
 * flush and close (a failed flush is an io error). */
void cra_dl_close(cra_xfer_t *x) {
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
        if (!cra_dl_open(d)) {
          /* io_errno set */
        } else if (ftruncate(d->fd, (off_t)d->offset) != 0) {
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
  if (d->fd >= 0) {
    if (close(d->fd) != 0 && !d->io_errno && errno != EINTR) d->io_errno = errno ? errno : EIO;
    d->fd = -1;
  }
}

void cra_curl_download(cra_xfer_t *x, int part_fd) {
  x->dl.active = 1;
  x->dl.expected = -1;
  x->dl.fd = -1;
  if (part_fd >= 0) {
    /* Our own descriptor of the part file: the Lua object may be collected
     * while libcurl still writes. */
    x->dl.fd = fcntl(part_fd, F_DUPFD_CLOEXEC, 0);
    if (x->dl.fd < 0) x->dl.io_errno = errno ? errno : EMFILE;
  }
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

void cra_xfer_release(cra_curl_t *t, cra_xfer_t *x) {
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
  if (x->dl.active && x->dl.fd >= 0) {
    close(x->dl.fd);
    x->dl.fd = -1;
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

void cra_curl_close(cra_curl_t *t) {
  int i;
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

CURL *cra_curl_easy(cra_curl_t *t, cra_xfer_t *x, size_t max_body) {
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
