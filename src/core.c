/*
 * core.c — luaopen_creatorapi_core, the only exported symbol.
 *
 * Wires the parts into one module table:
 *   json (json.h), context (context.c: prepare/parse/decide), curl_engine
 *   (curl_engine.c), limiter (limiter.c), errors (error.c), encode_query
 *   (query.c), hmac/sha256 (hmac.c), sleep/monotonic (util.c),
 *   display_width/truncate_width (display_width.c),
 *   redis/resp_reader/resp_command (redis.c), sqlite_store (sqlite_store.c), _VERSION, curl_version.
 *
 * Re-entrant: busted's insulate() drops package.loaded and requires the
 * module again in the same process while the .so (and its statics) stay
 * loaded (pitfall 14). Metatables are looked up or created by registry name
 * and refreshed in place; curl_global_init runs once per process.
 */
#include <stdlib.h>

#include <curl/curl.h>

#include "context.h"
#include "curl_engine.h"
#include "display_width.h"
#include "download_sink.h"
#include "error.h"
#include "hmac.h"
#include "http_response.h"
#include "json.h"
#include "limiter.h"
#include "part_file.h"
#include "query.h"
#include "redis.h"
#include "sqlite_store.h"
#include "util.h"
#include "version.h"

/* Exported despite -fvisibility=hidden. */
#if defined(__GNUC__)
#define CRA_EXPORT __attribute__((visibility("default")))
#else
#define CRA_EXPORT
#endif

CRA_EXPORT int luaopen_creatorapi_core(lua_State *L);

/* curl_global_init is not thread-safe on every libcurl build: require the
 * module before starting threads. Hosts that already initialised libcurl
 * (and want to keep their own flags) set CREATORAPI_NO_CURL_INIT=1. */
static int cra_curl_initialised = 0;

static int cra_curl_global_init(void) {
  if (cra_curl_initialised) return 1;
  if (getenv("CREATORAPI_NO_CURL_INIT") == NULL) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 0;
  }
  cra_curl_initialised = 1;
  return 1;
}

int luaopen_creatorapi_core(lua_State *L) {
  if (!cra_curl_global_init()) return luaL_error(L, "creatorapi.core: curl_global_init failed");

  lua_newtable(L);
  cra_json_open(L);
  cra_error_open(L);
  {
    static const luaL_Reg ctx_ops[] = {
      {"prepare", cra_ctx_prepare},            /* prepare.c */
      {"prepare_download", cra_ctx_prepare_download},
      {"parse", cra_ctx_parse},                /* answer.c */
      {"decide", cra_ctx_decide},              /* retry_policy.c */
      {NULL, NULL}
    };
    cra_context_open(L, ctx_ops);
    /* ctx:prepare again, as a closure over its field names interned once
     * (prepare.c: an array read per field instead of a C-string lookup) */
    luaL_getmetatable(L, CRA_CONTEXT_MT);
    lua_getfield(L, -1, "__index");
    cra_prepare_keys(L);
    lua_pushcclosure(L, cra_ctx_prepare, 1);
    lua_setfield(L, -2, "prepare");
    lua_pop(L, 2);
  }
  cra_answer_open(L);
  cra_curl_engine_open(L);
  cra_download_sink_open(L);
  cra_limiter_open(L);
  cra_query_open(L);
  cra_hmac_open(L);
  cra_part_file_open(L);
  cra_util_open(L);
  cra_display_width_open(L);
  cra_http_response_open(L);
  cra_redis_open(L);
  cra_sqlite_store_open(L);

  lua_pushliteral(L, "creatorapi.core");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, CRA_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
