-- max_credits: once the budget is consumed, calls that can spend credits are
-- refused locally (kind "budget") and nothing is sent; free calls still work.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("credit budget (mock API) #jit", function()
  local m

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  it("stops CreatiVault billed calls once max_credits is consumed", function()
    local cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      max_credits = 10 }
    assert(cv:search_tiktok{ size = 6, service_level = "S1" })            -- 6 credits
    assert(cv:search_tiktok{ size = 6, service_level = "S1", page = 2 })  -- 12: the call started below the budget
    local sent = m:get_json("/_mock/stats").requests
    local res, err = cv:search_tiktok{ size = 1, service_level = "S1" }
    assert.is_nil(res)
    assert.equal("budget", err.kind)
    assert.is_false(err.retryable)
    assert.equal(12, err.credits_consumed)
    assert.equal(10, err.max_credits)
    local _, err2 = cv:lookalike{ username = "creator_demo" }
    err = err2
    assert.equal("budget", err.kind)
    assert.equal(sent, m:get_json("/_mock/stats").requests)             -- nothing was sent
    -- calls that cost nothing still go through
    assert(cv:verify_webhook("still-free"))
    local st = cv:stats()
    assert.equal(12, st.credits_consumed)
    assert.equal(10, st.max_credits)
    cv:close()
  end)

  it("ends an iterator with the budget error and its resume page", function()
    local cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      max_credits = 25 }
    local rows, err = creatorapi.collect(cv:each_creator("tiktok", { service_level = "S1" }, { size = 10 }))
    assert.equal(30, #rows)                       -- pages at 0, 10 and 20 credits were below the budget
    assert.equal("budget", err.kind)
    assert.equal(4, err.resume)
    cv:close()
  end)

  it("counts one credit per KeyAPI request", function()
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
