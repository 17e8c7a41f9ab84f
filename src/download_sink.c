/*
 * download_sink.c — a download's file sink (see download_sink.h) and its Lua
 * binding for transports that do their own I/O:
 *
 *   local sink = core.download_sink(p)      -- p from ctx:prepare_download
 *   sink:write(status, content_length|nil, content_range|nil, bytes) → true | false (aborted: see fields)
 *   sink:finish(ok, status, content_length|nil, content_range|nil)
 *   sink:fields(raw)                         -- sets raw.written, raw.start, … for ctx:parse
 *   sink:close()                             -- also __gc / __close; idempotent
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "context.h"
#include "download_sink.h"
#include "part_file.h"

/* Parses "bytes a-b/total" (total may be '*'). Returns 1 on success. */
static int cra_parse_content_range(const char *v, long long *a, long long *b, long long *total) {
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
    *total = z;
  }
  *a = x;
  *b = y;
  return 1;
}

void cra_sink_init(cra_download_t *d, int part_fd) {
  d->active = 1;
  d->expected = -1;
  d->fd = -1;
  if (part_fd >= 0) {
    /* Our own descriptor of the part file: the Lua object may be collected
     * while bytes are still written. */
    d->fd = fcntl(part_fd, F_DUPFD_CLOEXEC, 0);
    if (d->fd < 0) d->io_errno = errno ? errno : EMFILE;
  }
}

/* Opens the file by path when no part file was given (the low-level
 * engine download): never through a symlink at the last component. */
