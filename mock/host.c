/* creatorapi-mock: the `host` table, small C services for the Lua handlers.
 * Every function here is called with mock_lua_lock held. */
#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#include <lauxlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

static void push_hex(lua_State *L, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * EVP_MAX_MD_SIZE + 1];
    char *out = buf;
    size_t i;
    if (n > EVP_MAX_MD_SIZE)
        n = EVP_MAX_MD_SIZE;
    for (i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 15];
    }
    lua_pushlstring(L, buf, 2 * n);
}

/* host.now() -> wall clock seconds (float) */
static int h_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

/* host.monotonic() -> seconds (float) */
static int h_monotonic(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int h_connections(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mock_connections());
    return 1;
}

static int h_header_timeouts(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mock_header_timeouts());
    return 1;
}

static int h_connections_reset(lua_State *L)
{
    mock_connections_reset();
    return 0;
}

/* host.hmac_sha256(key, msg) -> lower-case hex */
static int h_hmac_sha256(lua_State *L)
{
    size_t klen, mlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, md, &mdlen))
        return luaL_error(L, "HMAC failed");
    push_hex(L, md, mdlen);
    return 1;
}

/* host.sha256(s) -> hex */
static int h_sha256(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, len, md);
    push_hex(L, md, sizeof md);
    return 1;
}

/* host.random_hex(nbytes) -> 2*nbytes hex chars from the OS CSPRNG */
static int h_random_hex(lua_State *L)
{
    lua_Integer n = luaL_optinteger(L, 1, 16);
    unsigned char buf[64];
    luaL_argcheck(L, n > 0 && n <= (lua_Integer)sizeof buf, 1, "1..64 bytes");
    if (RAND_bytes(buf, (int)n) != 1)
        return luaL_error(L, "RAND_bytes failed");
    push_hex(L, buf, (size_t)n);
    return 1;
}

/* host.crc32(s [, crc]) -> integer (zip CRC-32) */
static int h_crc32(lua_State *L)
{
    static unsigned long table[256];
    static int ready;
    size_t len, i;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
    unsigned long crc = (unsigned long)luaL_optinteger(L, 2, 0) ^ 0xFFFFFFFFUL;
    if (!ready) {
        unsigned long c;
        int n, k;
        for (n = 0; n < 256; n++) {
            c = (unsigned long)n;
            for (k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320UL ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        ready = 1;
    }
    for (i = 0; i < len; i++)
        crc = table[(crc ^ s[i]) & 0xFF] ^ (crc >> 8);
    lua_pushinteger(L, (lua_Integer)((crc ^ 0xFFFFFFFFUL) & 0xFFFFFFFFUL));
    return 1;
}

/* host.mkdtemp() -> path of a fresh private directory */
static int h_mkdtemp(lua_State *L)
{
    const char *base = getenv("TMPDIR");
    char path[4096];
    if (!base || !*base)
        base = "/tmp";
    snprintf(path, sizeof path, "%s/creatorapi-mock-XXXXXX", base);
    if (!mkdtemp(path)) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushstring(L, path);
    return 1;
}

void mock_host_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"now", h_now},
        {"monotonic", h_monotonic},
        {"connections", h_connections},
        {"connections_reset", h_connections_reset},
        {"header_timeouts", h_header_timeouts},
        {"hmac_sha256", h_hmac_sha256},
        {"sha256", h_sha256},
        {"random_hex", h_random_hex},
        {"crc32", h_crc32},
        {"mkdtemp", h_mkdtemp},
        {"xlsx", mock_l_xlsx},
        {NULL, NULL}
    };
    luaL_newlib(L, fns);
    lua_setglobal(L, "host");
}
