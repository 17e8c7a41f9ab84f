/*
 * curl_engine.c — core.curl_engine{ socket_mode = bool }: libcurl's multi
 * handle as a transport engine. It sends prepared requests (`p` from
 * ctx:prepare / ctx:prepare_download) and hands back one `raw` per finished
 * attempt, for ctx:parse. It never retries, waits for a limiter or sleeps:
 * the request loop (lua/creatorapi/request_loop.lua) does all of that.
 *
 *   local id = eng:add(ctx, p)              -- starts a transfer
 *   local done = eng:perform(timeout)       -- poll mode: { {id =, raw =}, … }
 *   local n = eng:perform(timeout, into)    -- or into[id] = raw, n of them
 *   eng:remove(id)                          -- abandons a transfer
 *   eng:progress(id) → bytes, expected      -- a running download
 *
 * Socket mode (libuv hosts: lua/creatorapi/transport/luv.lua): libcurl's
 * multi-socket API. CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION only
 * record interest in C; `take_interest()` hands it to Lua after libcurl has
 * returned; `socket_action(fd, r, w)` / `timeout_action()` drive libcurl and
 * return the finished transfers like perform.
 *
 * Rules: no Lua runs inside a libcurl call (callbacks only record); Lua
 * values are built after libcurl returns; the lua_State is never stored;
 * every transfer is owned by the engine (slots) from before its first
 * allocation until it is released, so close/__gc free everything.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include <curl/curl.h>

#include "context.h"
#include "curl_engine.h"
#include "part_file.h"
#include "curl_xfer.h"
#include "curl_options.h"
#include "curl_raw.h"
#include "error.h"
#include "util.h"

#define CRA_ENGINE_MT "creatorapi.CurlEngine"

typedef struct cra_interest {
  curl_socket_t fd;
  int what; /* CURL_POLL_IN / OUT / INOUT / REMOVE */
} cra_interest_t;

typedef struct cra_engine {
  int closed;
  int socket_mode;
  cra_curl_t curl;
  cra_xfer_t **slots;      /* live transfers (NULL = free slot) */
  size_t nslots;
  long long next_id;
  cra_xfer_t **done;       /* finished, not yet handed to Lua */
  size_t ndone, capdone;
  /* socket mode: interest recorded by the callbacks */
  cra_interest_t *socks;
  size_t nsocks, capsocks;
  /* socket mode: sockets libcurl closed, closed by us only once Lua has
   * seen their "remove" (so an fd number is never reused under a live uv
   * poll handle): [0, nreported) were in the last take_interest. */
  curl_socket_t *closing;
  size_t nclosing, capclosing, nreported;
  long timeout_ms;
  int timeout_changed;
  cra_xfer_t *spare;       /* a finished transfer's struct, zeroed but for
                            * headers_prev: the next cra_new_slot takes it */
} cra_engine_t;

/* ---- libcurl callbacks (plain C: record only) -------------------------- */

