/*
 * transport.h — one libcurl multi handle per client, a small pool of easy
 * handles, per-transfer C buffers, and the blocking batch loop.
 *
 * Ownership: every C resource of a batch (easy handles, header lists, URL,
 * request/response buffers) hangs off cra_transport_t, which lives inside
 * the client userdata. If building Lua values raises (memory error) after a
 * transfer, nothing leaks: the next cra_transport_prepare() or the client's
 * close/__gc frees what is left.
 *
 * No Lua API is used in this file's callbacks; they only append to C
 * buffers. The lua_State is never stored (pitfalls 1 and 2).
 */
#ifndef CRA_TRANSPORT_H
#define CRA_TRANSPORT_H

#include <curl/curl.h>
#include "compat.h"
#include "util.h"

#define CRA_POOL_MAX 8              /* idle easy handles kept per client */
#define CRA_MAX_HEADER_BYTES (1u << 20)

typedef enum {
  CRA_XFER_UNUSED = 0, /* slot not used (e.g. the request failed validation) */
  CRA_XFER_READY,      /* easy configured, not yet added */
  CRA_XFER_DONE        /* transfer finished; result/status valid */
} cra_xfer_state;

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
  char errbuf[CURL_ERROR_SIZE];
} cra_xfer_t;

typedef struct cra_transport {
  CURLM *multi;
  CURLSH *share;            /* DNS cache + TLS session ids for all handles */
  CURL *pool[CRA_POOL_MAX];
  int npool;
  cra_xfer_t *xfers;
  size_t nxfers;
} cra_transport_t;

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
/* Runs every READY slot concurrently on the multi handle until all are
 * DONE. Never calls Lua. Returns CURLM_OK or the multi error. */
CRA_HIDDEN CURLMcode cra_transport_run(cra_transport_t *t);
/* Releases the batch: handles of completed transfers go back to the pool,
 * others are cleaned up (pitfall 13); buffers are freed. Idempotent. */
CRA_HIDDEN void cra_transport_finish(cra_transport_t *t);

#endif /* CRA_TRANSPORT_H */
