-- max_credits is a hard cap: a billed call whose worst case could pass it is
-- refused locally (kind "budget", nothing sent); iterators shrink their last
-- page; whatever the sequence of calls, the mock's own credit ledger never
-- shows more than max_credits spent. Free calls still work.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("credit budget (mock API) #jit", function()
  local m

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  -- What the mock billed each key (its own ledger), and how many requests it saw.
  local function ledger(key) return m:get_json("/_mock/stats").credits_consumed[key] or 0 end
  local function sent() return m:get_json("/_mock/stats").requests end

  local function cv_client(max)
    return creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      max_credits = max }
  end

  it("refuses a single call that could pass the cap, saying what it could cost and what is left", function()
    local cv = cv_client(30)
    local before, n = ledger(DEMO.cv_key), sent()
    local res, err = cv:search_tiktok{ size = 100 }         -- 100 rows x 3 credits at S2 (the default)
    assert.is_nil(res)
    assert.equal("budget", err.kind)
    assert.is_false(err.retryable)
    assert.equal(300, err.cost)
    assert.equal(30, err.credits_left)
    assert.equal(30, err.max_credits)
    assert.matches("could cost 300 credits but only 30", err.message, 1, true)
    assert.equal(n, sent())                                  -- nothing was sent
    assert.equal(before, ledger(DEMO.cv_key))
    assert(cv:search_tiktok{ size = 10 })                    -- 30: exactly the cap
    assert.equal(before + 30, ledger(DEMO.cv_key))
    local _, again = cv:search_tiktok{ size = 1, service_level = "S1" }
    assert.equal("budget", again.kind)
    assert.equal(0, again.credits_left)
    assert(cv:verify_webhook("still-free"))                  -- calls that cost nothing still go through
    local st = cv:stats()
    assert.equal(30, st.credits_consumed)
    assert.equal(0, st.credits_left)
    assert.equal(30, st.max_credits)
    cv:close()
  end)

  it("refuses the call that would pass the cap, not the one after it", function()
    local cv = cv_client(10)
    local before = ledger(DEMO.cv_key)
    assert(cv:search_tiktok{ size = 6, service_level = "S1" })            -- 6
    local _, err = cv:search_tiktok{ size = 6, service_level = "S1", page = 2 }
    assert.equal("budget", err.kind)
    assert.equal(6, err.credits_consumed)
    assert.equal(4, err.credits_left)
    assert(cv:search_tiktok{ size = 4, service_level = "S1", page = 2 })  -- 10
    local _, err2 = cv:lookalike{ username = "creator_demo" }             -- 20 rows x 1 at S1
    assert.equal("budget", err2.kind)
    assert.equal(20, err2.cost)
    assert.equal(before + 10, ledger(DEMO.cv_key))
    cv:close()
  end)

  it("prices lookalike by its limit", function()
    local cv = cv_client(15)
    local _, err = cv:lookalike{ username = "creator_demo" }
    assert.equal("budget", err.kind)
    local before = ledger(DEMO.cv_key)
    local res = assert(cv:lookalike{ username = "creator_demo", limit = 3, service_level = "S3" })   -- <= 12
    local _, err2 = cv:lookalike{ username = "creator_demo", limit = 3, service_level = "S3" }
    assert.equal("budget", err2.kind)                    -- a second one could pass 15
    assert.equal(#res.data.items * 4, ledger(DEMO.cv_key) - before)
    cv:close()
  end)

  it("shrinks an iterator's last page to the budget and ends with the budget error and its resume page", function()
    local cv = cv_client(25)
    local before = ledger(DEMO.cv_key)
    local rows, err = creatorapi.collect(cv:each_creator("tiktok", { service_level = "S1" }, { size = 10 }))
    assert.equal(25, #rows)                       -- 10 + 10 + a last page of 5
    assert.equal("budget", err.kind)
    assert.equal(6, err.resume)
    assert.equal(5, err.resume_size)
    assert.equal(before + 25, ledger(DEMO.cv_key))
    cv:close()
    -- at S2 (3 credits a row) with a budget that is not a multiple of the price
    cv = cv_client(100)
    before = ledger(DEMO.cv_key)
    rows, err = creatorapi.collect(cv:each_creator("tiktok", {}))
    assert.equal("budget", err.kind)
    assert.equal(33, #rows)
    assert.equal(99, ledger(DEMO.cv_key) - before)
    cv:close()
  end)

  it("keeps any sequence of calls under the cap (checked against the mock's ledger)", function()
    local cap = 500
    local cv = cv_client(cap)
    local before = ledger(DEMO.cv_key)
    local levels = { "S1", "S2", "S3" }
    local refused, x = 0, 7
    for i = 1, 40 do
      x = (x * 1103515245 + 12345) % 2147483648              -- a fixed pseudo-random sequence
      local size, lvl = 1 + x % 60, levels[1 + math.floor(x / 60) % 3]
      local res, err
      if i % 5 == 0 then
        res, err = cv:lookalike{ username = "creator_demo", limit = 1 + x % 12, service_level = lvl }
      else
        res, err = cv:search_youtube{ size = size, service_level = lvl, page = 1 + i }
      end
      if not res then
        assert.equal("budget", err.kind)
        refused = refused + 1
      end
      assert.is_true(ledger(DEMO.cv_key) - before <= cap)
    end
    assert.is_true(refused > 0)
    assert.equal(cv:stats().credits_consumed, ledger(DEMO.cv_key) - before)
    cv:close()
  end)

  it("counts a call that got no answer at its worst case (the server may have billed it)", function()
    local cv = cv_client(50)
    local before = ledger(DEMO.cv_key)
    m:curl("POST", "/_mock/faults", '{"kind":"truncate","path":"/openapi/v1/creators/tiktok/search","count":10}')
    local _, err = cv:search_tiktok{ size = 10, service_level = "S2" }       -- billed 30, answer cut off
    assert.is_not_nil(err)
    m:curl("DELETE", "/_mock/faults")
    assert.is_true(ledger(DEMO.cv_key) - before >= 30)
    assert.equal(20, cv:credits_left())
    local _, e2 = cv:search_tiktok{ size = 10, service_level = "S2" }       -- 30 more could pass 50
    assert.equal("budget", e2.kind)
    assert.is_true(ledger(DEMO.cv_key) - before <= 50)
    -- an error answer is not billed: the reservation is released
    m:curl("POST", "/_mock/faults", '{"status":500,"path":"/openapi/v1/creators/tiktok/search"}')
    local _, e3 = cv:search_tiktok({ size = 5, service_level = "S1" }, { max_retries = 0 })
    assert.equal("server", e3.kind)
    assert.equal(20, cv:credits_left())
    cv:close()
  end)

  it("needs the cost of an unknown raw call when a budget is set", function()
    local cv = cv_client(40)
    local n = sent()
    local _, err = cv:call("/creators/brand-new/thing", {})
    assert.equal("budget", err.kind)
    assert.matches("cost = <credits>", err.message, 1, true)
    assert.equal(n, sent())
    local _, err2 = cv:call("/creators/brand-new/thing", {}, { cost = 41 })
    assert.equal("budget", err2.kind)
    local _, err3 = cv:call("/creators/tiktok/search", { size = 20 })   -- priced: 60 > 40
    assert.equal("budget", err3.kind)
    assert.equal(60, err3.cost)
    assert.equal(n, sent())
    assert.has_error(function() cv:call("/x", {}, { cots = 1 }) end)     -- a misspelled option raises
    cv:close()
  end)

  it("counts one credit per KeyAPI request (requests in flight: spec/async_spec.lua)", function()
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, max_credits = 2 }
    assert(ka:influencer_list{ region = "US" })
    assert(ka:influencer_list{ region = "US", page_num = 2 })
    local _, err = ka:influencer_list{ region = "US", page_num = 3 }
    assert.equal("budget", err.kind)
    ka:close()
  end)

  it("rejects a non-number budget as a programming error", function()
    assert.has_error(function() creatorapi.keyapi{ max_credits = "10" } end)
  end)
end)
