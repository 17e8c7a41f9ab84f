/* creatorapi-mock: the Lua state's lock and the table-field readers that every
 * C file calling into Lua shares (the request dispatch, the tick). */
#include "mock.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

pthread_mutex_t mock_lua_lock = PTHREAD_MUTEX_INITIALIZER;

char *mock_dupmem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *mock_field_string(lua_State *L, int t, const char *k, size_t *len)
{
    const char *s;
    size_t n;
    char *p = NULL;
    lua_getfield(L, t, k);
    s = lua_tolstring(L, -1, &n);
    if (s) {
        p = mock_dupmem(s, n);
        if (!p)
            luaL_error(L, "out of memory");
        if (len)
            *len = n;
    }
    lua_pop(L, 1);
    return p;
}

double mock_field_number(lua_State *L, int t, const char *k, double dflt)
{
    double v = dflt;
    lua_getfield(L, t, k);
    if (lua_isnumber(L, -1))
        v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}
