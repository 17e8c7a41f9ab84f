/*
 * context.h — core.context(config): the pure half of a client.
 *
 * A context holds a client's configuration (base URL, credentials, timeouts,
 * retry policy, body/depth limits) and does everything that is not I/O:
 *   ctx:prepare(req)            request table → prepared request `p`   (prepare.c)
 *   ctx:prepare_download(opts)  download options → `p`                 (prepare.c)
 *   ctx:parse(p, raw)           one transport answer → res | nil, err  (answer.c)
 *   ctx:decide(p, err, n, raw)  retry policy → delay | nil             (retry_policy.c)
 *   ctx:config()                the non-secret settings a transport needs
 * Transports (the Lua modules under creatorapi.transport, and core.curl_engine) do the I/O;
 * the request loop (lua/creatorapi/request_loop.lua) ties them together.
 *
 * No function here blocks, sleeps or touches a socket, and none keeps the
 * lua_State past a call. Credentials never leave the context except in the
 * header lines of a prepared request (`p.headers`), which go to the wire.
 */
#ifndef CRA_CONTEXT_H
#define CRA_CONTEXT_H

#include "compat.h"
#include "util.h"

#define CRA_CONTEXT_MT "creatorapi.Context"

#define CRA_DEFAULT_TIMEOUT_MS 60000L
#define CRA_DEFAULT_CONNECT_TIMEOUT_MS 10000L
/* libcurl has no "no connect timeout" (0 means its 300 s default), so
 * `connect_timeout = false` uses the largest value it accepts. */
#define CRA_NO_CONNECT_TIMEOUT_MS 2147483647L
#define CRA_MAX_RETRIES_LIMIT 100

/* req.retry */
typedef enum {
  CRA_RETRY_SAFE = 0,   /* idempotent: retried on every transient failure */
  CRA_RETRY_SUBMIT,     /* creates billable work: retried only when provably not sent, or 429 */
  CRA_RETRY_NEVER
} cra_retry_mode;

/* Largest answer buffer a context keeps for its next request (answer.c). */
#define CRA_SPARE_BYTES ((size_t)256 * 1024)

typedef struct cra_ctx {
  int closed;
  int dialect;               /* CRA_DIALECT_* */
  char *base_url;            /* no trailing '/' */
  char *display_url;         /* base_url without userinfo, query or fragment */
  char *scheme;              /* "http" | "https" */
  char *host;                /* without brackets or userinfo */
  int port;
  char *base_path;           /* path part of base_url, no trailing '/' ("" for none) */
  char *api_key;
  int api_key_bad;           /* contains CR, LF or NUL */
  char *user_identity;
  int user_identity_bad;
  char *user_agent;
  char *line_key;            /* "X-API-Key: …", "X-User-Identity: …", "Authorization: Bearer …" */
  char *line_ident;          /* built once (NULL when the value is missing or bad) */
  char *line_authz;
  char *ca_file;
  char *proxy;
  int proxy_env;             /* a libcurl proxy variable was set when the context
                              * was made (proxy == NULL: libcurl reads them) */
  long timeout_ms;           /* 0 = disabled */
  long connect_timeout_ms;
  int insecure;
  size_t max_body;
  int max_depth;
  int max_retries;
  double retry_base, retry_cap, max_retry_after;
  unsigned long long rng;    /* xorshift64* state for the backoff jitter */
  long low_speed_limit, low_speed_time; /* downloads, 0 = off */
  cra_buf_t spare_body;      /* the last answer's buffers, emptied: parse (answer.c) */
  cra_buf_t spare_hdrs;      /* keeps them, the next eng:add takes them (no malloc) */
  unsigned long long serial; /* > 0, a new one per context (a plain counter: an
                              * engine only ever sees the contexts of its own
                              * Lua state): names the options a pooled easy
                              * handle carries (curl_xfer.c) */
} cra_ctx_t;

/* The context at idx (raises when it is not one, or is closed). */
CRA_HIDDEN cra_ctx_t *cra_ctx_check(lua_State *L, int idx);

/* Duplicates len bytes into *dst (freeing the old value). Returns 0 on OOM. */
CRA_HIDDEN int cra_store(char **dst, const char *s, size_t len);
CRA_HIDDEN int cra_has_crlfnul(const char *s, size_t len);

/* Seconds (number > 0) or false → ms; nil → dflt; false → disabled_ms.
 * Returns 1, or 0 when the value is invalid. */
CRA_HIDDEN int cra_timeout_ms(lua_State *L, int idx, long dflt, long disabled_ms, long *out);
/* nil → *out unchanged; a number in [lo, hi] (integral when asked) → *out. */
CRA_HIDDEN int cra_opt_number(lua_State *L, int idx, double lo, double hi, int integral,
                              double *out);
/* Positive number or false (0 = off); nil keeps *out; seconds rounded up. */
CRA_HIDDEN int cra_opt_low_speed(lua_State *L, int idx, long *out);
/* Pushes a validation error (attempts = 0, field, method, path). */
CRA_HIDDEN void cra_push_validation(lua_State *L, const char *field, const char *msg,
                                    const char *method, const char *path);
/* Field `name` of the table at t: an integer (NaN and out-of-range → dflt),
 * or its truth value. Raw tables from transports and `p` are read this way. */
CRA_HIDDEN long long cra_field_int(lua_State *L, int t, const char *name, long long dflt);
CRA_HIDDEN int cra_field_bool(lua_State *L, int t, const char *name);
/* Pushes {lower-case name = value} from a raw header block ("HTTP/1.1 …"
 * status line first). Repeated names are joined with ", ". */
CRA_HIDDEN void cra_push_header_block(lua_State *L, const char *data, size_t len);

/* An answer the curl engine received, handed to ctx:parse as raw.answer
 * without copying its header block and body into Lua strings. parse
 * consumes it (frees both buffers); __gc frees an answer never parsed. */
#define CRA_ANSWER_MT "creatorapi.Answer"
typedef struct cra_answer {
  cra_buf_t hdrs, body;
} cra_answer_t;
/* Pushes a new answer that takes over both buffers (they are left empty).
 * Allocates before taking them: on a memory error they stay where they were. */
CRA_HIDDEN void cra_push_answer(lua_State *L, cra_buf_t *hdrs, cra_buf_t *body);
/* Registers the Answer metatable. */
CRA_HIDDEN void cra_answer_open(lua_State *L);

/* ctx methods implemented in their own files */
CRA_HIDDEN int cra_ctx_prepare(lua_State *L);
/* stack: [-0, +1] The table of field names ctx:prepare closes over (prepare.c). */
CRA_HIDDEN void cra_prepare_keys(lua_State *L);
CRA_HIDDEN int cra_ctx_prepare_download(lua_State *L);
CRA_HIDDEN int cra_ctx_parse(lua_State *L);
CRA_HIDDEN int cra_ctx_decide(lua_State *L);

/* Registers core.context and the Context metatable. */
/* Registers core.context and the Context metatable: its own methods (config,
 * close) plus `ops`, the methods the layers above implement (core.c lists
 * them), so this file depends on none of them. */
CRA_HIDDEN void cra_context_open(lua_State *L, const luaL_Reg *ops);

#endif /* CRA_CONTEXT_H */
