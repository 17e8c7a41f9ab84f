/*
 * transport.h — one libcurl multi handle per client, a small pool of easy
 * handles, per-transfer C buffers, a rate limiter, and the batch loop that
 * schedules attempts (retries, rate limiting) on the multi handle.
 *
 * Ownership: every C resource of a batch (easy handles, header lists, URL,
 * request/response buffers, download FILE*) hangs off cra_transport_t,
 * which lives inside the client userdata. If building Lua values raises
 * (memory error) during or after a transfer, nothing leaks: the client's
 * error path, the next cra_transport_prepare() or close/__gc frees what is
 * left.
 *
 * No Lua API is used in this file's libcurl callbacks; they only append to
 * C buffers or fwrite to the download file. The lua_State is never stored
 * (pitfalls 1 and 2). Lua runs only in the hooks that cra_transport_run
 * calls between curl_multi_poll iterations, never below a libcurl frame.
 */
#ifndef CRA_TRANSPORT_H
#define CRA_TRANSPORT_H

#include <stdio.h>
#include <curl/curl.h>
#include "compat.h"
#include "util.h"

#define CRA_POOL_MAX 8              /* idle easy handles kept per client */
#define CRA_MAX_HEADER_BYTES (1u << 20)
#define CRA_DL_EXCERPT_MAX 800      /* bytes of an error body kept for downloads */

typedef enum {
  CRA_XFER_UNUSED = 0, /* slot not used (e.g. the request failed validation) */
  CRA_XFER_READY,      /* easy configured, waiting to be added (not_before, token) */
  CRA_XFER_RUNNING,    /* added to the multi handle */
  CRA_XFER_DONE        /* transfer finished; result/status valid */
} cra_xfer_state;

/* req.retry */
typedef enum {
  CRA_RETRY_SAFE = 0,   /* idempotent: retried on every transient failure */
  CRA_RETRY_SUBMIT,     /* creates billable work: retried only when provably not sent, or 429 */
  CRA_RETRY_NEVER
} cra_retry_mode;

/* Streaming download state (client:download). Written only by the write
 * callback (plain C) and read by the client between polls. */
typedef struct cra_download {
  int active;
  char *path;
  FILE *fp;
  curl_off_t offset;        /* requested start (Range: bytes=offset-) */
  curl_off_t start;         /* file position of this transfer's first byte */
  curl_off_t written;       /* bytes written by this transfer */
  curl_off_t expected;      /* full size when known, else -1 */
  curl_off_t max_bytes;     /* limit on start + written, or -1 */
  int checked;              /* first-body-byte checks done */
  int resumed;              /* 206 appended at offset */
  int http_error;           /* final status is not 2xx: body goes to `excerpt` */
  int over_max;             /* aborted: max_bytes */
  int bad_range;            /* aborted: 206 with a Content-Range we did not ask for */
  int io_errno;             /* aborted: fopen/fwrite/ftruncate failed (errno) */
  int complete;             /* 416, Content-Range "bytes * / offset" (no spaces): nothing left */
  cra_buf_t excerpt;        /* start of an error body */
} cra_download_t;

typedef struct cra_xfer {
  CURL *easy;
  struct curl_slist *headers;
  char *url;
  char *path;               /* request path (no query) for error tables */
  const char *method;       /* static string: "GET" / "POST" */
  cra_buf_t req_body;       /* POST body (CURLOPT_POSTFIELDS points here) */
  cra_buf_t body;           /* response body */
  cra_buf_t hdrs;           /* raw header lines of the final response */
  size_t max_body;
  int too_big;              /* write callback aborted: body over max_body */
  int hdr_too_big;
  cra_xfer_state state;
  CURLcode result;
  long status;
  long request_size;        /* CURLINFO_REQUEST_SIZE of the last attempt */
  int sends;                /* requests libcurl sent in this attempt (prereq callback):
                             * > 1 + redirects when it re-sent on a fresh connection */
  /* scheduling */
  cra_retry_mode retry;
  int max_retries;
  int attempts;             /* attempts started so far */
  int limited;              /* subject to the client's rate limiter */
  int lim_token;            /* token held by the running attempt: index + 1, 0 = none */
  double not_before;        /* monotonic time before which no attempt starts */
  int abort_requested;      /* set by a hook: stop the running attempt */
  int final_only;           /* the done hook must not ask for a retry */
  cra_download_t dl;
  char errbuf[CURL_ERROR_SIZE];
} cra_xfer_t;

