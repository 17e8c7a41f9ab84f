/*
 * redis.c — Redis through libhiredis (Debian libhiredis-dev).
 *
 *   local r, err = core.redis{ host = "127.0.0.1", port = 6379, timeout = 0.5 }
 *   local v, msg, kind = r:command("SET", "k", "v", "PX", "1000")
 *   local ok, msg, kind = r:send("DEL", "k")  -- written now, reply not awaited
 *   r:close()                         -- also __gc / __close; idempotent
 *
 *   local rd = core.resp_reader()     -- for the OpenResty cosocket path
 *   rd:feed(bytes); local ok, v, msg = rd:get()
 *   local wire = core.resp_command{ "GET", "k" }
 *
 * core.redis is BLOCKING: connect, send and receive wait on the socket for at
 * most `timeout` seconds each (redisConnectWithTimeout + redisSetTimeout). It
 * is meant for Redis on loopback or a near LAN; OpenResty uses cosockets with
 * resp_reader instead, so no nginx worker ever blocks on Redis.
 *
 * Replies are converted to Lua values only after hiredis has returned (hiredis
 * has no callback into Lua here at all); the reply being converted is parked in
 * the userdata first, so a memory error while pushing it cannot leak it. No
 * lua_State is kept.
 *
 * Reply mapping: bulk/status string → string, integer → integer, nil → false,
 * array → Lua list (nested errors become { err = msg }). A top-level error
 * reply → nil, message, "redis"; an I/O failure → nil, message, "io" and the
 * connection is closed (the caller reconnects).
 *
 * r:send writes a command out at once and leaves its reply unread: the next
 * r:command sends its own command first, then reads and drops the replies of
 * the commands sent before it (error replies included) and returns its own,
 * so a command whose answer nobody needs costs no wait of its own. close
 * (and __gc) reads what is still unread first, 50 ms at most a reply.
 */
#include <math.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "redis.h"

#define CRA_REDIS_MT "creatorapi.Redis"
#define CRA_RESP_READER_MT "creatorapi.RespReader"
#define CRA_REDIS_MAX_ARGS 4096

typedef struct cra_redis {
  redisContext *c;
  redisReply *pending; /* reply being converted; freed on the next call or close */
  int unread;          /* replies of r:send commands not read yet */
} cra_redis_t;

typedef struct cra_resp_reader {
  redisReader *r;
  redisReply *pending;
} cra_resp_reader_t;

static struct timeval cra_tv(double s) {
  struct timeval tv;
  if (!(s > 0)) s = 0.001;
  if (s > 86400) s = 86400;
  tv.tv_sec = (time_t)floor(s);
  tv.tv_usec = (suseconds_t)((s - floor(s)) * 1e6);
  return tv;
}

/* Pushes one reply (depth-limited; hiredis itself caps nesting at 7). */
static void cra_push_reply(lua_State *L, const redisReply *r, int top) {
  size_t i;
  switch (r->type) {
  case REDIS_REPLY_STRING:
  case REDIS_REPLY_STATUS:
    lua_pushlstring(L, r->str, r->len);
    break;
  case REDIS_REPLY_INTEGER:
    cra_pushint64(L, r->integer);
    break;
  case REDIS_REPLY_ARRAY:
    luaL_checkstack(L, 4, "redis reply too deep");
    lua_createtable(L, (int)(r->elements > 1000000 ? 1000000 : r->elements), 0);
    for (i = 0; i < r->elements; i++) {
      cra_push_reply(L, r->element[i], 0);
      lua_rawseti(L, -2, (int)(i + 1));
    }
    break;
  case REDIS_REPLY_ERROR:
    if (top) {
      lua_pushlstring(L, r->str, r->len);
    } else {
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r->str, r->len);
      lua_setfield(L, -2, "err");
    }
    break;
  default: /* REDIS_REPLY_NIL */
    lua_pushboolean(L, 0);
    break;
  }
}

/* Converts a parked reply to the Lua return values; frees it. */
static int cra_return_reply(lua_State *L, redisReply **slot) {
  redisReply *r = *slot;
  if (r->type == REDIS_REPLY_ERROR) {
    lua_pushnil(L);
    cra_push_reply(L, r, 1);
    lua_pushliteral(L, "redis");
    freeReplyObject(r);
    *slot = NULL;
    return 3;
  }
  cra_push_reply(L, r, 1);
  freeReplyObject(r);
  *slot = NULL;
  return 1;
}

