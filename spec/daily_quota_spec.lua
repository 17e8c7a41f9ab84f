-- The daily request quota: once the server has said it is used up (402 /
-- 42902, or an answer with meta.quota_remaining == 0) the client refuses
-- further CreatiVault calls locally until 00:00 UTC; `max_daily_requests`
-- caps what one client sends per UTC day, retries included. Proven against
-- the mock's own counters (/_mock/stats `requests`, `quota_used`), not the
-- client's.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO
local DAY = 86400

describe("daily request quota (mock API) #jit", function()
  local function stats(m) return m:get_json("/_mock/stats") end
  local function sent(m) return stats(m).requests end
  local function quota_used(m, key) return stats(m).quota_used[key] or 0 end

  local function cv_client(m, opts)
    local o = { base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    for k, v in pairs(opts or {}) do o[k] = v end
    return creatorapi.creativault(o)
  end

  describe("the server's quota", function()
    local m
    setup(function() m = mock.start{ "--daily-quota", "5" } end)
    teardown(function() if m then m:stop() end end)
    before_each(function() m:curl("POST", "/_mock/reset") end)

    it("after the server's 42902 the next call sends nothing and says when the quota resets", function()
      local cv = cv_client(m, { api_key = "cv_live_quota_0001" })
      local _, first = cv:search_tiktok{ size = 1 }
      assert.equal("quota", first.kind)
      assert.equal(42902, first.code)
      assert.equal(402, first.status)
      local n = sent(m)
      local res, err = cv:search_tiktok{ size = 1 }
      assert.is_nil(res)
      assert.equal("quota", err.kind)
      assert.is_nil(err.status)                                   -- local: no answer, nothing sent
      assert.is_false(err.retryable)
      assert.equal(0, err.attempts)
      local midnight = (math.floor(os.time() / DAY) + 1) * DAY
      assert.equal(os.date("!%Y-%m-%dT%H:%M:%SZ", midnight), err.resets_at)
      assert.matches("nothing was sent; it resets at " .. err.resets_at, err.message, 1, true)
      assert.is_true(err.retry_after > 0 and err.retry_after <= DAY)
      assert.equal(n, sent(m))                                    -- the mock saw nothing
      assert(cv:verify_webhook("public"))                         -- unauthenticated calls do not count
      assert.is_true(cv:stats().quota_exhausted)
      cv:close()
    end)

    it("with --daily-quota 5, a loop of 8 calls sends exactly 5; the rest are local quota errors", function()
      local cv = cv_client(m)
      local n0 = sent(m)
      local ok, local_errors = 0, 0
      for i = 1, 8 do
        local res, err = cv:search_tiktok{ size = 1, page = i }
        if res then
          ok = ok + 1
          assert.equal(5 - i, res.meta.quota_remaining)
        else
          assert.equal("quota", err.kind)
          assert.is_nil(err.status)
          local_errors = local_errors + 1
        end
      end
      assert.equal(5, ok)
      assert.equal(3, local_errors)
      assert.equal(n0 + 5, sent(m))
      assert.equal(5, quota_used(m, DEMO.cv_key))
      assert.equal(5, cv:stats().daily_requests)
      cv:close()
    end)

    it("sends again after 00:00 UTC (mock clock and client clock advanced a day)", function()
      local cv = cv_client(m)
      for i = 1, 5 do assert(cv:search_tiktok{ size = 1, page = i }) end
      local _, err = cv:search_tiktok{ size = 1 }
      assert.equal("quota", err.kind)
      local n = sent(m)
      m:curl("POST", "/_mock/clock", string.format('{"advance":%d}', DAY))
      assert.equal(n, sent(m))                                    -- /_mock calls are not counted
      local _, still = cv:search_tiktok{ size = 1 }               -- the client's day has not turned yet
      assert.equal("quota", still.kind)
      assert.equal(n, sent(m))
      cv._quota.now = function() return os.time() + DAY end      -- the documented clock hook
      local res = assert(cv:search_tiktok{ size = 1 })
      assert.equal(4, res.meta.quota_remaining)
      assert.equal(1, quota_used(m, DEMO.cv_key))
      assert.equal(1, cv:stats().daily_requests)
      assert.is_false(cv:stats().quota_exhausted)
      cv:close()
    end)
  end)

  describe("max_daily_requests", function()
    local m
    setup(function() m = mock.start() end)
    teardown(function() if m then m:stop() end end)

    it("caps the requests one client sends per UTC day, refused locally", function()
      local cv = cv_client(m, { max_daily_requests = 3 })
      local n0 = sent(m)
      for i = 1, 3 do assert(cv:search_tiktok{ size = 1, page = i }) end
      for _ = 1, 2 do
        local res, err = cv:search_tiktok{ size = 1 }
        assert.is_nil(res)
        assert.equal("quota", err.kind)
        assert.is_nil(err.status)
        assert.equal(3, err.max_daily_requests)
        assert.equal(3, err.daily_requests)
        assert.matches("max_daily_requests: this client has sent 3 requests today (UTC), the cap is 3; " ..
          "nothing was sent; it resets at " .. err.resets_at, err.message, 1, true)
      end
      assert.equal(n0 + 3, sent(m))
      local st = cv:stats()
      assert.equal(3, st.daily_requests)
      assert.equal(3, st.max_daily_requests)
      assert.is_false(st.quota_exhausted)                         -- the server's quota is not used up
      cv._quota.now = function() return os.time() + DAY end      -- the next UTC day
      assert(cv:search_tiktok{ size = 1 })
      assert.equal(n0 + 4, sent(m))
      cv:close()
      local ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, max_daily_requests = 1 }
      assert(ka:influencer_list{ region = "US" })
      local _, kerr = ka:influencer_list{ region = "US" }
      assert.equal("quota", kerr.kind)
      assert.equal(n0 + 5, sent(m))
      ka:close()
    end)

    it("counts every retry as a request: a retry the cap cannot cover is not made", function()
      local cv = cv_client(m, { max_daily_requests = 2, max_retries = 5, retry_base = 0.01, retry_cap = 0.02 })
      m:curl("POST", "/_mock/faults", '{"status":500,"path":"/openapi/v1/creators/tiktok/search","count":5}')
      local n0 = sent(m)
      local res, err = cv:search_tiktok{ size = 1 }
      m:curl("DELETE", "/_mock/faults")
      assert.is_nil(res)
      assert.equal("server", err.kind)                            -- the last attempt's error
      assert.equal(2, err.attempts)
      assert.equal(n0 + 2, sent(m))                               -- 2 attempts, not 6
      assert.equal(2, cv:stats().daily_requests)
      local _, again = cv:search_tiktok{ size = 1 }
      assert.equal("quota", again.kind)
      assert.equal(n0 + 2, sent(m))
      cv:close()
    end)

    it("without a cap, counts every attempt too (retries included)", function()
      local cv = cv_client(m, { retry_base = 0.01, retry_cap = 0.02 })
      m:curl("POST", "/_mock/faults", '{"status":500,"path":"/openapi/v1/creators/tiktok/search","count":2}')
      local n0 = sent(m)
      local res = assert(cv:search_tiktok{ size = 1 })
      m:curl("DELETE", "/_mock/faults")
      assert.equal(3, res.attempts)
      assert.equal(n0 + 3, sent(m))
      assert.equal(3, cv:stats().daily_requests)
      assert.is_nil(cv:stats().max_daily_requests)
      cv:close()
    end)

    it("counts what was sent, not what the budget or validation refused", function()
      local cv = cv_client(m, { max_daily_requests = 10, max_credits = 3, retry_base = 0.01, retry_cap = 0.02 })
      local n0 = sent(m)
      local _, verr = cv:search_tiktok{ size = 0 }                       -- validation: nothing sent
      assert.equal("validation", verr.kind)
      local _, berr = cv:search_tiktok{ size = 100 }                     -- budget: nothing sent
      assert.equal("budget", berr.kind)
      assert.equal(0, cv:stats().daily_requests)
      -- an attempt without an answer may have been billed: its retry does not fit the budget
      m:curl("POST", "/_mock/faults", '{"kind":"truncate","path":"/openapi/v1/creators/tiktok/search","count":10}')
      local res, err = cv:search_tiktok{ size = 3, service_level = "S1" }
      m:curl("DELETE", "/_mock/faults")
      assert.is_nil(res)
      assert.equal(1, err.attempts)
      assert.equal(n0 + 1, sent(m))
      assert.equal(1, cv:stats().daily_requests)
      cv:close()
    end)

    it("rejects a cap that is not a whole number >= 0", function()
      for _, bad in ipairs({ -1, 1.5, math.huge }) do
        assert.has_error(function() cv_client(m, { max_daily_requests = bad }) end,
          "creatorapi.creativault: option max_daily_requests must be an integer >= 0 or false, got " .. tostring(bad))
      end
      local off = cv_client(m, { max_daily_requests = false })
      assert(off:search_tiktok{ size = 1 })
      off:close()
    end)
  end)
end)
