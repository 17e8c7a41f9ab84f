/* creatorapi-mock: one HTTP request as the request handler
 * (mock/request_handler.c) and the Lua dispatch (mock/lua_dispatch.c) share it. */
#ifndef CREATORAPI_MOCK_REQUEST_H
#define CREATORAPI_MOCK_REQUEST_H

#include "mock.h"

/* What the handler needs from main, given to MHD as the access handler's cls. */
struct mock_server {
    lua_State *L;           /* used only under mock_lua_lock */
    int mod_ref;            /* registry reference of mock/lua/main.lua's module */
    int quiet;              /* no access log on stderr */
};

/* Per-connection request state (MHD's con_cls). */
struct req {
    char *uri;              /* raw request target, as sent */
    int started;
    int too_large;
    char *body;
    size_t len, cap;
};

/* Request headers in arrival order (pointers into MHD's memory). */
struct hdrs {
    const char **name, **value;
    size_t n, cap;
    int oom;
};

/* The answer a Lua handler gave. */
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

struct call_ctx {
    const struct mock_server *srv;
    const char *fn;         /* "early" or "handle" */
    const char *method, *url, *version;
    struct req *r;
    struct hdrs *h;
    struct resp *out;
    int has_result;
};

void mock_resp_free(struct resp *r);

/* Calls module[c->fn](request) under mock_lua_lock, protected; fills *c->out.
 * Returns 1 when the handler gave a response table, 0 when it gave none, -1
 * after a Lua error (c->out is then a 500 naming it). */
int mock_call_lua(struct call_ctx *c);

/* libmicrohttpd callbacks (mock/request_handler.c); cls of the access handler
 * is a struct mock_server. */
enum MHD_Result mock_on_request(void *cls, struct MHD_Connection *con, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls);
void *mock_on_uri(void *cls, const char *uri, struct MHD_Connection *con);
void mock_on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                       enum MHD_RequestTerminationCode toe);
/* Cuts programmed delays and trickled bodies short (shutdown). */
void mock_requests_stop(void);

#endif
