-- LuaRocks build of creatorapi: the C core (creatorapi.core) and the Lua layer.
--   luarocks make creatorapi-scm-1.rockspec            (offline: add --deps-mode none)
rockspec_format = "3.0"
package = "creatorapi"
version = "scm-1"

source = {
  url = "git+https://github.com/creatorapi/creatorapi.git",
}

description = {
  summary = "Creator / influencer data APIs (CreatiVault, KeyAPI) for Lua, in C on libcurl",
  detailed = [[
    creatorapi gives Lua scripts first-class access to paid creator data APIs:
    CreatiVault Open API (creator search, lookalikes, collection tasks, exports,
    downloads, signed webhooks) and KeyAPI TikTok influencer analytics.
    Parameters are validated before any credit is spent, failures return
    structured `nil, err` values, JSON integers stay exact, connections are
    kept alive. Lua 5.1-5.4 and LuaJIT 2.1.
  ]],
  homepage = "https://github.com/creatorapi/creatorapi",
  license = "MIT",
  labels = { "http", "api", "sdk", "libcurl", "json", "influencer" },
}

dependencies = {
  "lua >= 5.1",
  "argparse >= 0.7", -- the `creatorapi` command (Debian: lua-argparse)
  "luasocket >= 3.0", -- `creatorapi webhook listen` only (Debian: lua-socket)
}

external_dependencies = {
  -- Only the library is looked up: Debian keeps curl.h in the multiarch
  -- include directory, which the compiler searches but LuaRocks does not.
  CURL = { library = "curl" },
  YAJL = { header = "yajl/yajl_parse.h", library = "yajl" },
  CRYPTO = { header = "openssl/hmac.h", library = "crypto" },
  HTTP_PARSER = { header = "http_parser.h", library = "http_parser" },
  HIREDIS = { header = "hiredis/hiredis.h", library = "hiredis" },
  SQLITE = { header = "sqlite3.h", library = "sqlite3" },
  SIMDJSON = { header = "simdjson.h", library = "simdjson" },
  DOUBLE_CONVERSION = { header = "double-conversion/double-to-string.h", library = "double-conversion" },
}

test_dependencies = {
  "busted",
}

test = {
  type = "busted",
}

-- `make rock` (Makefile, "The rock") builds build/rock/creatorapi/core.so for the
-- Lua this rock is for and build/rock/creatorapi-mock, the mock API, which always
-- embeds Lua 5.4 and reads its handlers from the rock's own mock/lua (copied by
-- copy_directories; the path is compiled in from ROCK_PREFIX). Without the
-- mock's libraries the rock installs a creatorapi-mock that says what to
-- install (docs/decisions.md, "The mock in the rock").
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CC = "$(CC)", CFLAGS = "$(CFLAGS)", LIBFLAG = "$(LIBFLAG)", LUA_INCDIR = "$(LUA_INCDIR)",
    ROCK_PREFIX = "$(PREFIX)",
    DEP_INCDIRS = "-I$(CURL_INCDIR) -I$(YAJL_INCDIR) -I$(CRYPTO_INCDIR) -I$(HTTP_PARSER_INCDIR) -I$(HIREDIS_INCDIR) -I$(SQLITE_INCDIR) -I$(SIMDJSON_INCDIR) -I$(DOUBLE_CONVERSION_INCDIR)",
    DEP_LIBDIRS = "-L$(CURL_LIBDIR) -L$(YAJL_LIBDIR) -L$(CRYPTO_LIBDIR) -L$(HTTP_PARSER_LIBDIR) -L$(HIREDIS_LIBDIR) -L$(SQLITE_LIBDIR) -L$(SIMDJSON_LIBDIR) -L$(DOUBLE_CONVERSION_LIBDIR)",
  },
  install_pass = false,
  install = {
    lua = {
      ["creatorapi.init"] = "lua/creatorapi/init.lua",
      ["creatorapi.async.init"] = "lua/creatorapi/async/init.lua",
      ["creatorapi.async.curl"] = "lua/creatorapi/async/curl.lua",
      ["creatorapi.async.luv"] = "lua/creatorapi/async/luv.lua",
      ["creatorapi.async.registry"] = "lua/creatorapi/async/registry.lua",
      ["creatorapi.budget"] = "lua/creatorapi/budget.lua",
      ["creatorapi.cache"] = "lua/creatorapi/cache.lua",
      ["creatorapi.cli.init"] = "lua/creatorapi/cli/init.lua",
      ["creatorapi.cli.endpoints"] = "lua/creatorapi/cli/endpoints.lua",
      ["creatorapi.cli.exits"] = "lua/creatorapi/cli/exits.lua",
      ["creatorapi.cli.listen"] = "lua/creatorapi/cli/listen.lua",
      ["creatorapi.cli.local_tools"] = "lua/creatorapi/cli/local_tools.lua",
      ["creatorapi.cli.output"] = "lua/creatorapi/cli/output.lua",
      ["creatorapi.cli.params"] = "lua/creatorapi/cli/params.lua",
      ["creatorapi.cli.progress"] = "lua/creatorapi/cli/progress.lua",
      ["creatorapi.cli.runner"] = "lua/creatorapi/cli/runner.lua",
      ["creatorapi.cli.workflows"] = "lua/creatorapi/cli/workflows.lua",
      ["creatorapi.client"] = "lua/creatorapi/client.lua",
      ["creatorapi.client_stores"] = "lua/creatorapi/client_stores.lua",
      ["creatorapi.cost"] = "lua/creatorapi/cost.lua",
      ["creatorapi.creativault"] = "lua/creatorapi/creativault.lua",
      ["creatorapi.errors"] = "lua/creatorapi/errors.lua",
      ["creatorapi.keyapi"] = "lua/creatorapi/keyapi.lua",
      ["creatorapi.ledger.redis"] = "lua/creatorapi/ledger/redis.lua",
      ["creatorapi.limiter.redis"] = "lua/creatorapi/limiter/redis.lua",
      ["creatorapi.limiter.shdict"] = "lua/creatorapi/limiter/shdict.lua",
      ["creatorapi.paging"] = "lua/creatorapi/paging.lua",
      ["creatorapi.quota"] = "lua/creatorapi/quota.lua",
      ["creatorapi.request_loop"] = "lua/creatorapi/request_loop.lua",
      ["creatorapi.shape"] = "lua/creatorapi/shape.lua",
      ["creatorapi.store.memory"] = "lua/creatorapi/store/memory.lua",
      ["creatorapi.store.redis"] = "lua/creatorapi/store/redis.lua",
      ["creatorapi.store.sqlite"] = "lua/creatorapi/store/sqlite.lua",
      ["creatorapi.tasks"] = "lua/creatorapi/tasks.lua",
      ["creatorapi.text"] = "lua/creatorapi/text.lua",
      ["creatorapi.transport.cosocket"] = "lua/creatorapi/transport/cosocket.lua",
      ["creatorapi.transport.cosocket_download"] = "lua/creatorapi/transport/cosocket_download.lua",
      ["creatorapi.transport.curl"] = "lua/creatorapi/transport/curl.lua",
      ["creatorapi.transport.luv"] = "lua/creatorapi/transport/luv.lua",
      ["creatorapi.validate"] = "lua/creatorapi/validate.lua",
      ["creatorapi.webhook"] = "lua/creatorapi/webhook.lua",
    },
    lib = { ["creatorapi.core"] = "build/rock/creatorapi/core.so" },
    bin = { creatorapi = "bin/creatorapi", ["creatorapi-mock"] = "build/rock/creatorapi-mock" },
  },
  copy_directories = { "docs", "examples", "library", "mock/lua" },
}
