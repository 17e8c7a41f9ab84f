-- Every example script runs against the bundled mock (through
-- examples/run-with-mock.sh, as a user would) and prints what it promises.
local run = require("support.shell").sh

-- The interpreter the suite runs under (make asan uses an instrumented one).
local LUA = os.getenv("CREATORAPI_LUA") or "lua5.4"

local widths = require("support.columns").widths

local function tmpdir()
  local out = run("mktemp -d")
  return (out:match("^(%S+)"))
end

describe("examples", function()
  local dir
  setup(function() dir = tmpdir() end)
  teardown(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("quickstart prints creators and a KeyAPI page with integer counts", function()
    local out, code = run("sh examples/run-with-mock.sh " .. LUA .. " examples/quickstart.lua")
    assert.equal(0, code, out)
    assert.truthy(out:find("Top US beauty creators", 1, true), out)
    assert.truthy(out:find("KeyAPI TikTok influencer analytics", 1, true), out)
    local ranked = 0
    for _ in out:gmatch("\n%d+%s+@") do ranked = ranked + 1 end
    assert.equal(20, ranked, out)                  -- 10 creators + 10 KeyAPI rows
    assert.is_nil(out:find("%d%.0%s"), out)       -- no "150000.0"
  end)

  it("quickstart lines up Japanese nicknames and emoji by display width", function()
    local out, code = run("sh examples/run-with-mock.sh " .. LUA .. " examples/quickstart.lua JP")
    assert.equal(0, code, out)
    local tables, cur = {}, nil
    for l in out:gmatch("[^\n]+") do
      if l:find("^#%s") then cur = { l }; tables[#tables + 1] = cur
      elseif cur and l:find("^%d+%s+@") then cur[#cur + 1] = l
      else cur = nil end
    end
    assert.equal(2, #tables, out)
    assert.truthy(out:find("🌸", 1, true), out)              -- the mock's JP nicknames: kana + emoji
    for _, t in ipairs(tables) do
      assert.equal(11, #t, out)
      local w = widths(t)                                    -- numbers right-aligned: every line as wide
      for i = 2, #t do assert.equal(w[1], w[i], table.concat(t, "\n")) end
    end
  end)

  it("search_to_csv writes exactly max_items rows", function()
    local path = dir .. "/c.csv"
    local out, code = run("sh examples/run-with-mock.sh " .. LUA .. " examples/search_to_csv.lua " .. path .. " 130")
    assert.equal(0, code, out)
    assert.truthy(out:find("wrote 130 creators", 1, true), out)
    local n = 0
    for _ in io.lines(path) do n = n + 1 end
    assert.equal(131, n)                            -- header + rows
    -- pages start at 10 rows and grow (10, 10, 20, 40, 40, 10: each aligned to what was read),
    -- 130 rows x 3 credits at S2: nothing extra bought
    assert.truthy(out:find("(6 requests, 390 credits)", 1, true), out)
  end)

  it("lookalike lists similar creators", function()
    local out, code = run("sh examples/run-with-mock.sh " .. LUA .. " examples/lookalike.lua creator_demo")
    assert.equal(0, code, out)
    assert.truthy(out:find("creators like @creator_demo", 1, true), out)
    assert.truthy(out:find(" 1%. @"), out)
    local _, missing = run("sh examples/run-with-mock.sh " .. LUA .. " examples/lookalike.lua nobody_at_all_zz")
    assert.equal(2, missing)
  end)

  it("keyapi_paging pages 35 rows in 4 requests", function()
    local out, code = run("sh examples/run-with-mock.sh " .. LUA .. " examples/keyapi_paging.lua 35")
    assert.equal(0, code, out)
    assert.truthy(out:find("35 rows, 4 requests, 4 credits", 1, true), out)
  end)

  it("collect_export_download runs the whole workflow and downloads the workbook", function()
    local out, code = run("CREATORAPI_MOCK_ARGS='--time-scale 300' CREATORAPI_POLL_INTERVAL=0.05 "
      .. "sh examples/run-with-mock.sh " .. LUA .. " examples/collect_export_download.lua " .. dir)
    assert.equal(0, code, out)
    assert.truthy(out:find("100.0%%"), out)
    assert.truthy(out:find("downloaded .*%.xlsx"), out)
    local file = out:match("downloaded (%S+%.xlsx)")
    local f = assert(io.open(file, "rb"))
    assert.equal("PK", f:read(2))
    f:close()
  end)
end)
