/* creatorapi-mock: libmicrohttpd host that hands every request to Lua 5.4.
 *
 *   creatorapi-mock [--host 127.0.0.1] [--port 12111] [--lua-dir DIR] [--seed N]
 *                   [--quiet] [--string-values] [--time-scale N] [...]
 *
 * The first line on stdout is "listening on http://HOST:PORT". See docs/mock.md.
 *
 * This file starts and stops the pieces: the command line (options.c), the
 * Lua state and its `host` table (host.c), the HTTP daemon with its request
 * handler (request_handler.c, lua_dispatch.c) and connection guard
 * (connections.c), the webhook workers (webhook.c); then its main thread
 * waits for SIGTERM/SIGINT and runs the Lua tick (tick.c) and the guard's
 * sweep every 20 ms. */
#include "mock.h"
#include "options.h"
#include "request.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lualib.h>

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

/* What a started mock holds; freed by teardown(). */
struct mock_host {
    struct mock_options opt;
    struct mock_server srv;
    char *cert_pem, *key_pem;
    struct sockaddr_storage ss;
    int is_v6;
    int curl_ready;
    struct MHD_Daemon *d;
};

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

/* Runs DIR/main.lua; the registry reference of the module table it returns,
 * LUA_NOREF after a message. */
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
        return LUA_NOREF;
    }
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "creatorapi-mock: %s must return a table\n", path);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Reads the PEM files of --tls-cert/--tls-key. 0, or 2 after a message. */
static int load_tls(struct mock_host *h)
{
    if (!h->opt.tls_cert)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        fputs("creatorapi-mock: libmicrohttpd was built without TLS\n", stderr);
        return 2;
    }
    h->cert_pem = read_file(h->opt.tls_cert);
    h->key_pem = read_file(h->opt.tls_key);
    if (!h->cert_pem || !h->key_pem) {
        fprintf(stderr, "creatorapi-mock: cannot read %s\n",
                h->cert_pem ? h->opt.tls_key : h->opt.tls_cert);
        return 2;
    }
    return 0;
}

/* --host and --port as a socket address. 0, or 2 after a message. */
static int resolve(struct mock_host *h)
{
    struct addrinfo hints, *ai = NULL;
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(h->opt.host, NULL, &hints, &ai);
    if (rc != 0 || !ai) {
        fprintf(stderr, "creatorapi-mock: cannot resolve --host '%s': %s\n", h->opt.host,
                gai_strerror(rc));
        return 2;
    }
    memset(&h->ss, 0, sizeof h->ss);
    memcpy(&h->ss, ai->ai_addr, ai->ai_addrlen);
    h->is_v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (h->is_v6)
        ((struct sockaddr_in6 *)&h->ss)->sin6_port = htons((unsigned short)h->opt.port);
    else
        ((struct sockaddr_in *)&h->ss)->sin_port = htons((unsigned short)h->opt.port);
    return 0;
}

static struct MHD_Daemon *start_daemon(struct mock_host *h)
{
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    uint16_t port = (uint16_t)h->opt.port;
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
        flags |= MHD_USE_POLL; /* no FD_SETSIZE limit on busy benchmarks */
    if (!h->opt.quiet)
        flags |= MHD_USE_ERROR_LOG;
    if (h->is_v6)
        flags |= MHD_USE_IPv6;
    if (h->cert_pem)
        return MHD_start_daemon(flags | MHD_USE_TLS, port, NULL, NULL, mock_on_request, &h->srv,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->ss,
                                MHD_OPTION_URI_LOG_CALLBACK, mock_on_uri, NULL,
                                MHD_OPTION_NOTIFY_COMPLETED, mock_on_completed, NULL,
                                MHD_OPTION_NOTIFY_CONNECTION, mock_on_connection, NULL,
                                MOCK_CONNECTION_LIMITS,
                                MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem,
                                MHD_OPTION_HTTPS_MEM_KEY, h->key_pem,
                                MHD_OPTION_END);
    return MHD_start_daemon(flags, port, NULL, NULL, mock_on_request, &h->srv,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->ss,
                            MHD_OPTION_URI_LOG_CALLBACK, mock_on_uri, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, mock_on_completed, NULL,
                            MHD_OPTION_NOTIFY_CONNECTION, mock_on_connection, NULL,
                            MOCK_CONNECTION_LIMITS,
                            MHD_OPTION_END);
}

