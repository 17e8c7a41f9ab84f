-- The shared credit budget (issue 10, build 3): max_credits on one ledger in
-- Redis for every process of a key (creatorapi.ledger.redis), against the
-- mock's own credit ledger and a private redis-server (spec/support/redis.lua).
-- docs/scaling.md describes the guarantees and the failure policy.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock_support = require "support.mock"
local redis_support = require "support.redis"

local LUA = os.getenv("CREATORAPI_LUA") or "lua5.4"
local DEMO = mock_support.DEMO
local SEARCH = "/openapi/v1/creators/tiktok/search"
local LEDGER = "creatorapi:budget:creativault:" .. core.sha256(DEMO.cv_key):sub(1, 16)

local function client(m, opts)
  local o = { base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity, rate_limit = false }
  for k, v in pairs(opts or {}) do o[k] = v end
  return creatorapi.creativault(o)
end

local function billed(m) return m:get_json("/_mock/stats").credits_consumed[DEMO.cv_key] or 0 end
local function sent(m) return m:get_json("/_mock/stats").requests end

-- The workers' hosts: blocking curl, a creatorapi.async task (curl multi), a luv task (luv transport).
local HOSTS = { "plain", "async", "luv", "plain" }

-- Starts `procs` workers (spec/support/shared_budget_worker.lua) at once → their reports.
local function start_workers(m, redis_url, procs, cap, size)
  local outs, cmd = {}, {}
  for i = 1, procs do
    outs[i] = os.tmpname()
    cmd[i] = string.format("%s spec/support/shared_budget_worker.lua %s %s %d %d %s >%s 2>&1 &",
      LUA, m.url, redis_url or "none", cap, size, HOSTS[(i - 1) % #HOSTS + 1], outs[i])
  end
  return outs, table.concat(cmd, " ")
end

local function reports(outs)
  local out = {}
  for i, name in ipairs(outs) do
    local f = assert(io.open(name))
    local text = f:read("*a")
    f:close()
    os.remove(name)
    local ok, credits, kind, left, msg = text:match("ok (%d+) credits (%d+) kind (%S+) left (%-?%d+) msg ([^\n]*)")
    assert(ok, "worker " .. i .. " failed: " .. text)
    out[i] = { ok = tonumber(ok), credits = tonumber(credits), kind = kind, left = tonumber(left), msg = msg }
  end
  return out
end

local function run_workers(m, redis_url, procs, cap, size)
  local outs, cmd = start_workers(m, redis_url, procs, cap, size)
  os.execute(cmd .. " wait")
  return reports(outs)
end

local function wait_for(f)
  for _ = 1, 400 do
    local v = f()
    if v then return v end
    os.execute("sleep 0.02")
  end
end

describe("shared credit budget through Redis", function()
  local srv, m
  before_each(function()
    srv = redis_support.start()
    m = mock_support.start()
  end)
  after_each(function()
    m:stop()
    srv:stop()
  end)

  -- 50 ms per search: the 4 processes' calls overlap, so reservations in flight count.
  local function slow_searches()
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":0.05,"count":1000,"path":"' .. SEARCH .. '"}')
  end

  it("4 processes (curl, async task, luv task) sharing one key and max_credits never pass it in the mock's ledger", function()
    slow_searches()
    local cap, size = 200, 7
    local before = billed(m)
    local r = run_workers(m, srv.url, 4, cap, size)
    local spent, calls = billed(m) - before, 0
    for _, w in ipairs(r) do
      calls = calls + w.ok
      -- each process ran until the shared ledger refused it, and the refusal says what is left
      assert.equal("budget", w.kind)
      assert.is_true(w.left >= 0 and w.left < size)
      assert.matches("shared credit budget: this call could cost 7 credits but only " .. w.left ..
        " of max_credits 200 are left", w.msg, 1, true)
      assert.is_true(w.ok < cap / size)       -- no process bought a whole budget on its own
    end
    assert.is_true(spent <= cap)
    assert.is_true(spent > cap - size)        -- and together they used it up
    assert.equal(calls * size, spent)
    local h = srv:cli("HMGET", LEDGER, "spent", "reserved")
    assert.same({ tostring(spent), "0" }, h)
    local cv = client(m, { max_credits = cap, store = { redis = srv.url } })
    assert.same({ max_credits = cap, spent = spent, reserved = 0, left = cap - spent, shared = true,
      name = LEDGER:match("budget:(.*)$") }, cv._ledger:state())
    assert.equal(cap - spent, cv:credits_left())
    cv:close()
  end)

  it("with per-process budgets the same 4 processes spend 4 x the cap (the spec can fail)", function()
    slow_searches()
    local cap, size = 200, 7
    local before = billed(m)
    local r = run_workers(m, nil, 4, cap, size)
    for _, w in ipairs(r) do assert.equal("budget", w.kind) end
    assert.is_true(billed(m) - before > cap)
    assert.equal(4 * (cap - cap % size), billed(m) - before)
  end)

  it("budget = { store = \"memory\" } keeps a client's budget to itself next to a shared store", function()
    local a = client(m, { max_credits = 10, store = { redis = srv.url }, budget = { store = "memory" } })
    local b = client(m, { max_credits = 10, store = { redis = srv.url }, budget = { store = "memory" } })
    assert(a:search_tiktok{ size = 10, service_level = "S1" })
    assert(b:search_tiktok{ size = 10, service_level = "S1" })
    assert.equal(0, a:credits_left())
    assert.equal(0, srv:cli("EXISTS", LEDGER))
    a:close()
    b:close()
  end)

  it("budget = { store = { redis = url } } shares the budget without a shared limiter", function()
    local a = client(m, { max_credits = 10, budget = { store = { redis = srv.url } } })
    local b = client(m, { max_credits = 10, budget = { store = { redis = srv.url } } })
    assert(a:search_tiktok{ size = 6, service_level = "S1" })
    local _, err = b:search_tiktok{ size = 6, service_level = "S1" }
    assert.equal("budget", err.kind)
    assert.is_true(err.shared)
    assert.equal(4, err.credits_left)
    assert.is_nil(a._store)
    assert.equal(0, #srv:cli("KEYS", "creatorapi:lim:*"))
    local st = a._ledger.store
    a:close()
    assert.is_nil(st.conn)                    -- the budget's own connection closes with the client
    b:close()
  end)

  it("budget.name starts a separate ledger on the same Redis", function()
    local a = client(m, { max_credits = 10, store = { redis = srv.url }, budget = { name = "nightly" } })
    local b = client(m, { max_credits = 10, store = { redis = srv.url } })
    assert(a:search_tiktok{ size = 10, service_level = "S1" })
    assert.equal(0, a:credits_left())
    assert.equal(10, b:credits_left())
    assert.equal("10", srv:cli("HGET", "creatorapi:budget:nightly", "spent"))
    a:close()
    b:close()
  end)

  it("a process killed mid-request holds its reservation until the lease ends, then it counts as spent", function()
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":30,"path":"' .. SEARCH .. '"}')
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
      local cv = require("creatorapi").creativault{ base_url = %q, api_key = %q, user_identity = %q,
        store = { redis = %q }, max_credits = 50, budget = { lease = 1.5 }, rate_limit = false, max_retries = 0 }
      cv:search_tiktok{ keyword = "beauty", size = 10, service_level = "S1" }
    ]], m.url, DEMO.cv_key, DEMO.cv_identity, srv.url))
    f:close()
    local p = assert(io.popen(LUA .. " " .. script .. " >/dev/null 2>&1 & echo $!"))
    local pid = assert(tonumber(p:read("*l")))
    p:close()
    assert.truthy(wait_for(function() return srv:cli("HGET", LEDGER, "reserved") == "10" end))
    os.execute("kill -9 " .. pid)
    os.remove(script)
    local lease = srv:cli("ZRANGE", LEDGER .. ":leases", 0, -1, "WITHSCORES")
    local t = srv:cli("TIME")
    local until_us = tonumber(lease[2]) - (tonumber(t[1]) * 1e6 + tonumber(t[2]))
    assert.is_true(until_us > 0 and until_us <= 1.5e6)
    -- in flight: nobody may reserve those 10 credits, and the refusal says so
    local cv = client(m, { max_credits = 50, store = { redis = srv.url } })
    local _, err = cv:search_tiktok{ size = 41, service_level = "S1" }
    assert.equal("budget", err.kind)
    assert.equal(40, err.credits_left)
    assert.matches("(0 spent, 10 reserved by calls in flight, all processes)", err.message, 1, true)
    -- after the lease: spent at its worst case (the server may have billed it), nothing in flight
    assert.truthy(wait_for(function() return cv._ledger:state().reserved == 0 end))
    local st = cv._ledger:state()
    assert.equal(10, st.spent)
    assert.equal(40, st.left)
    local _, err2 = cv:search_tiktok{ size = 41, service_level = "S1" }
    assert.matches("(10 spent, 0 reserved by calls in flight, all processes)", err2.message, 1, true)
    assert.is_falsy(srv:cli("HGET", LEDGER, "r:" .. lease[1]))
    m:curl("DELETE", "/_mock/faults")
    assert(cv:search_tiktok{ size = 40, service_level = "S1" })
    assert.equal(0, cv:credits_left())
    cv:close()
  end)

  it("a call that outlives its lease is still corrected by its release (an error answer is not billed)", function()
    m:curl("POST", "/_mock/faults", '{"status":500,"delay":1,"path":"' .. SEARCH .. '"}')
    local cv = client(m, { max_credits = 50, store = { redis = srv.url }, budget = { lease = 0.2 }, max_retries = 0 })
    local _, err = cv:search_tiktok{ size = 10, service_level = "S1" }
    assert.equal("server", err.kind)
    -- the lease ended during the call (counted as spent); the release took it back
    assert.same({ "0", "0" }, srv:cli("HMGET", LEDGER, "spent", "reserved"))
    assert.equal(50, cv:credits_left())
    local fields = srv:cli("HKEYS", LEDGER)
    table.sort(fields)
    assert.same({ "reserved", "spent" }, fields)
    assert.equal(0, srv:cli("ZCARD", LEDGER .. ":leases"))
    cv:close()
  end)

  it("settles with the real cost, and counts a call without an answer at its worst case", function()
    local cv = client(m, { max_credits = 50, store = { redis = srv.url }, max_retries = 0 })
    local before = billed(m)
    assert(cv:search_tiktok{ size = 4, service_level = "S3" })              -- 16
    m:curl("POST", "/_mock/faults", '{"kind":"truncate","path":"' .. SEARCH .. '"}')
    local _, err = cv:search_tiktok{ size = 3, service_level = "S1" }       -- billed 3, answer cut off
    assert.is_not_nil(err)
    assert.equal(19, billed(m) - before)
    assert.same({ "19", "0" }, srv:cli("HMGET", LEDGER, "spent", "reserved"))
    assert.equal(31, cv:credits_left())
    cv:close()
  end)
