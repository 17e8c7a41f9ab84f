/* creatorapi-mock: the command line. Every flag lands in MOCK_CONFIG for the
 * Lua handlers; the few the C host needs also in struct mock_options. */
#include "options.h"
#include "mock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MOCK_LUA_DIR
#define MOCK_LUA_DIR "mock/lua"
#endif

static const char *const value_flags[] = {
    "host", "port", "lua-dir", "seed", "time-scale", "webhook-secret", "rate-limit",
    "daily-quota", "credits", "tls-cert", "tls-key", "file-url-ttl", "webhook-retries",
    "keyapi-rate-limit", "header-timeout", NULL
};
static const char *const bool_flags[] = {
    "quiet", "string-values", "allow-insecure-webhooks", NULL
};

static void usage(FILE *f)
{
    fputs("usage: creatorapi-mock [--host ADDR] [--port N] [--lua-dir DIR] [--seed N]\n"
          "                       [--quiet] [--string-values] [--time-scale N]\n"
          "                       [--webhook-secret S] [--allow-insecure-webhooks]\n"
          "                       [--webhook-retries N] [--file-url-ttl SECONDS]\n"
          "                       [--rate-limit N] [--daily-quota N] [--credits N]\n"
          "                       [--keyapi-rate-limit N] [--tls-cert PEM --tls-key PEM]\n"
          "                       [--header-timeout SECONDS]\n"
          "Defaults: --host 127.0.0.1 --port 12111; see docs/mock.md.\n", f);
}

static int is_in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* The C host's own flags. */
static void take(struct mock_options *o, const char *key, const char *val,
                 const char **port_s, const char **header_timeout_s)
{
    if (strcmp(key, "host") == 0) o->host = val;
    else if (strcmp(key, "port") == 0) *port_s = val;
    else if (strcmp(key, "lua-dir") == 0) o->lua_dir = val;
    else if (strcmp(key, "tls-cert") == 0) o->tls_cert = val;
    else if (strcmp(key, "tls-key") == 0) o->tls_key = val;
    else if (strcmp(key, "quiet") == 0) o->quiet = 1;
    else if (strcmp(key, "header-timeout") == 0) *header_timeout_s = val;
}

/* Stores --key (val, or true) in the table on top of L as MOCK_CONFIG.key_name. */
static void store(lua_State *L, char *key, const char *val)
{
    size_t k;
    for (k = 0; key[k]; k++)
        if (key[k] == '-')
            key[k] = '_';
    if (val)
        lua_pushstring(L, val);
    else
        lua_pushboolean(L, 1);
    lua_setfield(L, -2, key);
}

/* Checks the numbers and fills in the defaults. 0, or 2 after a message. */
static int finish(struct mock_options *o, const char *port_s, const char *header_timeout_s)
{
    char *end;
    errno = 0;
    o->port = strtol(port_s, &end, 10);
    if (errno || *end || o->port < 0 || o->port > 65535) {
        fprintf(stderr, "creatorapi-mock: bad --port '%s'\n", port_s);
        return 2;
    }
    if (header_timeout_s) {
        errno = 0;
        o->header_timeout = strtod(header_timeout_s, &end);
        if (errno || end == header_timeout_s || *end ||
            !(o->header_timeout >= 0 && o->header_timeout <= 3600)) {
            fprintf(stderr, "creatorapi-mock: bad --header-timeout '%s' (0 to 3600 seconds)\n",
                    header_timeout_s);
            return 2;
        }
    }
    if ((o->tls_cert == NULL) != (o->tls_key == NULL)) {
        fputs("creatorapi-mock: --tls-cert and --tls-key go together\n", stderr);
        return 2;
    }
    if (!o->lua_dir)
        o->lua_dir = getenv("CREATORAPI_MOCK_LUA_DIR");
    if (!o->lua_dir || !*o->lua_dir)
        o->lua_dir = MOCK_LUA_DIR;
    return 0;
}

int mock_parse_options(lua_State *L, int argc, char **argv, struct mock_options *o)
{
    const char *port_s = "12111", *header_timeout_s = NULL;
    int i, rc;

    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->header_timeout = MOCK_HEADER_TIMEOUT_DEFAULT;
    lua_newtable(L); /* MOCK_CONFIG */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        char key[64];
        size_t nlen;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0 || strlen(a + 2) >= sizeof key) {
            fprintf(stderr, "creatorapi-mock: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        a += 2;
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        memcpy(key, a, nlen);
        key[nlen] = '\0';
        if (is_in(bool_flags, key) && !eq) {
            val = NULL;
        } else if (is_in(value_flags, key)) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "creatorapi-mock: --%s needs a value\n", key);
                return 2;
            }
        } else {
            fprintf(stderr, "creatorapi-mock: unknown option '--%s'\n", key);
            usage(stderr);
            return 2;
        }
        take(o, key, val, &port_s, &header_timeout_s);
        store(L, key, val);
    }
    rc = finish(o, port_s, header_timeout_s);
    if (rc != 0)
        return rc;
    lua_pushstring(L, o->lua_dir);
    lua_setfield(L, -2, "lua_dir");
    lua_pushstring(L, o->host);
    lua_setfield(L, -2, "host");
    lua_setglobal(L, "MOCK_CONFIG");
    return -1;
}
