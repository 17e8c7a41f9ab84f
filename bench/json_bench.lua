-- bench/json_bench.lua — core.json_decode / json_encode vs lua-cjson.
--
-- Usage (from the repo root, after `make core54`):
--   LUA_CPATH='build/5.4/?.so;;' lua5.4 bench/json_bench.lua [rows] [rounds]
-- Builds a deterministic KeyAPI-style page (default 50 influencer rows of ~57
-- keys: mostly integers, some strings, floats and null) in memory, then times
-- both libraries on the same text in the same run (best of several rounds,
-- os.clock CPU time) and prints ratios. No assertions: this is a report.
local core = require "creatorapi.core"
local ok_cjson, cjson = pcall(require, "cjson")

local ROWS = tonumber(arg and arg[1]) or 50
local ROUNDS = tonumber(arg and arg[2]) or 7

-- Deterministic Park-Miller generator (no math.random: its sequence differs
-- between versions; products stay below 2^53, so LuaJIT gets the same page).
local seed = 20250816
local function rnd(n)
  seed = (seed * 16807) % 2147483647
  return seed % n
end

local INT_KEYS = {
  "avg_30d_price", "first_crawl_dt", "interaction_rate_rank", "off_mark",
  "per_video_product_views_avg_7d_cnt", "per_video_product_views_avg_cnt",
  "sales_flag", "show_case_flag", "total_comments_cnt", "total_digg_1d_cnt",
  "total_digg_30d_cnt", "total_digg_7d_cnt", "total_digg_90d_cnt",
  "total_digg_cnt", "total_followers_1d_cnt", "total_followers_30d_cnt",
  "total_followers_7d_cnt", "total_followers_90d_cnt", "total_followers_cnt",
  "total_following_cnt", "total_likes_cnt", "total_live_cnt",
  "total_live_sale_gmv_30d_amt", "total_post_video_cnt",
  "total_product_30d_cnt", "total_product_cnt", "total_sale_cnt",
  "total_sale_gmv_30d_amt", "total_sale_gmv_amt", "total_shares_cnt",
  "total_video_product_30d_cnt", "total_video_sale_30d_cnt",
  "total_video_sale_gmv_30d_amt", "total_views_cnt", "total_views_7d_cnt",
  "total_views_30d_cnt", "per_views_avg_cnt",
}
local STR_KEYS = {
  "category", "contact_email", "gender", "influencer_video_duration_level",
  "influencer_video_publish_hour", "influencer_video_publish_week",
  "language", "most_category_product", "most_views_video", "nick_name",
  "region", "signature", "unique_id", "user_id",
}
local FLOAT_KEYS = { "ec_score", "interaction_rate", "gmv_growth_rate" }
local NULL_KEYS = { "seller_id", "shop_id" }

local function word(n)
  local t = {}
  for i = 1, n do t[i] = string.char(97 + rnd(26)) end
  return table.concat(t)
end

local function row(i)
  local r = {}
  for _, k in ipairs(INT_KEYS) do
    local m = rnd(4)
    r[k] = m == 0 and 0 or m == 1 and rnd(1000) or m == 2 and rnd(10000000) or 20250000 + rnd(1000)
  end
  for _, k in ipairs(STR_KEYS) do
    r[k] = rnd(3) == 0 and "" or word(3 + rnd(20))
  end
  r.user_id = "70000000" .. string.format("%011d", i * 7919)
  r.avatar = "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/" .. word(32) ..
    "~tplv-tiktokx-cropcenter:100:100.jpeg?dr=10399&x-expires=1756242000&x-signature=" .. word(28)
  for _, k in ipairs(FLOAT_KEYS) do r[k] = rnd(100000) / 100 end
  for _, k in ipairs(NULL_KEYS) do r[k] = core.null end
  return r
end

local page = { code = 0, message = "success", requestId = "cf984f6f-04fa-4393-8ca3-f430d9cdec7e", data = {} }
for i = 1, ROWS do page.data[i] = row(i) end
local text = assert(core.json_encode(page))
local nkeys = 0
for _ in pairs(page.data[1]) do nkeys = nkeys + 1 end

local function best(f, arg1)
  -- Calibrate the inner loop to ~20 ms, then keep the best of ROUNDS.
  local n = 1
  while true do
    local t0 = os.clock()
    for _ = 1, n do f(arg1) end
    if os.clock() - t0 > 0.02 then break end
    n = n * 2
  end
  local b = math.huge
  for _ = 1, ROUNDS do
    collectgarbage("collect")
    local t0 = os.clock()
    for _ = 1, n do f(arg1) end
    local t = (os.clock() - t0) / n
    if t < b then b = t end
  end
  return b
end

print(string.format("%s; page: %d rows x %d keys, %d bytes", _VERSION .. (jit and (" " .. jit.version) or ""),
  ROWS, nkeys, #text))
local dec = core.json_decode
local enc = core.json_encode
local t_dec = best(dec, text)
print(string.format("core.json_decode  %8.1f us/page  %7.1f MB/s", t_dec * 1e6, #text / t_dec / 1e6))
local t_enc = best(enc, page)
print(string.format("core.json_encode  %8.1f us/page  %7.1f MB/s", t_enc * 1e6, #text / t_enc / 1e6))
if ok_cjson then
  local cdec, cenc = cjson.decode, cjson.encode
  local t_cdec = best(cdec, text)
  print(string.format("cjson.decode      %8.1f us/page  %7.1f MB/s", t_cdec * 1e6, #text / t_cdec / 1e6))
  local t_cenc = best(cenc, page)
  print(string.format("cjson.encode      %8.1f us/page  %7.1f MB/s", t_cenc * 1e6, #text / t_cenc / 1e6))
  print(string.format("json_decode vs cjson.decode: %.2fx", t_cdec / t_dec))
  print(string.format("json_encode vs cjson.encode: %.2fx", t_cenc / t_enc))
else
  print("cjson not installed: no comparison (" .. tostring(cjson) .. ")")
end
