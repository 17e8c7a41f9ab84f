/* creatorapi-mock: libmicrohttpd host that hands every request to Lua 5.4.
 *
 *   creatorapi-mock [--host 127.0.0.1] [--port 12111] [--lua-dir DIR] [--seed N]
 *                   [--quiet] [--string-values] [--time-scale N] [...]
 *
 * The first line on stdout is "listening on http://HOST:PORT". See docs/mock.md.
 *
 * Concurrency: libmicrohttpd runs one thread per connection; every use of the
 * single lua_State happens under mock_lua_lock, and every call into Lua goes
 * through lua_pcall, so no Lua error can unwind through libmicrohttpd. Delays
 * and trickled bodies (fault injection) sleep outside the lock. */
#include "mock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <curl/curl.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef MOCK_LUA_DIR
#define MOCK_LUA_DIR "mock/lua"
#endif

#define MAX_BODY (64u * 1024u * 1024u)

/* Connections: libmicrohttpd's default limit is FD_SETSIZE - 4 (1020), so
 * ~1 100 slow clients that never finish their headers took every slot and
 * /_mock/health went unanswered. Allow many more (one thread each, the fd
 * limit raised to match) and drop a connection idle for 60 s. Loopback
 * clients share one address, so a per-IP limit would starve the tests.
 * The idle timeout restarts on every byte; the header bound that a trickling
 * client cannot reset lives in mock/connections.c (--header-timeout). */
#define MOCK_MAX_CONNECTIONS 8192u
#define MOCK_CONNECTION_LIMITS \
    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MOCK_MAX_CONNECTIONS, \
    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60

pthread_mutex_t mock_lua_lock = PTHREAD_MUTEX_INITIALIZER;

static lua_State *G_L;
static int G_mod_ref = LUA_NOREF;
static int G_quiet;
static volatile sig_atomic_t G_stopping; /* set on SIGTERM/SIGINT: cut delays short */
/* ------------------------------------------------------------------ */
/* Per-request state                                                    */

struct req {
    char *uri;              /* raw request target, as sent */
    int started;
    int too_large;
    char *body;
    size_t len, cap;
};

struct hdrs {
    const char **name, **value;
    size_t n, cap;
    int oom;
};

struct resp {
    int status;
    size_t nh;
    char **hname, **hvalue;
    char *body;
    size_t len;
    double delay;           /* seconds to wait before answering */
    int reset;              /* close the connection without answering */
    long long truncate;     /* send only this many body bytes, then close (-1: off) */
    size_t chunk;           /* trickle: bytes per write (0: off) */
    double interval;        /* trickle: seconds between writes */
};

static void resp_free(struct resp *r)
{
    size_t i;
    for (i = 0; i < r->nh; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    free(r->hname);
    free(r->hvalue);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static char *dupmem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Sleeps in slices of at most 50 ms so that shutdown never waits for a
 * programmed delay or a trickled body. */
static void sleep_seconds(double s)
{
    if (s > 600)
        s = 600;
    while (s > 0 && !G_stopping) {
        double step = s > 0.05 ? 0.05 : s;
        struct timespec ts;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(step * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        s -= step;
    }
}

/* ------------------------------------------------------------------ */
/* Calling into Lua (always protected, always under mock_lua_lock)     */

struct call_ctx {
    const char *fn;         /* "early" or "handle" */
    const char *method, *url, *version;
    struct req *r;
    struct hdrs *h;
    struct resp *out;
    int has_result;
};

static void push_request(lua_State *L, struct call_ctx *c)
{
    const char *q = c->r && c->r->uri ? strchr(c->r->uri, '?') : NULL;
    size_t i;
    lua_createtable(L, 0, 10);
    lua_pushstring(L, c->method);
    lua_setfield(L, -2, "method");
    if (c->r && c->r->uri) {
        lua_pushstring(L, c->r->uri);
        lua_setfield(L, -2, "target");
        lua_pushlstring(L, c->r->uri, q ? (size_t)(q - c->r->uri) : strlen(c->r->uri));
    } else {
        lua_pushstring(L, c->url);
    }
    lua_setfield(L, -2, "path");
    lua_pushstring(L, q ? q + 1 : "");
    lua_setfield(L, -2, "query");
    lua_pushstring(L, c->version ? c->version : "");
    lua_setfield(L, -2, "version");
    /* headers: array of {name, value} in arrival order */
    lua_createtable(L, (int)c->h->n, 0);
    for (i = 0; i < c->h->n; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, c->h->name[i]);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, c->h->value[i] ? c->h->value[i] : "");
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "headers");
    if (c->r && c->r->body)
        lua_pushlstring(L, c->r->body, c->r->len);
    else
        lua_pushliteral(L, "");
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, c->r && c->r->too_large);
    lua_setfield(L, -2, "body_too_large");
}