static int cra_socket_cb(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp) {
  cra_engine_t *g = (cra_engine_t *)ud;
  size_t i;
  (void)e; (void)sockp;
  for (i = g->nsocks; i-- > 0;) {
    if (g->socks[i].fd == fd) {
      /* a socket removed and a new one on the same number: keep both, in order */
      if (g->socks[i].what == CURL_POLL_REMOVE && what != CURL_POLL_REMOVE) break;
      g->socks[i].what = what;
      return 0;
    }
  }
  if (g->nsocks == g->capsocks) {
    size_t cap = g->capsocks ? g->capsocks * 2 : 8;
    cra_interest_t *n = (cra_interest_t *)realloc(g->socks, cap * sizeof *n);
    if (n == NULL) return -1; /* libcurl fails the transfer */
    g->socks = n;
    g->capsocks = cap;
  }
  g->socks[g->nsocks].fd = fd;
  g->socks[g->nsocks].what = what;
  g->nsocks++;
  return 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION (socket mode): defer the close. */
static int cra_closesocket_cb(void *ud, curl_socket_t fd) {
  cra_engine_t *g = (cra_engine_t *)ud;
  if (g->nclosing == g->capclosing) {
    size_t cap = g->capclosing ? g->capclosing * 2 : 8;
    curl_socket_t *n = (curl_socket_t *)realloc(g->closing, cap * sizeof *n);
    if (n == NULL) return close(fd); /* cannot defer: close now */
    g->closing = n;
    g->capclosing = cap;
  }
  g->closing[g->nclosing++] = fd;
  return 0;
}

/* Closes the deferred sockets Lua has been told about (all with `all`). */
static void cra_close_reported(cra_engine_t *g, int all) {
  size_t i, n = all ? g->nclosing : g->nreported;
  if (n == 0) return;
  for (i = 0; i < n; i++) close(g->closing[i]);
  memmove(g->closing, g->closing + n, (g->nclosing - n) * sizeof *g->closing);
  g->nclosing -= n;
  g->nreported = 0;
}

static int cra_timer_cb(CURLM *m, long timeout_ms, void *ud) {
  cra_engine_t *g = (cra_engine_t *)ud;
  (void)m;
  g->timeout_ms = timeout_ms;
  g->timeout_changed = 1;
  return 0;
}

/* ---- slots -------------------------------------------------------------- */

static cra_engine_t *cra_check_engine(lua_State *L) {
  cra_engine_t *g = (cra_engine_t *)luaL_checkudata(L, 1, CRA_ENGINE_MT);
  if (g->closed) luaL_error(L, "creatorapi.CurlEngine: engine is closed");
  return g;
}

static cra_xfer_t *cra_find(cra_engine_t *g, long long id, size_t *at) {
  size_t i;
  for (i = 0; i < g->nslots; i++) {
    if (g->slots[i] && g->slots[i]->id == id) {
      if (at) *at = i;
      return g->slots[i];
    }
  }
  return NULL;
}

static void cra_drop(cra_engine_t *g, size_t i) {
  cra_xfer_t *x = g->slots[i];
  size_t k;
  if (x == NULL) return;
  for (k = 0; k < g->ndone; k++) {
    if (g->done[k] == x) {
      memmove(g->done + k, g->done + k + 1, (g->ndone - k - 1) * sizeof *g->done);
      g->ndone--;
      break;
    }
  }
  {
    /* The struct (and its header list) serve the next transfer. */
    struct curl_slist *h = x->headers;
    x->headers = NULL;
    cra_xfer_release(&g->curl, x);
    curl_slist_free_all(x->headers_prev);
    if (g->spare == NULL && !g->closed) {
      memset(x, 0, sizeof *x);
      x->headers_prev = h;
      g->spare = x;
    } else {
      curl_slist_free_all(h);
      free(x);
    }
  }
  g->slots[i] = NULL;
}

static void cra_drop_id(cra_engine_t *g, long long id) {
  size_t at = 0;
  if (cra_find(g, id, &at)) cra_drop(g, at);
}

/* A zeroed transfer in a free slot, or NULL (out of memory). */
static cra_xfer_t *cra_new_slot(cra_engine_t *g) {
  size_t i;
  cra_xfer_t *x;
  for (i = 0; i < g->nslots; i++) if (g->slots[i] == NULL) break;
  if (i == g->nslots) {
    size_t n = g->nslots ? g->nslots * 2 : 8;
    cra_xfer_t **s = (cra_xfer_t **)realloc(g->slots, n * sizeof *s);
    if (s == NULL) return NULL;
    memset(s + g->nslots, 0, (n - g->nslots) * sizeof *s);
    g->slots = s;
    g->nslots = n;
  }
  if (g->capdone < g->nslots) {
    /* room for every transfer to finish without allocating in the loop */
    size_t n = g->nslots;
    cra_xfer_t **d = (cra_xfer_t **)realloc(g->done, n * sizeof *d);
    if (d == NULL) return NULL;
    g->done = d;
    g->capdone = n;
  }
  if (g->spare != NULL) {
    x = g->spare; /* zeroed by cra_drop, headers_prev kept */
    g->spare = NULL;
  } else {
    x = (cra_xfer_t *)calloc(1, sizeof *x);
    if (x == NULL) return NULL;
  }
  x->id = ++g->next_id;
  g->slots[i] = x;
  return x;
}

static void cra_engine_release(cra_engine_t *g) {
  size_t i;
  for (i = 0; i < g->nslots; i++) cra_drop(g, i);
  if (g->spare != NULL) {
    curl_slist_free_all(g->spare->headers_prev);
    free(g->spare);
    g->spare = NULL;
  }
  free(g->slots);
  g->slots = NULL;
  g->nslots = 0;
  free(g->done);
  g->done = NULL;
  g->ndone = g->capdone = 0;
  cra_curl_close(&g->curl); /* may still close sockets through the callback */
  cra_close_reported(g, 1);
  free(g->closing);
  g->closing = NULL;
  g->capclosing = 0;
  free(g->socks);
  g->socks = NULL;
  g->nsocks = g->capsocks = 0;
  g->closed = 1;
}

/* ---- eng:add(ctx, p) ---------------------------------------------------- */

/* eng:add(ctx, p) → id | nil, message */
static int cra_engine_add(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  cra_ctx_t *c = cra_ctx_check(L, 2);
  cra_xfer_t *x;
  CURL *e;
  int is_download;
  CURLMcode mc;
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  lua_getfield(L, 3, "kind");
  is_download = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "download") == 0;
  lua_pop(L, 1);
  x = cra_new_slot(g);
  if (x == NULL) return luaL_error(L, "creatorapi: out of memory");
  lua_getfield(L, 3, "url"); /* 4: stays while the options are set */
  if (lua_type(L, 4) != LUA_TSTRING) {
    cra_drop_id(g, x->id);
    return luaL_argerror(L, 3, "p.url must be a string (a prepared request)");
  }
  x->url = lua_tostring(L, 4);
  /* The answer buffers of the context's last request, emptied (answer.c). */
  cra_buf_take(&x->hdrs, &c->spare_hdrs);
  if (!is_download) cra_buf_take(&x->body, &c->spare_body);
  if (is_download) {
    curl_slist_free_all(x->headers_prev);
    x->headers_prev = NULL;
  }
  /* A plain request's handle keeps its context's options in the pool. */
  e = cra_curl_easy(&g->curl, x, c->max_body, is_download ? 0 : c->serial);
  if (e == NULL) {
    cra_drop_id(g, x->id);
    lua_pushnil(L);
    lua_pushliteral(L, "curl_easy_init failed");
    return 2;
  }
  if (g->socket_mode && !x->configured) {
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, cra_closesocket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, (void *)g);
  }
  if (is_download) cra_download_opts(L, c, e, 3, x);
  else cra_request_opts(L, c, e, 3, x);
  x->url = NULL; /* libcurl has its copy */
  x->state = CRA_XFER_RUNNING;
  mc = curl_multi_add_handle(g->curl.multi, e);
  if (mc != CURLM_OK) {
    cra_drop_id(g, x->id);
    lua_pushnil(L);
    lua_pushfstring(L, "curl_multi_add_handle failed: %s", curl_multi_strerror(mc));
    return 2;
  }
  cra_pushint64(L, x->id);
  return 1;
}

