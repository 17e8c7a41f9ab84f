-- bench/json_docs.lua — deterministic JSON documents of the kinds that matter
-- for the codec, shaped like well-known public corpora (nobody's real data):
--   floats    GeoJSON polygons: 2-D coordinates with full 15-17 digit doubles
--             (like canada.json), ~2 MB
--   objects   an event catalogue: many small objects, short keys, ints, nulls,
--             nested id maps (like citm_catalog.json), ~1.5 MB
--   timeline  a social-media timeline: status objects with users, entities,
--             64-bit ids, some non-ASCII and \u-escaped text (like twitter.json)
--   nonascii  mostly CJK / Cyrillic / accented text in long strings
--   keyapi    a 50-row KeyAPI influencer page (the SDK's own bench page)
--   cvsearch  a 50-row CreatiVault creator search page
-- Usage: local docs = require("json_docs")(core.json_encode, core.null [, scale])
--   -> { {name=, text=, value=}, ... }
-- (bench/ must be on package.path). Works on Lua 5.1-5.4 and LuaJIT.

local function utf8c(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function make(encode, null, scale)
  scale = scale or 1
  -- Park-Miller generator: identical sequence on every Lua.
  local seed = 20251203
  local function rnd(n)
    seed = (seed * 16807) % 2147483647
    return seed % n
  end
  local function frac() return rnd(2147483646) / 2147483646 end

  local function word(n)
    local t = {}
    for i = 1, n do t[i] = string.char(97 + rnd(26)) end
    return table.concat(t)
  end
  local function sentence(nwords)
    local t = {}
    for i = 1, nwords do t[i] = word(2 + rnd(8)) end
    return table.concat(t, " ")
  end
  -- Text in one script: CJK ideographs, Cyrillic, or accented Latin.
  local RANGES = { { 0x4E00, 0x9FFF }, { 0x0410, 0x044F }, { 0x00C0, 0x00FF }, { 0x3040, 0x309F } }
  local function intl(nchars, range)
    local r = RANGES[range or (1 + rnd(#RANGES))]
    local t = {}
    for i = 1, nchars do
      t[i] = (rnd(6) == 0) and " " or utf8c(r[1] + rnd(r[2] - r[1] + 1))
    end
    return table.concat(t)
  end

  local docs = {}
  local function add(name, value) docs[#docs + 1] = { name = name, value = value } end

  -- floats: GeoJSON
  do
    local features = {}
    for f = 1, math.floor(12 * scale) do
      local rings = {}
      for r = 1, 3 do
        local ring = {}
        local lon, lat = -140 + 80 * frac(), 40 + 30 * frac()
        for p = 1, 1200 do
          lon = lon + (frac() - 0.5) * 0.01
          lat = lat + (frac() - 0.5) * 0.01
          ring[p] = { lon, lat }
        end
        rings[r] = ring
      end
      features[f] = { type = "Feature", properties = { name = "Region " .. f, id = f },
        geometry = { type = "Polygon", coordinates = rings } }
    end
    add("floats", { type = "FeatureCollection", features = features })
  end

  -- objects: event catalogue
  do
    local events, performances, names = {}, {}, {}
    for i = 1, math.floor(1200 * scale) do
      local id = 138586341 + i * 7
      names[tostring(id)] = word(5 + rnd(20))
      events[tostring(id)] = { id = id, name = word(5 + rnd(25)), description = null,
        subTopicIds = { 337184269 + rnd(50), 337184283 + rnd(50) }, topicIds = { 324846099 + rnd(20) },
        logo = rnd(3) == 0 and ("/images/UE0AAAAACEKo" .. word(4) .. ".jpg") or null, subjectCode = null }
      local prices = {}
      for p = 1, 1 + rnd(4) do
        prices[p] = { amount = 10000 * (1 + rnd(30)), audienceSubCategoryId = 337100890, seatCategoryId = 338937295 + p }
      end
      performances[i] = { id = 339887544 + i, eventId = id, logo = null, name = null, prices = prices,
        seatCategories = { { areas = { { areaId = 205705999, blockIds = {} }, { areaId = 205706000, blockIds = {} } },
          seatCategoryId = 338937295 } }, seatMapImage = null, start = 1372701600000 + rnd(1000) * 86400000,
        venueCode = "PLEYEL_PLEYEL" }
    end
    add("objects", { areaNames = names, events = events, performances = performances })
  end

  -- timeline: statuses
  do
    local statuses = {}
    for i = 1, math.floor(400 * scale) do
      local uid = 1186275104 + rnd(100000000)
      local text
      local k = rnd(4)
      if k == 0 then text = intl(20 + rnd(60)) .. " " .. sentence(3)
      elseif k == 1 then text = "RT @" .. word(8) .. ": " .. sentence(8 + rnd(10)) .. " \\u2026 http://t.co/" .. word(10)
      else text = sentence(6 + rnd(14)) end
      statuses[i] = {
        metadata = { result_type = "recent", iso_language_code = rnd(3) == 0 and "ja" or "en" },
        created_at = "Sun Aug 31 00:29:15 +0000 2014", id = 505874924095815681 + rnd(1000000) * 1000,
        id_str = tostring(505874924095815681 + i), text = text,
        source = "<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>",
        truncated = false, in_reply_to_status_id = null, in_reply_to_user_id = rnd(2) == 0 and uid or null,
        user = { id = uid, id_str = tostring(uid), name = rnd(2) == 0 and intl(4 + rnd(8)) or word(8),
          screen_name = word(6 + rnd(8)), location = rnd(2) == 0 and intl(3 + rnd(5)) or "",
          description = rnd(2) == 0 and intl(30 + rnd(60)) or sentence(10), url = null,
          followers_count = rnd(100000), friends_count = rnd(5000), listed_count = rnd(100),
          created_at = "Mon Sep 23 14:20:52 +0000 2013", favourites_count = rnd(10000),
          utc_offset = rnd(2) == 0 and 32400 or null, time_zone = rnd(2) == 0 and "Tokyo" or null,
          geo_enabled = rnd(2) == 0, verified = false, statuses_count = rnd(200000), lang = "ja",
          profile_background_color = "C0DEED", profile_image_url = "http://pbs.twimg.com/profile_images/" ..
          rnd(1000000000) .. "/" .. word(8) .. "_normal.jpeg", default_profile = rnd(2) == 0 },
        geo = null, coordinates = null, place = null, contributors = null, retweet_count = rnd(1000),
        favorite_count = rnd(500), entities = { hashtags = {}, symbols = {}, urls = {},
        user_mentions = { { screen_name = word(7), name = intl(5), id = uid + 1, id_str = tostring(uid + 1),
          indices = { 3, 3 + rnd(12) } } } }, favorited = false, retweeted = false, lang = "ja" }
    end
    add("timeline", { statuses = statuses, search_metadata = { completed_in = 0.087, max_id = 505874924095815681,
      query = "%E4%B8%80", count = 100 } })
  end

  -- nonascii: long strings in other scripts
  do
    local items = {}
    for i = 1, math.floor(1500 * scale) do
      items[i] = { id = i, title = intl(8 + rnd(20)), body = intl(200 + rnd(400)),
        lang = ({ "zh", "ru", "fr", "ja" })[1 + rnd(4)],
        tags = { intl(3), intl(4) } }
    end
    add("nonascii", { items = items })
  end

  -- keyapi: the SDK bench page (same generator as before in json_bench.lua)
  do
    local INT_KEYS = { "avg_30d_price", "first_crawl_dt", "interaction_rate_rank", "off_mark",
      "per_video_product_views_avg_7d_cnt", "per_video_product_views_avg_cnt", "sales_flag", "show_case_flag",
      "total_comments_cnt", "total_digg_1d_cnt", "total_digg_30d_cnt", "total_digg_7d_cnt", "total_digg_90d_cnt",
      "total_digg_cnt", "total_followers_1d_cnt", "total_followers_30d_cnt", "total_followers_7d_cnt",
      "total_followers_90d_cnt", "total_followers_cnt", "total_following_cnt", "total_likes_cnt", "total_live_cnt",
      "total_live_sale_gmv_30d_amt", "total_post_video_cnt", "total_product_30d_cnt", "total_product_cnt",
      "total_sale_cnt", "total_sale_gmv_30d_amt", "total_sale_gmv_amt", "total_shares_cnt",
      "total_video_product_30d_cnt", "total_video_sale_30d_cnt", "total_video_sale_gmv_30d_amt", "total_views_cnt",
      "total_views_7d_cnt", "total_views_30d_cnt", "per_views_avg_cnt" }
    local STR_KEYS = { "category", "contact_email", "gender", "influencer_video_duration_level",
      "influencer_video_publish_hour", "influencer_video_publish_week", "language", "most_category_product",
      "most_views_video", "nick_name", "region", "signature", "unique_id", "user_id" }
    local data = {}
    for i = 1, 50 do
      local r = {}
      for _, k in ipairs(INT_KEYS) do
        local m = rnd(4)
        r[k] = m == 0 and 0 or m == 1 and rnd(1000) or m == 2 and rnd(10000000) or 20250000 + rnd(1000)
      end
      for _, k in ipairs(STR_KEYS) do r[k] = rnd(3) == 0 and "" or word(3 + rnd(20)) end
      r.user_id = "70000000" .. string.format("%011d", i * 7919)
      r.avatar = "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/" .. word(32) ..
        "~tplv-tiktokx-cropcenter:100:100.jpeg?dr=10399&x-expires=1756242000&x-signature=" .. word(28)
      for _, k in ipairs({ "ec_score", "interaction_rate", "gmv_growth_rate" }) do r[k] = rnd(100000) / 100 end
      r.seller_id, r.shop_id = null, null
      data[i] = r
    end
    add("keyapi", { code = 0, message = "success", requestId = "cf984f6f-04fa-4393-8ca3-f430d9cdec7e", data = data })
  end

  -- cvsearch: a CreatiVault creator search page
  do
    local rows = {}
    for i = 1, 50 do
      rows[i] = { creator_id = "cr_" .. word(12), platform = ({ "tiktok", "instagram", "youtube" })[1 + rnd(3)],
        handle = word(6 + rnd(10)), display_name = rnd(3) == 0 and intl(6) or word(10),
        followers = rnd(50000000), engagement_rate = rnd(10000) / 10000, avg_views = rnd(2000000),
        country = "US", language = "en", categories = { word(6), word(8) }, verified = rnd(2) == 0,
        email_available = rnd(2) == 0, bio = sentence(12), last_post_at = "2025-08-" .. (10 + rnd(19)) .. "T12:00:00Z" }
    end
    add("cvsearch", { success = true, data = { items = rows, total = 12840, page = 1, page_size = 50 },
      error = null, meta = { request_id = "req_" .. word(16), credits_used = 1 } })
  end

  for _, d in ipairs(docs) do d.text = assert(encode(d.value)) end
  -- the timeline carries real \u escapes (its texts hold a literal "\u2026")
  docs[3].text = docs[3].text:gsub("\\\\u", "\\u")
  return docs
end

-- Callable as make(encode, null, scale); utf8c(codepoint) -> UTF-8 bytes.
return setmetatable({ utf8c = utf8c }, { __call = function(_, ...) return make(...) end })