char *mock_field_string(lua_State *L, int t, const char *k, size_t *len)
{
    const char *s;
    size_t n;
    char *p = NULL;
    lua_getfield(L, t, k);
    s = lua_tolstring(L, -1, &n);
    if (s) {
        p = dupmem(s, n);
        if (!p)
            luaL_error(L, "out of memory");
        if (len)
            *len = n;
    }
    lua_pop(L, 1);
    return p;
}

double mock_field_number(lua_State *L, int t, const char *k, double dflt)
{
    double v = dflt;
    lua_getfield(L, t, k);
    if (lua_isnumber(L, -1))
        v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* Protected: c = upvalue-less light userdata at index 1. */
static int l_dispatch(lua_State *L)
{
    struct call_ctx *c = lua_touserdata(L, 1);
    struct resp *o = c->out;
    int t;

    lua_rawgeti(L, LUA_REGISTRYINDEX, G_mod_ref);
    lua_getfield(L, -1, c->fn);
    if (!lua_isfunction(L, -1))
        return 0;
    push_request(L, c);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1))
        return 0;
    t = lua_gettop(L);
    c->has_result = 1;
    o->status = (int)mock_field_number(L, t, "status", 200);
    o->delay = mock_field_number(L, t, "delay", 0);
    o->truncate = (long long)mock_field_number(L, t, "truncate", -1);
    o->chunk = (size_t)mock_field_number(L, t, "chunk", 0);
    o->interval = mock_field_number(L, t, "interval", 0);
    lua_getfield(L, t, "reset");
    o->reset = lua_toboolean(L, -1);
    lua_pop(L, 1);
    o->body = mock_field_string(L, t, "body", &o->len);
    lua_getfield(L, t, "headers");
    if (lua_istable(L, -1)) {
        lua_Integer n = luaL_len(L, -1), i;
        if (n > 0) {
            o->hname = calloc((size_t)n, sizeof(char *));
            o->hvalue = calloc((size_t)n, sizeof(char *));
            if (!o->hname || !o->hvalue)
                return luaL_error(L, "out of memory");
            for (i = 1; i <= n; i++) {
                int p;
                lua_rawgeti(L, -1, i);
                p = lua_gettop(L);
                if (lua_istable(L, p)) {
                    const char *k, *v;
                    lua_rawgeti(L, p, 1);
                    lua_rawgeti(L, p, 2);
                    k = lua_tostring(L, -2);
                    v = lua_tostring(L, -1);
                    if (k && v) {
                        o->hname[o->nh] = strdup(k);
                        o->hvalue[o->nh] = strdup(v);
                        o->nh++;
                        if (!o->hname[o->nh - 1] || !o->hvalue[o->nh - 1])
                            return luaL_error(L, "out of memory");
                    }
                    lua_pop(L, 2);
                }
                lua_pop(L, 1);
            }
        }
    }
    lua_pop(L, 1);
    return 0;
}

static void json_escape_into(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", ch);
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
}

