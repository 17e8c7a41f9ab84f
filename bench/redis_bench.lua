--- Beyond one process (issue 10): a private redis-server on loopback.
---   * limiter, budget (max_credits ledger) and limiter+budget overhead per call: Redis vs
---     in-process (goal <= 0.3 ms per call with Redis on loopback);
---   * a paid-answer cache hit (memory, Redis) vs a mock round trip;
---   * 4 processes sharing one key against the mock's per-key limit: requests and 429s
---     with and without the shared limiter.
--- Run through run-with-mock.sh (CREATORAPI_MOCK_URL); starts its own redis-server and a
--- rate-limited mock for the last part.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local redis_support = require "support.redis"
local mock_support = require "support.mock"

local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local N = tonumber(os.getenv("BENCH_CALLS")) or 2000
local srv = redis_support.start()
local store = require("creatorapi.store.redis").new{ url = srv.url, prefix = "bench:" }

local function per_call(n, f)
  local best = math.huge
  for _ = 1, 3 do
    local t0 = core.monotonic()
    for i = 1, n do f(i) end
    best = math.min(best, core.monotonic() - t0)
  end
  return best / n
end

-- 60 tokens that come back after 1 us: never waits, the figure is the bookkeeping alone
local loc = core.limiter(60, 1e-6)
local red = require("creatorapi.limiter.redis").new(store, "bench", 60, 1e-6)
local function cycle(lim) return function()
  local tok = assert(lim:acquire(core.monotonic()))
  lim:release(tok, core.monotonic())
end end
local t_loc, t_red = per_call(N, cycle(loc)), per_call(N, cycle(red))
print(string.format("limiter acquire+release, in-process   %8.1f us/call", t_loc * 1e6))
print(string.format("limiter acquire+release, Redis        %8.1f us/call (%s the 0.3 ms goal)", t_red * 1e6,
  t_red <= 0.0003 and "within" or "OVER"))

-- The max_credits ledger: one reservation settled per billed call (a cap it never reaches).
local bloc = require("creatorapi.budget").new{ max_credits = 1e15 }
local bred = require("creatorapi.ledger.redis").new(store, "bench", 1e15, { lease = 60 })
local function spend(led) return function()
  led:settle(assert(led:reserve(3)), 3)
end end
local b_loc, b_red = per_call(N, spend(bloc)), per_call(N, spend(bred))
print(string.format("budget reserve+settle, in-process     %8.1f us/call", b_loc * 1e6))
print(string.format("budget reserve+settle, Redis          %8.1f us/call", b_red * 1e6))
local function both(lim, led)
  local a, b = cycle(lim), spend(led)
  return function() a(); b() end
end
local lb_loc, lb_red = per_call(N, both(loc, bloc)), per_call(N, both(red, bred))
print(string.format("limiter+budget per call, in-process   %8.1f us/call", lb_loc * 1e6))
print(string.format("limiter+budget per call, Redis        %8.1f us/call (%s the 0.3 ms goal; 3 round trips)", lb_red * 1e6,
  lb_red <= 0.0003 and "within" or "OVER"))
store:call("DEL", "bench:budget:bench", "bench:budget:bench:leases")

local function cv(opts)
  local o = { base_url = url, api_key = "cv_live_demo_key_0001", user_identity = "demo@creatorapi.test",
    rate_limit = false }
  for k, v in pairs(opts or {}) do o[k] = v end
  return creatorapi.creativault(o)
end
local P = { keyword = "beauty", size = 20 }
local plain, mem, rc = cv(), cv{ cache = { ttl = 600 } }, cv{ cache = { store = { redis = srv.url }, ttl = 600 } }
assert(mem:search_tiktok(P)); assert(rc:search_tiktok(P))
local M = math.floor(N / 10)
local t_http = per_call(M, function() assert(plain:search_tiktok(P)) end)
local t_mem = per_call(M, function() assert(assert(mem:search_tiktok(P)).cached) end)
local t_rc = per_call(M, function() assert(assert(rc:search_tiktok(P)).cached) end)
print(string.format("search (20 rows): mock round trip     %8.1f us/call", t_http * 1e6))
print(string.format("search (20 rows): memory cache hit    %8.1f us/call (%.1fx faster)", t_mem * 1e6, t_http / t_mem))
print(string.format("search (20 rows): Redis cache hit     %8.1f us/call (%.1fx faster)", t_rc * 1e6, t_http / t_rc))
plain:close(); mem:close(); rc:close()

-- 4 processes, 75 searches each, 60 per mock minute with the mock clock at 120x (0.5 s windows).
local LUA = os.getenv("CREATORAPI_LUA") or "lua5.4"
for _, shared in ipairs{ false, true } do
  local m = mock_support.start{ "--rate-limit", "60", "--time-scale", "120" }
  local outs, cmd = {}, {}
  for i = 1, 4 do
    outs[i] = os.tmpname()
    cmd[i] = string.format("%s spec/support/shared_limit_worker.lua %s %s 75 60 0.5 >%s 2>&1 &", LUA, m.url,
      shared and srv.url or "none", outs[i])
  end
  local t0 = core.monotonic()
  os.execute(table.concat(cmd, " ") .. " wait")
  local dt = core.monotonic() - t0
  local ok, limited = 0, 0
  for i = 1, 4 do
    local f = assert(io.open(outs[i]))
    local a, b = f:read("*a"):match("ok (%d+) limited (%d+)")
    f:close()
    os.remove(outs[i])
    ok, limited = ok + tonumber(a), limited + tonumber(b)
  end
  print(string.format("4 processes x 75 searches, %-22s %3d answered, %3d x 429 in %.1f s",
    shared and "shared Redis limiter:" or "in-process limiters:", ok, limited, dt))
  m:stop()
end
srv:stop()
