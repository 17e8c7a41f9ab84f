/* creatorapi-mock: calling the Lua handlers (mock/lua/main.lua's `early` and
 * `handle`) for one request — the request table in, the response table out.
 * Always under mock_lua_lock, always through lua_pcall, so no Lua error can
 * unwind through libmicrohttpd. */
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

void mock_resp_free(struct resp *r)
{
    size_t i;
    for (i = 0; i < r->nh; i++) {
        free(r->hname[i]);
        free(r->hvalue[i]);
    }
    free(r->hname);
    free(r->hvalue);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static void push_request(lua_State *L, struct call_ctx *c)
{
    const char *q = c->r && c->r->uri ? strchr(c->r->uri, '?') : NULL;
    size_t i;
    lua_createtable(L, 0, 10);
    lua_pushstring(L, c->method);
    lua_setfield(L, -2, "method");
    if (c->r && c->r->uri) {
        lua_pushstring(L, c->r->uri);
        lua_setfield(L, -2, "target");
        lua_pushlstring(L, c->r->uri, q ? (size_t)(q - c->r->uri) : strlen(c->r->uri));
    } else {
        lua_pushstring(L, c->url);
    }
    lua_setfield(L, -2, "path");
    lua_pushstring(L, q ? q + 1 : "");
    lua_setfield(L, -2, "query");
    lua_pushstring(L, c->version ? c->version : "");
    lua_setfield(L, -2, "version");
    /* headers: array of {name, value} in arrival order */
    lua_createtable(L, (int)c->h->n, 0);
    for (i = 0; i < c->h->n; i++) {
        lua_createtable(L, 2, 0);
        lua_pushstring(L, c->h->name[i]);
        lua_rawseti(L, -2, 1);
        lua_pushstring(L, c->h->value[i] ? c->h->value[i] : "");
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "headers");
    if (c->r && c->r->body)
        lua_pushlstring(L, c->r->body, c->r->len);
    else
        lua_pushliteral(L, "");
    lua_setfield(L, -2, "body");
    lua_pushboolean(L, c->r && c->r->too_large);
    lua_setfield(L, -2, "body_too_large");
}

/* Response headers: t.headers = array of {name, value}. */
static void read_headers(lua_State *L, int t, struct resp *o)
{
    lua_getfield(L, t, "headers");
    if (lua_istable(L, -1)) {
        lua_Integer n = luaL_len(L, -1), i;
        if (n > 0) {
            o->hname = calloc((size_t)n, sizeof(char *));
            o->hvalue = calloc((size_t)n, sizeof(char *));
            if (!o->hname || !o->hvalue)
                luaL_error(L, "out of memory");
            for (i = 1; i <= n; i++) {
                int p;
                lua_rawgeti(L, -1, i);
                p = lua_gettop(L);
                if (lua_istable(L, p)) {
                    const char *k, *v;
                    lua_rawgeti(L, p, 1);
                    lua_rawgeti(L, p, 2);
                    k = lua_tostring(L, -2);
                    v = lua_tostring(L, -1);
                    if (k && v) {
                        o->hname[o->nh] = strdup(k);
                        o->hvalue[o->nh] = strdup(v);
                        o->nh++;
                        if (!o->hname[o->nh - 1] || !o->hvalue[o->nh - 1])
                            luaL_error(L, "out of memory");
                    }
                    lua_pop(L, 2);
                }
                lua_pop(L, 1);
            }
        }
    }
    lua_pop(L, 1);
}

/* Protected: c = upvalue-less light userdata at index 1. */
static int l_dispatch(lua_State *L)
{
    struct call_ctx *c = lua_touserdata(L, 1);
    struct resp *o = c->out;
    int t;

    lua_rawgeti(L, LUA_REGISTRYINDEX, c->srv->mod_ref);
    lua_getfield(L, -1, c->fn);
    if (!lua_isfunction(L, -1))
        return 0;
    push_request(L, c);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1))
        return 0;
    t = lua_gettop(L);
    c->has_result = 1;
    o->status = (int)mock_field_number(L, t, "status", 200);
    o->delay = mock_field_number(L, t, "delay", 0);
    o->truncate = (long long)mock_field_number(L, t, "truncate", -1);
    o->chunk = (size_t)mock_field_number(L, t, "chunk", 0);
    o->interval = mock_field_number(L, t, "interval", 0);
    lua_getfield(L, t, "reset");
    o->reset = lua_toboolean(L, -1);
    lua_pop(L, 1);
    o->body = mock_field_string(L, t, "body", &o->len);
    read_headers(L, t, o);
    return 0;
}

static void json_escape_into(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", ch);
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
}

int mock_call_lua(struct call_ctx *c)
{
    int rc, ret;
    lua_State *L = c->srv->L;
    pthread_mutex_lock(&mock_lua_lock);
    lua_settop(L, 0);
    lua_pushcfunction(L, l_dispatch);
    lua_pushlightuserdata(L, c);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char esc[1024];
        char buf[1400];
        int n;
        mock_resp_free(c->out);
        c->out->truncate = -1;
        json_escape_into(esc, sizeof esc, msg ? msg : "handler failed");
        n = snprintf(buf, sizeof buf,
                     "{\"success\":false,\"data\":null,\"error\":{\"code\":50001,"
                     "\"message\":\"mock handler error: %s\"},\"meta\":{\"request_id\":null}}",
                     esc);
        c->out->status = 500;
        c->out->body = mock_dupmem(buf, n > 0 ? (size_t)n : 0);
        c->out->len = c->out->body ? (size_t)n : 0;
        fprintf(stderr, "creatorapi-mock: %s %s: Lua error: %s\n", c->method, c->url,
                msg ? msg : "?");
        ret = -1;
    } else {
        ret = c->has_result;
    }
    lua_settop(L, 0);
    pthread_mutex_unlock(&mock_lua_lock);
    return ret;
}
