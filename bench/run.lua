--- `make bench`: performance figures as ratios against baselines measured in
--- the same run, never as absolute promises.
--   1. JSON (bench/json_bench.lua, Lua 5.4 and LuaJIT): decode / encode vs lua-cjson and
--      the yajl decoder on the documents of bench/json_docs.lua.
--   3. OpenResty (bench/openresty.lua, when nginx + ngx_lua are installed):
--      the cosocket transport vs raw ngx.socket.tcp, concurrent and sequential.
--   2. HTTP: N KeyAPI list calls through the SDK (validation, query encoding,
--      keep-alive transfer, JSON decode, envelope) vs raw libcurl in C doing
--      the same N transfers and discarding the bytes.
--   2b. Blocking path (bench/blocking_cpu.lua): instructions per call (callgrind)
--      vs the tree before the sans-I/O rewrite, vs raw libcurl (1-row call, with
--      its split: libcurl, JSON decode, C core, Lua layer) and vs raw libcurl +
--      a yajl tree (50-row search).
--   2c. Blocking path in CPU time (bench/cpu_time.lua): the 1-row call vs raw libcurl,
--      user + system time of loops of 10 000 calls, best of 7 rounds: the goal
--      "a 1-row call <= 2x a raw libcurl loop with no parse" is judged here.
--   4. luv / Neovim (bench/luv_bench.lua): missed uv ticks per call, 8 concurrent vs 1.
--   5. Scripts (bench/async_bench.lua): 200 pages at 100 ms, creatorapi.async.map
--      with 8 in flight vs one after another.
--   6. Redis (bench/redis_bench.lua): limiter, budget and limiter+budget overhead Redis vs in-process, cache hit
--      vs a mock round trip, 4 processes with and without the shared limiter.
-- Run through examples/run-with-mock.sh, which starts the mock and sets
-- CREATORAPI_MOCK_URL.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"

local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local N = tonumber(os.getenv("BENCH_CALLS")) or 300

print("== JSON: Lua 5.4 ==")
assert(os.execute("lua5.4 bench/json_bench.lua 7"))
if os.execute("command -v luajit >/dev/null") then
  print("\n== JSON: LuaJIT ==")
  -- the Makefile exports LUA_CPATH with build/jit first
  assert(os.execute("luajit bench/json_bench.lua 7"))
end

print("\n== HTTP: " .. N .. " sequential KeyAPI list calls (page of 10 rows) against the mock ==")
local query = "page_num=1&page_size=10&region=US"
local path = "/v1/tiktok/influencer/list/analytics"
local baseline = os.getenv("BENCH_CURL_BASELINE") or "build/bench/curl_baseline"

local function best_of(rounds, f)
  local best = math.huge
  for _ = 1, rounds do
    local t = f()
    if t < best then best = t end
  end
  return best
end

local function c_run()
  local p = assert(io.popen(string.format("%s '%s%s?%s' %d 'Authorization: Bearer kapi_demo_key_0001'",
    baseline, url, path, query, N)))
  local out = p:read("*a")
  p:close()
  return assert(tonumber(out:match("^(%S+)")), "baseline failed: " .. out)
end

local ka = creatorapi.keyapi{ base_url = url, api_key = "kapi_demo_key_0001" }
local function sdk_run()
  local t0 = core.monotonic()
  for _ = 1, N do
    local res = assert(ka:influencer_list{ region = "US", page_num = 1, page_size = 10 })
    assert(#res.data == 10)
  end
  return core.monotonic() - t0
end

sdk_run()   -- warm up the connection and the mock
local c = best_of(3, c_run)
local sdk = best_of(3, sdk_run)
print(string.format("raw libcurl (C, bytes only)   %8.1f us/call", c / N * 1e6))
print(string.format("creatorapi (decoded tables)   %8.1f us/call", sdk / N * 1e6))
print(string.format("creatorapi vs raw libcurl: %.2fx the time of the floor (%d%% overhead per call)",
  sdk / c, math.floor((sdk / c - 1) * 100 + 0.5)))
ka:close()

print("\n== blocking path: instructions per call (callgrind), this tree vs the one before the rewrite ==")
assert(os.execute("lua5.4 bench/blocking_cpu.lua"))
print("\n== blocking path: CPU time per call (user + system), the 1-row call vs raw libcurl ==")
assert(os.execute("lua5.4 bench/cpu_time.lua"))

if os.execute("test -f /usr/lib/nginx/modules/ngx_http_lua_module.so || command -v openresty >/dev/null") then
  assert(os.execute("lua5.4 bench/openresty.lua"))
end
print("\n== luv / Neovim: the luv transport on a libuv loop ==")
assert(os.execute("lua5.4 bench/luv_bench.lua"))
print("\n== scripts: creatorapi.async on the curl transport ==")
assert(os.execute("lua5.4 bench/async_bench.lua"))
print("\n== beyond one process: Redis limiter, paid-answer cache ==")
assert(os.execute("lua5.4 bench/redis_bench.lua"))
