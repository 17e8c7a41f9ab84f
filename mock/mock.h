/* creatorapi-mock: shared declarations of the C host.
 *
 * Threads:
 *   - libmicrohttpd: one thread per connection (handlers run there), plus its
 *     listening thread (connection notifications);
 *   - the main thread: waits for SIGTERM/SIGINT, runs the Lua tick and the
 *     connection guard's sweep;
 *   - webhook workers: outbound HTTP with libcurl, never touch Lua.
 * The Lua state is only ever used while holding mock_lua_lock. */
#ifndef CREATORAPI_MOCK_H
#define CREATORAPI_MOCK_H

#include <stddef.h>
#include <pthread.h>

#include <lua.h>
#include <microhttpd.h>

/* Lua state guard and table-field readers (mock/lua_access.c). */
extern pthread_mutex_t mock_lua_lock;
/* Field k of the table at t as a malloc'd copy (len optional) / a number. */
char *mock_field_string(lua_State *L, int t, const char *k, size_t *len);
double mock_field_number(lua_State *L, int t, const char *k, double dflt);
/* malloc'd, NUL-terminated copy of n bytes, or NULL. */
char *mock_dupmem(const char *s, size_t n);

/* Connections (mock/connections.c): accounting and the header-completion guard. */
#define MOCK_HEADER_TIMEOUT_DEFAULT 10.0
/* Seconds a request may take to complete its headers (0: no bound). */
void mock_connections_configure(double header_timeout);
/* Connections accepted / shut for slow headers since start or the last /_mock/reset. */
unsigned long mock_connections(void);
unsigned long mock_header_timeouts(void);
void mock_connections_reset(void);
/* MHD_OPTION_NOTIFY_CONNECTION callback. */
void mock_on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
/* First access-handler call of a request / its completion notification. */
void mock_connection_headers_done(struct MHD_Connection *con);
void mock_connection_request_done(struct MHD_Connection *con);
/* Main thread: shuts down connections past the header bound (at most 4x/s). */
void mock_connections_sweep(void);
/* Raises the soft RLIMIT_NOFILE to `want` (at most the hard limit). */
void mock_raise_fd_limit(unsigned long want);

/* One Lua tick: webhook results in, new attempts out (mock/tick.c). */
void mock_run_tick(lua_State *L, int mod_ref);

/* host.xlsx(header, rows, sheet_name) → bytes | nil, message (mock/xlsx.c, libxlsxwriter). */
int mock_l_xlsx(lua_State *L);

/* Registers the `host` table (mock/host.c) as a global in L. */
void mock_host_open(lua_State *L);

/* Webhook delivery queue (mock/webhook.c). */
struct mock_delivery {
    long long id;          /* delivery attempt id (from Lua) */
    char *url;
    char *body;
    size_t body_len;
    char **headers;        /* "Name: value", NULL terminated */
    long timeout_ms;
    /* result */
    long status;           /* HTTP status, 0 when no response */
    char *error;           /* curl message, or NULL */
    double elapsed;        /* seconds */
    struct mock_delivery *next;
};

int mock_webhook_start(int nworkers);
void mock_webhook_stop(void);
/* Takes ownership of d. */
void mock_webhook_submit(struct mock_delivery *d);
/* Returns a list of finished deliveries (caller frees with mock_delivery_free). */
struct mock_delivery *mock_webhook_take_done(void);
void mock_delivery_free(struct mock_delivery *d);

#endif
