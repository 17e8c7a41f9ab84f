/*
 * retry_policy.c — ctx:decide(p, err, attempts, raw): after a failed
 * attempt, retry after N seconds or stop (docs/reliability.md "Transport").
 *
 * Pure: no clock, no sleep. The request loop sleeps through its transport.
 * A "submit" request (creates billable work) that may have reached the
 * server is never retried: its error becomes `unknown_outcome` in place.
 */
#include <math.h>
#include <string.h>

#include "context.h"
#include "error.h"

/* ---- backoff jitter: xorshift64* (seeded by context.c, no Lua) --------- */

/* Uniform in [0, 1). */
static double cra_rand01(cra_ctx_t *c) {
  unsigned long long x = c->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->rng = x;
  return (double)((x * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

/* Backoff before retry n (1 = first retry): min(cap, base * 2^(n-1)) * U(0.5, 1). */
static double cra_backoff(cra_ctx_t *c, int n) {
  double d = c->retry_base * pow(2.0, (double)(n - 1));
  if (d > c->retry_cap || d != d) d = c->retry_cap;
  return d * (0.5 + 0.5 * cra_rand01(c));
}

/* Turns the error table at err into kind "unknown_outcome" (cause = the
 * original kind; status, code, curl_code, request_id are kept). */
static void cra_make_unknown_outcome(lua_State *L, int err) {
  const char *msg;
  lua_getfield(L, err, "kind");
  lua_setfield(L, err, "cause");
  lua_getfield(L, err, "message");
  msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_pushfstring(L,
                  "outcome unknown: the request was sent but failed (%s); the task may or may "
                  "not have been created. Check (e.g. by task name) before submitting again",
                  msg);
  lua_setfield(L, err, "message");
  lua_pop(L, 1);
  lua_pushliteral(L, "unknown_outcome");
  lua_setfield(L, err, "kind");
  lua_pushboolean(L, 0);
  lua_setfield(L, err, "retryable");
}

/* Did any byte of the request leave? An answer means yes; otherwise the
 * transport says (raw.sent; a missing field counts as sent). */
static int cra_was_sent(lua_State *L, int raw) {
  int sent = 1;
  if (raw == 0) return 1;
  lua_getfield(L, raw, "status");
  lua_getfield(L, raw, "kind");
  lua_getfield(L, raw, "curl_code");
  if (lua_type(L, -3) == LUA_TNUMBER && lua_isnil(L, -2) && lua_isnil(L, -1)) {
    lua_pop(L, 3);
    return 1;
  }
  lua_pop(L, 3);
  lua_getfield(L, raw, "sent");
  if (lua_type(L, -1) == LUA_TBOOLEAN) sent = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return sent;
}

/* ctx:decide(p, err, attempts [, raw]) → delay (seconds) | nil */
int cra_ctx_decide(lua_State *L) {
  enum { T_NONE, T_RATE, T_TIMEOUT, T_NET, T_SERVER } cls = T_NONE;
  cra_ctx_t *c = cra_ctx_check(L, 1);
  int p = 2, err = 3, raw, attempts, max_retries;
  const char *kind, *retry;
  long long code, ra, status;
  double delay;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  attempts = (int)luaL_checkinteger(L, 4);
  raw = lua_istable(L, 5) ? 5 : 0;
  lua_settop(L, 5);

  lua_getfield(L, err, "kind");
  kind = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  code = cra_field_int(L, err, "code", -1);
  ra = cra_field_int(L, err, "retry_after", -1);
  status = cra_field_int(L, err, "status", 0);
  if (strcmp(kind, "rate_limited") == 0) {
    cls = T_RATE;
  } else if (strcmp(kind, "timeout") == 0) {
    cls = T_TIMEOUT; /* a transport timeout, or HTTP 408 */
  } else if (strcmp(kind, "network") == 0) {
    cls = T_NET;
  } else if (strcmp(kind, "server") == 0) {
    if (status == 500 || status == 502 || status == 503 || status == 504) cls = T_SERVER;
    else if (c->dialect == CRA_DIALECT_CREATIVAULT && code == 50001) cls = T_SERVER;
    else if (c->dialect == CRA_DIALECT_KEYAPI &&
             (code == 500 || code == 502 || code == 503 || code == 504)) cls = T_SERVER;
  }
  lua_pop(L, 1); /* kind */

  lua_getfield(L, p, "retry");
  retry = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "safe";
  lua_pop(L, 1); /* p keeps the string */
  max_retries = (int)cra_field_int(L, p, "max_retries", c->max_retries);
  if (cls == T_NONE || strcmp(retry, "never") == 0) return 0;
  if (strcmp(retry, "submit") == 0 && cls != T_RATE && cra_was_sent(L, raw)) {
    cra_make_unknown_outcome(L, err);
    return 0;
  }
  if (attempts > max_retries) return 0;
  delay = cra_backoff(c, attempts);
  if (ra > 0) {
    /* Retry-After is a minimum, up to max_retry_after; beyond it the caller
     * gets the error (with retry_after) at once. */
    if ((double)ra > c->max_retry_after) return 0;
    if ((double)ra > delay) delay = (double)ra;
  }
  lua_pushnumber(L, (lua_Number)delay);
  return 1;
}