/* eng:remove(id): abandons a transfer (no result will come). */
static int cra_engine_remove(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  size_t at;
  if (cra_find(g, (long long)luaL_checknumber(L, 2), &at)) {
    /* not reusable: the handle is cleaned up, its connection closed */
    g->slots[at]->result = CURLE_ABORTED_BY_CALLBACK;
    cra_drop(g, at);
  }
  return 0;
}

/* ---- finished transfers → Lua ---------------------------------------------- */

/* Moves every finished transfer from libcurl's message queue to g->done. */
static void cra_collect(cra_engine_t *g) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(g->curl.multi, &left)) != NULL) {
    cra_xfer_t *x = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x == NULL || x->state != CRA_XFER_RUNNING) continue;
    x->result = msg->data.result;
    /* msg is invalid after remove_handle: everything is read above. */
    curl_multi_remove_handle(g->curl.multi, x->easy);
    x->state = CRA_XFER_DONE;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &x->request_size);
    if (x->dl.active) cra_dl_close(x);
    if (g->ndone < g->capdone) g->done[g->ndone++] = x;
  }
}

/* Pushes the finished transfers (g->done) and releases them: a list of
 * { id =, raw = } or, with `into` (a table's stack index), into[id] = raw
 * for each and their count. */
static int cra_push_done(lua_State *L, cra_engine_t *g, int into) {
  size_t i, n = g->ndone;
  luaL_checkstack(L, 6, "engine");
  if (into) {
    for (i = 0; i < n; i++) {
      cra_xfer_t *x = g->done[i];
      cra_pushint64(L, x->id);
      cra_push_xfer_raw(L, x);
      lua_rawset(L, into);
    }
    lua_pushinteger(L, (lua_Integer)n);
  } else {
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
      cra_xfer_t *x = g->done[i];
      lua_createtable(L, 0, 2);
      cra_pushint64(L, x->id);
      lua_setfield(L, -2, "id");
      cra_push_xfer_raw(L, x);
      lua_setfield(L, -2, "raw");
      lua_rawseti(L, -2, (int)i + 1);
    }
  }
  /* Only now (every value built) are the transfers released. */
  for (i = n; i > 0; i--) {
    size_t at;
    if (cra_find(g, g->done[i - 1]->id, &at)) cra_drop(g, at);
  }
  g->ndone = 0;
  return 1;
}

