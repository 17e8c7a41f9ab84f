-- Per-row billed search iterators buy what they deliver: `max_items` is exact
-- (also past the 200-page offset limit), and without `size` pages start at 10
-- rows and grow, so a loop that breaks early wastes little. Checked against
-- the mock's own credit ledger, and (cheaply, without HTTP) for every
-- max_items from 1 to 1001.
local creatorapi = require "creatorapi"
local paging = require "creatorapi.paging"
local mock = require "support.mock"

local DEMO = mock.DEMO

-- The rows the API can sell exactly: the last page (p, s) ends at p * s, with
-- p <= 200 and s <= 100. Other counts need a few rows more.
local function exact_possible(n)
  for s = 1, 100 do
    if n % s == 0 and n / s <= 200 then return true end
  end
  return false
end

describe("max_items on per-row billed search #jit", function()
  it("plans exactly max_items rows for every count from 1 to 1001 (fake source)", function()
    local worst = 0
    for n = 1, 1001 do
      local bought, got = 0, 0
      local it = paging.iterator({
        where = "t", max_size = 100, page_cap = 200, per_row_billing = true, first_size = 10,
        fetch = function(page, size)
          assert.is_true(page <= 200)
          bought = bought + size
          local rows = {}
          for i = (page - 1) * size + 1, page * size do rows[#rows + 1] = i end
          return rows
        end,
      }, { max_items = n })
      local in_order = true
      for row, i in it do
        got = got + 1
        if row ~= i then in_order = false end   -- rows in order, none twice
      end
      if got ~= n or not in_order then assert.equal(n, got, "max_items " .. n .. " delivered") end
      if exact_possible(n) and bought ~= n then assert.equal(n, bought, "max_items " .. n) end
      worst = math.max(worst, bought - n)
    end
    assert.is_true(worst <= 3)                -- where no page layout ends at n: at most 3 rows more
  end)

  describe("against the mock's ledger", function()
    local m, cv
    setup(function()
      m = mock.start()
      -- no client-side rate limit: the small-page cases make 100-200 requests
      cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
        rate_limit = false }
    end)
    teardown(function()
      if cv then cv:close() end
      if m then m:stop() end
    end)

    local function ledger() return m:get_json("/_mock/stats").credits_consumed[DEMO.cv_key] or 0 end

    local function run(max_items, opts)
      opts = opts or {}
      opts.max_items = max_items
      local before, rows = ledger(), 0
      for _ in cv:each_creator("tiktok", { service_level = "S1" }, opts) do rows = rows + 1 end
      return rows, ledger() - before
    end

    for _, n in ipairs({ 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 1001 }) do
      it("buys exactly " .. n .. " rows for max_items = " .. n, function()
        local rows, spent = run(n)
        assert.equal(n, rows)
        assert.equal(n, spent)                -- S1: 1 credit a row
      end)
    end

    it("is exact with an explicit size too, also past page 200 of that size", function()
      local rows, spent = run(1001, { size = 7 })   -- 143 pages of 7
      assert.equal(1001, rows)
      assert.equal(1001, spent)
      rows, spent = run(2003, { size = 10 })        -- pages of 10 stop at page 200 (row 2000): the API's limit
      assert.equal(2000, rows)
      assert.equal(2000, spent)
      rows, spent = run(250, { size = 100 })
      assert.equal(250, rows)
      assert.equal(250, spent)
    end)

    it("starts small without a size: a loop that breaks after 10 rows buys 10", function()
      local before, seen = ledger(), 0
      for _ in cv:each_creator("tiktok", { service_level = "S2" }) do
        seen = seen + 1
        if seen == 10 then break end
      end
      assert.equal(30, ledger() - before)           -- 10 rows x 3 credits
      -- and the pages grow: 300 rows in 9 requests (10, 10, 20, 40, 80, 80, 60 ... aligned)
      local req0 = m:get_json("/_mock/stats").requests
      local rows = creatorapi.collect(cv:each_creator("tiktok", { service_level = "S1" }, { max_items = 300 }))
      assert.equal(300, #rows)
      assert.is_true(m:get_json("/_mock/stats").requests - req0 <= 9)
    end)
  end)
end)
