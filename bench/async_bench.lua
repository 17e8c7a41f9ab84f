--- Scripts: 200 KeyAPI pages at 100 ms latency (the mock's delay fault),
--- sequential vs creatorapi.async.map with 8 in flight on one client.
--- The goal (issue 7): ≥ 6x faster, 0 x 429. Run through run-with-mock.sh.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"

local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local PAGES = tonumber(os.getenv("BENCH_PAGES")) or 200
local DELAY = 0.1

local function delay_next(n)
  local p = assert(io.popen(string.format(
    "curl -s -X POST -H 'Content-Type: application/json' --data-binary '%s' '%s/_mock/faults'",
    string.format('{"kind":"delay","delay":%g,"count":%d}', DELAY, n), url)))
  p:read("*a")
  p:close()
end

local ka = creatorapi.keyapi{ base_url = url, api_key = "kapi_demo_key_0001" }
local statuses = {}
local function fetch(i)
  local res, err = ka:influencer_list{ region = "US", page_num = i, page_size = 10 }
  local st = res and res.status or err.status or err.kind
  statuses[st] = (statuses[st] or 0) + 1
  return res
end

local pages = {}
for i = 1, PAGES do pages[i] = i end

delay_next(PAGES)
local t0 = core.monotonic()
for i = 1, PAGES do fetch(i) end
local seq = core.monotonic() - t0

delay_next(PAGES)
t0 = core.monotonic()
creatorapi.async.map(pages, fetch, { concurrency = 8 })
local par = core.monotonic() - t0
ka:close()

local n429 = statuses[429] or 0
print(string.format("sequential          %6.2f s for %d pages", seq, PAGES))
print(string.format("async.map, 8 in flight %4.2f s", par))
print(string.format("async vs sequential: %.1fx faster (goal >= 6x), %d x 429, %d of %d answers 200",
  seq / par, n429, statuses[200] or 0, 2 * PAGES))
