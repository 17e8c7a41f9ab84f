-- creatorapi.async in a plain script: the curl transport's loop
-- (lua/creatorapi/async/curl.lua) runs several SDK calls at once on the
-- client's multi handle, and every wait (retry backoff, Retry-After, the
-- limiter, wait_task polling) yields to the other tasks. Real HTTP against
-- the mock; timings are compared with a call measured in the same test.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local DEMO = mock.DEMO
local KA_PATH = "/v1/tiktok/influencer/list/analytics"

describe("creatorapi.async on the curl transport #jit", function()
  local m, ka, cv
  setup(function()
    m = mock.start{ "--quiet", "--time-scale", "200" }
    ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      rate_limit = false }
  end)
  teardown(function()
    ka:close(); cv:close(); m:stop()
  end)
  before_each(function() m:reset() end)

  local function faults(rule) m:curl("POST", "/_mock/faults", rule) end

  local function page(i)
    return function() return ka:influencer_list{ region = "US", page_num = i, page_size = 2 } end
  end

  local function timed(fn)
    local t0 = core.monotonic()
    local a, b = fn()
    return core.monotonic() - t0, a, b
  end

  it("is the host driver for scripts, and the module is callable", function()
    assert.equal("curl", creatorapi.async.host())
    local h = creatorapi.async(function(a, b) return a + b, "x" end, 2, 3)
    assert.is_false(h:done())                 -- nothing runs until someone waits
    local s, x = h:wait()
    assert.equal(5, s)
    assert.equal("x", x)
    assert.is_true(h:done())
  end)

  it("runs 8 delayed calls in about one round-trip with all()", function()
    faults('{"kind":"delay","delay":0.3,"count":1}')
    local one = timed(page(1))
    faults('{"kind":"delay","delay":0.3,"count":8}')
    local fns = {}
    for i = 1, 8 do fns[i] = page(i) end
    local eight, out = timed(function() return creatorapi.async.all(fns) end)
    assert.equal(8, #out)
    for i = 1, 8 do
      local res, err = out[i][1], out[i][2]
      assert.is_table(res, tostring(err))
      assert.equal(200, res.status)
    end
    assert.is_true(eight < one * 3, ("one %.3f s, eight %.3f s"):format(one, eight))
  end)

  it("map() keeps at most `concurrency` in flight and returns results in order", function()
    local pages = {}
    for i = 1, 40 do pages[i] = i end
    local out = creatorapi.async.map(pages, function(i)
      return assert(ka:influencer_list{ region = "US", page_num = i, page_size = 1 }).status, i
    end, { concurrency = 8 })
    assert.equal(40, #out)
    for i = 1, 40 do assert.same({ n = 2, 200, i }, out[i]) end
  end)

  it("a Retry-After wait yields: the other task finishes first", function()
    faults(string.format('{"kind":"status","status":429,"retry_after":"1","count":1,"path":"%s"}', KA_PATH))
    local order = {}
    local out = creatorapi.async.all{
      function()
        local res = assert(ka:influencer_list{ region = "US" })
        order[#order + 1] = "retried"
        return res.attempts
      end,
      function()
        creatorapi.async.all{}                -- a no-op join is fine inside a task
        local res = assert(cv:search_tiktok{ country_code = "US", size = 1 })
        order[#order + 1] = "other"
        return res.status
      end,
    }
    assert.same({ "other", "retried" }, order)
    assert.equal(2, out[1][1])
    assert.equal(200, out[2][1])
  end)

  it("the rate limiter's waits yield too, and keep the limit", function()
    local lim = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key,
      rate_limit = { requests = 2, per = 0.5 } }
    local order = {}
    local function limited(i)
      return function()
        local res = lim:influencer_list{ region = "US", page_num = i }
        order[#order + 1] = i
        return res
      end
    end
    local el, out = timed(function()
      return creatorapi.async.all{ limited(1), limited(2), limited(3), limited(4),
        function() order[#order + 1] = "free"; return "free" end }
    end)
    for i = 1, 4 do assert.is_table(out[i][1], tostring(out[i][2])) end
    assert.equal("free", order[1], "a task waiting for the limiter blocked the others")
    assert.is_true(el >= 0.45, "4 calls at 2 per 0.5 s took only " .. el)
    lim:close()
  end)

  it("wait_task polls without blocking the other tasks", function()
    local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "jane.doe" }, task_name = "async" })
    local polls, pages = 0, 0
    local out = creatorapi.async.all{
      function()
        return assert(cv:wait_task(sub.data.task_id, { interval = 0.05, max_interval = 0.1,
          on_progress = function() polls = polls + 1 end })).status
      end,
      function()
        for i = 1, 5 do
          assert(ka:influencer_list{ region = "US", page_num = i })
          pages = pages + 1
        end
        return pages
      end,
    }
    assert.equal("completed", out[1][1])
    assert.equal(5, out[2][1])
    assert.is_true(polls >= 1)
  end)

  it("runs two downloads at once with progress", function()
    local id = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo" } }).data.task_id
    assert(cv:wait_task(id, { interval = 0.05 }))
    local ex = assert(cv:export_task{ task_id = id, format = "csv" })
    local dir = os.tmpname()
    os.remove(dir)
    local seen = {}
    local out = creatorapi.async.all{
      function() return cv:download(ex.data, dir .. ".a.csv", { on_progress = function(n) seen.a = n end }) end,
      function() return cv:download(ex.data, dir .. ".b.csv", { on_progress = function(n) seen.b = n end }) end,
    }
    local a, b = out[1][1], out[2][1]
    assert.is_table(a, tostring(out[1][2]))
    assert.is_table(b, tostring(out[2][2]))
    assert.equal(a.sha256, b.sha256)
    assert.equal(a.bytes, seen.a)
    assert.equal(b.bytes, seen.b)
    os.remove(dir .. ".a.csv"); os.remove(dir .. ".b.csv")
  end)

  it("iterators read ahead with prefetch = N, never past max_items, and never for per-row billing", function()
    local function pages_of(opts)
      local before = ka:stats().requests
      local n = 0
      local el = timed(function()
        for _ in ka:each_influencer({ region = "US" }, opts) do n = n + 1 end
      end)
      return n, ka:stats().requests - before, el
    end
    faults('{"kind":"delay","delay":0.3,"count":5}')
    local n1, r1, seq = pages_of{ size = 2, max_items = 10 }
    faults('{"kind":"delay","delay":0.3,"count":5}')
    local n2, r2, par = pages_of{ size = 2, max_items = 10, prefetch = 4 }
    assert.equal(10, n1)
    assert.equal(10, n2)
    assert.equal(5, r1)
    assert.equal(5, r2)                     -- max_items bounds the read-ahead too
    assert.is_true(par < seq / 2, ("prefetch %.3f s vs one by one %.3f s"):format(par, seq))
    assert.has_error(function() cv:each_creator("tiktok", { country_code = "US" }, { prefetch = 2 }) end,
      "each_creator: opts.prefetch is refused where every returned row is billed")
  end)

  it("keeps requests in flight within max_credits: each reserves before it is sent", function()
    local function billed() return m:get_json("/_mock/stats").credits_consumed[mock.DEMO.keyapi_key] or 0 end
    local before = billed()
    local k = creatorapi.keyapi{ base_url = m.url, api_key = mock.DEMO.keyapi_key, max_credits = 5 }
    local rows, err = creatorapi.collect(k:each("influencer_list", { region = "US" }, { prefetch = 4 }))
    assert.equal("budget", err.kind)
    assert.equal(50, #rows)
    assert.equal(5, billed() - before)      -- the mock's ledger: never a sixth request
    k:close()
  end)

  it("delivers errors: wait() and all() re-raise, the callback gets (false, err)", function()
    local h = creatorapi.async(function() error("boom", 0) end)
    local ok, err = pcall(h.wait, h)
    assert.is_false(ok)
    assert.equal("boom", err)
    ok, err = pcall(creatorapi.async.all, { function() return 1 end, function() error("second", 0) end })
    assert.is_false(ok)
    assert.equal("second", err)
    local got
    local h2 = creatorapi.async(function(x) return x * 2 end, 21, function(...) got = { ... } end)
    h2:wait()
    assert.same({ true, 42 }, got)
    local h3 = creatorapi.async(function() error("cb", 0) end, function(...) got = { ... } end)
    assert.has_no_error(function() pcall(h3.wait, h3) end)
    assert.same({ false, "cb" }, got)
    -- an API failure is a value, not an error
    local r = creatorapi.async(function() return ka:influencer_list{ region = "US", page_num = "x" } end)
    local res, verr = r:wait()
    assert.is_nil(res)
    assert.equal("validation", verr.kind)
  end)

  it("a submit whose answer is lost stays unknown_outcome inside a task", function()
    faults('{"kind":"reset_after","count":1,"path":"/openapi/v1/collection/tasks/submit"}')
    local res, err = creatorapi.async(function()
      return cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok", values = { "creator_demo" } }
    end):wait()
    assert.is_nil(res)
    assert.equal("unknown_outcome", err.kind)
    assert.equal(1, err.attempts)
  end)

  it("validates the transport option", function()
    assert.has_error(function() creatorapi.keyapi{ api_key = "k", transport = "carrier-pigeon" } end)
    local c = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, transport = "luv" }
    assert.has_error(function() c:influencer_list{ region = "US" } end)
    c:close()
    local cc = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, transport = "curl" }
    assert(cc:influencer_list{ region = "US" })
    cc:close()
  end)

  it("a client closed while a task waits gives that task a network error", function()
    faults('{"kind":"delay","delay":0.5,"count":1}')
    local c = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
    local out = creatorapi.async.all{
      function() return c:influencer_list{ region = "US" } end,
      function() creatorapi.async.all{}; c._loop.curl:close() end,
    }
    assert.is_nil(out[1][1])
    assert.equal("network", out[1][2].kind)
  end)
end)
