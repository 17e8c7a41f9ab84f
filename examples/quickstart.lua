--- Quickstart: top beauty creators of a country on TikTok (CreatiVault) and
--- one page of KeyAPI influencer analytics, printed as tables.
--
--   make demo                                   # against the bundled mock API
--   sh examples/run-with-mock.sh lua5.4 examples/quickstart.lua JP   # another country
--   CREATIVAULT_API_KEY=… CREATIVAULT_USER_IDENTITY=you@example.com \
--   KEYAPI_TOKEN=… lua5.4 examples/quickstart.lua   # against the real APIs (spends credits)
--
-- Nicknames in any script ("みお🌸", "小雨", "น้องฟ้า") line up: the columns are
-- padded by display width (creatorapi.text, the C library's wcwidth).
local creatorapi = require "creatorapi"
local text = creatorapi.text

local country = arg and arg[1] or "US"

local function die(what, err)
  io.stderr:write(what, " failed: ", tostring(err), "\n")
  os.exit(1)
end

-- Thousands separators for counts ("1,234,567"); integers print without ".0".
local function count(n)
  if type(n) ~= "number" then return tostring(n) end
  local sign, digits = string.format("%d", n):match("^(-?)(%d+)$")
  return sign .. digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
end

local function pct(r)
  return type(r) == "number" and string.format("%.2f%%", r * 100) or "-"
end

local cv = creatorapi.creativault{}   -- key, identity and base URL from the environment
local res, err = cv:search_tiktok{
  keyword = "beauty",
  country_code = country,
  followers_cnt_gte = 10000,
  sort_field = "followers_cnt",
  sort_order = "desc",
  service_level = "S2",
  size = 10,
  lang = "en",
}
if not res then die("CreatiVault search", err) end

-- One table: columns of these display widths, the numbers right-aligned.
local WIDTHS = { 3, 24, 26, 12, 10, 8 }
local LAYOUT = { sep = " ", align = { [4] = "right", [5] = "right", [6] = "right" } }
local function row(cells) print(text.row(cells, WIDTHS, LAYOUT)) end

print("Top " .. country .. " beauty creators on TikTok (CreatiVault, service level "
  .. tostring(res.meta.service_level) .. ")")
row{ "#", "username", "nickname", "followers", "avg views", "ER" }
for i, c in ipairs(res.data) do
  row{ tostring(i), "@" .. tostring(c.username), tostring(c.nickname), count(c.followers_count),
    count(c.avg_views), pct(c.engagement_rate) }
end
print(string.format("request %s: %s credits spent, %s left", tostring(res.meta.request_id),
  count(res.meta.credits_consumed), count(res.meta.credits_remaining)))
print()

local ka = creatorapi.keyapi{}
local page, kerr = ka:influencer_list{
  region = country,
  influencer_sort_field_v2 = 1,   -- total_followers_cnt
  sort_type = 1,                  -- descending
  page_num = 1,
  page_size = 10,
}
if not page then die("KeyAPI influencer list", kerr) end

print("KeyAPI TikTok influencer analytics, " .. country .. ", page 1")
row{ "#", "unique_id", "nick_name", "followers", "30d +", "ec" }
for i, r in ipairs(page.data) do
  row{ tostring(i), "@" .. tostring(r.unique_id), tostring(r.nick_name), count(r.total_followers_cnt),
    count(r.total_followers_30d_cnt), tostring(r.ec_score) }
end
print("request " .. tostring(page.meta.request_id))

cv:close()
ka:close()