/* Client-side rate limiter: `n` tokens, the bucket starts full. A token is
 * taken when an attempt starts and comes back `per` seconds after that
 * attempt finished, so at most n attempts reach the server in any window of
 * `per` seconds, whatever the server's window alignment (see
 * docs/reliability.md "Transport"). */
typedef struct cra_limiter {
  int n;                    /* 0 = off */
  double per;
  double *free_at;          /* n entries; HUGE_VAL while held */
} cra_limiter_t;

typedef struct cra_transport {
  CURLM *multi;
  CURLSH *share;            /* DNS cache + TLS session ids for all handles */
  CURL *pool[CRA_POOL_MAX];
  int npool;
  cra_xfer_t *xfers;
  size_t nxfers;
  cra_limiter_t lim;
  /* counters for client:transport_stats() */
  long long n_requests, n_attempts;
} cra_transport_t;

/* Hooks called by cra_transport_run between polls (never from inside a
 * libcurl call). They may use the Lua state of the current call and may
 * raise: the loop keeps no resource outside `t`, and the caller frees the
 * batch with cra_transport_finish on error. */
typedef struct cra_hooks {
  void *ud;
  /* An attempt finished (x->state == DONE, handle removed from the multi).
   * Return 1 to run another attempt (after setting x->not_before), 0 when x
   * is final. Never ask for a retry when x->final_only is set. */
  int (*done)(void *ud, cra_xfer_t *x);
  /* Called after every poll; may set x->abort_requested. NULL = none. */
  void (*tick)(void *ud);
  double tick_interval;     /* max seconds between ticks (poll timeout cap) */
} cra_hooks_t;

/* Creates the multi handle. Returns 1, or 0 on failure. */
CRA_HIDDEN int cra_transport_init(cra_transport_t *t);
/* Frees everything, idempotent. */
CRA_HIDDEN void cra_transport_close(cra_transport_t *t);
/* Finishes any previous batch and allocates n zeroed transfer slots.
 * Returns 1, or 0 when out of memory. */
CRA_HIDDEN int cra_transport_prepare(cra_transport_t *t, size_t n);
/* Gives slot x an easy handle (pooled or new) with the buffer callbacks,
 * error buffer, private pointer and max_body set. Returns NULL on failure. */
CRA_HIDDEN CURL *cra_transport_easy(cra_transport_t *t, cra_xfer_t *x, size_t max_body);
/* Switches slot x (after cra_transport_easy) to streaming into x->dl. */
CRA_HIDDEN void cra_transport_download(cra_xfer_t *x);
/* Configures the limiter: n tokens per `per` seconds, n = 0 turns it off.
 * Returns 1, or 0 when out of memory. */
CRA_HIDDEN int cra_limiter_set(cra_limiter_t *l, int n, double per);
/* Runs every READY slot on the multi handle until all are DONE: starts each
 * attempt when its not_before has passed and (if limited) a token is free,
 * waits with curl_multi_poll's timeout, calls the hooks. Returns CURLM_OK
 * or the multi error (the slots left are then DONE with CURLE_FAILED_INIT). */
CRA_HIDDEN CURLMcode cra_transport_run(cra_transport_t *t, const cra_hooks_t *h);
/* Readies a DONE slot for another attempt: buffers emptied, flags cleared. */
CRA_HIDDEN void cra_transport_rearm(cra_xfer_t *x);
/* Releases the batch: handles of completed transfers go back to the pool,
 * others are cleaned up (pitfall 13); buffers are freed, download files
 * closed, rate-limit tokens returned. Idempotent. */
CRA_HIDDEN void cra_transport_finish(cra_transport_t *t);

#endif /* CRA_TRANSPORT_H */
