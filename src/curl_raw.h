/*
 * curl_raw.h — a finished curl transfer as ctx:parse's `raw` (curl_raw.c).
 */
#ifndef CRA_CURL_RAW_H
#define CRA_CURL_RAW_H

#include "compat.h"
#include "curl_xfer.h"

/* stack: [-0, +1] raw for the finished transfer x (a request or a download);
 * a request's answer buffers move into the Answer userdata. */
CRA_HIDDEN void cra_push_xfer_raw(lua_State *L, cra_xfer_t *x);

#endif