static int cra_running(const cra_engine_t *g) {
  size_t i;
  int n = 0;
  for (i = 0; i < g->nslots; i++)
    if (g->slots[i] && g->slots[i]->state == CRA_XFER_RUNNING) n++;
  return n;
}

/* eng:perform([timeout [, into]]) → finished list [, true when a SIGINT cut
 * the wait short]. Runs libcurl; when nothing has finished and transfers are
 * running, waits up to `timeout` seconds (default 0) for activity, then runs
 * it again. With a table `into`, each finished transfer's raw answer is
 * stored as into[id] and the first result is their count (no list built). */
static int cra_engine_perform(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  double timeout = luaL_optnumber(L, 2, 0);
  int into = lua_istable(L, 3) ? 3 : 0;
  int running = 0, interrupted = 0;
  CURLMcode mc;
  if (g->socket_mode) return luaL_error(L, "creatorapi.CurlEngine: perform in socket mode");
  mc = curl_multi_perform(g->curl.multi, &running);
  cra_collect(g);
  if (mc == CURLM_OK && g->ndone == 0 && running > 0 && timeout > 0) {
    double ms = ceil(timeout * 1000.0);
    cra_sigint_t sg;
    if (ms > 1000000) ms = 1000000;
    /* A SIGINT ends the poll at once (EINTR) instead of after `timeout`;
     * the handler is plain C and only records it (no Lua in between). */
    cra_sigint_begin(&sg);
    mc = curl_multi_poll(g->curl.multi, NULL, 0, (int)ms, NULL);
    if (mc == CURLM_OK && !cra_sigint_pending()) mc = curl_multi_perform(g->curl.multi, &running);
    interrupted = cra_sigint_end(&sg);
    cra_collect(g);
  }
  if (mc != CURLM_OK) return luaL_error(L, "creatorapi.CurlEngine: %s", curl_multi_strerror(mc));
  cra_push_done(L, g, into);
  if (!interrupted) return 1;
  lua_pushboolean(L, 1);
  return 2;
}

/* eng:socket_action(fd, readable, writable) → finished list */
static int cra_engine_socket_action(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  curl_socket_t fd = (curl_socket_t)luaL_checkinteger(L, 2);
  int mask = (lua_toboolean(L, 3) ? CURL_CSELECT_IN : 0) | (lua_toboolean(L, 4) ? CURL_CSELECT_OUT : 0);
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(g->curl.multi, fd, mask, &running);
  cra_collect(g);
  if (mc != CURLM_OK) return luaL_error(L, "creatorapi.CurlEngine: %s", curl_multi_strerror(mc));
  return cra_push_done(L, g, 0);
}

