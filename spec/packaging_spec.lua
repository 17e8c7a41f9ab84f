-- The rockspec must build the same sources the Makefile builds and install
-- every Lua module, or `luarocks make` ships a broken rock.
local function lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

local function load_rockspec()
  local name = "creatorapi-scm-1.rockspec"   -- the release one must agree (spec/release_spec.lua)
  assert.is_string(name, "no rockspec found")
  local env = {}
  local chunk
  if setfenv then
    chunk = assert(loadfile(name))
    setfenv(chunk, env)
  else
    chunk = assert(loadfile(name, "t", env))
  end
  chunk()
  return env, name
end

describe("rockspec #jit", function()
  local rs = load_rockspec()

  it("is rockspec 3.0 with a busted test section, built by `make rock`", function()
    assert.equal("3.0", rs.rockspec_format)
    assert.equal("busted", rs.test.type)
    assert.equal("make", rs.build.type)
    assert.equal("rock", rs.build.build_target)
    assert.is_false(rs.build.install_pass)                  -- build.install copies what `make rock` built
    assert.equal("$(LUA_INCDIR)", rs.build.build_variables.LUA_INCDIR)
    assert.equal("$(PREFIX)", rs.build.build_variables.ROCK_PREFIX)
  end)

  it("installs the C core, the command and the mock with its handlers", function()
    assert.same({ ["creatorapi.core"] = "build/rock/creatorapi/core.so" }, rs.build.install.lib)
    assert.same({ creatorapi = "bin/creatorapi", ["creatorapi-mock"] = "build/rock/creatorapi-mock" },
      rs.build.install.bin)
    local copied = {}
    for _, d in ipairs(rs.build.copy_directories) do copied[d] = true end
    assert.is_true(copied["mock/lua"])                      -- MOCK_LUA_DIR = $(ROCK_PREFIX)/mock/lua
    assert.is_true(copied.library)                          -- the LuaLS annotations
  end)

  it("installs every Lua module of lua/creatorapi/, under its own file name", function()
    local installed = {}
    for name, path in pairs(rs.build.install.lua) do
      installed[path] = true
      assert.equal("lua/" .. name:gsub("%.", "/") .. ".lua", path)   -- creatorapi.cli.init -> creatorapi/cli/init.lua
      assert.is_true(io.open(path) ~= nil, path .. " is listed but does not exist")
    end
    for _, f in ipairs(lines("ls lua/creatorapi/*.lua lua/creatorapi/*/*.lua")) do
      assert.is_true(installed[f] ~= nil, f .. " is missing from the rockspec")
    end
  end)

  it("declares every C library it links, and passes its directories to make", function()
    local v = rs.build.build_variables
    for _, dep in ipairs({ "CURL", "YAJL", "CRYPTO", "HTTP_PARSER", "HIREDIS", "SQLITE", "SIMDJSON",
                           "DOUBLE_CONVERSION" }) do
      assert.is_table(rs.external_dependencies[dep])
      assert.truthy(v.DEP_INCDIRS:find("-I$(" .. dep .. "_INCDIR)", 1, true), dep)
      assert.truthy(v.DEP_LIBDIRS:find("-L$(" .. dep .. "_LIBDIR)", 1, true), dep)
    end
  end)
end)

describe("the rock's mock", function()
  local run = require("support.shell").sh

  it("without its libraries, the rock gets a creatorapi-mock that says what to install", function()
    local dir = os.tmpname()
    os.remove(dir)
    local out, rc = run("make --no-print-directory rock-mock BUILD=" .. dir .. " MOCK_LIBS=-lcreatorapi_no_such_lib")
    assert.equal(0, rc, out)
    assert.matches("WARNING: installing without the mock API (creatorapi-mock): it needs libmicrohttpd-dev " ..
      "liblua5.4-dev", out, 1, true)
    local said, code = run(dir .. "/rock/creatorapi-mock --port 0")
    os.execute("rm -rf '" .. dir .. "'")
    assert.equal(127, code)
    assert.matches("this creatorapi rock was installed without the mock API", said, 1, true)
    assert.matches("apt-get install -y libmicrohttpd-dev liblua5.4-dev libcurl4-openssl-dev libssl-dev " ..
      "libxlsxwriter-dev", said, 1, true)
  end)

  it("`creatorapi mock` finds the mock installed beside the command", function()
    local tools = require "creatorapi.cli.local_tools"
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir .. " && touch " .. dir .. "/creatorapi-mock"))
    local env = os.getenv("CREATORAPI_MOCK_BIN")
    if env and env ~= "" then
      assert.equal(env, tools.mock_bin(nil, dir))             -- $CREATORAPI_MOCK_BIN wins
    else
      assert.equal(dir .. "/creatorapi-mock", tools.mock_bin(nil, dir))
    end
    assert.equal(env ~= "" and env or "creatorapi-mock", tools.mock_bin(nil, "/nonexistent"))
    os.execute("rm -rf '" .. dir .. "'")
  end)
end)