/* Calls module[fn](request); fills *out. Returns 1 when the handler gave a
 * response table, 0 when it gave none, -1 after a Lua error (out = 500). */
static int call_lua(struct call_ctx *c)
{
    int rc, ret;
    lua_State *L = G_L;
    pthread_mutex_lock(&mock_lua_lock);
    lua_settop(L, 0);
    lua_pushcfunction(L, l_dispatch);
    lua_pushlightuserdata(L, c);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char esc[1024];
        char buf[1400];
        int n;
        resp_free(c->out);
        c->out->truncate = -1;
        json_escape_into(esc, sizeof esc, msg ? msg : "handler failed");
        n = snprintf(buf, sizeof buf,
                     "{\"success\":false,\"data\":null,\"error\":{\"code\":50001,"
                     "\"message\":\"mock handler error: %s\"},\"meta\":{\"request_id\":null}}",
                     esc);
        c->out->status = 500;
        c->out->body = dupmem(buf, n > 0 ? (size_t)n : 0);
        c->out->len = c->out->body ? (size_t)n : 0;
        fprintf(stderr, "creatorapi-mock: %s %s: Lua error: %s\n", c->method, c->url,
                msg ? msg : "?");
        ret = -1;
    } else {
        ret = c->has_result;
    }
    lua_settop(L, 0);
    pthread_mutex_unlock(&mock_lua_lock);
    return ret;
}

