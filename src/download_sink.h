/*
 * download_sink.h — where a download's body goes: the final status decides
 * whether bytes reach the file (2xx) or an excerpt (an error page never
 * does), a 206 must start at the requested offset, max_bytes is enforced,
 * writes are pwrite at start + written. Plain C (no Lua API in the write
 * path), so the curl engine calls it from libcurl's write callback; the
 * cosocket transport feeds it through core.download_sink (its Lua binding,
 * download_sink.c). Both produce the same raw fields for ctx:parse.
 */
#ifndef CRA_DOWNLOAD_SINK_H
#define CRA_DOWNLOAD_SINK_H

#include "compat.h"
#include "util.h"

#define CRA_DL_EXCERPT_MAX 800      /* bytes of an error body kept for downloads */
#define CRA_DOWNLOAD_SINK_MT "creatorapi.DownloadSink"

typedef struct cra_download {
  int active;
  char *path;               /* for messages; opened here only without a part file */
  int fd;                   /* -1 until opened; a dup of the part file's fd, or our own */
  long long offset;         /* requested start (Range: bytes=offset-) */
  long long start;          /* file position of this transfer's first byte */
  long long written;        /* bytes written by this transfer */
  long long expected;       /* full size when known, else -1 */
  long long max_bytes;      /* limit on start + written, or -1 */
  int checked;              /* first-body-byte checks done */
  int resumed;              /* 206 appended at offset */
  int http_error;           /* final status is not 2xx: body goes to `excerpt` */
  int over_max;             /* aborted: max_bytes */
  int bad_range;            /* aborted: 206 with a Content-Range we did not ask for */
  int io_errno;             /* aborted: open/write/ftruncate failed (errno) */
  int complete;             /* 416, Content-Range "bytes * / offset" (no spaces): nothing left */
  cra_buf_t excerpt;        /* start of an error body */
} cra_download_t;

/* Starts d: streams into a dup of part_fd (a core.part_file) when >= 0, else
 * into d->path (set by the caller) opened at the first body byte. */
CRA_HIDDEN void cra_sink_init(cra_download_t *d, int part_fd);
/* n body bytes of an answer with this final status, Content-Length (-1:
 * unknown) and Content-Range (NULL: none). Returns 0 to abort the transfer
 * (the reason is in d). */
CRA_HIDDEN int cra_sink_write(cra_download_t *d, long status, long long content_length,
                              const char *content_range, const char *p, size_t n);
/* After the transfer; `ok` when it ended without a transport error. An empty
 * 2xx body still creates/truncates the file; a 416 whose Content-Range says
 * the file is already whole is success. Closes the descriptor. */
CRA_HIDDEN void cra_sink_finish(cra_download_t *d, int ok, long status, long long content_length,
                                const char *content_range);
/* Closes the descriptor (if open) and frees path and excerpt. Idempotent. */
CRA_HIDDEN void cra_sink_release(cra_download_t *d);
/* Sets the sink's raw fields (written, start, expected, resumed, complete,
 * http_error, over_max, bad_range, io_error, io_message, excerpt) in the
 * table on top. */
CRA_HIDDEN void cra_sink_push_fields(lua_State *L, const cra_download_t *d);
/* Adds download_sink to the table on top. */
CRA_HIDDEN void cra_download_sink_open(lua_State *L);

#endif /* CRA_DOWNLOAD_SINK_H */
