-- An overnight-style soak, compressed: thousands of calls with random faults
-- through one client, bounded in time, with memory measured as it goes.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local CALLS = tonumber(os.getenv("CREATORAPI_SOAK_CALLS")) or 5000
-- Under ASan the allocator's quarantine makes RSS grow by design: only the Lua heap is checked there.
local SANITIZED = os.getenv("CREATORAPI_SANITIZER") ~= nil
local TIME_LIMIT = 100   -- seconds: the soak stops early rather than overrun CI

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

-- Quick faults only (no multi-second delays), each handled by a retry.
local FAULTS = {
  { kind = "status", status = 500 }, { kind = "status", status = 503 }, { kind = "html", status = 502 },
  { kind = "reset_after" }, { kind = "reset_before" }, { kind = "truncate" }, { kind = "success_false" },
  { kind = "status", status = 429, retry_after = false },
}

describe("soak (mock API) #slow", function()
  it("survives thousands of calls with random faults, memory flat", function()
    local m = mock.start()
    local cv = creatorapi.creativault{ base_url = m.url, api_key = mock.DEMO.cv_key,
      user_identity = mock.DEMO.cv_identity, retry_base = 0.001, retry_cap = 0.005, max_retries = 3,
      rate_limit = false }
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = mock.DEMO.keyapi_key, retry_base = 0.001,
      retry_cap = 0.005, max_retries = 3 }
    local seed = 12345
    local function rand(n)    -- a tiny LCG: the same fault schedule on every run
      seed = (seed * 1103515245 + 12345) % 2147483648
      return math.floor(seed / 65536) % n + 1       -- the high bits: an LCG's low bits cycle fast
    end
    local t0 = core.monotonic()
    local faults, failures, done = 0, 0, 0
    local mem_warm, rss_warm
    for i = 1, CALLS do
      if rand(6) == 1 then
        local rule = {}
        for k, v in pairs(FAULTS[rand(#FAULTS)]) do rule[k] = v end
        m:curl("POST", "/_mock/faults", creatorapi.json.encode(rule))
        faults = faults + 1
      end
      local res, err
      if i % 2 == 0 then
        res, err = cv:search_tiktok{ size = 5, service_level = "S1", page = rand(50) }
      else
        res, err = ka:influencer_list{ region = "US", page_num = rand(100) }
      end
      if not res then
        failures = failures + 1
        assert.is_true(err.kind == "server" or err.kind == "network" or err.kind == "rate_limited", tostring(err))
      end
      done = i
      if i == 300 then
        collectgarbage(); collectgarbage()
        mem_warm, rss_warm = collectgarbage("count"), rss_kb()
      end
      if core.monotonic() - t0 > TIME_LIMIT then break end
    end
    collectgarbage(); collectgarbage()
    local mem_end, rss_end = collectgarbage("count"), rss_kb()
    local st_cv, st_ka = cv:stats(), ka:stats()
    print(string.format("\nsoak: %d calls in %.1f s, %d faults injected, %d retries, %d calls failed after retries;"
      .. " Lua heap %.0f -> %.0f KB, RSS %d -> %d KB", done, core.monotonic() - t0, faults,
      (st_cv.retries or 0) + (st_ka.retries or 0), failures, mem_warm, mem_end, rss_warm, rss_end))
    cv:close()
    ka:close()
    m:stop()
    assert.is_true(done >= math.min(CALLS, 1000), "too few calls in the time limit")
    assert.is_true(mem_end - mem_warm < 1024, "Lua heap grew by more than 1 MB")
    if not SANITIZED then
      assert.is_true(rss_end - rss_warm < 16 * 1024, "RSS grew by more than 16 MB")
    end
    assert.is_true(failures < faults / 4 + 1, "retries should absorb almost every single fault")
  end)
end)
