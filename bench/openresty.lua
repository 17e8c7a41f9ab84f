--- `make bench`, OpenResty section: one nginx worker, the SDK's cosocket
--- transport vs a raw ngx.socket.tcp doing the same KeyAPI list requests.
--   1. the mock answers 200 ms late: 8 and 32 concurrent requests, wall time
--      (both should be ~1 round-trip; the ratio shows the SDK's extra cost);
--      and /ping (no Lua) latency percentiles while 32 run, again and again;
--   2. no delay, 4 concurrent light threads: requests/s ratio.
-- Run through examples/run-with-mock.sh (CREATORAPI_MOCK_URL), from the repo root.
local core = require "creatorapi.core"
local nginx = require "support.nginx"

local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local N = tonumber(os.getenv("BENCH_CALLS")) or 300

local function faults(body)
  nginx.sh("curl -s -X DELETE " .. url .. "/_mock/faults")
  if body then
    nginx.sh("curl -s -H 'Content-Type: application/json' --data-binary '" .. body .. "' " .. url .. "/_mock/faults")
  end
end

local function best(ng, path, rounds)
  local secs, info = math.huge, nil
  for _ = 1, rounds do
    local body, code = ng:get(path, 300)
    local r = core.json_decode(body or "")
    assert(code == 200 and r and r.seconds, "bench request failed: " .. tostring(body) .. "\n" .. ng:error_log())
    if r.seconds < secs then secs, info = r.seconds, r end
  end
  return secs, info
end

-- /ping latencies (seconds, sorted) measured by curl at 50/s while `busy` runs.
local function ping_while(ng, pings, busy)
  local out = os.tmpname()
  local args = {}
  for i = 1, pings do args[i] = "-o /dev/null " .. ng.url .. "/ping" end
  os.execute(string.format("(curl -s --rate 50/s -w '%%{time_total}\n' %s > %s; echo done >> %s) &",
    table.concat(args, " "), out, out))
  local t0 = core.monotonic()
  repeat
    busy()
    local f = io.open(out)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    local finished = text:find("done") ~= nil
  until finished or core.monotonic() - t0 > 60
  local lat = {}
  for line in io.lines(out) do lat[#lat + 1] = tonumber(line) end
  os.remove(out)
  table.sort(lat)
  return lat
end

local function pct(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local ng = nginx.start("bench/openresty.conf.in", { ENV = "CREATORAPI_MOCK_URL=" .. url })
local ok, err = pcall(function()
  best(ng, "/b/sdk?n=8&conc=8", 1) -- warm both pools
  best(ng, "/b/raw?n=8&conc=8", 1)
  faults('{"kind":"delay","delay":0.2,"count":100000}')
  print("\n== OpenResty: 1 worker, mock answers 200 ms late ==")
  for _, n in ipairs{ 8, 32 } do
    local raw = best(ng, string.format("/b/raw?n=%d&conc=%d", n, n), 3)
    local sdk, info = best(ng, string.format("/b/sdk?n=%d&conc=%d", n, n), 3)
    print(string.format("%2d concurrent: raw cosocket %6.3f s, creatorapi (%s) %6.3f s, ratio %.2fx (sequential would be %.1f s)",
      n, raw, info.sdk, sdk, sdk / raw, n * 0.2))
  end
  local lat = ping_while(ng, 150, function() best(ng, "/b/sdk?n=32&conc=32", 1) end)
  print(string.format("/ping while 32 SDK calls run (%d pings): p50 %.1f ms, p99 %.1f ms, max %.1f ms"
    .. " (goal p99 <= 20 ms; a blocking client made it wait 1.6 s)",
    #lat, pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3, lat[#lat] * 1e3))
  faults(nil)
  print(string.format("\n== OpenResty: 1 worker, no delay, %d requests over 4 light threads ==", N))
  local raw = best(ng, string.format("/b/raw?n=%d&conc=4", N), 3)
  local sdk, info = best(ng, string.format("/b/sdk?n=%d&conc=4", N), 3)
  print(string.format("raw cosocket %8.0f req/s", N / raw))
  print(string.format("creatorapi   %8.0f req/s (%s)", N / sdk, info.sdk))
  print(string.format("creatorapi vs raw cosocket: %.2fx the time of the floor", sdk / raw))
end)
faults(nil)
ng:stop()
assert(ok, err)
