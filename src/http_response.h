/*
 * http_response.h — core.http_response(max_body): an incremental HTTP/1.1
 * response parser on Debian's libhttp-parser (nodejs/http-parser 2.9), for
 * transports that own their sockets (the OpenResty cosocket transport).
 *
 * The http_parser callbacks only append to C buffers (cra_buf_t) and set
 * flags; every Lua value is built after http_parser_execute has returned,
 * so no Lua error can longjmp across the parser.
 */
#ifndef CRA_HTTP_RESPONSE_H
#define CRA_HTTP_RESPONSE_H

#include "compat.h"

/* Adds http_response and http_request (the same parser for requests: a
 * local webhook listener) to the table on top. stack: [-0, +0] */
CRA_HIDDEN void cra_http_response_open(lua_State *L);

#endif /* CRA_HTTP_RESPONSE_H */
