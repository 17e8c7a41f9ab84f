/*
 * curl_xfer.h — the libcurl plumbing under core.curl_engine: one multi
 * handle, a small pool of easy handles, and per-transfer C buffers (answer
 * body and headers, or the streaming download file sink).
 *
 * Ownership: every C resource of a transfer (easy handle, header list, URL,
 * request/response buffers, download file) hangs off its cra_xfer_t, which
 * the engine owns until it releases it; a memory error while Lua values are
 * built leaks nothing (close/__gc release what is left).
 *
 * No Lua API is used in this file's libcurl callbacks; they only append to
 * C buffers or write to the download file.
 */
#ifndef CRA_CURL_XFER_H
#define CRA_CURL_XFER_H

#include <stdio.h>
#include <curl/curl.h>
#include "compat.h"
#include "util.h"
#include "download_sink.h"

#define CRA_POOL_MAX 8              /* idle easy handles kept per engine */
#define CRA_MAX_HEADER_BYTES (1u << 20)

/* CURLOPT_CURLU (7.63.0): the request URL handed over parsed (curl_options.c). */
#if LIBCURL_VERSION_NUM >= 0x073f00
#define CRA_HAVE_CURLU 1
#else
#define CRA_HAVE_CURLU 0
#define CURLU void
#endif

/* A URL handle for CURLOPT_CURLU, pooled with its easy handle; `text` is the
 * URL it was last set from when that may be reused as it is (NULL: set it
 * anew), so a call to the same endpoint parses nothing (curl_options.c). */
typedef struct cra_urlh {
  CURLU *h;
  char *text;
} cra_urlh_t;

typedef enum {
  CRA_XFER_UNUSED = 0, /* slot not used (e.g. the request failed validation) */
  CRA_XFER_READY,      /* easy configured, not yet added to the multi handle */
  CRA_XFER_RUNNING,    /* added to the multi handle */
  CRA_XFER_DONE        /* transfer finished; result/status valid */
} cra_xfer_state;

typedef struct cra_xfer {
  long long id;             /* the engine's handle for it (> 0) */
  CURL *easy;
  struct curl_slist *headers;
  struct curl_slist *headers_prev; /* the list of the request this struct served
                                    * before (a pooled struct): taken as it is
                                    * when the lines are the same (curl_options.c) */
  const char *url;          /* p.url, only while eng:add sets the options
                             * (libcurl copies it; NULL after) */
  cra_urlh_t uh;            /* p.url parsed (CURLOPT_CURLU), pooled with the
                             * easy handle; h NULL until first used */
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
  cra_download_t dl;         /* the download sink (download_sink.h) when dl.active */
  unsigned long long profile; /* ctx serial of a plain request (0: download):
                              * kept on the pooled handle with its options */
  int configured;           /* the easy handle already carries profile's
                             * constant options (set by cra_curl_easy) */
  char errbuf[CURL_ERROR_SIZE];
} cra_xfer_t;

typedef struct cra_curl {
  CURLM *multi;
  CURLSH *share;            /* DNS cache + TLS session ids for all handles */
  CURL *pool[CRA_POOL_MAX];
  unsigned long long pool_profile[CRA_POOL_MAX]; /* 0: reset, else the options' ctx serial */
  cra_urlh_t pool_uh[CRA_POOL_MAX];              /* the URL handle that went with pool[i] */
  int npool;
} cra_curl_t;

/* Creates the multi and share handles. Returns 1, or 0 on failure (call
 * cra_curl_close either way). */
CRA_HIDDEN int cra_curl_init(cra_curl_t *t);
/* Frees the pool, multi and share handles (transfers released first). Idempotent. */
CRA_HIDDEN void cra_curl_close(cra_curl_t *t);
/* Gives x an easy handle (pooled or new) with the buffer callbacks, error
 * buffer, private pointer and max_body set. Returns NULL on failure. */
/* An easy handle for x (pooled or new). With a nonzero `profile`, a pooled
 * handle that last ran a request of that profile keeps its options and
 * x->configured says so: the caller then sets only what varies per request. */
CRA_HIDDEN CURL *cra_curl_easy(cra_curl_t *t, cra_xfer_t *x, size_t max_body, unsigned long long profile);
/* Switches x (after cra_curl_easy) to streaming into x->dl: into a dup of
 * part_fd (a core.part_file) when >= 0, else into x->dl.path opened at the
 * first body byte. */
CRA_HIDDEN void cra_curl_download(cra_xfer_t *x, int part_fd);
/* After a finished download attempt: creates/truncates the file of an empty
 * 2xx body, handles a 416 "already complete", flushes and closes. */
CRA_HIDDEN void cra_dl_close(cra_xfer_t *x);
/* Frees a URL handle and its text; leaves it empty. */
CRA_HIDDEN void cra_urlh_free(cra_urlh_t *u);
/* Releases x's resources: a completed, fully read transfer's handle goes
 * back to the pool, others are cleaned up (pitfall 13). Does not free x. */
CRA_HIDDEN void cra_xfer_release(cra_curl_t *t, cra_xfer_t *x);

#endif /* CRA_CURL_XFER_H */
