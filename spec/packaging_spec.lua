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

  it("is rockspec 3.0 with a busted test section", function()
    assert.equal("3.0", rs.rockspec_format)
    assert.equal("busted", rs.test.type)
    assert.equal("builtin", rs.build.type)
  end)

  it("lists every C source of src/", function()
    local core = rs.build.modules["creatorapi.core"]
    local listed = {}
    for _, s in ipairs(core.sources) do listed[s] = true end
    for _, f in ipairs(lines("ls src/*.c")) do
      assert.is_true(listed[f] ~= nil, f .. " is missing from the rockspec")
    end
    for s in pairs(listed) do
      assert.is_true(io.open(s) ~= nil, s .. " is listed but does not exist")
    end
  end)

  it("installs every Lua module of lua/creatorapi/", function()
    local installed = {}
    for _, path in pairs(rs.build.modules) do
      if type(path) == "string" then installed[path] = true end
    end
    for _, f in ipairs(lines("ls lua/creatorapi/*.lua lua/creatorapi/*/*.lua")) do
      assert.is_true(installed[f] ~= nil, f .. " is missing from the rockspec")
    end
  end)

  it("declares every C library it links", function()
    for _, dep in ipairs({ "CURL", "YAJL", "CRYPTO", "HTTP_PARSER" }) do
      assert.is_table(rs.external_dependencies[dep])
    end
  end)
end)
