/* creatorapi-mock: the main thread's Lua tick — hands finished webhook
 * attempts to Lua (delivery_done) and submits the attempts Lua schedules
 * (tick) to the webhook workers. Runs under mock_lua_lock, in lua_pcall. */
#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

struct tick_ctx {
    struct mock_delivery *done;     /* in: finished attempts */
    struct mock_delivery *jobs;     /* out: attempts to start */
};

static int G_tick_mod_ref = LUA_NOREF; /* the main module, for l_tick */

static int l_tick(lua_State *L)
{
    struct tick_ctx *t = lua_touserdata(L, 1);
    struct mock_delivery *d;
    int mod, fn_done, n, i;

    lua_rawgeti(L, LUA_REGISTRYINDEX, G_tick_mod_ref);
    mod = lua_gettop(L);
    lua_getfield(L, mod, "delivery_done");
    fn_done = lua_gettop(L);
    for (d = t->done; d; d = d->next) {
        if (!lua_isfunction(L, fn_done))
            break;
        lua_pushvalue(L, fn_done);
        lua_pushinteger(L, (lua_Integer)d->id);
        lua_pushinteger(L, d->status);
        if (d->error)
            lua_pushstring(L, d->error);
        else
            lua_pushnil(L);
        lua_pushnumber(L, d->elapsed);
        lua_call(L, 4, 0);
    }
    lua_getfield(L, mod, "tick");
    if (!lua_isfunction(L, -1))
        return 0;
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return 0;
    n = (int)luaL_len(L, -1);
    for (i = 1; i <= n; i++) {
        int j = lua_gettop(L) + 1, nh, k;
        lua_rawgeti(L, -1, i);
        if (!lua_istable(L, j)) {
            lua_pop(L, 1);
            continue;
        }
        d = calloc(1, sizeof *d);
        if (!d)
            return luaL_error(L, "out of memory");
        d->next = t->jobs;
        t->jobs = d;
        d->id = (long long)mock_field_number(L, j, "id", 0);
        d->timeout_ms = (long)mock_field_number(L, j, "timeout_ms", 10000);
        d->url = mock_field_string(L, j, "url", NULL);
        d->body = mock_field_string(L, j, "body", &d->body_len);
        if (!d->url || !d->body)
            return luaL_error(L, "delivery without url/body");
        lua_getfield(L, j, "headers");
        nh = lua_istable(L, -1) ? (int)luaL_len(L, -1) : 0;
        d->headers = calloc((size_t)nh + 1, sizeof(char *));
        if (!d->headers)
            return luaL_error(L, "out of memory");
        for (k = 1; k <= nh; k++) {
            const char *s;
            lua_rawgeti(L, -1, k);
            s = lua_tostring(L, -1);
            d->headers[k - 1] = strdup(s ? s : "X-Empty:");
            lua_pop(L, 1);
            if (!d->headers[k - 1])
                return luaL_error(L, "out of memory");
        }
        lua_pop(L, 2);
    }
    return 0;
}

void mock_run_tick(lua_State *L, int mod_ref)
{
    struct tick_ctx t;
    struct mock_delivery *d, *next;
    G_tick_mod_ref = mod_ref;
    t.done = mock_webhook_take_done();
    t.jobs = NULL;
    pthread_mutex_lock(&mock_lua_lock);
    lua_settop(L, 0);
    lua_pushcfunction(L, l_tick);
    lua_pushlightuserdata(L, &t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "creatorapi-mock: tick: %s\n", lua_tostring(L, -1));
        for (d = t.jobs; d; d = next) {
            next = d->next;
            mock_delivery_free(d);
        }
        t.jobs = NULL;
    }
    lua_settop(L, 0);
    pthread_mutex_unlock(&mock_lua_lock);
    for (d = t.done; d; d = next) {
        next = d->next;
        mock_delivery_free(d);
    }
    for (d = t.jobs; d; d = next) {
        next = d->next;
        mock_webhook_submit(d);
    }
}

