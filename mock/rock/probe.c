/* Compiled and linked (never run) by `make rock-mock` before the mock is
 * built for the rock: it succeeds only when every header and library the
 * mock needs is installed (libmicrohttpd, Lua 5.4, libcurl, libcrypto,
 * libxlsxwriter). Otherwise the rock installs without the mock: see
 * mock/rock/missing.sh and docs/decisions.md ("The mock in the rock"). */
#include <microhttpd.h>
#include <lua.h>
#include <lauxlib.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <xlsxwriter.h>

#if LUA_VERSION_NUM != 504
#error "the mock embeds Lua 5.4 (liblua5.4-dev)"
#endif

int main(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_IPv6) == MHD_YES && luaL_newstate() && curl_version()
        && EVP_sha256() && workbook_new(NULL) ? 0 : 1;
}
