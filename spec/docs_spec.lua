-- The docs answer a new user's first questions and do not drift from the
-- code: errors.md lists every error kind the code can return; api.md lists
-- the fields each service level returns (as the mock serves them), KeyAPI's
-- row fields, and the industry / product category ids of the mock's dataset;
-- no doc points at a file outside the repository.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function files(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- The error kinds the Lua layer and the C core can produce.
local function kinds_in_code()
  local kinds = {}
  local function add(k) kinds[k] = true end
  for _, f in ipairs(files("ls lua/creatorapi/*.lua lua/creatorapi/*/*.lua")) do
    local s = read(f)
    for k in s:gmatch('errors%.new%("([%w_]+)"') do add(k) end
    if s:find("errors.validation(", 1, true) then add("validation") end
    if f:find("/transport/", 1, true) then
      for k in s:gmatch('kind = "([%w_]+)"') do add(k) end
    end
  end
  for _, f in ipairs(files("ls src/*.c")) do
    local s = read(f)
    for k in s:gmatch('%f[%w_]kind = "([%w_]+)";') do add(k) end
    for _, target in ipairs({ "%-2", "err" }) do   -- an error table (not p.kind, the request's kind)
      for k in s:gmatch('lua_pushliteral%(L, "([%w_]+)"%);%s*lua_setfield%(L, ' .. target .. ', "kind"%)') do add(k) end
    end
    if f == "src/error.c" then
      for k in s:gmatch('return "([%w_]+)";') do add(k) end
    end
  end
  return kinds
end

describe("docs #jit", function()
  it("errors.md lists every error kind the code can return", function()
    local doc = read("docs/errors.md")
    local kinds = kinds_in_code()
    local n = 0
    for k in pairs(kinds) do
      n = n + 1
      assert.truthy(doc:find("\n| `" .. k .. "` |", 1, true), "docs/errors.md does not list kind " .. k)
    end
    assert.is_true(n >= 17)
    for k in doc:gmatch("\n| `([%w_]+)` | [^\n]*| (%a+) |\n") do
      assert.is_true(kinds[k] ~= nil, "docs/errors.md lists kind " .. k .. " that no code returns")
    end
  end)

  it("no doc or comment points at a file outside the repository", function()
    for _, f in ipairs(files("git ls-files README.md CHANGELOG.md docs examples lua mock spec src")) do
      local s = read(f)
      if f ~= "spec/docs_spec.lua" then
        assert.is_nil(s:find("api-notes", 1, true), f)
        assert.is_nil(s:find("/work/shared", 1, true), f)
        assert.is_nil(s:find("shared/seeds", 1, true), f)
      end
    end
  end)

  describe("api.md against the mock", function()
    local m, cv, ka, api
    setup(function()
      m = mock.start()
      cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
        rate_limit = false }
      ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
      api = read("docs/api.md")
    end)
    teardown(function()
      if cv then cv:close() end
      if ka then ka:close() end
      if m then m:stop() end
    end)

    local function section(title)
      local i = assert(api:find("\n### " .. title, 1, true), "no section " .. title)
      local j = api:find("\n##", i + 1, true) or #api
      return api:sub(i, j)
    end

    local function field_set(rows)
      local set = {}
      for _, r in ipairs(rows) do for k in pairs(r) do set[k] = true end end
      return set
    end

    it("lists the fields each service level returns, per platform", function()
      local sec = section("Fields by service level")
      for _, p in ipairs({ "tiktok", "youtube", "instagram" }) do
        local label = ({ tiktok = "TikTok", youtube = "YouTube", instagram = "Instagram" })[p]
        local line = assert(sec:match("\n| " .. label .. " |([^\n]*)"), "no row for " .. label)
        for _, lvl in ipairs({ "S1", "S2", "S3" }) do
          local res = assert(cv:search_creators(p, { size = 30, service_level = lvl }))
          for k in pairs(field_set(res.data)) do
            assert.truthy(line:find("`" .. k .. "`", 1, true) or line:find("`" .. k:gsub("_short$", ""):gsub("_long$", "")
              .. "` (+", 1, true) or line:find("(each + `_short`", 1, true) and k:find("_short$") or
              line:find("(each + `_short`", 1, true) and k:find("_long$"),
              label .. " " .. lvl .. " field " .. k .. " is not in docs/api.md")
          end
        end
      end
      local lk = assert(cv:lookalike{ username = "creator_demo" })
      for k in pairs(field_set(lk.data.items)) do
        assert.truthy(sec:find("`" .. k .. "`", 1, true), "lookalike field " .. k)
      end
    end)

    it("lists KeyAPI's row fields", function()
      local sec = section("`ka:influencer_list(params)`")
      local res = assert(ka:influencer_list{ region = "US" })
      for k in pairs(field_set(res.data)) do
        assert.truthy(sec:find("`" .. k .. "`", 1, true) or sec:find("`" .. k:gsub("_%d+d_cnt$", "_cnt") .. "`", 1, true),
          "KeyAPI row field " .. k .. " is not in docs/api.md")
      end
    end)

    it("lists the industry and product category ids of the mock's dataset", function()
      local saved = package.path
      package.path = "mock/lua/?.lua;" .. package.path
      local T = require "taxonomy"
      package.path = saved
      local sec = section("Industry and product category ids")
      for _, e in ipairs(T.l3) do
        assert.truthy(sec:find("| `" .. e.id .. "` | " .. e.en[1], 1, true), "industry id " .. e.id)
      end
      for _, pc in ipairs(T.product_categories) do
        assert.truthy(sec:find("| `" .. pc[1] .. "` | " .. pc[2], 1, true), "product category " .. pc[1])
      end
    end)

    it("transport_stats() is callable on a client, as documented", function()
      assert.truthy(api:find("cv:transport_stats()", 1, true))
      assert(cv:verify_webhook("x"))
      local t = cv:transport_stats()
      assert.is_true(t.requests >= 1)
      assert.is_true(t.attempts >= t.requests)
      assert.equal(t.attempts - t.requests, t.retries)
      assert.is_table(ka:transport_stats())
    end)
  end)
end)
