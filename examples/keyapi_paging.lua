--- Page through KeyAPI influencer analytics: fastest-growing US creators.
--
--   examples/run-with-mock.sh lua5.4 examples/keyapi_paging.lua [max_items]
--
-- KeyAPI bills one credit per request and serves at most 10 rows a page, so
-- 35 rows cost 4 requests. `qps` keeps the client under a rate limit.
local creatorapi = require "creatorapi"

local max_items = tonumber(arg[1]) or 35
local ka = creatorapi.keyapi{ qps = 5 }

local n = 0
local ok, err = pcall(function()
  for row in ka:each_influencer({ region = "US", min_total_followers_cnt = 10000,
      influencer_sort_field_v2 = 2, sort_type = 1 }, { max_items = max_items }) do
    n = n + 1
    print(string.format("%3d. @%-24s %10d followers  +%d in 30 days", n, row.unique_id,
      row.total_followers_cnt, row.total_followers_30d_cnt))
  end
end)
if not ok then
  -- Iterators raise the error object; err.resume says where to start again.
  io.stderr:write("stopped: ", tostring(err), "\n")
  os.exit(1)
end
local st = ka:stats()
print(string.format("%d rows, %d requests, %d credits", n, st.requests, st.credits_consumed))
ka:close()