end)

describe("shared credit budget: Redis unavailable", function()
  local m
  setup(function() m = mock_support.start() end)
  teardown(function() m:stop() end)

  it("fails closed by default: store_unavailable, nothing sent", function()
    local srv = redis_support.start()
    local cv = client(m, { max_credits = 100, store = { redis = srv.url, retry_interval = 0 } })
    assert(cv:search_tiktok{ size = 2, service_level = "S1" })
    srv:stop() -- killed mid-run
    local before = sent(m)
    local res, err = cv:search_tiktok{ size = 2, service_level = "S1" }
    assert.is_nil(res)
    assert.equal("store_unavailable", err.kind)
    assert.equal(0, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(before, sent(m))
    assert.equal(0, cv:credits_left())           -- nothing can be reserved; never raises
    assert.is_nil((cv._ledger:state()))
    assert(cv:verify_webhook("still-free"))      -- calls that cost nothing still work
    cv:close()
  end)

  it("Redis killed while 4 processes spend: each stops with store_unavailable, nothing more is sent", function()
    local srv = redis_support.start()
    m:curl("DELETE", "/_mock/faults")
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":0.05,"count":1000,"path":"' .. SEARCH .. '"}')
    local sent0, billed0 = sent(m), billed(m)
    local outs, cmd = start_workers(m, srv.url, 4, 100000, 1)
    local p = assert(io.popen("(" .. cmd .. " wait) >/dev/null 2>&1; echo done"))
    assert.truthy(wait_for(function() return tonumber(srv:cli("HGET", LEDGER, "spent") or "0") >= 20 end))
    srv:stop()
    p:read("*a")
    p:close()
    m:curl("DELETE", "/_mock/faults")
    local calls = 0
    for _, w in ipairs(reports(outs)) do
      assert.equal("store_unavailable", w.kind)
      calls = calls + w.ok
    end
    -- every request the mock saw was a call that had its reservation and was answered
    assert.equal(calls, sent(m) - sent0)
    assert.equal(calls, billed(m) - billed0)
  end)

  it("falls back to an in-process ledger from the last shared total with on_unavailable = \"local\"", function()
    local srv = redis_support.start()
    local cv = client(m, { max_credits = 30,
      store = { redis = srv.url, retry_interval = 0, on_unavailable = { limiter = "fail", budget = "local" } } })
    local other = client(m, { max_credits = 30, store = { redis = srv.url } })
    assert(other:search_tiktok{ size = 4, service_level = "S1" })
    assert(cv:search_tiktok{ size = 6, service_level = "S1" })    -- the shared total is now 10
    other:close()
    srv:stop()
    local before = sent(m)
    local _, err = cv:search_tiktok{ size = 21, service_level = "S1" }
    assert.equal("budget", err.kind)
    assert.equal(20, err.credits_left)
    assert(cv:search_tiktok{ size = 20, service_level = "S1" })
    assert.equal(before + 1, sent(m))
    assert.equal(0, cv:credits_left())
    assert.equal(2, cv._ledger.fallbacks)
    -- Redis is back (restarted empty): what was spent during the outage reaches the shared ledger
    srv = redis_support.start(srv.port)
    local _, again = cv:search_tiktok{ size = 11, service_level = "S1" }
    assert.equal("budget", again.kind)
    assert.is_true(again.shared)
    assert.equal("20", srv:cli("HGET", LEDGER, "spent"))
    assert.equal(10, cv:credits_left())
    srv:stop()
    cv:close()
  end)

  it("budget.on_unavailable overrides the store's policy", function()
    local srv = redis_support.start()
    local cv = client(m, { max_credits = 30, store = { redis = srv.url, on_unavailable = "local" },
      budget = { on_unavailable = "fail" } })
    srv:stop()
    local _, err = cv:search_tiktok{ size = 1, service_level = "S1" }
    assert.equal("store_unavailable", err.kind)
    cv:close()
  end)
end)

describe("shared credit budget: options", function()
  it("refuses bad budget options (programming errors raise)", function()
    local function new(o)
      o.api_key, o.user_identity = DEMO.cv_key, DEMO.cv_identity
      return creatorapi.creativault(o)
    end
    local url = "redis://127.0.0.1:1/0"
    assert.has_error(function() new{ budget = { store = { redis = url } } } end,
      "creatorapi.creativault: option budget needs max_credits = <credits>")
    assert.has_error(function() new{ max_credits = 5, budget = { stor = "memory" } } end,
      "creatorapi.creativault: option budget: unknown field \"stor\"")
    assert.has_error(function() new{ max_credits = 5, budget = { store = "disk" } } end)
    assert.has_error(function() new{ max_credits = 5, store = { redis = url }, budget = { lease = 0 } } end)
    assert.has_error(function() new{ max_credits = 5, store = { redis = url }, budget = { name = "" } } end)
    assert.has_error(function() new{ max_credits = 5, store = { redis = url }, budget = { on_unavailable = "x" } } end)
    -- a client constructed against an unreachable Redis does not connect until a billed call
    local cv = new{ max_credits = 5, budget = { store = { redis = url } } }
    assert.equal("redis", cv._ledger.kind)
    cv:close()
    assert.equal("memory", new{ max_credits = 5 }._ledger.kind)
    assert.is_nil(new{ store = { redis = url } }._ledger)
    -- the default lease: the longest call with the client's options
    assert.equal(361e6, new{ max_credits = 5, store = { redis = url } }._ledger.lease_us)
    assert.equal(63e6, new{ max_credits = 5, store = { redis = url }, timeout = 2, max_retries = 0 }._ledger.lease_us)
    assert.equal(2e6, new{ max_credits = 5, store = { redis = url }, budget = { lease = 2 } }._ledger.lease_us)
  end)
end)
