/* creatorapi-mock: the command line (mock/options.c). */
#ifndef CREATORAPI_MOCK_OPTIONS_H
#define CREATORAPI_MOCK_OPTIONS_H

#include <lua.h>

struct mock_options {
    const char *host;           /* --host, default 127.0.0.1 */
    long port;                  /* --port, default 12111; 0 = any free port */
    const char *lua_dir;        /* --lua-dir, env CREATORAPI_MOCK_LUA_DIR, the build's mock/lua */
    const char *tls_cert, *tls_key; /* both or neither */
    int quiet;
    double header_timeout;      /* seconds; 0 = no bound */
};

/* Parses argv into *o and into the global MOCK_CONFIG table of L (every flag,
 * dashes as underscores, plus lua_dir and host) that mock/lua reads. Returns
 * -1 to go on, else the exit status (0 after --help, 2 after a bad argument,
 * with the message on stderr). */
int mock_parse_options(lua_State *L, int argc, char **argv, struct mock_options *o);

#endif