static int cra_sink_open(cra_download_t *d) {
  if (d->fd >= 0) return 1;
  if (d->io_errno || d->path == NULL) {
    if (!d->io_errno) d->io_errno = EBADF;
    return 0; /* the part file's descriptor could not be duplicated */
  }
  d->fd = open(d->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (d->fd < 0) {
    d->io_errno = errno ? errno : EIO;
    return 0;
  }
  return 1;
}

/* First body byte (or end of an empty body): decide from the final status
 * whether the body goes to the file, and prepare it. Returns 0 to abort. */
static int cra_sink_begin(cra_download_t *d, long status, long long cl, const char *cr) {
  d->checked = 1;
  if (status < 200 || status > 299) {
    /* Never write an error page into the file. */
    d->http_error = 1;
    return 1;
  }
  if (status == 206) {
    long long a = 0, b = 0, total = -1;
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
  if (!cra_sink_open(d)) return 0;
  if (ftruncate(d->fd, (off_t)d->start) != 0) {
    d->io_errno = errno ? errno : EIO;
    return 0;
  }
  return 1;
}

int cra_sink_write(cra_download_t *d, long status, long long cl, const char *cr, const char *p, size_t n) {
  size_t done = 0;
  if (!d->checked && !cra_sink_begin(d, status, cl, cr)) return 0;
  if (d->http_error) {
    size_t room = d->excerpt.len < CRA_DL_EXCERPT_MAX ? CRA_DL_EXCERPT_MAX - d->excerpt.len : 0;
    if (room > n) room = n;
    if (room > 0 && !cra_buf_append(&d->excerpt, p, room)) return 0;
    return 1; /* read and drop the rest of the error body */
  }
  if (d->max_bytes >= 0 && d->start + d->written + (long long)n > d->max_bytes) {
    d->over_max = 1;
    return 0;
  }
  while (done < n) {
    ssize_t w = pwrite(d->fd, p + done, n - done, (off_t)(d->start + d->written));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      d->io_errno = w < 0 && errno ? errno : EIO;
      return 0;
    }
    done += (size_t)w;
    d->written += (long long)w;
  }
  return 1;
}

void cra_sink_finish(cra_download_t *d, int ok, long status, long long cl, const char *cr) {
  if (ok && !d->checked) cra_sink_begin(d, status, cl, cr);
  if (ok && status == 416 && d->offset > 0 && cr && strncasecmp(cr, "bytes */", 8) == 0) {
    /* "Range Not Satisfiable" with "bytes * / <offset>" (no spaces): the file already has
     * every byte (a resume after the last byte arrived). Success. */
    char *e;
    long long total;
    errno = 0;
    total = strtoll(cr + 8, &e, 10);
    if (errno == 0 && e != cr + 8 && total == d->offset) {
      if (!cra_sink_open(d)) {
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
  if (d->fd >= 0) {
    if (close(d->fd) != 0 && !d->io_errno && errno != EINTR) d->io_errno = errno ? errno : EIO;
    d->fd = -1;
  }
}

void cra_sink_release(cra_download_t *d) {
  if (d->fd >= 0) {
    close(d->fd);
    d->fd = -1;
  }
  free(d->path);
  d->path = NULL;
  cra_buf_free(&d->excerpt);
}

static void cra_set_flag(lua_State *L, const char *k, int v) {
  if (!v) return;
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, k);
}

static void cra_set_i64(lua_State *L, const char *k, long long v) {
  cra_pushint64(L, v);
  lua_setfield(L, -2, k);
}

void cra_sink_push_fields(lua_State *L, const cra_download_t *d) {
  cra_set_i64(L, "written", d->written);
  cra_set_i64(L, "start", d->start);
  if (d->expected >= 0) cra_set_i64(L, "expected", d->expected);
  cra_set_flag(L, "resumed", d->resumed);
  cra_set_flag(L, "complete", d->complete);
  cra_set_flag(L, "http_error", d->http_error);
  cra_set_flag(L, "over_max", d->over_max);
  cra_set_flag(L, "bad_range", d->bad_range);
  if (d->io_errno) {
    cra_set_flag(L, "io_error", 1);
    lua_pushstring(L, strerror(d->io_errno));
    lua_setfield(L, -2, "io_message");
  }
  if (d->excerpt.len > 0) {
    lua_pushlstring(L, d->excerpt.data, d->excerpt.len);
    lua_setfield(L, -2, "excerpt");
  }
}

/* ---- Lua binding ------------------------------------------------------ */

static cra_download_t *cra_check_sink(lua_State *L) {
  cra_download_t *d = (cra_download_t *)luaL_checkudata(L, 1, CRA_DOWNLOAD_SINK_MT);
  if (!d->active) luaL_error(L, "creatorapi.DownloadSink: sink is closed");
  return d;
}

/* Content-Length (integer, or nil/false: unknown) at idx. */
static long long cra_opt_length(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx) || (lua_isboolean(L, idx) && !lua_toboolean(L, idx))) return -1;
  return (long long)luaL_checknumber(L, idx);
}

/* sink:write(status, content_length, content_range, bytes) → true | false */
static int cra_sink_l_write(lua_State *L) {
  cra_download_t *d = cra_check_sink(L);
  long status = (long)luaL_checkinteger(L, 2);
  long long cl = cra_opt_length(L, 3);
  const char *cr = luaL_optstring(L, 4, NULL);
  size_t n;
  const char *p = luaL_checklstring(L, 5, &n);
  lua_pushboolean(L, cra_sink_write(d, status, cl, cr, p, n));
  return 1;
}

/* sink:finish(ok, status, content_length, content_range) */
static int cra_sink_l_finish(lua_State *L) {
  cra_download_t *d = cra_check_sink(L);
  cra_sink_finish(d, lua_toboolean(L, 2), (long)luaL_optinteger(L, 3, 0), cra_opt_length(L, 4),
                  luaL_optstring(L, 5, NULL));
  return 0;
}

/* sink:fields(raw) → raw */
static int cra_sink_l_fields(lua_State *L) {
  cra_download_t *d = cra_check_sink(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  cra_sink_push_fields(L, d);
  return 1;
}

static int cra_sink_l_close(lua_State *L) {
  cra_download_t *d = (cra_download_t *)luaL_checkudata(L, 1, CRA_DOWNLOAD_SINK_MT);
  if (d->active) {
    cra_sink_release(d);
    d->active = 0;
  }
  return 0;
}

/* core.download_sink(p): p.part (a core.part_file) or p.file, p.offset, p.max_bytes */
static int cra_sink_new(lua_State *L) {
  cra_download_t *d;
  long long max_bytes;
  cra_part_t *pf;
  luaL_checktype(L, 1, LUA_TTABLE);
  d = (cra_download_t *)cra_newuserdata(L, sizeof *d);
  memset(d, 0, sizeof *d);
  d->fd = -1;
  cra_setmetatable(L, CRA_DOWNLOAD_SINK_MT);
  lua_getfield(L, 1, "file");
  if (lua_type(L, -1) == LUA_TSTRING && !cra_store(&d->path, lua_tostring(L, -1), cra_rawlen(L, -1)))
    return luaL_error(L, "creatorapi.core.download_sink: out of memory");
  lua_pop(L, 1);
  d->offset = cra_field_int(L, 1, "offset", 0);
  max_bytes = cra_field_int(L, 1, "max_bytes", -1);
  d->max_bytes = max_bytes > 0 ? max_bytes : -1;
  lua_getfield(L, 1, "part");
  pf = cra_test_part(L, -1);
  lua_pop(L, 1);
  cra_sink_init(d, pf ? pf->fd : -1);
  return 1;
}

void cra_download_sink_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"write", cra_sink_l_write},
    {"finish", cra_sink_l_finish},
    {"fields", cra_sink_l_fields},
    {"close", cra_sink_l_close},
    {NULL, NULL}
  };
  luaL_newmetatable(L, CRA_DOWNLOAD_SINK_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, cra_sink_l_close);
  lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
  lua_pushcfunction(L, cra_sink_l_close);
  lua_setfield(L, -2, "__close");
#endif
  lua_pushliteral(L, CRA_DOWNLOAD_SINK_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_sink_new);
  lua_setfield(L, -2, "download_sink");
}
