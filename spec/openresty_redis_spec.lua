-- OpenResty with 4 workers sharing a Redis limiter and cache over cosockets
-- (commands encoded and replies parsed by hiredis in the core). Needs nginx
-- with the Lua module (Debian libnginx-mod-http-lua) and redis-server.
local core = require "creatorapi.core"
local nginx = require "support.nginx"
local mock_support = require "support.mock"
local redis_support = require "support.redis"

local function json(s) return assert(core.json_decode(s), s) end

describe("OpenResty with Redis", function()
  local m, srv, n4
  setup(function()
    srv = redis_support.start()
    m = mock_support.start{ "--rate-limit", "20", "--time-scale", "120" }
    n4 = nginx.start("spec/support/nginx_redis.conf.in", { WORKERS = 4,
      ENV = string.format("MOCK_URL=%s REDIS_URL=%s", m.url, srv.url) })
  end)
  teardown(function()
    if n4 then n4:stop() end
    m:stop()
    srv:stop()
  end)

  local function burst(shared)
    local urls = {}
    for i = 1, 8 do
      urls[i] = string.format("'%s/t/limited?n=10&limit=20&per=0.5&shared=%s&i=%d'", n4.url, shared, i)
    end
    local sum, pids, npid = { ok = 0, limited = 0, other = 0 }, {}, 0
    local out = nginx.curl_parallel(urls)
    for line in out:gmatch("[^\n]+") do
      local r = json(line)
      sum.ok, sum.limited, sum.other = sum.ok + r.ok, sum.limited + r.limited, sum.other + r.other
      assert.is_false(r.hiredis, "a worker used the blocking hiredis connection")
      if not pids[r.pid] then pids[r.pid], npid = true, npid + 1 end
    end
    return sum, npid, out
  end

  it("4 workers keep the mock's per-key rate limit through Redis: 80 requests, 0 x 429", function()
    m:reset()
    local sum, npid, out = burst("1")
    assert.same({ ok = 80, limited = 0, other = 0 }, sum, out .. n4:error_log())
    assert.is_true(npid >= 2, "the load reached only one worker")
    assert.is_nil(m:get_json("/_mock/stats").statuses["429"])
  end)

  it("without the shared limiter the same burst gets 429s (the spec can fail)", function()
    m:reset()
    local sum = burst("0")
    assert.equal(80, sum.ok + sum.limited)
    assert.is_true(sum.limited > 0)
  end)

  -- 8 handlers on 4 workers, each with max_credits = 60, spending 3 credits a call until refused.
  local function spend_all(shared)
    local urls = {}
    for i = 1, 8 do urls[i] = string.format("'%s/t/budget?cap=60&size=3&shared=%s&i=%d'", n4.url, shared, i) end
    local before = m:get_json("/_mock/stats").credits_consumed[mock_support.DEMO.cv_key] or 0
    local out = nginx.curl_parallel(urls)
    local calls, npid, pids = 0, 0, {}
    for line in out:gmatch("[^\n]+") do
      local r = json(line)
      assert.equal("budget", r.kind, line)
      assert.is_false(r.hiredis, "a worker used the blocking hiredis connection")
      calls = calls + r.ok
      if not pids[r.pid] then pids[r.pid], npid = true, npid + 1 end
    end
    local spent = (m:get_json("/_mock/stats").credits_consumed[mock_support.DEMO.cv_key] or 0) - before
    return spent, calls, npid
  end

  it("4 workers share one max_credits ledger through Redis: the mock's ledger never passes it", function()
    m:reset()
    srv:cli("FLUSHALL")
    local spent, calls, npid = spend_all("1")
    assert.equal(60, spent)                   -- 20 calls of 3 credits, over all handlers
    assert.equal(20, calls)
    assert.is_true(npid >= 2, "the load reached only one worker")
    -- per handler, the same load spends 8 x the cap (the spec can fail)
    local alone = spend_all("0")
    assert.equal(8 * 60, alone)
  end)

  it("shares the paid-answer cache between workers and with scripts", function()
    m:reset()
    local kw = "fitness"
    local first = json((n4:get("/t/cached?kw=" .. kw)))
    assert.is_true(first.ok, first.err)
    assert.is_false(first.cached)
    for _ = 1, 4 do
      local again = json((n4:get("/t/cached?kw=" .. kw)))
      assert.is_true(again.cached)
      assert.equal(first.first, again.first)
    end
    -- a script on the curl path reads the entry the workers wrote
    local cv = require("creatorapi").creativault{ base_url = m.url, api_key = mock_support.DEMO.cv_key,
      user_identity = mock_support.DEMO.cv_identity, cache = { store = { redis = srv.url }, ttl = 60 } }
    assert.is_true(assert(cv:search_tiktok{ keyword = kw, size = 2 }).cached)
    cv:close()
  end)
end)
