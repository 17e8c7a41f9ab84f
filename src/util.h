/*
 * util.h — small C helpers with no Lua state: a growable byte buffer, sleep,
 * a monotonic clock, and the Lua bindings core.sleep / core.monotonic.
 *
 * cra_buf_t never calls the Lua API, so it is safe to use from libcurl
 * callbacks (practice 8: nothing there may raise). Allocation failure is
 * reported by return value, never by longjmp.
 */
#ifndef CRA_UTIL_H
#define CRA_UTIL_H

#include <signal.h>
#include <stddef.h>
#include "compat.h"

typedef struct cra_buf {
  char *data;   /* NUL-terminated when non-NULL (one spare byte kept) */
  size_t len;
  size_t cap;
} cra_buf_t;

/* Appends n bytes; returns 1, or 0 when realloc failed (buffer unchanged). */
CRA_HIDDEN int cra_buf_append(cra_buf_t *b, const char *p, size_t n);
CRA_HIDDEN int cra_buf_appendz(cra_buf_t *b, const char *s);
/* Keeps the allocation, forgets the content. */
CRA_HIDDEN void cra_buf_reset(cra_buf_t *b);
CRA_HIDDEN void cra_buf_free(cra_buf_t *b);
/* Room for n bytes in all (plus the NUL) in one allocation; 0 when realloc
 * failed (buffer unchanged). */
CRA_HIDDEN int cra_buf_reserve(cra_buf_t *b, size_t n);
/* A consumed buffer: kept as *spare (emptied) when there is none yet and its
 * allocation is at most max_cap bytes, else freed. *b is left empty. */
CRA_HIDDEN void cra_buf_keep(cra_buf_t *spare, cra_buf_t *b, size_t max_cap);
/* An empty *b takes the spare allocation (if any); *spare is left empty. */
CRA_HIDDEN void cra_buf_take(cra_buf_t *b, cra_buf_t *spare);

/* Sleeps; returns 1 when a SIGINT ended it early (re-raised to the previous
 * handler), else 0. Other signals resume the remaining time. */
CRA_HIDDEN int cra_sleep(double seconds);

/* SIGINT during a blocking wait (see util.c): begin installs a recording
 * handler (not when SIGINT is ignored), pending says whether one arrived,
 * end restores the previous handler, re-raises a recorded SIGINT to it and
 * returns 1 if there was one. Main thread only; never across Lua calls. */
typedef struct cra_sigint {
  struct sigaction old;
  int installed;
} cra_sigint_t;
CRA_HIDDEN int cra_sigint_begin(cra_sigint_t *g);
CRA_HIDDEN int cra_sigint_pending(void);
CRA_HIDDEN int cra_sigint_end(cra_sigint_t *g);
CRA_HIDDEN double cra_monotonic(void);

/* Adds sleep and monotonic to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_util_open(lua_State *L);

#endif /* CRA_UTIL_H */
