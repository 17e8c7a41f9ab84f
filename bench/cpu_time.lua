--- `make bench`, blocking path in CPU time: a 1-row KeyAPI call through the
--- SDK against raw libcurl in C fetching the same answer with no parse, each
--- a loop of N calls on one keep-alive connection to the mock, CPU time of
--- the loop (user + system: the socket system calls are part of a call's
--- cost). The goal (issue 12): the SDK call, decoded to Lua tables, <= 2x
--- raw libcurl (bytes only).
-- Rounds: each runs the three loops back to back. The goal is judged on
-- each loop's best round (noise on a shared VM only ever adds time); the
-- round-by-round ratios (their range and median) are printed beside it.
-- The floors:
--   raw   curl_baseline with Authorization only, libcurl's defaults (the
--         floor the issue measured against);
--   same  the request the SDK sends (Accept, User-Agent, Accept-Encoding) and
--         CURLOPT_NOSIGNAL, as the SDK sets it: a careful C program.
-- Instructions (bench/blocking_cpu.lua) leave the kernel out, so the same
-- comparison there is steeper; both are printed.
-- Run through examples/run-with-mock.sh (CREATORAPI_MOCK_URL), from the repo root.
local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local baseline = os.getenv("BENCH_CURL_BASELINE") or "build/bench/curl_baseline"
local N = tonumber(os.getenv("BENCH_CPU_CALLS")) or 10000
local ROUNDS = tonumber(os.getenv("BENCH_CPU_ROUNDS")) or 7

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
  same = string.format("%s %s %d %s 'Accept: application/json' 'User-Agent: %s' --compressed=gzip --nosignal",
    baseline, KA, N, AUTH, UA),
  sdk = string.format("lua5.4 bench/cpu_calls.lua %s %d ka1 cpu", url, N),
}

-- → cpu, user, system (seconds; the split may be nil)
local function cpu_of(name)
  local out = run(loops[name])
  -- curl_baseline: "<wall> <bytes> <cpu> <user> <system>";
  -- cpu_calls.lua: "<cpu> [<user> <system>]"
  local cpu, u, sy
  if name == "sdk" then cpu, u, sy = out:match("^%s*(%S+) ?(%S*) ?(%S*)%s*$")
  else cpu, u, sy = out:match("^%S+ %S+ (%S+) ?(%S*) ?(%S*)") end
  cpu = tonumber(cpu)
  return assert(cpu, name .. " loop failed: " .. out), tonumber(u), tonumber(sy)
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) / 2] or (s[n / 2] + s[n / 2 + 1]) / 2
end

local per = { raw = {}, same = {}, sdk = {} }
local split = { raw = {}, same = {}, sdk = {} } -- per round: { user, system }
local vs_raw, vs_same = {}, {}
for r = 1, ROUNDS do
  for _, name in ipairs{ "raw", "same", "sdk" } do
    local cpu, u, sy = cpu_of(name)
    per[name][r] = cpu
    split[name][r] = u and sy and { u, sy } or nil
  end
  vs_raw[r] = per.sdk[r] / per.raw[r]
  vs_same[r] = per.sdk[r] / per.same[r]
end
local function best(name)
  local b = math.huge
  for _, v in ipairs(per[name]) do b = math.min(b, v) end
  return b
end
local function us(name) return best(name) / N * 1e6 end
-- "user U + system S" of the loop's best round, in us per call.
local function parts(name)
  local b = best(name)
  for r, v in ipairs(per[name]) do
    local sp = split[name][r]
    if v == b and sp then return string.format("  (user %5.1f + system %5.1f)", sp[1] / N * 1e6, sp[2] / N * 1e6) end
  end
  return ""
end
local function range(t)
  local lo, hi = math.huge, 0
  for _, v in ipairs(t) do lo, hi = math.min(lo, v), math.max(hi, v) end
  return string.format("%.2f-%.2f", lo, hi)
end
local LINE = "%-62s %7.1f us CPU/call%s"
print(string.format(LINE, "raw libcurl, KeyAPI 1-row GET, bytes only (libcurl defaults):", us("raw"), parts("raw")))
print(string.format(LINE, "raw libcurl, the SDK's request lines, CURLOPT_NOSIGNAL:", us("same"), parts("same")))
print(string.format(LINE, "creatorapi, the same call decoded to Lua tables:", us("sdk"), parts("sdk")))
local ratio = best("sdk") / best("raw")
print(string.format("KeyAPI 1-row call, CPU time (user + system), best of %d rounds of %d calls each:"
  .. " %.2fx raw libcurl bytes only (goal <= 2.00)%s; %.2fx the SDK's request from careful C;"
  .. " round by round %s and %s (median %.2fx, %.2fx)", ROUNDS, N, ratio, ratio <= 2 and "" or "  MISSED",
  best("sdk") / best("same"), range(vs_raw), range(vs_same), median(vs_raw), median(vs_same)))
