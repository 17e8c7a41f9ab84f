/* creatorapi-mock: connection accounting and the header-completion guard.
 *
 * libmicrohttpd 0.9.75 only has an idle timeout (MHD_OPTION_CONNECTION_TIMEOUT):
 * a client that trickles one header byte every few seconds resets it and holds
 * its connection (and its thread) forever. The guard gives every request a
 * bound on the time until its headers are complete, counted from the moment
 * the connection opened or the previous request on it ended (keep-alive):
 *
 *   - the connection notification (listening thread) records the start time
 *     and the socket of each connection and unlinks it again on close; MHD
 *     runs the CLOSED notification before it closes the socket, and the
 *     unlink takes guard_lock, so a socket in the list is always still open;
 *   - the access handler marks the headers complete on its first call, the
 *     request-completed notification restarts the clock for the next request;
 *   - the main thread's sweep shuts down (shutdown(2), never close) the
 *     socket of every connection past the bound; the connection's own thread
 *     then sees end-of-file and MHD closes and frees it as usual.
 * Everything is under guard_lock; nothing here touches Lua. */
#include "mock.h"

#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>

struct guarded {
    int fd;                 /* the connection's socket, -1 when unknown */
    int headers_done;       /* the current request's headers arrived */
    int shut;               /* shutdown already issued */
    double since;           /* monotonic seconds: start of the current request */
    struct guarded *prev, *next;
};

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct guarded *G_head;
static double G_header_timeout = MOCK_HEADER_TIMEOUT_DEFAULT;
static unsigned long G_connections;     /* accepted since start or reset */
static unsigned long G_header_timeouts; /* connections the sweep shut down */

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mock_connections_configure(double header_timeout)
{
    pthread_mutex_lock(&guard_lock);
    G_header_timeout = header_timeout;
    pthread_mutex_unlock(&guard_lock);
}

static unsigned long read_counter(const unsigned long *counter)
{
    unsigned long n;
    pthread_mutex_lock(&guard_lock);
    n = *counter;
    pthread_mutex_unlock(&guard_lock);
    return n;
}

unsigned long mock_connections(void)
{
    return read_counter(&G_connections);
}

unsigned long mock_header_timeouts(void)
{
    return read_counter(&G_header_timeouts);
}

void mock_connections_reset(void)
{
    pthread_mutex_lock(&guard_lock);
    G_connections = 0;
    G_header_timeouts = 0;
    pthread_mutex_unlock(&guard_lock);
}

void mock_on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct guarded *g;
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        g = calloc(1, sizeof *g);
        if (g) {
            g->fd = info ? (int)info->connect_fd : -1;
            g->since = monotonic_now();
        }
        pthread_mutex_lock(&guard_lock);
        G_connections++;
        if (g) {
            g->next = G_head;
            if (G_head)
                G_head->prev = g;
            G_head = g;
        }
        pthread_mutex_unlock(&guard_lock);
        *socket_context = g;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && (g = *socket_context) != NULL) {
        pthread_mutex_lock(&guard_lock);
        if (g->prev)
            g->prev->next = g->next;
        else
            G_head = g->next;
        if (g->next)
            g->next->prev = g->prev;
        pthread_mutex_unlock(&guard_lock);
        free(g);
        *socket_context = NULL;
    }
}

static struct guarded *guarded_of(struct MHD_Connection *con)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

void mock_connection_headers_done(struct MHD_Connection *con)
{
    struct guarded *g = guarded_of(con);
    if (!g)
        return;
    pthread_mutex_lock(&guard_lock);
    g->headers_done = 1;
    pthread_mutex_unlock(&guard_lock);
}

void mock_connection_request_done(struct MHD_Connection *con)
{
    struct guarded *g = guarded_of(con);
    if (!g)
        return;
    pthread_mutex_lock(&guard_lock);
    g->headers_done = 0;
    g->since = monotonic_now();
    pthread_mutex_unlock(&guard_lock);
}

void mock_connections_sweep(void)
{
    static double last;
    double now = monotonic_now();
    struct guarded *g;
    if (now - last < 0.25)
        return;
    last = now;
    pthread_mutex_lock(&guard_lock);
    if (G_header_timeout > 0) {
        for (g = G_head; g; g = g->next) {
            if (g->headers_done || g->shut || g->fd < 0 || now - g->since <= G_header_timeout)
                continue;
            shutdown(g->fd, SHUT_RDWR);
            g->shut = 1;
            G_header_timeouts++;
        }
    }
    pthread_mutex_unlock(&guard_lock);
}

void mock_raise_fd_limit(unsigned long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}
