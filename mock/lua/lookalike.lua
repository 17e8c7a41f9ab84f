-- POST /openapi/v1/creators/lookalike
-- Similarity over the dataset: industries, country, language, gender,
-- audience, follower scale and engagement. match_score is 0-100, sorted desc.
local json = require "json"
local S = require "state"
local D = require "dataset"
local CV = require "cv"
local R = require "render"
local Search = require "cv_search"
local V = CV.V

local L = {}

local PLATFORMS = { "tiktok", "youtube", "instagram" }

-- profile URL -> platform, username
local function parse_profile_url(url)
  local u = url:gsub("^%s+", ""):gsub("%s+$", "")
  local name = u:match("^https?://[%w%.]*tiktok%.com/@([^/?#]+)")
  if name then return "tiktok", name end
  name = u:match("^https?://[%w%.]*youtube%.com/@([^/?#]+)")
  if name then return "youtube", name end
  name = u:match("^https?://[%w%.]*instagram%.com/([^/?#]+)")
  if name and name ~= "p" and name ~= "reel" then return "instagram", name end
  return nil
end
L.parse_profile_url = parse_profile_url

local function similarity(seed, r)
  local s = 0
  -- industries: exact L3 overlap, else same L1
  local best = 0
  for _, a in ipairs(seed.industries) do
    for _, b in ipairs(r.industries) do
      if a == b then best = math.max(best, 1)
      elseif a.l2 == b.l2 then best = math.max(best, 0.75)
      elseif a.l1 == b.l1 then best = math.max(best, 0.5) end
    end
  end
  s = s + 0.34 * best
  if seed.country == r.country then s = s + 0.14 end
  if seed.language == r.language then s = s + 0.1 end
  if seed.gender and seed.gender == r.gender then s = s + 0.06 end
  local lf = math.abs(math.log(seed.followers) - math.log(r.followers))
  s = s + 0.18 * math.max(0, 1 - lf / 4)
  local le = math.abs(math.log(seed.er) - math.log(r.er))
  s = s + 0.1 * math.max(0, 1 - le / 2)
  s = s + 0.08 * math.max(0, 1 - math.abs(seed.female_rate - r.female_rate) / 50)
  return math.floor(s * 10000 + 0.5) / 100
end
L.similarity = similarity

function L.find_seed(platform, username)
  local uname = username:gsub("^@", ""):lower()
  local list = platform and { platform } or PLATFORMS
  for _, p in ipairs(list) do
    local ds = D.get(p, S.seed)
    local r = ds.by_username[uname]
    if r then return r, p end
  end
  return nil
end

function L.handler(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local err
  local p = {}
  p.username, err = V.string(body, "username", 200)
  if err then return CV.invalid(ctx, err) end
  p.profile_url, err = V.string(body, "profile_url", 500)
  if err then return CV.invalid(ctx, err) end
  p.platform, err = V.enum(body, "platform", PLATFORMS, true)
  if err then return CV.invalid(ctx, err) end
  p.target_platform, err = V.enum(body, "target_platform", PLATFORMS, true)
  if err then return CV.invalid(ctx, err) end
  p.target_region, err = V.string(body, "target_region", 10)
  if err then return CV.invalid(ctx, err) end
  p.target_language, err = V.string(body, "target_language", 10)
  if err then return CV.invalid(ctx, err) end
  p.limit, err = V.int(body, "limit", 1)
  if err then return CV.invalid(ctx, err) end
  for _, n in ipairs({ "follower_min", "follower_max", "avg_views_min", "avg_views_max" }) do
    p[n], err = V.int(body, n, 0)
    if err then return CV.invalid(ctx, err) end
  end
  p.female_rate_min, err = V.number(body, "female_rate_min", 0, 100)
  if err then return CV.invalid(ctx, err) end
  p.service_level, err = V.enum(body, "service_level", { "S1", "S2", "S3" }, true)
  if err then return CV.invalid(ctx, err) end
  p.lang, err = V.enum(body, "lang", { "cn", "en" }, true)
  if err then return CV.invalid(ctx, err) end
  p.service_level = p.service_level or "S1"
  p.limit = math.min(p.limit or 20, 50)

  local seed_platform, uname = p.platform, p.username
  if not uname and p.profile_url then
    local pp, name = parse_profile_url(p.profile_url)
    if not pp then return CV.invalid(ctx, "profile_url 不是受支持的 TikTok / YouTube / Instagram 主页地址") end
    seed_platform, uname = seed_platform or pp, name
  end
  if not uname or uname:gsub("^@", "") == "" then
    return CV.invalid(ctx, "username 或 profile_url 至少提供一个")
  end
  local balance = S.balance_of(ctx.key, ctx.spec)
  if balance == 0 then return CV.fail(ctx, 402, 40201, CV.MSG.no_credits) end
  local seed, sp = L.find_seed(seed_platform, uname)
  if not seed then
    return CV.fail(ctx, 404, 40401, "达人不存在: " .. uname:gsub("^@", ""))
  end
  local target = p.target_platform or sp
  local ds = D.get(target, S.seed)
  local region = p.target_region and p.target_region:upper()
  if region == "ALL" then region = nil end
  local language = p.target_language and p.target_language:lower()
  if language == "all" then language = nil end

  local scored = {}
  for _, r in ipairs(ds.rows) do
    if r ~= seed
      and (not region or r.country == region)
      and (not language or r.language == language)
      and (not p.follower_min or r.followers >= p.follower_min)
      and (not p.follower_max or r.followers <= p.follower_max)
      and (not p.avg_views_min or r.avg_views >= p.avg_views_min)
      and (not p.avg_views_max or r.avg_views <= p.avg_views_max)
      and (not p.female_rate_min or r.female_rate >= p.female_rate_min) then
      scored[#scored + 1] = { r, similarity(seed, r) }
    end
  end
  table.sort(scored, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1].i < b[1].i
  end)
  local n = math.min(p.limit, #scored)
  local cost = n * Search.CREDITS[p.service_level]
  if balance >= 0 and cost > balance then return CV.fail(ctx, 402, 40201, CV.MSG.no_credits) end
  S.charge(ctx.key, ctx.spec, cost)

  local items = json.arr({})
  for i = 1, n do
    local r, score = scored[i][1], scored[i][2]
    local o
    if p.service_level == "S1" then
      o = json.obj(
        "uid", r.uid,
        "username", r.username,
        "nickname", r.nickname,
        "avatar_url", R.avatar_url(r),
        "profile_url", R.profile_url(r),
        "country_code", R.country(r.country, p.lang),
        "followers_count", r.followers,
        "avg_views", r.avg_views,
        "engagement_rate", r.er)
    else
      o = R.BY_PLATFORM[target](r, p.service_level, p.lang)
      if not json.get(o, "profile_url") then json.set(o, "profile_url", R.profile_url(r)) end
    end
    json.set(o, "match_score", score)
    items[i] = o
  end
  local data = json.obj(
    "seed", json.obj("platform", sp, "uid", seed.uid, "username", seed.username,
      "nickname", seed.nickname, "profile_url", R.profile_url(seed)),
    "target_platform", target,
    "items", items,
    "total", n)
  local meta = CV.meta(ctx)
  json.set(meta, "service_level", p.service_level)
  json.set(meta, "credits_consumed", cost)
  json.set(meta, "credits_remaining", S.balance_of(ctx.key, ctx.spec))
  json.set(meta, "lang", p.lang)
  return CV.ok(ctx, data, meta)
end

return L
