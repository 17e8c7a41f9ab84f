--- Search creators across pages and write them to a CSV file.
--
--   examples/run-with-mock.sh lua5.4 examples/search_to_csv.lua [out.csv] [max_items]
--
-- Uses the pagination iterator: `size` is one page, `max_items` the total.
-- Search bills per returned row, so the iterator buys exactly max_items rows.
-- With CREATORAPI_CACHE_REDIS=redis://127.0.0.1:6379/0 the pages bought are kept in
-- Redis for an hour: a re-run within the hour writes the same file for 0 credits.
-- CREATORAPI_CACHE_FILE=/path/cache.sqlite does the same in a local SQLite file.
local creatorapi = require "creatorapi"

local out_path = arg[1] or "creators.csv"
local max_items = tonumber(arg[2]) or 250

local function csv_field(v)
  if v == nil or v == creatorapi.null then return "" end
  v = tostring(v)
  if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local COLUMNS = { "uid", "username", "nickname", "country_code", "followers_count", "avg_views",
  "engagement_rate", "email", "profile_url" }

local cache_url, cache_file = os.getenv("CREATORAPI_CACHE_REDIS"), os.getenv("CREATORAPI_CACHE_FILE")
local cache_store = cache_url and { redis = cache_url } or cache_file and { file = cache_file } or nil
local cv = creatorapi.creativault{
  cache = cache_store and { store = cache_store, ttl = 3600 } or nil,
}
local f = assert(io.open(out_path, "w"))
f:write(table.concat(COLUMNS, ","), "\n")

local rows, err = creatorapi.collect(cv:each_creator("tiktok", {
  country_code = "US", followers_cnt_gte = 50000, has_email = true,
  sort_field = "followers_cnt", sort_order = "desc", service_level = "S2",
}, { max_items = max_items }))

for _, c in ipairs(rows) do
  local line = {}
  for i, col in ipairs(COLUMNS) do line[i] = csv_field(c[col]) end
  f:write(table.concat(line, ","), "\n")
end
f:close()

local st = cv:stats()
print(string.format("wrote %d creators to %s (%d requests, %d credits)", #rows, out_path,
  st.requests, st.credits_consumed))
if st.cache_hits then
  print(string.format("cache: %d hits, %d credits saved", st.cache_hits, st.credits_saved))
end
if err then
  -- The rows gathered before the failure are in the file; resume later from err.resume.
  io.stderr:write("stopped early: ", tostring(err), " (resume at page ", tostring(err.resume), ")\n")
  os.exit(1)
end
cv:close()
