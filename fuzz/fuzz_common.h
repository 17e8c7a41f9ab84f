/*
 * fuzz_common.h — shared by the libFuzzer targets in fuzz/ (see
 * docs/testing.md "Fuzzing"). Header-only: each target is one .c file.
 *
 * - fz_state(): a fresh Lua 5.4 state per input, on a counting allocator
 *   (fz_alloc) so that a second run can make the k-th allocation fail and
 *   drive the code under test into its memory-error paths. A state per input
 *   keeps iterations independent, and lua_close() at the end hands every
 *   byte back: anything still allocated afterwards is a leak in the C code
 *   (yajl handle, scratch buffer, key cache, ...) and LeakSanitizer reports it
 *   (libFuzzer -detect_leaks=1, the default under ASan).
 * - fz_equal(): deep equality of two Lua values (metatables compared too).
 * - FZ_CHECK(): an invariant; on failure prints the reason and abort()s,
 *   which libFuzzer records as a crash with the input saved.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>

#define FZ_CHECK(cond, ...)                                                  \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "\nFUZZ INVARIANT FAILED at %s:%d: %s\n  ", __FILE__,  \
              __LINE__, #cond);                                              \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* Counting allocator. budget < 0: unlimited; otherwise the allocation (or
 * growth) number budget+1 and every later one fail. Shrinks and frees never
 * fail (Lua requires that). */
typedef struct fz_alloc_t {
  long long budget;
  long long count;
} fz_alloc_t;

static void *fz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  fz_alloc_t *a = (fz_alloc_t *)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (ptr == NULL || nsize > osize) {
    a->count++;
    if (a->budget >= 0 && a->count > a->budget) return NULL;
  }
  return realloc(ptr, nsize);
}

/* A new state on allocator a (unlimited while it is set up). */
static lua_State *fz_state(fz_alloc_t *a) {
  lua_State *L;
  a->budget = -1;
  a->count = 0;
  L = lua_newstate(fz_alloc, a);
  FZ_CHECK(L != NULL, "lua_newstate failed");
  /* Room for the targets' own bookkeeping, taken before any budget. */
  FZ_CHECK(lua_checkstack(L, 64), "lua_checkstack");
  return L;
}

/* Arms the budget: `extra` more allocations succeed, then all fail. */
static void fz_arm(fz_alloc_t *a, long long extra) {
  a->budget = a->count + extra;
}

static void fz_disarm(fz_alloc_t *a) { a->budget = -1; }

/* FNV-1a over the input: a deterministic per-input choice of the failing
 * allocation (a crash must replay from the saved input alone). */
static uint64_t fz_hash(const uint8_t *d, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= d[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* True when the pcall status/message is a memory error: LUA_ERRMEM, or the
 * "not enough memory" string some C paths raise with luaL_error. */
static int fz_is_memerr(lua_State *L, int status) {
  if (status == LUA_ERRMEM) return 1;
  if (status == LUA_ERRRUN && lua_type(L, -1) == LUA_TSTRING) {
    const char *m = lua_tostring(L, -1);
    return strstr(m, "not enough memory") != NULL;
  }
  return 0;
}

/* Deep equality: same type; numbers by value (1 == 1.0); strings bytewise;
 * tables with the same metatable, the same key set and deep-equal values
 * (keys are strings or integers in decoded JSON, so a raw lookup finds the
 * partner key). */
static int fz_equal(lua_State *L, int a, int b) {
  int ta, tb;
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  ta = lua_type(L, a);
  tb = lua_type(L, b);
  if (ta != tb) return 0;
  if (ta != LUA_TTABLE) return lua_rawequal(L, a, b);
  luaL_checkstack(L, 6, "fz_equal");
  {
    int ma = lua_getmetatable(L, a), mb = lua_getmetatable(L, b);
    int same = (ma == mb) && (!ma || lua_rawequal(L, -1, -2));
    lua_pop(L, ma + mb);
    if (!same) return 0;
  }
  {
    lua_Integer na = 0, nb = 0;
    lua_pushnil(L);
    while (lua_next(L, a)) {
      na++;
      lua_pushvalue(L, -2);     /* key */
      lua_rawget(L, b);         /* b[key] */
      if (!fz_equal(L, -2, -1)) {
        lua_pop(L, 3);
        return 0;
      }
      lua_pop(L, 2);
    }
    lua_pushnil(L);
    while (lua_next(L, b)) {
      nb++;
      lua_pop(L, 1);
    }
    return na == nb;
  }
}

#endif /* FUZZ_COMMON_H */
