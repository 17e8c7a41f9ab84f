-- One of the processes of spec/shared_budget_spec.lua: billed searches (SIZE
-- rows at S1 = SIZE credits each) on one key until a call is refused, with
-- max_credits = CAP on a shared Redis ledger, or per process with "none".
--   lua5.4 spec/support/shared_budget_worker.lua MOCK_URL REDIS_URL|none CAP SIZE [HOST]
-- HOST: "plain" (blocking curl, the default), "async" (inside a creatorapi.async
-- task on the curl multi loop) or "luv" (inside a luv task, the luv transport).
-- Prints: ok <calls> credits <spent> kind <err.kind> left <err.credits_left|-1> msg <message>
local creatorapi = require "creatorapi"
local mock_url, redis_url, cap, size, host = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5] or "plain"
local cv = creatorapi.creativault{
  base_url = mock_url, api_key = "cv_live_demo_key_0001", user_identity = "demo@creatorapi.test",
  rate_limit = false, max_retries = 0, max_credits = cap, transport = host == "luv" and "luv" or nil,
  store = redis_url ~= "none" and { redis = redis_url, timeout = 2, retry_interval = 0 } or nil,
}
local ok, err = 0, nil
local function spend()
  for i = 1, 10000 do
    local res, e = cv:search_tiktok{ keyword = "beauty", size = size, service_level = "S1", page = 1 + i % 50 }
    if not res then err = e; break end
    ok = ok + 1
  end
end
if host == "async" then
  require("creatorapi.async")(spend):wait()
elseif host == "luv" then
  local luv_host = require "creatorapi.async.luv"
  luv_host.run(spend)
  assert(cv._loop.luv, "the calls did not use the luv transport")
else
  spend()
end
local spent = cv:stats().credits_consumed
cv:close()
print(string.format("ok %d credits %d kind %s left %d msg %s", ok, spent, err and err.kind or "none",
  err and err.credits_left or -1, err and err.message or ""))