/* Reads and drops the replies r:send left unread → 1, or 0 on an I/O failure. */
static int cra_drain_unread(cra_redis_t *c) {
  for (; c->unread > 0; c->unread--) {
    void *r = NULL;
    if (redisGetReply(c->c, &r) != REDIS_OK || !r) return 0;
    freeReplyObject(r);
  }
  return 1;
}

static void cra_redis_release(cra_redis_t *c) {
  if (c->pending) {
    freeReplyObject(c->pending);
    c->pending = NULL;
  }
  if (c->c && !c->c->err && c->unread > 0) {
    /* Read what r:send left unread (normally already here; 50 ms at most
     * each): a socket closed with unread data sends a reset, and a command
     * the server had not read yet could be dropped with it. */
    struct timeval tv = { 0, 50000 };
    (void)redisSetTimeout(c->c, tv);
    (void)cra_drain_unread(c);
  }
  if (c->c) {
    redisFree(c->c);
    c->c = NULL;
  }
  c->unread = 0;
}

static cra_redis_t *cra_check_redis(lua_State *L) {
  return (cra_redis_t *)luaL_checkudata(L, 1, CRA_REDIS_MT);
}

static int cra_io_fail(lua_State *L, cra_redis_t *c, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "redis %s: %s", what, c->c && c->c->errstr[0] ? c->c->errstr : "connection lost");
  lua_pushliteral(L, "io");
  cra_redis_release(c);
  return 3;
}

/* Collects the arguments (strings or numbers) from index `first` on into
 * arrays allocated as userdata (collected by Lua, no leak on error). */
static int cra_collect_args(lua_State *L, int first, int last, const char ***argv, size_t **lens) {
  int argc = last - first + 1, i;
  luaL_argcheck(L, argc >= 1 && argc <= CRA_REDIS_MAX_ARGS, first, "1 to 4096 command words expected");
  *argv = (const char **)lua_newuserdata(L, sizeof(char *) * (size_t)argc);
  *lens = (size_t *)lua_newuserdata(L, sizeof(size_t) * (size_t)argc);
  for (i = 0; i < argc; i++) {
    int t = lua_type(L, first + i);
    if (t != LUA_TSTRING && t != LUA_TNUMBER) {
      return luaL_argerror(L, first + i, "string or number expected");
    }
    (*argv)[i] = lua_tolstring(L, first + i, &(*lens)[i]);
  }
  return argc;
}

/* Appends the command in the arguments from 2 on to the output buffer →
 * 0, or the number of results pushed (nil, msg, "io"). */
static int cra_append_args(lua_State *L, cra_redis_t *c, const char *what) {
  const char **argv;
  size_t *lens;
  int argc = cra_collect_args(L, 2, lua_gettop(L), &argv, &lens);
  if (!c->c) {
    lua_pushnil(L);
    lua_pushliteral(L, "redis: connection closed");
    lua_pushliteral(L, "io");
    return 3;
  }
  if (redisAppendCommandArgv(c->c, argc, argv, lens) != REDIS_OK) return cra_io_fail(L, c, what);
  return 0;
}

/* r:command(word, ...) → value | nil, msg, "redis" | "io" */
static int cra_redis_command(lua_State *L) {
  cra_redis_t *c = cra_check_redis(L);
  int n;
  if (c->pending) {
    freeReplyObject(c->pending);
    c->pending = NULL;
  }
  if ((n = cra_append_args(L, c, "command")) != 0) return n;
  /* Replies come in order: those of the commands sent before first. */
  if (!cra_drain_unread(c)) return cra_io_fail(L, c, "command");
  if (redisGetReply(c->c, (void **)&c->pending) != REDIS_OK || !c->pending) return cra_io_fail(L, c, "command");
  return cra_return_reply(L, &c->pending);
}

/* r:send(word, ...) → true | nil, msg, "io": the command is written out now;
 * its reply is read (and dropped) by the next r:command. */
