-- `creatorapi … --format table` with nicknames in Japanese, Chinese and Thai
-- and with emoji (the mock's JP / SG / TH creators: "みお🌸", "小雨", "น้องฟ้า"):
-- the columns line up in display columns, measured by coreutils' `wc -L`
-- under C.UTF-8 (an oracle outside the SDK) as well as by core.display_width.
local mock = require "support.mock"
local cli = require "support.cli"
local core = require "creatorapi.core"
local wc_widths = require("support.columns").widths

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

-- Asserts the table's lines are all as wide, by both measures.
local function assert_same_width(ls)
  local wc = wc_widths(ls)
  assert.equal(#ls, #wc)
  for i = 1, #ls do
    assert.equal(wc[1], wc[i], "line " .. i .. " is " .. wc[i] .. " columns, the header " .. wc[1] .. ":\n"
      .. table.concat(ls, "\n"))
  end
  for i, l in ipairs(ls) do assert.equal(wc[i], core.display_width(l), l) end   -- the SDK agrees
end

-- Asserts that on line i the text `values[i]` (between two-space gaps, or
-- at the end) starts at the same display column on every line; → that column.
local function assert_column(ls, values)
  local prefixes = {}
  for i, l in ipairs(ls) do
    local v = values[i]
    local s = l:find("  " .. v .. "  ", 1, true) or l:find("  " .. v .. "$")
    assert.truthy(s, "no " .. v .. " on line " .. i .. ": " .. l)
    prefixes[i] = l:sub(1, s + 1)
  end
  local cols = wc_widths(prefixes)
  local at
  for i = 1, #ls do
    local col, v = cols[i], values[i]
    at = at or col
    assert.equal(at, col, v .. " starts at column " .. col .. ", not " .. at .. ", on line " .. i .. ":\n"
      .. table.concat(ls, "\n"))
  end
  return at
end

-- At least one line holds characters wider than a byte count would say, or
-- narrower (combining marks): the test data is what this spec is about.
local function assert_not_ascii(ls, pattern)
  local found = false
  for _, l in ipairs(ls) do
    if l:find(pattern) then found = true end
  end
  assert.is_true(found, "no row matches " .. pattern .. ":\n" .. table.concat(ls, "\n"))
end

describe("creatorapi --format table by display width #jit", function()
  local m
  setup(function() m = mock.start{ "--quiet" } end)
  teardown(function() m:stop() end)

  for _, case in ipairs{
    { country = "JP", sample = "🌸" },                          -- kana + emoji: 2 columns each
    { country = "SG", sample = "[\228-\233][\128-\191][\128-\191]" },  -- CJK ideographs
    { country = "TH", sample = "\224\185\137" },                -- U+0E49 Thai tone mark: 0 columns
  } do
    it("CreatiVault search, " .. case.country .. " nicknames: every line as wide, columns aligned", function()
      local r = cli.run(m, { "cv", "search", "tiktok", "--country-code", case.country, "--limit", "40",
        "--format", "table", "--fields", "nickname,username,followers_count" })
      assert.equal(0, r.code, r.err)
      local ls = lines(r.out)
      assert.equal(41, #ls)
      assert.truthy(ls[1]:find("^nickname%s+username%s+followers_count$"), ls[1])
      assert_not_ascii(ls, case.sample)
      assert_same_width(ls)
      -- username (second column) starts at the same display column on every line
      local names = { "username" }
      for i = 2, #ls do names[#names + 1] = ls[i]:match("  (%S+)%s+[%d,]+$") end
      assert_column(ls, names)
    end)
  end

  it("KeyAPI influencer list, endpoint columns: the region column lines up under its header", function()
    local r = cli.run(m, { "keyapi", "influencer-list", "--region", "JP", "--limit", "20", "--format", "table" })
    assert.equal(0, r.code, r.err)
    local ls = lines(r.out)
    assert.equal(21, #ls)
    assert.truthy(ls[1]:find("^unique_id%s+nick_name%s+region%s"), ls[1])
    assert_not_ascii(ls, "🌸")
    local regions, ends = { "region" }, {}
    for i = 2, #ls do regions[i] = "JP" end
    assert_column(ls, regions)
    -- total_followers_cnt: numbers end under the header's right edge, in display columns
    for i, l in ipairs(ls) do
      local _, e = l:find(i == 1 and "region%s+total_followers_cnt" or "  JP%s+[%d,]+")
      assert.truthy(e, l)
      ends[i] = l:sub(1, e)
    end
    local cols = wc_widths(ends)
    for i = 2, #ls do assert.equal(cols[1], cols[i], ls[i]) end
  end)
end)
