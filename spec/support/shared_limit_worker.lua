-- One of the processes of spec/scaling_spec.lua: `count` searches on one key,
-- no retries, sharing a Redis limiter when a redis URL is given.
--   lua5.4 spec/support/shared_limit_worker.lua MOCK_URL REDIS_URL|none COUNT N PER
local creatorapi = require "creatorapi"
local mock_url, redis_url, count, n, per = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
local cv = creatorapi.creativault{
  base_url = mock_url, api_key = "cv_live_demo_key_0001", user_identity = "demo@creatorapi.test",
  rate_limit = { requests = n, per = per }, max_retries = 0,
  store = redis_url ~= "none" and { redis = redis_url, timeout = 2 } or nil,
}
local ok, limited, other = 0, 0, 0
for i = 1, count do
  local res, err = cv:search_tiktok{ keyword = "beauty", size = 1, page = i }
  if res then ok = ok + 1
  elseif err.kind == "rate_limited" then limited = limited + 1
  else other = other + 1; io.stderr:write(tostring(err), "\n") end
end
cv:close()
print(string.format("ok %d limited %d other %d", ok, limited, other))
