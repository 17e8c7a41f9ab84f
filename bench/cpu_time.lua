--- `make bench`, blocking path in CPU time: a 1-row KeyAPI call through the
--- SDK against raw libcurl in C fetching the same answer with no parse, each
--- a loop of N calls on one keep-alive connection to the mock, CPU time of
--- the loop (user + system: the socket system calls are part of a call's
--- cost), best of ROUNDS, the three loops taking turns so a busy moment of
--- the machine falls on all of them. The goal (issue 12): the SDK call,
--- decoded to Lua tables, <= 2x raw libcurl (bytes only).
-- Instructions (bench/blocking_cpu.lua) leave the kernel out, so the same
-- comparison there is steeper; both are printed.
-- Run through examples/run-with-mock.sh (CREATORAPI_MOCK_URL), from the repo root.
local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local baseline = os.getenv("BENCH_CURL_BASELINE") or "build/bench/curl_baseline"
local N = tonumber(os.getenv("BENCH_CPU_CALLS")) or 10000
local ROUNDS = tonumber(os.getenv("BENCH_CPU_ROUNDS")) or 5

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

local core = require "creatorapi.core"
local KA = string.format("'%s/v1/tiktok/influencer/list/analytics?page_num=1&page_size=1&region=US'", url)
local AUTH = "'Authorization: Bearer kapi_demo_key_0001'"
local UA = "creatorapi-lua/" .. core._VERSION .. " libcurl/" .. core.curl_version
local loops = {
  raw = string.format("%s %s %d %s", baseline, KA, N, AUTH),
  same = string.format("%s %s %d %s 'Accept: application/json' 'User-Agent: %s' --compressed",
    baseline, KA, N, AUTH, UA),
  sdk = string.format("lua5.4 bench/cpu_calls.lua %s %d ka1 cpu", url, N),
}
local order = { "raw", "same", "sdk" }
local best = {}
for _ = 1, ROUNDS do
  for _, name in ipairs(order) do
    local out = run(loops[name])
    -- curl_baseline: "<wall> <bytes> <cpu>"; cpu_calls.lua: "<cpu>"
    local cpu = tonumber(name == "sdk" and out:match("^%s*(%S+)%s*$") or out:match("^%S+ %S+ (%S+)"))
    assert(cpu, name .. " loop failed: " .. out)
    if not best[name] or cpu < best[name] then best[name] = cpu end
  end
end
local us = function(name) return best[name] / N * 1e6 end
print(string.format("raw libcurl, KeyAPI 1-row GET, bytes only:              %7.1f us CPU/call", us("raw")))
print(string.format("raw libcurl, the same GET with the SDK's request lines: %7.1f us CPU/call", us("same")))
print(string.format("creatorapi, the same call decoded to Lua tables:        %7.1f us CPU/call", us("sdk")))
local ratio = best.sdk / best.raw
print(string.format("KeyAPI 1-row call, CPU time (user + system, best of %d x %d calls): %.2fx raw libcurl bytes only"
  .. " (goal <= 2.00)%s; %.2fx the same request from C", ROUNDS, N, ratio, ratio <= 2 and "" or "  MISSED",
  best.sdk / best.same))
