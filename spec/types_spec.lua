-- library/creatorapi.lua (LuaLS annotations) is generated from the endpoint
-- tables by tools/gen_types.lua: the committed file must be what the
-- generator writes today, and must name every declared parameter with a type
-- (enums as their literals) under its endpoint's class.
local gen = dofile("tools/gen_types.lua")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function camel(name)
  return (name:gsub("^%l", string.upper):gsub("_(%w)", string.upper))
end

-- The ---@field lines of class `name` → { field = type }.
local function class_fields(text, name)
  local start = text:find("---@class " .. name .. "\n", 1, true)
  assert.is_truthy(start, "no class " .. name)
  local fields = {}
  for line in text:sub(start):gmatch("[^\n]*") do
    if line == "" then break end
    local f, t = line:match("^%-%-%-@field ([%w_]+)%??%s+(%S+)")
    if f then fields[f] = t end
  end
  return fields
end

describe("LuaLS annotations", function()
  local text = read("library/creatorapi.lua")

  it("are what tools/gen_types.lua generates from today's endpoint tables (run `make types`)", function()
    assert.equal(gen.generate(), text)
  end)

  it("are valid Lua", function()
    assert.is_function(load(text, "=library/creatorapi.lua"))
  end)

  for provider, mod in pairs{ creativault = "creatorapi.creativault", keyapi = "creatorapi.keyapi" } do
    it("name every " .. provider .. " endpoint parameter, with its enum", function()
      local eps = require(mod).Client.ENDPOINTS
      local n = 0
      for name, ep in pairs(eps) do
        local cls = string.format("creatorapi.%s.%sParams", provider, camel(name))
        local fields = class_fields(text, cls)
        for pname, rule in pairs(ep.params or {}) do
          n = n + 1
          assert.is_truthy(fields[pname], cls .. " lacks " .. pname)
          for _, e in ipairs(rule.enum or {}) do
            assert.is_truthy(fields[pname]:find(string.format("%q", e), 1, true), cls .. "." .. pname .. " lacks " .. e)
          end
        end
        assert.is_truthy(text:find("function " .. (provider == "keyapi" and "KeyAPI" or "CreatiVault") .. ":" .. name
          .. "(", 1, true), "no method " .. name)
      end
      assert.is_true(n > 20)
    end)
  end

  it("list every client option", function()
    local fields = class_fields(text, "creatorapi.ClientOptions")
    for k in pairs(require("creatorapi.client").OPTION_TYPES) do assert.is_truthy(fields[k], k) end
  end)
end)