/* MOCK_CONFIG.port/base_url from the bound port, and the "listening on" line. */
static void announce(struct mock_host *h)
{
    lua_State *L = h->srv.L;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    long port = info ? (long)info->port : h->opt.port;
    pthread_mutex_lock(&mock_lua_lock);
    lua_getglobal(L, "MOCK_CONFIG");
    lua_pushinteger(L, port);
    lua_setfield(L, -2, "port");
    lua_pushfstring(L, "%s://%s%s%s:%d", h->cert_pem ? "https" : "http", h->is_v6 ? "[" : "",
                    h->opt.host, h->is_v6 ? "]" : "", (int)port);
    lua_setfield(L, -2, "base_url");
    lua_getfield(L, -1, "base_url");
    printf("listening on %s\n", lua_tostring(L, -1));
    fflush(stdout);
    lua_settop(L, 0);
    pthread_mutex_unlock(&mock_lua_lock);
}

/* Everything up to a listening daemon. -1 when running, else the exit status. */
static int start(struct mock_host *h, int argc, char **argv)
{
    int rc;
    lua_State *L = luaL_newstate();
    if (!L) {
        fputs("creatorapi-mock: cannot create Lua state\n", stderr);
        return 2;
    }
    h->srv.L = L;
    h->srv.mod_ref = LUA_NOREF;
    luaL_openlibs(L);
    mock_host_open(L);
    rc = mock_parse_options(L, argc, argv, &h->opt);
    if (rc >= 0)
        return rc;
    h->srv.quiet = h->opt.quiet;
    mock_connections_configure(h->opt.header_timeout);
    if (load_tls(h) != 0 || resolve(h) != 0)
        return 2;
    curl_global_init(CURL_GLOBAL_ALL);
    h->curl_ready = 1;
    h->srv.mod_ref = load_lua(L, h->opt.lua_dir);
    if (h->srv.mod_ref == LUA_NOREF)
        return 2;
    if (mock_webhook_start(4) != 0)
        fputs("creatorapi-mock: warning: no webhook worker threads\n", stderr);
    mock_raise_fd_limit(MOCK_MAX_CONNECTIONS + 256);
    h->d = start_daemon(h);
    if (!h->d) {
        fprintf(stderr, "creatorapi-mock: cannot listen on %s:%ld\n", h->opt.host, h->opt.port);
        return 1;
    }
    announce(h);
    return -1;
}

static void teardown(struct mock_host *h)
{
    mock_requests_stop();
    if (h->d)
        MHD_stop_daemon(h->d);
    mock_webhook_stop();
    if (h->srv.L)
        lua_close(h->srv.L);
    if (h->curl_ready)
        curl_global_cleanup();
    free(h->cert_pem);
    free(h->key_pem);
}

int main(int argc, char **argv)
{
    static struct mock_host h;
    sigset_t set;
    int rc;

    /* Signals are taken synchronously by the main thread only (sigtimedwait
     * below); blocking them first means a SIGTERM during start-up (dataset
     * generation) still ends in a clean shutdown. Threads inherit the mask. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    rc = start(&h, argc, argv);
    if (rc >= 0) {
        teardown(&h);
        return rc;
    }
    for (;;) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        mock_run_tick(h.srv.L, h.srv.mod_ref);
        mock_connections_sweep();
    }
    if (!h.opt.quiet)
        fputs("creatorapi-mock: shutting down\n", stderr);
    teardown(&h);
    return 0;
}
