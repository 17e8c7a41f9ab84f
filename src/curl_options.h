/*
 * curl_options.h — the libcurl options of one transfer, from a prepared
 * request or download (`p` of ctx:prepare / ctx:prepare_download) and its
 * context. Used by the curl engine when it adds a transfer (curl_engine.c).
 */
#ifndef CRA_CURL_OPTIONS_H
#define CRA_CURL_OPTIONS_H

#include <curl/curl.h>

#include "compat.h"
#include "context.h"
#include "curl_xfer.h"

/* Copies p's string field into *dst (malloc) → 1; 0 when missing. Raises on OOM. */
int cra_p_dup(lua_State *L, int p, const char *field, char **dst);
/* A request: method, headers (plus User-Agent, "Expect:" for bodies), body,
 * URL, timeouts, redirects, fresh connection, TLS. Raises on OOM. */
void cra_request_opts(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x);
/* A download: file sink, Range from the offset, low-speed abort, no API
 * header at all; then the same common options. Raises on OOM or no file. */
void cra_download_opts(lua_State *L, cra_ctx_t *c, CURL *e, int p, cra_xfer_t *x);

#endif
