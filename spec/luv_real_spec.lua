-- The luv transport on the REAL engine (core.curl_engine{socket_mode=true})
-- with real HTTP against the mock. Pending while the engine is not built.
local uv = require "luv"
local host = require "creatorapi.async.luv"
local luvt = require "creatorapi.transport.luv"
local mock = require "support.mock"
local core = require "creatorapi.core"

local KA_PATH = "/v1/tiktok/influencer/list/analytics"

local function ka_req()
  return { method = "GET", path = KA_PATH, query = { region = "US", page_num = 1, page_size = 10 },
    retry = "safe" }
end

describe("luv transport on the real engine #jit", function()
  local m, ctx, t
  setup(function()
    m = mock.start{ "--quiet" }
    luvt._reset(nil)
    ctx = core.context{ base_url = m.url, dialect = "keyapi", api_key = mock.DEMO.keyapi_key }
    t = luvt.new(ctx)
  end)
  teardown(function() luvt._reset(nil); m:stop() end)
  before_each(function() m:reset() end)

  local function faults(rule) m:curl("POST", "/_mock/faults", rule) end

  local function timed_call(n, delay)
    faults(string.format('{"kind":"delay","delay":%g,"count":%d}', delay, n))
    local t0, tasks = uv.hrtime(), {}
    for i = 1, n do
      tasks[i] = host.spawn(function()
        local p = assert(ctx:prepare(ka_req()))
        return ctx:parse(p, t:send(p))
      end)
    end
    assert.is_true(host.run_until(function()
      for i = 1, n do if not tasks[i].done then return false end end
      return true
    end, 10))
    for i = 1, n do
      assert.is_true(tasks[i].ok, tostring(tasks[i].results[1]))
      assert.is_table(tasks[i].results[1], tostring(tasks[i].results[2]))
    end
    return (uv.hrtime() - t0) / 1e9
  end

  it("8 concurrent requests take about one round-trip", function()
    local one = timed_call(1, 0.2)
    local eight = timed_call(8, 0.2)
    -- valgrind makes every call CPU-bound (~30x): then only "not sequential" is checked
    local slack = os.getenv("CREATORAPI_VALGRIND") and 4 or 1.6
    assert.is_true(eight < one * slack and (slack > 2 or eight < 0.6), ("one %.3f eight %.3f"):format(one, eight))
  end)

  it("a 10 ms uv timer keeps ticking during a 500 ms call", function()
    local ticks, tick = 0, uv.new_timer()
    local t0 = uv.hrtime()
    tick:start(10, 10, function() ticks = ticks + 1 end)
    timed_call(1, 0.5)
    tick:stop(); tick:close()
    local missed = math.floor((uv.hrtime() - t0) / 1e7) - ticks
    -- 0–1 on an idle machine; a blocked loop misses ~49; uv timer drift with
    -- valgrind running beside it on 2 cores reached 6
    -- (under valgrind everything runs ~30x slower: only a blocked loop's ~49 fails)
    local bound = os.getenv("CREATORAPI_VALGRIND") and 30 or 12
    assert.is_true(missed <= bound, "missed ticks " .. missed)
  end)

  it("retries after Retry-After sleep without blocking the loop", function()
    faults('{"kind":"status","status":503,"count":1}')
    faults('{"kind":"status","status":429,"retry_after":"1","count":1}')
    local ticks, tick = 0, uv.new_timer()
    tick:start(10, 10, function() ticks = ticks + 1 end)
    local t0 = uv.hrtime()
    local res = host.run(function()
      local p = assert(ctx:prepare(ka_req()))
      for attempt = 1, 5 do
        local raw = t:send(p)
        local r, err = ctx:parse(p, raw)
        if r then return r end
        local delay = ctx:decide(p, err, attempt, raw)
        if not delay then return nil, err end
        t:sleep(delay)
      end
    end)
    tick:stop(); tick:close()
    local el = (uv.hrtime() - t0) / 1e9
    assert.is_table(res)
    assert.is_true(el >= 0.9, "elapsed " .. el)
    assert.is_true(math.floor(el * 100) - ticks <= 8, "ticks " .. ticks)
  end)

  it("an abandoned coroutine frees its transfer", function()
    faults('{"kind":"delay","delay":5,"count":1}')
    local co = coroutine.create(function() t:send(assert(ctx:prepare(ka_req()))) end)
    assert.is_true(coroutine.resume(co))
    local h = luvt._state()
    -- let curl connect and send the request
    host.run_until(function() return next(h.polls) ~= nil end, 2)
    co = nil -- luacheck: ignore 311
    collectgarbage(); collectgarbage()
    assert.equal(1, #h.abandoned)
    local t0 = uv.hrtime()
    host.run(function() return t:send(assert(ctx:prepare(ka_req()))) end)
    assert.equal(0, #h.abandoned)
    assert.is_nil(next(h.waiting))
    assert.is_true((uv.hrtime() - t0) / 1e9 < 2)
  end)
end)
