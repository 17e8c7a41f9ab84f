/*
 * util.c — growable buffer, sleep and monotonic clock (see util.h).
 */
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int cra_buf_append(cra_buf_t *b, const char *p, size_t n) {
  if (n == 0 && b->data != NULL) return 1;
  if (b->len + n + 1 < b->len) return 0; /* size_t overflow */
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *q;
    while (cap < b->len + n + 1) {
      if (cap > ((size_t)-1) / 2) { cap = b->len + n + 1; break; }
      cap *= 2;
    }
    q = (char *)realloc(b->data, cap);
    if (q == NULL) return 0;
    b->data = q;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 1;
}

int cra_buf_appendz(cra_buf_t *b, const char *s) {
  return cra_buf_append(b, s, strlen(s));
}

void cra_buf_reset(cra_buf_t *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void cra_buf_free(cra_buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int cra_buf_reserve(cra_buf_t *b, size_t n) {
  char *q;
  if (n + 1 < n) return 0;
  if (n + 1 <= b->cap) return 1;
  q = (char *)realloc(b->data, n + 1);
  if (q == NULL) return 0;
  if (b->data == NULL) q[0] = '\0';
  b->data = q;
  b->cap = n + 1;
  return 1;
}

void cra_buf_keep(cra_buf_t *spare, cra_buf_t *b, size_t max_cap) {
  if (spare->data == NULL && b->data != NULL && b->cap <= max_cap) {
    *spare = *b;
    cra_buf_reset(spare);
    b->data = NULL;
    b->len = b->cap = 0;
  } else {
    cra_buf_free(b);
  }
}

void cra_buf_take(cra_buf_t *b, cra_buf_t *spare) {
  if (b->data != NULL || spare->data == NULL) return;
  *b = *spare;
  cra_buf_reset(b);
  spare->data = NULL;
  spare->len = spare->cap = 0;
}

/* SIGINT around a blocking wait: our handler only records the signal (no
 * SA_RESTART, so nanosleep/poll return EINTR), the previous disposition is
 * restored afterwards and the signal re-raised to it, so the host's usual
 * interrupt (lua.c's "interrupted!", a default exit, nvim's handler) still
 * happens — only without waiting for the rest of the sleep. */
static volatile sig_atomic_t cra_sigint_seen = 0;

static void cra_on_sigint(int sig) {
  (void)sig;
  cra_sigint_seen = 1;
}

/* One system call installs the handler and returns the one it replaces
 * (a blocking call waits once: 2 calls a wait, not 3 with a separate query).
 * An ignored SIGINT is put back at once; a SIGINT in between is recorded,
 * never raised, so it stays ignored. */
int cra_sigint_begin(cra_sigint_t *g) {
  struct sigaction sa;
  g->installed = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = cra_on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  cra_sigint_seen = 0;
  if (sigaction(SIGINT, &sa, &g->old) != 0) return 0;
  if (!(g->old.sa_flags & SA_SIGINFO) && g->old.sa_handler == SIG_IGN) {
    sigaction(SIGINT, &g->old, NULL); /* stays ignored */
    cra_sigint_seen = 0;
    return 0;
  }
  g->installed = 1;
  return 1;
}

int cra_sigint_pending(void) {
  return cra_sigint_seen != 0;
}

int cra_sigint_end(cra_sigint_t *g) {
  int seen;
  if (!g->installed) return 0;
  seen = cra_sigint_seen != 0;
  sigaction(SIGINT, &g->old, NULL);
  g->installed = 0;
  cra_sigint_seen = 0;
  if (seen) raise(SIGINT); /* to the previous handler */
  return seen;
}

int cra_sleep(double seconds) {
  struct timespec ts, rem;
  cra_sigint_t g;
  int r;
  if (!(seconds > 0)) return 0; /* also rejects NaN */
  if (seconds > 1e9) seconds = 1e9;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  cra_sigint_begin(&g);
  /* Other signals (SIGCHLD, SIGWINCH, profilers) resume the remaining time;
   * a SIGINT ends the sleep. */
  while ((r = nanosleep(&ts, &rem)) != 0 && errno == EINTR && !cra_sigint_pending()) ts = rem;
  (void)r;
  return cra_sigint_end(&g);
}

double cra_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* core.sleep(seconds) */
static int cra_l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s == s, 1, "non-negative number expected");
  if (cra_sleep((double)s)) {
    lua_pushliteral(L, "interrupted");
    return 1;
  }
  return 0;
}

/* core.monotonic() → seconds (float) from an arbitrary fixed point */
static int cra_l_monotonic(lua_State *L) {
  lua_pushnumber(L, (lua_Number)cra_monotonic());
  return 1;
}

void cra_util_open(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"sleep", cra_l_sleep},
    {"monotonic", cra_l_monotonic},
    {NULL, NULL}
  };
  cra_setfuncs(L, fns, 0);
}
