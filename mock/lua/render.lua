-- Turning dataset rows into API objects (field sets per service level,
-- lang translations, derived presentation fields, KeyAPI rows).
local json = require "json"
local D = require "dataset"
local T = require "taxonomy"

local R = {}

local function round(x, n)
  local m = 10 ^ n
  return math.floor(x * m + 0.5) / m
end
R.round = round

-- translations applied only when the request sent `lang`
function R.country(code, lang)
  if not lang then return code end
  local c = T.country_by_code[code]
  if not c then return code end
  return lang == "cn" and c[3] or c[2]
end

function R.gender(g, lang)
  if g == nil then return nil end
  if lang == "cn" then return g == "female" and "女性" or "男性" end
  return g
end

function R.age(a, lang)
  if lang == "cn" then return T.age_cn[a] or a end
  return a
end

local function map(list, f, lang)
  local out = json.arr({})
  for i, x in ipairs(list) do out[i] = f(x, lang) end
  return out
end
R.map = map

function R.whatsapp(r)
  return string.format("https://wa.me/1%010d", r.i * 7919 % 10000000000)
end

function R.email(r)
  if not r.has_email then return nil end
  local local_part = r.username:gsub("[^%w%.]", ""):gsub("^%.+", "")
  if local_part == "" then local_part = "creator" .. r.i end
  return local_part .. "@" .. T.email_domains[1 + (r.i % #T.email_domains)]
end

function R.industry_categories(r, lang)
  local out = json.arr({})
  for i, e in ipairs(r.industries) do
    local names = lang == "cn" and e.cn or e.en
    out[i] = json.obj("primary", names[1], "secondary", names[2], "tertiary", names[3])
  end
  return out
end

function R.product_categories(r, lang)
  local out = json.arr({})
  for i, id in ipairs(r.products or {}) do
    local p = T.product_by_id[id]
    out[i] = lang == "cn" and p[3] or p[2]
  end
  return out
end

local function med_views(r)
  return math.floor(r.avg_views * (0.45 + 0.45 * D.unit(r, 11)))
end

local function recent_videos(r, base_url, kind)
  local out = json.arr({})
  if r.last_day < D.AS_OF_DAY - 365 then return out end
  local titles = { "Get ready with me", "My honest review", "Day in my life", "You need to try this",
    "Storytime", "Top 5 picks", "Trying the viral trend", "Behind the scenes" }
  for k = 1, 3 do
    local id = string.format("%d", 7300000000000000000 + (r.i * 7 + k) * 1000033)
    local title = titles[1 + math.floor(D.unit(r, 20 + k) * #titles)] .. " " .. r.hashtags[1]
    out[k] = json.obj(
      "cover_url", "https://p16-sign.tiktokcdn-us.com/obj/tos-useast5-p-0068-tx/" .. D.hex(r, 30 + k) ..
        "~tplv-photomode-zoomcover:720:720.jpeg",
      "video_url", base_url(r, id),
      "video_title", title,
      "video_type", kind or "video")
  end
  return out
end
R.recent_videos = recent_videos

-- TikTok creator object for CreatiVault search at a service level
function R.tiktok(r, level, lang)
  local o = json.obj(
    "uid", r.uid,
    "username", r.username,
    "nickname", r.nickname,
    "avatar_url", "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/" .. D.hex(r, 1) .. "~c5_100x100.jpeg",
    "profile_url", "https://www.tiktok.com/@" .. r.username,
    "followers_count", r.followers,
    "likes_count", r.likes,
    "video_count", r.videos,
    "has_showcase", r.has_showcase,
    "has_email", r.has_email,
    "has_mcn", r.has_mcn,
    "has_line", r.has_line,
    "has_zalo", r.has_zalo,
    "last_video_publish_date", r.last_date)
  if level == "S1" then return o end
  local med = med_views(r)
  json.set(o, "country_code", R.country(r.country, lang))
  json.set(o, "gender", R.gender(r.gender, lang))
  json.set(o, "avg_views", r.avg_views)
  json.set(o, "engagement_rate", r.er)
  json.set(o, "views_per_follower", round(r.avg_views / r.followers, 4))
  json.set(o, "is_verified", r.is_verified)
  json.set(o, "last10_video_views_per_sub", round(r.avg_views / r.followers, 4))
  json.set(o, "last10_med_video_views_cnt", med)
  json.set(o, "last10_med_video_views_per_sub", round(med / r.followers, 4))
  json.set(o, "product_categories", R.product_categories(r, lang))
  json.set(o, "industry_categories", R.industry_categories(r, lang))
  json.set(o, "bio", r.bio)
  json.set(o, "hashtags", json.arr({ table.unpack(r.hashtags) }))
  json.set(o, "language", r.language)
  json.set(o, "email", R.email(r))
  json.set(o, "link_whatsapp", D.unit(r, 2) < 0.06 and R.whatsapp(r) or nil)
  json.set(o, "link_line", r.has_line and ("https://line.me/ti/p/~" .. r.username) or nil)
  json.set(o, "link_zalo", r.has_zalo and string.format("https://zalo.me/09%08d", r.i * 104729 % 100000000) or nil)
  json.set(o, "mcn", r.has_mcn and T.mcn_names[1 + r.i % #T.mcn_names] or nil)
  json.set(o, "recent_videos", recent_videos(r, function(row, id)
    return "https://www.tiktok.com/@" .. row.username .. "/video/" .. id
  end))
  if level == "S2" then return o end
  json.set(o, "audience_female_rate", r.female_rate)
  json.set(o, "audience_country_code_list", map(r.aud_countries, R.country, lang))
  json.set(o, "audience_language_code_list", map(r.aud_langs, function(x) return x end))
  json.set(o, "audience_age_id_list", map(r.aud_ages, R.age, lang))
  return o
end

local function views_per_sub(v, r) return round(v / r.followers, 4) end

-- YouTube channel object (the vendor's YouTube field table: S1 has channel_url, not profile_url)
function R.youtube(r, level, lang)
  local o = json.obj(
    "uid", r.uid,
    "username", r.username,
    "nickname", r.nickname,
    "avatar_url", "https://yt3.ggpht.com/ytc/" .. D.hex(r, 1, 40) .. "=s176-c-k-c0x00ffffff-no-rj",
    "channel_url", "https://www.youtube.com/@" .. r.username,
    "has_email", r.has_email,
    "has_whatsapp", r.has_whatsapp,
    "last_video_publish_time", r.last_time)
  if level == "S1" then return o end
  local med = med_views(r)
  local med_s = math.floor(r.avg_views_short * (0.45 + 0.45 * D.unit(r, 12)))
  local med_l = math.floor(r.avg_views_long * (0.45 + 0.45 * D.unit(r, 13)))
  json.set(o, "country_code", R.country(r.country, lang))
  json.set(o, "language", r.language)
  json.set(o, "gender", R.gender(r.gender, lang))
  json.set(o, "bio", r.bio)
  json.set(o, "followers_count", r.followers)
  json.set(o, "video_count", r.videos)
  json.set(o, "view_count", r.view_count)
  json.set(o, "avg_views", r.avg_views)
  json.set(o, "avg_views_short", r.avg_views_short)
  json.set(o, "avg_views_long", r.avg_views_long)
  json.set(o, "engagement_rate", r.er)
  json.set(o, "engagement_rate_short", r.er_short)
  json.set(o, "engagement_rate_long", r.er_long)
  json.set(o, "is_verified", r.is_verified)
  json.set(o, "last10_video_views_per_sub", views_per_sub(r.avg_views, r))
  json.set(o, "last10_video_views_per_sub_short", views_per_sub(r.avg_views_short, r))
  json.set(o, "last10_video_views_per_sub_long", views_per_sub(r.avg_views_long, r))
  json.set(o, "last10_med_video_views_cnt", med)
  json.set(o, "last10_med_video_views_cnt_short", med_s)
  json.set(o, "last10_med_video_views_cnt_long", med_l)
  json.set(o, "last10_med_video_views_per_sub", views_per_sub(med, r))
  json.set(o, "last10_med_video_views_per_sub_short", views_per_sub(med_s, r))
  json.set(o, "last10_med_video_views_per_sub_long", views_per_sub(med_l, r))
  json.set(o, "industry_categories", R.industry_categories(r, lang))
  json.set(o, "hashtags", json.arr({ table.unpack(r.hashtags) }))
  json.set(o, "email", R.email(r))
  json.set(o, "whatsapp", r.has_whatsapp and string.format("+1%010d", r.i * 7919 % 10000000000) or nil)
  json.set(o, "recent_videos", recent_videos(r, function(_, id)
    return "https://www.youtube.com/watch?v=" .. id:sub(-11)
  end))
  if level == "S2" then return o end
  json.set(o, "audience_female_rate", r.female_rate)
  json.set(o, "audience_country_code_list", map(r.aud_countries, R.country, lang))
  json.set(o, "audience_language_list", map(r.aud_langs, function(x) return x end))
  json.set(o, "audience_age_list", map(r.aud_ages, R.age, lang))
  return o
end

-- Instagram profile object (the vendor's Instagram field table)
function R.instagram(r, level, lang)
  local o = json.obj(
    "uid", r.uid,
    "username", r.username,
    "nickname", r.nickname,
    "avatar_url", "https://scontent.cdninstagram.com/v/t51.2885-19/" .. D.hex(r, 1, 24) .. "_n.jpg",
    "profile_url", "https://www.instagram.com/" .. r.username,
    "has_email", r.has_email,
    "has_whatsapp", r.has_whatsapp,
    "last_video_publish_time", r.last_time)
  if level == "S1" then return o end
  local med = med_views(r)
  json.set(o, "country_code", R.country(r.country, lang))
  json.set(o, "language", r.language)
  json.set(o, "gender", R.gender(r.gender, lang))
  json.set(o, "bio", r.bio)
  json.set(o, "followers_count", r.followers)
  json.set(o, "video_count", r.videos)
  json.set(o, "avg_views", r.avg_views)
  json.set(o, "engagement_rate", r.er)
  json.set(o, "is_verified", r.is_verified)
  json.set(o, "last10_video_views_per_sub", views_per_sub(r.avg_views, r))
  json.set(o, "last10_med_video_views_cnt", med)
  json.set(o, "last10_med_video_views_per_sub", views_per_sub(med, r))
  json.set(o, "industry_categories", R.industry_categories(r, lang))
  json.set(o, "hashtags", json.arr({ table.unpack(r.hashtags) }))
  json.set(o, "email", R.email(r))
  json.set(o, "link_whatsapp", r.has_whatsapp and R.whatsapp(r) or nil)
  json.set(o, "recent_videos", recent_videos(r, function(_, id)
    return "https://www.instagram.com/reel/" .. D.hex(r, tonumber(id:sub(-3)), 11) .. "/"
  end, "reel"))
  if level == "S2" then return o end
  json.set(o, "audience_female_rate", r.female_rate)
  json.set(o, "audience_country_code_list", map(r.aud_countries, R.country, lang))
  json.set(o, "audience_language_code_list", map(r.aud_langs, function(x) return x end))
  json.set(o, "audience_age_id_list", map(r.aud_ages, R.age, lang))
  return o
end

-- URL of a creator's profile on its platform
function R.profile_url(r)
  if r.platform == "youtube" then return "https://www.youtube.com/@" .. r.username end
  if r.platform == "instagram" then return "https://www.instagram.com/" .. r.username end
  return "https://www.tiktok.com/@" .. r.username
end

function R.avatar_url(r)
  if r.platform == "youtube" then
    return "https://yt3.ggpht.com/ytc/" .. D.hex(r, 1, 40) .. "=s176-c-k-c0x00ffffff-no-rj"
  elseif r.platform == "instagram" then
    return "https://scontent.cdninstagram.com/v/t51.2885-19/" .. D.hex(r, 1, 24) .. "_n.jpg"
  end
  return "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/" .. D.hex(r, 1) .. "~c5_100x100.jpeg"
end

R.BY_PLATFORM = { tiktok = R.tiktok, youtube = R.youtube, instagram = R.instagram }

---------------------------------------------------------------------------
-- KeyAPI (EchoTik-style) analytics row, derived from the same TikTok row.
-- The numeric facts are computed once per row and cached in r.k.
function R.kapi_facts(r)
  local k = r.k
  if k then return k end
  local u = function(n) return D.unit(r, 100 + n) end
  k = {}
  local growth = (u(1) - 0.25) * 0.08 -- -2 % .. +6 % per 30 days
  k.f30 = math.floor(r.followers * growth)
  k.f90 = math.floor(k.f30 * (2 + u(2)))
  k.f7 = math.floor(k.f30 * (0.15 + 0.2 * u(3)))
  k.f1 = math.floor(k.f7 / 7)
  k.d30 = math.floor(r.likes * math.max(0, growth) * 1.5)
  k.d90 = math.floor(k.d30 * (2 + u(4)))
  k.d7 = math.floor(k.d30 * (0.2 + 0.1 * u(5)))
  k.d1 = math.floor(k.d7 / 7)
  k.views = math.floor(r.avg_views * r.videos * (0.8 + 0.6 * u(6)))
  k.views7 = r.last_day >= D.AS_OF_DAY - 7 and math.floor(r.avg_views * (1 + 3 * u(7))) or 0
  k.per_views_avg = math.floor(k.views / r.videos)
  k.comments = math.floor(r.likes * (0.01 + 0.03 * u(8)))
  k.shares = math.floor(r.likes * (0.005 + 0.02 * u(9)))
  k.following = math.floor(50 + 1500 * u(10) ^ 2)
  k.likes_given = math.floor(1000 * u(11) ^ 3 * 50)
  local sells = r.has_showcase and #r.products > 0
  k.show_case_flag = r.has_showcase and 1 or 0
  if sells then
    local live = u(12) < 0.25
    k.sales_flag = live and (u(13) < 0.5 and 2 or 3) or (u(13) < 0.8 and 1 or 4)
  else
    k.sales_flag = 0
  end
  k.product_cnt = sells and math.floor(3 + 120 * u(14) ^ 2) or 0
  k.product30 = sells and math.floor(k.product_cnt * 0.3 * u(15)) or 0
  k.video_product30 = sells and math.floor(k.product30 * 0.8) or 0
  k.gmv30 = sells and math.floor(r.gmv30) or 0
  k.gmv = sells and math.floor(r.gmv30 * (4 + 10 * u(16))) or 0
  k.sale_cnt = sells and math.floor(k.gmv / math.max(5, r.gmv_per_buyer)) or 0
  k.video_sale30 = sells and math.floor(k.sale_cnt * 0.08) or 0
  k.video_gmv30 = sells and math.floor(k.gmv30 * (k.sales_flag == 2 and 0.1 or 0.7)) or 0
  k.live_gmv30 = (k.sales_flag == 2 or k.sales_flag == 3) and (k.gmv30 - k.video_gmv30) or 0
  k.live_cnt = (k.sales_flag == 2 or k.sales_flag == 3) and math.floor(5 + 200 * u(17)) or math.floor(3 * u(17))
  k.avg_price = sells and math.floor(8 + 60 * u(18)) or 0
  k.pv_avg = sells and math.floor(r.avg_views * (0.3 + 0.5 * u(19))) or 0
  k.pv_avg7 = sells and r.last_day >= D.AS_OF_DAY - 7 and math.floor(k.pv_avg * (0.5 + u(20))) or 0
  k.seller_id = (sells and u(21) < 0.12) and string.format("%d", 7494000000000000000 + r.i * 104729) or nil
  k.ec_score = round(1 + 4 * (u(22) * 0.6 + math.min(1, math.log(r.followers, 10) / 8) * 0.4), 2)
  k.first_crawl = tonumber(os.date("!%Y%m%d", (D.AS_OF_DAY - 30 - math.floor(900 * u(23))) * 86400))
  k.category = (u(24) < 0.85 or r.i == 1) and r.industries[1].en[1] or ""
  k.off_mark = u(25) < 0.003 and 1 or 0
  k.gender = r.country == "US" and (r.gender or "") or ""
  r.k = k
  return k
end

local function dist_json(r, keys, salt)
  if r.videos < 5 then return "{}" end
  local w, sum = {}, 0
  for i = 1, #keys do w[i] = D.unit(r, salt + i) ^ 2 + 0.01; sum = sum + w[i] end
  local parts = {}
  for i, key in ipairs(keys) do
    parts[i] = string.format('"%s":%s', key, json.number(round(w[i] / sum, 4)))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function R.kapi_row(r)
  local k = R.kapi_facts(r)
  local mcp = "[]"
  if k.sales_flag > 0 then
    local p = T.product_by_id[r.products[1]]
    mcp = string.format('[{"category_id":"%s","category_name":%s,"rank":1}]', p[1], json.quote(p[2]))
  end
  return json.obj(
    "avatar", "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/" .. D.hex(r, 1) ..
      "~tplv-tiktokx-cropcenter:100:100.jpeg?x-expires=1756242000&x-signature=" .. D.hex(r, 2, 24),
    "avg_30d_price", k.avg_price,
    "category", k.category,
    "contact_email", R.email(r) or "",
    "ec_score", k.ec_score,
    "first_crawl_dt", k.first_crawl,
    "gender", k.gender,
    "influencer_video_duration_level", dist_json(r, { "0-15s", "15-30s", "30-60s", "60s+" }, 200),
    "influencer_video_publish_hour", dist_json(r, { "0-6", "6-12", "12-18", "18-24" }, 210),
    "influencer_video_publish_week", dist_json(r, { "1", "2", "3", "4", "5", "6", "7" }, 220),
    "interaction_rate", r.er,
    "language", r.language,
    "most_category_product", mcp,
    "most_views_video", r.videos >= 5 and ("https://www.tiktok.com/@" .. r.username .. "/video/" ..
      string.format("%d", 7300000000000000000 + r.i * 1000033)) or "",
    "nick_name", r.nickname,
    "off_mark", k.off_mark,
    "per_video_product_views_avg_7d_cnt", k.pv_avg7,
    "region", r.country,
    "sales_flag", k.sales_flag,
    "seller_id", k.seller_id,
    "show_case_flag", k.show_case_flag,
    "signature", r.bio,
    "total_comments_cnt", k.comments,
    "total_digg_1d_cnt", k.d1,
    "total_digg_30d_cnt", k.d30,
    "total_digg_7d_cnt", k.d7,
    "total_digg_90d_cnt", k.d90,
    "total_digg_cnt", r.likes,
    "total_followers_1d_cnt", k.f1,
    "total_followers_30d_cnt", k.f30,
    "total_followers_7d_cnt", k.f7,
    "total_followers_90d_cnt", k.f90,
    "total_followers_cnt", r.followers,
    "total_following_cnt", k.following,
    "total_likes_cnt", k.likes_given,
    "total_live_cnt", k.live_cnt,
    "total_live_sale_gmv_30d_amt", k.live_gmv30,
    "total_post_video_cnt", r.videos,
    "total_product_30d_cnt", k.product30,
    "total_product_cnt", k.product_cnt,
    "total_sale_cnt", k.sale_cnt,
    "total_sale_gmv_30d_amt", k.gmv30,
    "total_sale_gmv_amt", k.gmv,
    "total_shares_cnt", k.shares,
    "total_video_product_30d_cnt", k.video_product30,
    "total_video_sale_30d_cnt", k.video_sale30,
    "total_video_sale_gmv_30d_amt", k.video_gmv30,
    "total_views_cnt", k.views,
    "unique_id", r.username,
    "user_id", r.uid)
end

return R
