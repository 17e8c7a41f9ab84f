/*
 * asan-lua — a minimal Lua 5.4 interpreter built with ASan+UBSan for
 * `make asan`. Debian's lua5.4 is not instrumented, so loading an ASan build
 * of creatorapi.core into it would need LD_PRELOAD=libasan, which every child
 * process (curl, sh, openssl, the mock) would inherit — and curl was seen to
 * deadlock in setlocale under it. Linking the sanitizer runtime here keeps it
 * in this one process.
 *   usage: asan-lua SCRIPT [ARGS...]   (like `lua5.4 SCRIPT ARGS...`)
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>

/* SIGINT as lua.c handles it: the first one raises "interrupted!" in the
 * running Lua code (through a hook), a second one terminates. */
static lua_State *globalL = NULL;

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void laction(int i) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(i, SIG_DFL);
  lua_sethook(globalL, lstop, flag, 1);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
    return 2;
  }
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  /* arg table as lua.c builds it: arg[0] = script, arg[1..] = its arguments */
  lua_createtable(L, argc - 2, 2);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, argv[1]) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
  globalL = L;
  signal(SIGINT, laction);
  int rc = lua_pcall(L, argc - 2, 0, 1);
  signal(SIGINT, SIG_DFL);
  if (rc != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  return rc == LUA_OK ? 0 : 1;
}