static int cra_redis_send(lua_State *L) {
  cra_redis_t *c = cra_check_redis(L);
  int n, done = 0;
  if ((n = cra_append_args(L, c, "send")) != 0) return n;
  c->unread++;
  do {
    if (redisBufferWrite(c->c, &done) != REDIS_OK) return cra_io_fail(L, c, "send");
  } while (!done);
  lua_pushboolean(L, 1);
  return 1;
}

/* r:connected() → boolean */
static int cra_redis_connected(lua_State *L) {
  cra_redis_t *c = cra_check_redis(L);
  lua_pushboolean(L, c->c != NULL);
  return 1;
}

static int cra_redis_close(lua_State *L) {
  cra_redis_release(cra_check_redis(L));
  return 0;
}

static int cra_redis_tostring(lua_State *L) {
  cra_redis_t *c = cra_check_redis(L);
  lua_pushfstring(L, "creatorapi.Redis (%s): %p", c->c ? "open" : "closed", (void *)c);
  return 1;
}

/* core.redis{ host=, port=, path= (unix socket), timeout= } → conn | nil, msg, "io" */
static int cra_redis_new(lua_State *L) {
  const char *host, *path;
  lua_Integer port;
  double timeout;
  cra_redis_t *c;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "host");
  host = luaL_optstring(L, -1, "127.0.0.1");
  lua_getfield(L, 1, "port");
  port = luaL_optinteger(L, -1, 6379);
  lua_getfield(L, 1, "path");
  path = luaL_optstring(L, -1, NULL);
  lua_getfield(L, 1, "timeout");
  timeout = luaL_optnumber(L, -1, 1.0);
  luaL_argcheck(L, port > 0 && port < 65536, 1, "port must be 1..65535");
  luaL_argcheck(L, timeout > 0, 1, "timeout must be > 0 seconds");
  c = (cra_redis_t *)lua_newuserdata(L, sizeof *c);
  c->c = NULL;
  c->pending = NULL;
  c->unread = 0;
  luaL_getmetatable(L, CRA_REDIS_MT);
  lua_setmetatable(L, -2);
  c->c = path ? redisConnectUnixWithTimeout(path, cra_tv(timeout))
              : redisConnectWithTimeout(host, (int)port, cra_tv(timeout));
  if (!c->c || c->c->err) return cra_io_fail(L, c, "connect");
  if (redisSetTimeout(c->c, cra_tv(timeout)) != REDIS_OK) return cra_io_fail(L, c, "connect");
  return 1;
}

/* ---- the reader (no socket: bytes in, replies out) ---- */

static cra_resp_reader_t *cra_check_reader(lua_State *L) {
  return (cra_resp_reader_t *)luaL_checkudata(L, 1, CRA_RESP_READER_MT);
}

static void cra_reader_release(cra_resp_reader_t *rd) {
  if (rd->pending) {
    freeReplyObject(rd->pending);
    rd->pending = NULL;
  }
  if (rd->r) {
    redisReaderFree(rd->r);
    rd->r = NULL;
  }
}

static int cra_reader_closed(lua_State *L) {
  lua_pushnil(L);
  lua_pushliteral(L, "resp reader closed");
  lua_pushliteral(L, "protocol");
  return 3;
}