/* ------------------------------------------------------------------ */
/* libmicrohttpd callbacks                                              */

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value)
{
    struct hdrs *h = cls;
    (void)kind;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 16;
        const char **nn = realloc(h->name, nc * sizeof *nn);
        const char **nv;
        if (!nn) {
            h->oom = 1;
            return MHD_NO;
        }
        h->name = nn;
        nv = realloc(h->value, nc * sizeof *nv);
        if (!nv) {
            h->oom = 1;
            return MHD_NO;
        }
        h->value = nv;
        h->cap = nc;
    }
    h->name[h->n] = key;
    h->value[h->n] = value;
    h->n++;
    return MHD_YES;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct req *r = calloc(1, sizeof *r);
    (void)cls;
    (void)con;
    if (r)
        r->uri = strdup(uri ? uri : "/");
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)toe;
    mock_connection_request_done(con);
    if (r) {
        free(r->uri);
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

struct stream {
    char *body;
    size_t len;         /* bytes we will actually send */
    int truncated;
    size_t chunk;
    double interval;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    size_t n;
    if (G_stopping)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (pos >= s->len)
        return s->truncated ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    if (s->interval > 0 && pos > 0)
        sleep_seconds(s->interval);
    n = s->len - (size_t)pos;
    if (n > max)
        n = max;
    if (s->chunk && n > s->chunk)
        n = s->chunk;
    memcpy(buf, s->body + pos, n);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    free(s->body);
    free(s);
}

static enum MHD_Result send_simple(struct MHD_Connection *con, unsigned int status, const char *text)
{
    struct MHD_Response *res = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                               MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");
    ret = MHD_queue_response(con, status, res);
    MHD_destroy_response(res);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct req *r = *con_cls;
    struct hdrs h;
    struct resp out;
    struct call_ctx c;
    struct MHD_Response *res;
    enum MHD_Result ret;
    size_t i;
    int have_ct = 0, rc;

    (void)cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
    }
    memset(&h, 0, sizeof h);
    memset(&out, 0, sizeof out);
    out.truncate = -1;
    memset(&c, 0, sizeof c);
    c.method = method;
    c.url = url;
    c.version = version;
    c.r = r;
    c.h = &h;
    c.out = &out;

    if (!r->started) {
        r->started = 1;
        mock_connection_headers_done(con);
        /* Fault hook that runs before the body is read. */
        MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, &h);
        c.fn = "early";
        rc = call_lua(&c);
        free(h.name);
        free(h.value);
        if (rc == 1 && out.reset) {
            resp_free(&out);
            return MHD_NO;
        }
        resp_free(&out);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (!r->too_large) {
            if (r->len + n > MAX_BODY) {
                r->too_large = 1;
            } else {
                if (r->len + n + 1 > r->cap) {
                    size_t nc = r->cap ? r->cap : 4096;
                    char *nb;
                    while (nc < r->len + n + 1)
                        nc *= 2;
                    nb = realloc(r->body, nc);
                    if (!nb)
                        return MHD_NO;
                    r->body = nb;
                    r->cap = nc;
                }
                memcpy(r->body + r->len, upload_data, n);
                r->len += n;
                r->body[r->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }

    MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, &h);
    if (h.oom) {
        free(h.name);
        free(h.value);
        return MHD_NO;
    }
    c.fn = "handle";
    rc = call_lua(&c);
    free(h.name);
    free(h.value);
    if (rc == 0) {
        resp_free(&out);
        return send_simple(con, 500, "{\"success\":false,\"data\":null,\"error\":{\"code\":50001,"
                                     "\"message\":\"mock handler returned no response\"},\"meta\":null}");
    }
    if (!G_quiet)
        fprintf(stderr, "%s %s -> %d\n", method, r->uri ? r->uri : url, out.status);

    sleep_seconds(out.delay);
    if (out.reset) {
        resp_free(&out);
        return MHD_NO;
    }
    if (out.truncate >= 0 || out.chunk > 0 || out.interval > 0) {
        struct stream *s = calloc(1, sizeof *s);
        size_t full = out.len;
        if (!s) {
            resp_free(&out);
            return MHD_NO;
        }
        s->body = out.body;
        out.body = NULL;
        s->len = full;
        if (out.truncate >= 0 && (size_t)out.truncate < full) {
            s->len = (size_t)out.truncate;
            s->truncated = 1;
        }
        s->chunk = out.chunk;
        s->interval = out.interval;
        res = MHD_create_response_from_callback(full, 4096, stream_read, s, stream_free);
        if (!res) {
            stream_free(s);
            resp_free(&out);
            return MHD_NO;
        }
    } else {
        res = MHD_create_response_from_buffer(out.len, out.body ? out.body : (void *)"",
                                              out.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!res) {
            resp_free(&out);
            return MHD_NO;
        }
        out.body = NULL; /* owned by the response now */
    }
    for (i = 0; i < out.nh; i++) {
        if (strcasecmp(out.hname[i], "Content-Type") == 0)
            have_ct = 1;
        MHD_add_response_header(res, out.hname[i], out.hvalue[i]);
    }
    if (!have_ct)
        MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");
    ret = MHD_queue_response(con, (unsigned int)(out.status > 0 ? out.status : 500), res);
    MHD_destroy_response(res);
    resp_free(&out);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Tick: mock-time work (task progress, webhook scheduling)            */

/* ------------------------------------------------------------------ */
/* Command line                                                         */

static const char *const value_flags[] = {
    "host", "port", "lua-dir", "seed", "time-scale", "webhook-secret", "rate-limit",
    "daily-quota", "credits", "tls-cert", "tls-key", "file-url-ttl", "webhook-retries",
    "keyapi-rate-limit", "header-timeout", NULL
};
static const char *const bool_flags[] = {
    "quiet", "string-values", "allow-insecure-webhooks", NULL
};

static void usage(FILE *f)
{
    fputs("usage: creatorapi-mock [--host ADDR] [--port N] [--lua-dir DIR] [--seed N]\n"
          "                       [--quiet] [--string-values] [--time-scale N]\n"
          "                       [--webhook-secret S] [--allow-insecure-webhooks]\n"
          "                       [--webhook-retries N] [--file-url-ttl SECONDS]\n"
          "                       [--rate-limit N] [--daily-quota N] [--credits N]\n"
          "                       [--keyapi-rate-limit N] [--tls-cert PEM --tls-key PEM]\n"
          "                       [--header-timeout SECONDS]\n"
          "Defaults: --host 127.0.0.1 --port 12111; see docs/mock.md.\n", f);
}

static int is_in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static int load_lua(lua_State *L, const char *dir)
{
    char path[4096];
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", dir, dir);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    snprintf(path, sizeof path, "%s/main.lua", dir);
    if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
        fprintf(stderr, "creatorapi-mock: cannot load %s: %s\n", path, lua_tostring(L, -1));
        return -1;
    }
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "creatorapi-mock: %s must return a table\n", path);
        return -1;
    }
    G_mod_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port_s = "12111", *lua_dir = NULL;
    const char *tls_cert = NULL, *tls_key = NULL, *header_timeout_s = NULL;
    double header_timeout = MOCK_HEADER_TIMEOUT_DEFAULT;
    char *cert_pem = NULL, *key_pem = NULL;
    struct sockaddr_storage ss;
    struct addrinfo hints, *ai = NULL;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    unsigned int flags;
    sigset_t set;
    lua_State *L;
    long port;
    int i, rc, is_v6;
    char *end;

    /* Signals are taken synchronously by the main thread only (sigtimedwait
     * below); blocking them first means a SIGTERM during start-up (dataset
     * generation) still ends in a clean shutdown. Threads inherit the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    L = luaL_newstate();
    if (!L) {
        fputs("creatorapi-mock: cannot create Lua state\n", stderr);
        return 2;
    }
    G_L = L;
    luaL_openlibs(L);
    mock_host_open(L);
    lua_newtable(L); /* MOCK_CONFIG */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char key[64];
        size_t k;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            lua_close(L);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0 || strlen(a + 2) >= sizeof key) {
            fprintf(stderr, "creatorapi-mock: unexpected argument '%s'\n", a);
            usage(stderr);
            lua_close(L);
            return 2;
        }
        a += 2;
        {
            const char *eq = strchr(a, '=');
            const char *val = NULL;
            size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
            memcpy(key, a, nlen);
            key[nlen] = '\0';
            if (is_in(bool_flags, key) && !eq) {
                val = NULL;
            } else if (is_in(value_flags, key)) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else {
                    fprintf(stderr, "creatorapi-mock: --%s needs a value\n", key);
                    lua_close(L);
                    return 2;
                }
            } else {
                fprintf(stderr, "creatorapi-mock: unknown option '--%s'\n", key);
                usage(stderr);
                lua_close(L);
                return 2;
            }
            if (strcmp(key, "host") == 0) host = val;
            else if (strcmp(key, "port") == 0) port_s = val;
            else if (strcmp(key, "lua-dir") == 0) lua_dir = val;
            else if (strcmp(key, "tls-cert") == 0) tls_cert = val;
            else if (strcmp(key, "tls-key") == 0) tls_key = val;
            else if (strcmp(key, "quiet") == 0) G_quiet = 1;
            else if (strcmp(key, "header-timeout") == 0) header_timeout_s = val;
            for (k = 0; key[k]; k++)
                if (key[k] == '-')
                    key[k] = '_';
            if (val)
                lua_pushstring(L, val);
            else
                lua_pushboolean(L, 1);
            lua_setfield(L, -2, key);
        }
    }
    errno = 0;
    port = strtol(port_s, &end, 10);
    if (errno || *end || port < 0 || port > 65535) {
        fprintf(stderr, "creatorapi-mock: bad --port '%s'\n", port_s);
        lua_close(L);
        return 2;
    }
    if (header_timeout_s) {
        errno = 0;
        header_timeout = strtod(header_timeout_s, &end);
        if (errno || end == header_timeout_s || *end || !(header_timeout >= 0 && header_timeout <= 3600)) {
            fprintf(stderr, "creatorapi-mock: bad --header-timeout '%s' (0 to 3600 seconds)\n",
                    header_timeout_s);
            lua_close(L);
            return 2;
        }
    }
    mock_connections_configure(header_timeout);
    if (!lua_dir)
        lua_dir = getenv("CREATORAPI_MOCK_LUA_DIR");
    if (!lua_dir || !*lua_dir)
        lua_dir = MOCK_LUA_DIR;
    lua_pushstring(L, lua_dir);
    lua_setfield(L, -2, "lua_dir");
    lua_pushstring(L, host);
    lua_setfield(L, -2, "host");
    lua_setglobal(L, "MOCK_CONFIG");

    if ((tls_cert == NULL) != (tls_key == NULL)) {
        fputs("creatorapi-mock: --tls-cert and --tls-key go together\n", stderr);
        lua_close(L);
        return 2;
    }
    if (tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            fputs("creatorapi-mock: libmicrohttpd was built without TLS\n", stderr);
            lua_close(L);
            return 2;
        }
        cert_pem = read_file(tls_cert);
        key_pem = read_file(tls_key);
        if (!cert_pem || !key_pem) {
            fprintf(stderr, "creatorapi-mock: cannot read %s\n", cert_pem ? tls_key : tls_cert);
            free(cert_pem);
            free(key_pem);
            lua_close(L);
            return 2;
        }
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0 || !ai) {
        fprintf(stderr, "creatorapi-mock: cannot resolve --host '%s': %s\n", host, gai_strerror(rc));
        free(cert_pem);
        free(key_pem);
        lua_close(L);
        return 2;
    }
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    is_v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (is_v6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((unsigned short)port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((unsigned short)port);

    curl_global_init(CURL_GLOBAL_ALL);
    if (load_lua(L, lua_dir) != 0) {
        free(cert_pem);
        free(key_pem);
        lua_close(L);
        curl_global_cleanup();
        return 2;
    }

    if (mock_webhook_start(4) != 0)
        fputs("creatorapi-mock: warning: no webhook worker threads\n", stderr);

    mock_raise_fd_limit(MOCK_MAX_CONNECTIONS + 256);
    flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL; /* no FD_SETSIZE limit on busy benchmarks */
    if (!G_quiet)
        flags |= MHD_USE_ERROR_LOG;
    if (is_v6)
        flags |= MHD_USE_IPv6;
    if (cert_pem)
        flags |= MHD_USE_TLS;
    if (cert_pem)
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_NOTIFY_CONNECTION, mock_on_connection, NULL,
                             MOCK_CONNECTION_LIMITS,
                             MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                             MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                             MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_NOTIFY_CONNECTION, mock_on_connection, NULL,
                             MOCK_CONNECTION_LIMITS,
                             MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "creatorapi-mock: cannot listen on %s:%ld\n", host, port);
        mock_webhook_stop();
        free(cert_pem);
        free(key_pem);
        lua_close(L);
        curl_global_cleanup();
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        port = info->port;

    pthread_mutex_lock(&mock_lua_lock);
    lua_getglobal(L, "MOCK_CONFIG");
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "port");
    lua_pushfstring(L, "%s://%s%s%s:%d", cert_pem ? "https" : "http", is_v6 ? "[" : "", host,
                    is_v6 ? "]" : "", (int)port);
    lua_setfield(L, -2, "base_url");
    lua_getfield(L, -1, "base_url");
    printf("listening on %s\n", lua_tostring(L, -1));
    fflush(stdout);
    lua_settop(L, 0);
    pthread_mutex_unlock(&mock_lua_lock);

    for (;;) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        mock_run_tick(G_L, G_mod_ref);
        mock_connections_sweep();
    }
    if (!G_quiet)
        fputs("creatorapi-mock: shutting down\n", stderr);
    G_stopping = 1;
    MHD_stop_daemon(d);
    mock_webhook_stop();
    lua_close(L);
    G_L = NULL;
    curl_global_cleanup();
    free(cert_pem);
    free(key_pem);
    return 0;
}
