/*
 * error.h — creatorapi error tables (docs/internals.md "Errors").
 *
 * An error is a plain Lua table with the metatable registered as
 * "creatorapi.Error" (exposed as core.error_mt). Its C __tostring prints kind,
 * status, code, request_id, message and retry_after: never a credential, a
 * header or a URL. Builders push onto the stack and may raise only on memory
 * errors; callers must not hold unowned malloc'd memory across them.
 */
#ifndef CRA_ERROR_H
#define CRA_ERROR_H

#include <stddef.h>
#include <curl/curl.h>
#include "compat.h"

#define CRA_ERROR_MT "creatorapi.Error"

/* Dialects, shared by the client and the envelope code. */
#define CRA_DIALECT_CREATIVAULT 1
#define CRA_DIALECT_KEYAPI 2

/* stack: [-0, +1]; pushes {kind=, message=, retryable=} with error_mt. */
CRA_HIDDEN void cra_error_push(lua_State *L, const char *kind, const char *msg,
                               size_t msglen);
/* Set a field on the error table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_error_setint(lua_State *L, const char *field, long long v);
CRA_HIDDEN void cra_error_setstr(lua_State *L, const char *field, const char *s);

/* Kind for an HTTP status without an envelope ("server" for 5xx, …). */
CRA_HIDDEN const char *cra_error_kind_for_status(long status);
/* Kind for an API error code in the given dialect; falls back on status. */
CRA_HIDDEN const char *cra_error_kind_for_code(int dialect, long long code,
                                               long status);
/* Kind for a failed libcurl transfer: "network", "timeout", "tls", … */
CRA_HIDDEN const char *cra_error_kind_for_curl(CURLcode rc);
CRA_HIDDEN int cra_error_retryable(const char *kind);

/* Parses a Retry-After value: delay-seconds or an HTTP date. Returns 1 and
 * sets *seconds (never negative), or 0 when unparseable. */
CRA_HIDDEN int cra_retry_after_parse(const char *s, long long *seconds);

/* Registers the metatable and adds error_mt and new_error to the table on
 * top. Safe to run again (re-require). stack: [-0, +0] */
CRA_HIDDEN void cra_error_open(lua_State *L);

#endif /* CRA_ERROR_H */
