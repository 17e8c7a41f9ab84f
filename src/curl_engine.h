/*
 * curl_engine.h — core.curl_engine: see curl_engine.c.
 */
#ifndef CRA_CURL_ENGINE_H
#define CRA_CURL_ENGINE_H

#include "compat.h"

CRA_HIDDEN void cra_curl_engine_open(lua_State *L);

#endif /* CRA_CURL_ENGINE_H */