/* rd:feed(bytes) → true | nil, msg, "protocol" */
static int cra_reader_feed(lua_State *L) {
  cra_resp_reader_t *rd = cra_check_reader(L);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  if (!rd->r) return cra_reader_closed(L);
  if (redisReaderFeed(rd->r, s, n) != REDIS_OK) {
    lua_pushnil(L);
    lua_pushstring(L, rd->r->errstr[0] ? rd->r->errstr : "resp reader: out of memory");
    lua_pushliteral(L, "protocol");
    return 3;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* rd:get() → false (need more bytes) | true, value | nil, msg, "redis" | nil, msg, "protocol" */
static int cra_reader_get(lua_State *L) {
  cra_resp_reader_t *rd = cra_check_reader(L);
  void *reply = NULL;
  int n;
  if (!rd->r) return cra_reader_closed(L);
  if (rd->pending) {
    freeReplyObject(rd->pending);
    rd->pending = NULL;
  }
  if (redisReaderGetReply(rd->r, &reply) != REDIS_OK) {
    lua_pushnil(L);
    lua_pushstring(L, rd->r->errstr[0] ? rd->r->errstr : "resp reader error");
    lua_pushliteral(L, "protocol");
    cra_reader_release(rd); /* a protocol error is sticky in hiredis: drop it */
    return 3;
  }
  if (!reply) {
    lua_pushboolean(L, 0);
    return 1;
  }
  rd->pending = (redisReply *)reply;
  if (rd->pending->type == REDIS_REPLY_ERROR) return cra_return_reply(L, &rd->pending);
  lua_pushboolean(L, 1);
  n = cra_return_reply(L, &rd->pending);
  return n + 1;
}

static int cra_reader_close(lua_State *L) {
  cra_reader_release(cra_check_reader(L));
  return 0;
}

/* core.resp_reader() */
static int cra_reader_new(lua_State *L) {
  cra_resp_reader_t *rd = (cra_resp_reader_t *)lua_newuserdata(L, sizeof *rd);
  rd->r = NULL;
  rd->pending = NULL;
  luaL_getmetatable(L, CRA_RESP_READER_MT);
  lua_setmetatable(L, -2);
  rd->r = redisReaderCreate();
  if (!rd->r) return luaL_error(L, "resp_reader: out of memory");
  return 1;
}

/* The encoded command lives in a boxed pointer with a __gc, so a memory
 * error while pushing it cannot leak hiredis's allocation. */
#define CRA_RESP_CMD_MT "creatorapi.RespCommand"

static int cra_cmdbox_gc(lua_State *L) {
  char **box = (char **)luaL_checkudata(L, 1, CRA_RESP_CMD_MT);
  if (*box) {
    redisFreeCommand(*box);
    *box = NULL;
  }
  return 0;
}

/* core.resp_command{ word, ... } → the RESP bytes of one command */
static int cra_resp_command(lua_State *L) {
  const char **argv;
  size_t *lens;
  char **box;
  int argc, i, len;
  luaL_checktype(L, 1, LUA_TTABLE);
  argc = (int)cra_rawlen(L, 1);
  luaL_argcheck(L, argc >= 1 && argc <= CRA_REDIS_MAX_ARGS, 1, "1 to 4096 command words expected");
  luaL_checkstack(L, argc + 8, "too many command words");
  for (i = 1; i <= argc; i++) lua_rawgeti(L, 1, i);
  argc = cra_collect_args(L, 2, argc + 1, &argv, &lens);
  box = (char **)lua_newuserdata(L, sizeof *box);
  *box = NULL;
  luaL_getmetatable(L, CRA_RESP_CMD_MT);
  lua_setmetatable(L, -2);
  len = redisFormatCommandArgv(box, argc, argv, lens);
  if (len < 0 || !*box) return luaL_error(L, "resp_command: out of memory");
  lua_pushlstring(L, *box, (size_t)len);
  redisFreeCommand(*box);
  *box = NULL;
  return 1;
}

static void cra_new_mt(lua_State *L, const char *name, const luaL_Reg *methods,
                       lua_CFunction close, lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, close);
  lua_setfield(L, -2, "__close");
  if (tostring) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void cra_redis_open(lua_State *L) {
  static const luaL_Reg conn[] = {
    {"command", cra_redis_command},
    {"send", cra_redis_send},
    {"connected", cra_redis_connected},
    {"close", cra_redis_close},
    {NULL, NULL}
  };
  static const luaL_Reg reader[] = {
    {"feed", cra_reader_feed},
    {"get", cra_reader_get},
    {"close", cra_reader_close},
    {NULL, NULL}
  };
  cra_new_mt(L, CRA_REDIS_MT, conn, cra_redis_close, cra_redis_tostring);
  cra_new_mt(L, CRA_RESP_READER_MT, reader, cra_reader_close, NULL);
  luaL_newmetatable(L, CRA_RESP_CMD_MT);
  lua_pushcfunction(L, cra_cmdbox_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_redis_new);
  lua_setfield(L, -2, "redis");
  lua_pushcfunction(L, cra_reader_new);
  lua_setfield(L, -2, "resp_reader");
  lua_pushcfunction(L, cra_resp_command);
  lua_setfield(L, -2, "resp_command");
}
