-- creatorapi.cost: the worst case of a call, before it is sent, matches what
-- the mock API really bills for a full answer.
local cost = require "creatorapi.cost"
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("cost.worst_case #jit", function()
  it("prices search per row and service level, with the vendor defaults", function()
    assert.equal(300, (cost.worst_case("creativault", "search_tiktok", { size = 100 })))
    assert.equal(150, (cost.worst_case("creativault", "search_youtube", {})))        -- 50 x S2
    assert.equal(10, (cost.worst_case("creativault", "search_instagram", { size = "10", service_level = "S1" })))
    assert.equal(40, (cost.worst_case("creativault", "search_tiktok", { size = 10, service_level = "s3" })))
    local n, detail = cost.worst_case("creativault", "search_tiktok", { size = 20 })
    assert.equal(60, n)
    assert.matches("20 rows x 3 credits", detail, 1, true)
  end)

  it("prices lookalike per row with its own defaults and the 50-row clamp", function()
    assert.equal(20, (cost.worst_case("creativault", "lookalike", {})))               -- 20 x S1
    assert.equal(150, (cost.worst_case("creativault", "lookalike", { limit = 1000, service_level = "S2" })))
  end)

  it("knows fixed prices, free endpoints and KeyAPI's per-request price", function()
    assert.equal(0, (cost.worst_case("creativault", "task_status", { task_id = "t" })))
    assert.equal(15, (cost.worst_case("creativault", "/creators/nl-search", {})))
    assert.equal(1, (cost.worst_case("keyapi", "influencer_list", { page_size = 10 })))
    assert.equal(2, (cost.worst_case("keyapi", "/v1/tiktok/shop/products")))
    local n, detail = cost.worst_case("creativault", "/creators/brand-new")
    assert.is_nil(n)
    assert.matches("unknown", detail)
    assert.has_error(function() cost.worst_case("nope", "x") end)
  end)

  describe("against the mock's ledger", function()
    local m
    setup(function() m = mock.start() end)
    teardown(function() if m then m:stop() end end)

    local function consumed(key)
      return m:get_json("/_mock/stats").credits_consumed[key] or 0
    end

    it("a full answer costs exactly the worst case", function()
      local cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
      for _, p in ipairs({ { size = 7 }, { size = 5, service_level = "S3" }, { size = 3, service_level = "S1" } }) do
        local before = consumed(DEMO.cv_key)
        local res = assert(cv:search_tiktok(p))
        assert.equal(#res.data, p.size)
        assert.equal((cost.worst_case("creativault", "search_tiktok", p)), consumed(DEMO.cv_key) - before)
      end
      local before = consumed(DEMO.cv_key)
      local res = assert(cv:lookalike{ username = "creator_demo", limit = 4 })
      local worst = cost.worst_case("creativault", "lookalike", { limit = 4 })
      assert.is_true(consumed(DEMO.cv_key) - before <= worst)
      assert.equal(#res.data.items, consumed(DEMO.cv_key) - before)
      cv:close()
    end)
  end)
end)
