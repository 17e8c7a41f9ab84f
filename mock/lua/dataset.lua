-- The generated creator dataset. Deterministic for a given --seed: every row
-- is drawn from its own SplitMix64 stream seeded by (seed, platform, index),
-- so rows never depend on each other or on math.random.
--
-- Core fields (everything that filters or sorts) are generated eagerly;
-- presentation fields (URLs, e-mail, medians, recent videos, KeyAPI extras)
-- are derived on demand from the row and a stateless hash.
local P = require "prng"
local T = require "taxonomy"
local U = require "util"

local D = {}

D.AS_OF = "2026-11-15"                       -- the dataset's "today"
D.AS_OF_DAY = U.days_from_civil(2026, 11, 15)
D.SIZES = { tiktok = 20000, youtube = 6000, instagram = 6000 }
local PLATFORM_SALT = { tiktok = 1, youtube = 2, instagram = 3 }

local country_w = {}
for _, c in ipairs(T.countries) do country_w[#country_w + 1] = { c, c[4] } end
P.weighted(country_w)
local lang_w = {}
for _, c in ipairs(T.countries) do
  local l = {}
  for _, e in ipairs(c[5]) do l[#l + 1] = { e[1], e[2] } end
  lang_w[c[1]] = P.weighted(l)
end
local industry_w = {}
for _, e in ipairs(T.l3) do
  -- beauty, fashion, entertainment and food dominate TikTok
  local w = ({ [25] = 3, [16] = 2.5, [3] = 3, [12] = 2, [19] = 1.5, [8] = 1.5 })[e.l1] or 1
  industry_w[#industry_w + 1] = { e, w }
end
P.weighted(industry_w)

local date_cache = {}
local function date_of_day(day)
  local s = date_cache[day]
  if not s then
    s = os.date("!%Y-%m-%d", day * 86400)
    date_cache[day] = s
  end
  return s
end
D.date_of_day = date_of_day

local function cap(s) return (s:gsub("^%l", string.upper)) end

-- Long-tailed follower counts: log-normal body (median 12k) plus a Pareto
-- tail of stars (1 %), so most rows sit in 1k-100k and a few exceed 10M.
local function followers(g)
  local f
  if g:chance(0.012) then
    f = 400000 * (1 - g:float()) ^ (-1 / 1.05)
    if f > 160000000 then f = 160000000 - g:int(0, 5000000) end
  else
    f = g:lognormal(12000, 1.25)
  end
  f = math.floor(f)
  if f < 120 then f = 120 + g:int(0, 300) end
  return f
end

local function make_names(g, country, used)
  local first, last = g:pick(T.first_names), g:pick(T.last_names)
  local style = g:int(1, 6)
  local base
  if style == 1 then base = first .. "." .. last
  elseif style == 2 then base = first .. last .. g:int(1, 99)
  elseif style == 3 then base = first .. "_" .. g:pick(T.handle_words)
  elseif style == 4 then base = g:pick(T.handle_words) .. first
  elseif style == 5 then base = first .. "x" .. last
  else base = first .. g:int(100, 9999) end
  local uname = base
  local n = 1
  while used[uname] do
    n = n + 1
    uname = base .. n
  end
  used[uname] = true
  local nick
  local r = g:float()
  if country == "JP" and r < 0.5 then
    nick = ({ "ゆき", "さくら", "はると", "みお", "そら" })[g:int(1, 5)] .. "🌸"
  elseif (country == "SG" or country == "MY") and r < 0.3 then
    nick = ({ "小雨", "阿明", "美美", "佳佳" })[g:int(1, 4)]
  elseif country == "TH" and r < 0.4 then
    nick = ({ "น้องฟ้า", "พี่ต้น", "มายด์" })[g:int(1, 3)]
  elseif r < 0.15 then
    nick = cap(first) .. " ✨"
  elseif r < 0.25 and (country == "ES" or country == "MX" or country == "CO") then
    nick = cap(first) .. " " .. ({ "García", "Muñoz", "Peña", "Ibáñez" })[g:int(1, 4)]
  else
    nick = cap(first) .. " " .. cap(last)
  end
  return uname, nick
end

local function pick_country_lang(g)
  local c = g:wpick(country_w)
  return c[1], g:wpick(lang_w[c[1]])
end

local function top_list(g, first, pool, n)
  local out, k = { first }, 1
  local guard = 0
  while k < n and guard < 50 do
    guard = guard + 1
    local v = g:pick(pool)
    local dup = false
    for j = 1, k do if out[j] == v then dup = true; break end end
    if not dup then k = k + 1; out[k] = v end
  end
  return out
end

local all_country_codes, all_lang_codes = {}, {}
do
  local seen = {}
  for _, c in ipairs(T.countries) do
    all_country_codes[#all_country_codes + 1] = c[1]
    for _, l in ipairs(c[5]) do
      if not seen[l[1]] then seen[l[1]] = true; all_lang_codes[#all_lang_codes + 1] = l[1] end
    end
  end
end

local BIO_TEMPLATES = {
  "%s creator sharing %s and %s tips",
  "%s | %s reviews & %s ✨",
  "Your daily dose of %s 💫 %s | %s",
  "%s lover. Posting %s + %s every week",
}

-- One row; fields shared by the three platforms.
local function base_row(seed, platform, i, used)
  local g = P.new(P.hash(seed, PLATFORM_SALT[platform], i))
  local r = { i = i, platform = platform }
  r.country, r.language = pick_country_lang(g)
  r.username, r.nickname = make_names(g, r.country, used)
  local gr = g:float()
  r.gender = gr < 0.56 and "female" or (gr < 0.95 and "male" or nil)
  r.followers = followers(g)
  -- industries: 1-3 L3 ids, the first one is primary
  local ind = { g:wpick(industry_w) }
  local extra = g:int(0, 2)
  for _ = 1, extra do
    local e = g:wpick(industry_w)
    local dup = false
    for _, x in ipairs(ind) do if x == e then dup = true end end
    if not dup then ind[#ind + 1] = e end
  end
  r.industries = ind
  -- engagement (decimal ratio) and last-10 average views
  r.er = math.floor(math.min(0.35, math.max(0.002, g:lognormal(0.045, 0.7))) * 10000 + 0.5) / 10000
  local vr = g:lognormal(0.18, 0.9)
  if vr > 4 then vr = 4 end
  r.avg_views = math.floor(r.followers * vr)
  r.videos = math.max(3, math.floor(g:lognormal(180, 0.9)))
  r.likes = math.floor(r.followers * g:lognormal(9, 0.8))
  local inactive = g:chance(0.08)
  r.last_day = D.AS_OF_DAY - (inactive and g:int(90, 420) or math.floor(-12 * math.log(1 - g:float() * 0.999)))
  r.last_date = date_of_day(r.last_day)
  r.has_email = g:chance(0.42)
  r.is_verified = r.followers > 1000000 and g:chance(0.8) or g:chance(0.01)
  -- audience
  local fr
  if r.gender == "female" then fr = 55 + g:float() * 40 else fr = 15 + g:float() * 50 end
  if ind[1].l1 == 25 then fr = math.min(97, fr + 15) end
  if ind[1].l1 == 19 or ind[1].l1 == 20 then fr = math.max(3, fr - 25) end
  r.female_rate = math.floor(fr * 100 + 0.5) / 100
  r.aud_countries = top_list(g, r.country, all_country_codes, 3)
  r.aud_langs = top_list(g, r.language, all_lang_codes, 2)
  local a1 = g:chance(0.6) and 2 or g:int(1, 5)
  local a2 = a1 + (g:chance(0.5) and 1 or -1)
  if a2 < 1 then a2 = 2 elseif a2 > 6 then a2 = 5 end
  r.aud_ages = { T.age_groups[a1], T.age_groups[a2] }
  -- bio and hashtags
  local e = ind[1]
  local tags = e.tags
  local t1, t2 = g:pick(tags), g:pick(tags)
  r.hashtags = { "#" .. t1 }
  if t2 ~= t1 then r.hashtags[2] = "#" .. t2 end
  local t3 = e.tag3
  if t3 ~= r.hashtags[1] and t3 ~= r.hashtags[2] then r.hashtags[#r.hashtags + 1] = t3 end
  if g:chance(0.6) then r.hashtags[#r.hashtags + 1] = "#fyp" end
  r.bio = string.format(g:pick(BIO_TEMPLATES), e.en[1], e.low3, (ind[2] or e).low2)
  if r.has_email and g:chance(0.5) then r.bio = r.bio .. " 📩 collabs via email" end
  r.search = (r.username .. "\n" .. r.nickname .. "\n" .. r.bio .. "\n" .. table.concat(r.hashtags, " ")):lower()
  r.salt = g:next64()
  return r, g
end

local function tiktok_row(seed, i, used)
  local r, g = base_row(seed, "tiktok", i, used)
  r.uid = tostring(6750000000000000000 + i * 1000003 + g:int(0, 1000000))
  r.has_showcase = g:chance(r.followers > 5000 and 0.32 or 0.08)
  r.has_mcn = g:chance(r.followers > 100000 and 0.35 or 0.08)
  r.has_line = g:chance((r.country == "TH" or r.country == "JP") and 0.35 or 0.02)
  r.has_zalo = g:chance(r.country == "VN" and 0.45 or 0.005)
  -- shop: product categories and hidden GMV metrics (filters only)
  r.products = {}
  if r.has_showcase then
    local pl = T.products_by_l1[r.industries[1].l1] or T.product_categories
    r.products[1] = g:pick(pl)[1]
    if g:chance(0.4) then
      local p2 = g:pick(T.product_categories)[1]
      if p2 ~= r.products[1] then r.products[2] = p2 end
    end
    r.gmv30 = math.floor(g:lognormal(2500, 1.6) * 100) / 100
    r.gpm = math.floor(g:lognormal(12, 0.8) * 100) / 100
    r.gmv_per_buyer = math.floor(g:lognormal(28, 0.5) * 100) / 100
    r.commission = math.floor((5 + g:float() * 25) * 10) / 10
  else
    r.gmv30, r.gpm, r.gmv_per_buyer, r.commission = 0, 0, 0, 0
  end
  return r
end

-- The documented sample creator (row 1): @creator_demo, used in vendor examples.
local function demo_row(r)
  r.username = "creator_demo"
  r.nickname = "Demo Creator"
  r.country, r.language, r.gender = "US", "en", "female"
  r.followers, r.likes, r.avg_views, r.er, r.videos = 150000, 3200000, 45000, 0.065, 312
  r.industries = { require("taxonomy").l3_by_id[25009001], require("taxonomy").l3_by_id[25010001] }
  r.has_email, r.has_showcase = true, true
  r.products = { "601450" }
  r.gmv30, r.gpm, r.gmv_per_buyer, r.commission = 4210.5, 15.2, 24.9, 12
  r.last_day = D.AS_OF_DAY - 5
  r.last_date = date_of_day(r.last_day)
  r.bio = "Beauty & Personal Care creator sharing lipstick and skincare tips 📩 collabs via email"
  r.hashtags = { "#beauty", "#makeup", "#lipstick", "#fyp" }
  r.female_rate = 78.65
  r.aud_countries = { "US", "CA", "GB" }
  r.search = (r.username .. "\n" .. r.nickname .. "\n" .. r.bio .. "\n" .. table.concat(r.hashtags, " ")):lower()
end

local cache = {}

function D.get(platform, seed)
  local key = platform .. ":" .. seed
  if cache[key] then return cache[key] end
  local rows, used, by_username = {}, {}, {}
  used.creator_demo = true
  local n = D.SIZES[platform]
  local maker = platform == "tiktok" and tiktok_row or D.makers[platform]
  -- everything generated here stays alive: collecting meanwhile is wasted work
  local was_running = collectgarbage("isrunning")
  collectgarbage("stop")
  for i = 1, n do
    rows[i] = maker(seed, i, used)
  end
  if was_running then collectgarbage("restart") end
  if platform == "tiktok" then demo_row(rows[1]) end
  for _, r in ipairs(rows) do by_username[r.username:lower()] = r end
  local ds = { platform = platform, rows = rows, by_username = by_username, orders = {} }
  cache[key] = ds
  return ds
end

-- Sorted index arrays, built lazily per (field accessor name, direction).
-- Ties are broken by row index ascending in both directions.
function D.order(ds, name, getter, desc)
  local key = name .. (desc and ":desc" or ":asc")
  local o = ds.orders[key]
  if o then return o end
  local rows = ds.rows
  local vals = {}
  o = {}
  for i = 1, #rows do o[i] = i; vals[i] = getter(rows[i]) end
  if desc then
    table.sort(o, function(a, b)
      local va, vb = vals[a], vals[b]
      if va ~= vb then return va > vb end
      return a < b
    end)
  else
    table.sort(o, function(a, b)
      local va, vb = vals[a], vals[b]
      if va ~= vb then return va < vb end
      return a < b
    end)
  end
  ds.orders[key] = o
  return o
end

-- Stateless per-row extra randomness: unit(r, k) in [0,1)
function D.unit(r, k)
  return P.unit(r.salt, k, 0)
end

function D.hex(r, k, n)
  local s = string.format("%016x%016x", P.hash(r.salt, k, 1), P.hash(r.salt, k, 2))
  return s:sub(1, n or 32)
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- last video time of day (for the ISO `last_video_publish_time` fields)
local function with_time(r, g)
  local secs = g:int(0, 86399)
  r.last_time = r.last_date .. string.format("T%02d:%02d:%02dZ", secs // 3600, secs // 60 % 60, secs % 60)
end

D.makers = {
  youtube = function(seed, i, used)
    local r, g = base_row(seed, "youtube", i, used)
    local id = { "UC" }
    for k = 1, 22 do
      local n = g:int(1, 64)
      id[k + 1] = B64:sub(n, n)
    end
    r.uid = table.concat(id)
    -- subscribers skew larger than TikTok followers
    r.followers = math.floor(r.followers * (1.2 + g:float()))
    r.avg_views = math.floor(r.avg_views * (0.8 + g:float()))
    r.avg_views_short = math.floor(r.avg_views * (0.6 + 1.2 * g:float()))
    r.avg_views_long = math.floor(r.avg_views * (0.3 + 0.9 * g:float()))
    r.er_short = math.floor(r.er * (0.8 + 0.6 * g:float()) * 10000 + 0.5) / 10000
    r.er_long = math.floor(r.er * (0.5 + 0.6 * g:float()) * 10000 + 0.5) / 10000
    r.view_count = math.floor(r.avg_views * r.videos * (0.9 + g:float()))
    r.has_whatsapp = g:chance(0.05)
    r.is_ai_creator = g:chance(0.03)
    with_time(r, g)
    return r
  end,
  instagram = function(seed, i, used)
    local r, g = base_row(seed, "instagram", i, used)
    r.uid = tostring(1780000000 + i * 40009 + g:int(0, 40000))
    r.has_whatsapp = g:chance(0.08)
    r.is_product_kol = g:chance(r.followers > 20000 and 0.3 or 0.05)
    r.is_ai_creator = g:chance(0.02)
    r.is_top_creator = r.followers > 500000 and g:chance(0.5)
    r.view_count = math.floor(r.avg_views * r.videos * (0.9 + g:float()))
    with_time(r, g)
    return r
  end,
}
D.base_row = base_row

return D
