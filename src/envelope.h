/*
 * envelope.h — turns a finished HTTP response into a result table or an
 * error table (docs/internals.md "Client", "Errors").
 *
 * CreatiVault: {success, data, error = {code, message}, meta}; success:false
 *   is an error whatever the HTTP status.
 * KeyAPI: {code, message, data, requestId}; code ~= 0 is an error.
 * HTTP >= 400 without a recognisable envelope → error by status; 2xx with a
 * non-JSON body or no envelope → protocol. Non-JSON bodies give a printable
 * body_excerpt (<= 200 bytes).
 */
#ifndef CRA_ENVELOPE_H
#define CRA_ENVELOPE_H

#include <stddef.h>
#include "compat.h"

#define CRA_EXCERPT_MAX 200

typedef struct cra_envelope_ctx {
  int dialect;             /* CRA_DIALECT_* */
  long status;             /* HTTP status */
  const char *body;        /* response body (may be NULL when len == 0) */
  size_t len;
  int max_depth;           /* JSON nesting limit */
  int headers_idx;         /* absolute index of the response headers table */
  const char *method;      /* for error tables */
  const char *path;
  const char *secret;      /* API key: redacted from messages/excerpts; may be NULL */
} cra_envelope_ctx;

/* Pushes {status, data, meta, headers} and returns 1, or an error table
 * and returns 0. Raises only on memory errors. stack: [-0, +1] */
CRA_HIDDEN int cra_envelope_build(lua_State *L, const cra_envelope_ctx *c);

/* Pushes s (len bytes) with every occurrence of secret replaced by
 * "[REDACTED]". stack: [-0, +1] */
/* Redacts, in place, the string values of the table at idx (nested tables
 * up to 4 levels). stack: [-0, +0] */
CRA_HIDDEN void cra_redact_table(lua_State *L, int idx, const char *secret, int depth);
CRA_HIDDEN void cra_push_redacted(lua_State *L, const char *s, size_t len,
                                  const char *secret);

/* Pushes a printable excerpt of at most CRA_EXCERPT_MAX bytes: valid UTF-8
 * kept, control characters → space, invalid bytes → '?'. stack: [-0, +1] */
CRA_HIDDEN void cra_push_excerpt(lua_State *L, const char *s, size_t len,
                                 const char *secret);

#endif /* CRA_ENVELOPE_H */
