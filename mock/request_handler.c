/* creatorapi-mock: the libmicrohttpd request handler — collects the request
 * (target, headers, body up to MAX_BODY), runs the Lua `early` hook when the
 * headers are in and `handle` once the body is, and writes the answer Lua
 * gave: delayed, reset, truncated or trickled when a fault says so.
 *
 * libmicrohttpd runs one thread per connection; delays and trickled bodies
 * sleep there, outside mock_lua_lock. */
#include "request.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (64u * 1024u * 1024u)

static volatile sig_atomic_t G_stopping; /* set on shutdown: cut delays short */

void mock_requests_stop(void)
{
    G_stopping = 1;
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

void *mock_on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct req *r = calloc(1, sizeof *r);
    (void)cls;
    (void)con;
    if (r)
        r->uri = strdup(uri ? uri : "/");
    return r;
}

void mock_on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
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

/* Appends n body bytes to r; past MAX_BODY the request is only marked too
 * large (the handler answers 413). -1 when out of memory. */
static int append_body(struct req *r, const char *data, size_t n)
{
    if (r->too_large)
        return 0;
    if (r->len + n > MAX_BODY) {
        r->too_large = 1;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t nc = r->cap ? r->cap : 4096;
        char *nb;
        while (nc < r->len + n + 1)
            nc *= 2;
        nb = realloc(r->body, nc);
        if (!nb)
            return -1;
        r->body = nb;
        r->cap = nc;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

/* The MHD response for Lua's answer; takes out->body. NULL when out of memory. */
static struct MHD_Response *make_response(struct resp *out)
{
    struct MHD_Response *res;
    size_t i;
    int have_ct = 0;
    if (out->truncate >= 0 || out->chunk > 0 || out->interval > 0) {
        struct stream *s = calloc(1, sizeof *s);
        size_t full = out->len;
        if (!s)
            return NULL;
        s->body = out->body;
        out->body = NULL;
        s->len = full;
        if (out->truncate >= 0 && (size_t)out->truncate < full) {
            s->len = (size_t)out->truncate;
            s->truncated = 1;
        }
        s->chunk = out->chunk;
        s->interval = out->interval;
        res = MHD_create_response_from_callback(full, 4096, stream_read, s, stream_free);
        if (!res) {
            stream_free(s);
            return NULL;
        }
    } else {
        res = MHD_create_response_from_buffer(out->len, out->body ? out->body : (void *)"",
                                              out->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (!res)
            return NULL;
        out->body = NULL; /* owned by the response now */
    }
    for (i = 0; i < out->nh; i++) {
        if (strcasecmp(out->hname[i], "Content-Type") == 0)
            have_ct = 1;
        MHD_add_response_header(res, out->hname[i], out->hvalue[i]);
    }
    if (!have_ct)
        MHD_add_response_header(res, "Content-Type", "application/json; charset=utf-8");
    return res;
}

/* Runs module.fn(request) with the request's headers; the call's rc. */
static int call_with_headers(struct MHD_Connection *con, struct call_ctx *c, const char *fn)
{
    struct hdrs *h = c->h;
    int rc = -2;
    MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, h);
    if (!h->oom) {
        c->fn = fn;
        rc = mock_call_lua(c);
    }
    free(h->name);
    free(h->value);
    return rc;
}

/* The whole request is in: run `handle` and queue its answer. */
static enum MHD_Result answer(struct MHD_Connection *con, struct call_ctx *c)
{
    struct resp *out = c->out;
    struct MHD_Response *res;
    enum MHD_Result ret;
    int rc = call_with_headers(con, c, "handle");
    if (rc == -2)
        return MHD_NO;
    if (rc == 0) {
        mock_resp_free(out);
        return send_simple(con, 500, "{\"success\":false,\"data\":null,\"error\":{\"code\":50001,"
                                     "\"message\":\"mock handler returned no response\"},\"meta\":null}");
    }
    if (!c->srv->quiet)
        fprintf(stderr, "%s %s -> %d\n", c->method, c->r->uri ? c->r->uri : c->url, out->status);
    sleep_seconds(out->delay);
    if (out->reset) {
        mock_resp_free(out);
        return MHD_NO;
    }
    res = make_response(out);
    if (!res) {
        mock_resp_free(out);
        return MHD_NO;
    }
    ret = MHD_queue_response(con, (unsigned int)(out->status > 0 ? out->status : 500), res);
    MHD_destroy_response(res);
    mock_resp_free(out);
    return ret;
}

enum MHD_Result mock_on_request(void *cls, struct MHD_Connection *con, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    struct req *r = *con_cls;
    struct hdrs h;
    struct resp out;
    struct call_ctx c;

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
    c.srv = cls;
    c.method = method;
    c.url = url;
    c.version = version;
    c.r = r;
    c.h = &h;
    c.out = &out;

    if (!r->started) {
        /* First call: the headers are complete. Fault hook that runs before
         * the body is read. */
        int reset;
        r->started = 1;
        mock_connection_headers_done(con);
        reset = call_with_headers(con, &c, "early") == 1 && out.reset;
        mock_resp_free(&out);
        return reset ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size) {
        if (append_body(r, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return answer(con, &c);
}
