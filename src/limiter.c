/*
 * limiter.c — core.limiter(n, per): the in-process rate limiter of a client.
 *
 *   local lim = core.limiter(60, 60)
 *   local token, wait = lim:acquire(now)   -- token, or nil and seconds to wait
 *   …send…
 *   lim:release(token, now)
 *
 * `n` tokens, the bucket starts full. A token is taken when an attempt
 * starts and comes back `per` seconds after that attempt finished, so at
 * most n attempts reach the server in any window of `per` seconds, whatever
 * the server's window alignment (docs/reliability.md "Transport"). Pure: the
 * caller passes the clock and does the waiting (through its transport).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"

#define CRA_LIMITER_MT "creatorapi.Limiter"

typedef struct cra_limiter {
  int n;
  double per;
  double free_at[1];      /* n entries; HUGE_VAL while held */
} cra_limiter_t;

static cra_limiter_t *cra_check_limiter(lua_State *L) {
  return (cra_limiter_t *)luaL_checkudata(L, 1, CRA_LIMITER_MT);
}

/* lim:acquire(now) → token | nil, seconds to wait */
static int cra_limiter_acquire(lua_State *L) {
  cra_limiter_t *l = cra_check_limiter(L);
  double now = luaL_checknumber(L, 2), best = HUGE_VAL;
  int i, slot = -1;
  for (i = 0; i < l->n; i++) {
    if (l->free_at[i] < best) {
      best = l->free_at[i];
      slot = i;
    }
  }
  if (slot >= 0 && best <= now) {
    l->free_at[slot] = HUGE_VAL;
    lua_pushinteger(L, slot + 1);
    return 1;
  }
  lua_pushnil(L);
  /* Every token held: none can be free before `per` from now. */
  lua_pushnumber(L, slot < 0 ? l->per : best - now);
  return 2;
}

/* lim:release(token, now): the token is free again `per` seconds from now. */
static int cra_limiter_release(lua_State *L) {
  cra_limiter_t *l = cra_check_limiter(L);
  lua_Integer t = luaL_checkinteger(L, 2);
  double now = luaL_checknumber(L, 3);
  if (t < 1 || t > l->n) return luaL_argerror(L, 2, "not a token of this limiter");
  l->free_at[t - 1] = now + l->per;
  return 0;
}

/* core.limiter(n, per) */
static int cra_limiter_new(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  double per = luaL_checknumber(L, 2);
  cra_limiter_t *l;
  int i;
  luaL_argcheck(L, n >= 1 && n <= 1000000, 1, "requests must be an integer from 1 to 1000000");
  luaL_argcheck(L, per > 0 && per <= 86400, 2, "per must be seconds in (0, 86400]");
  l = (cra_limiter_t *)cra_newuserdata(L, sizeof *l + (size_t)(n - 1) * sizeof l->free_at[0]);
  l->n = (int)n;
  l->per = per;
  for (i = 0; i < l->n; i++) l->free_at[i] = 0.0; /* the bucket starts full */
  cra_setmetatable(L, CRA_LIMITER_MT);
  return 1;
}

void cra_limiter_open(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"acquire", cra_limiter_acquire},
    {"release", cra_limiter_release},
    {NULL, NULL}
  };
  luaL_newmetatable(L, CRA_LIMITER_MT);
  lua_newtable(L);
  cra_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, CRA_LIMITER_MT);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, cra_limiter_new);
  lua_setfield(L, -2, "limiter");
}