/* eng:timeout_action() → finished list */
static int cra_engine_timeout_action(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  int running = 0;
  CURLMcode mc = curl_multi_socket_action(g->curl.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  cra_collect(g);
  if (mc != CURLM_OK) return luaL_error(L, "creatorapi.CurlEngine: %s", curl_multi_strerror(mc));
  return cra_push_done(L, g, 0);
}

/* eng:take_interest() → { {fd =, what = "in"|"out"|"inout"|"remove"}, … },
 * timeout_ms (-1 = stop the timer; nil = unchanged) */
static int cra_engine_take_interest(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  size_t i;
  lua_createtable(L, (int)g->nsocks, 0);
  for (i = 0; i < g->nsocks; i++) {
    const char *w = "inout";
    switch (g->socks[i].what) {
    case CURL_POLL_IN: w = "in"; break;
    case CURL_POLL_OUT: w = "out"; break;
    case CURL_POLL_REMOVE: w = "remove"; break;
    default: break;
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)g->socks[i].fd);
    lua_setfield(L, -2, "fd");
    lua_pushstring(L, w);
    lua_setfield(L, -2, "what");
    lua_rawseti(L, -2, (int)i + 1);
  }
  g->nsocks = 0;
  /* the removes reported last time have been applied by now */
  cra_close_reported(g, 0);
  g->nreported = g->nclosing;
  if (g->timeout_changed) {
    g->timeout_changed = 0;
    lua_pushinteger(L, g->timeout_ms);
  } else {
    lua_pushnil(L);
  }
  return 2;
}

/* eng:progress(id) → bytes so far (file position), expected | nil */
static int cra_engine_progress(lua_State *L) {
  cra_engine_t *g = cra_check_engine(L);
  cra_xfer_t *x = cra_find(g, (long long)luaL_checknumber(L, 2), NULL);
  if (x == NULL || !x->dl.active || !x->dl.checked || x->dl.http_error) return 0;
  cra_pushint64(L, (long long)(x->dl.start + x->dl.written));
  if (x->dl.expected >= 0) cra_pushint64(L, (long long)x->dl.expected);
  else lua_pushnil(L);
  return 2;
}

/* eng:running() → number of transfers in flight */
static int cra_engine_running(lua_State *L) {
  lua_pushinteger(L, cra_running(cra_check_engine(L)));
  return 1;
}

static int cra_engine_close(lua_State *L) {
  cra_engine_t *g = (cra_engine_t *)luaL_checkudata(L, 1, CRA_ENGINE_MT);
  if (!g->closed) cra_engine_release(g);
  return 0;
}

/* core.curl_engine{ socket_mode = bool } */
static int cra_engine_new(lua_State *L) {
  cra_engine_t *g;
  int socket_mode = 0;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "socket_mode");
    socket_mode = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  g = (cra_engine_t *)cra_newuserdata(L, sizeof *g);
  memset(g, 0, sizeof *g);
  g->closed = 1;
  cra_setmetatable(L, CRA_ENGINE_MT);
  if (!cra_curl_init(&g->curl)) {
    cra_curl_close(&g->curl);
    return luaL_error(L, "creatorapi.core.curl_engine: curl_multi_init failed");
  }
  g->closed = 0;
  g->socket_mode = socket_mode;
  if (socket_mode) {
    curl_multi_setopt(g->curl.multi, CURLMOPT_SOCKETFUNCTION, cra_socket_cb);
    curl_multi_setopt(g->curl.multi, CURLMOPT_SOCKETDATA, (void *)g);
    curl_multi_setopt(g->curl.multi, CURLMOPT_TIMERFUNCTION, cra_timer_cb);
    curl_multi_setopt(g->curl.multi, CURLMOPT_TIMERDATA, (void *)g);
  }
  return 1;
}

void cra_curl_engine_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"add", cra_engine_add},
    {"remove", cra_engine_remove},
    {"perform", cra_engine_perform},
    {"socket_action", cra_engine_socket_action},
    {"timeout_action", cra_engine_timeout_action},
    {"take_interest", cra_engine_take_interest},
    {"progress", cra_engine_progress},
    {"running", cra_engine_running},
    {"close", cra_engine_close},
    {NULL, NULL}
  };
  luaL_newmetatable(L, CRA_ENGINE_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_engine_close);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, cra_engine_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushliteral(L, CRA_ENGINE_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_engine_new);
  lua_setfield(L, -2, "curl_engine");
}
