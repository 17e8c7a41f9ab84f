-- POST /openapi/v1/creators/{tiktok|youtube|instagram}/search
local json = require "json"
local S = require "state"
local D = require "dataset"
local T = require "taxonomy"
local CV = require "cv"
local R = require "render"
local U = require "util"
local V = CV.V

local M = {}

-- Fields that are never counted as filter conditions (the vendor counts only real filters towards meta.total).
local NOT_FILTERS = { page = true, size = true, sort_field = true, sort_order = true,
  service_level = true, lang = true }
M.NOT_FILTERS = NOT_FILTERS

M.CREDITS = { S1 = 1, S2 = 3, S3 = 4 }

local function range(get, op)
  if op == "gte" then
    return function(v) return function(r) return get(r) >= v end end
  end
  return function(v) return function(r) return get(r) <= v end end
end

local function any_in(get)
  return function(list)
    local set = {}
    for _, x in ipairs(list) do set[x] = true end
    return function(r)
      local v = get(r)
      if type(v) == "table" then
        for _, x in ipairs(v) do if set[x] then return true end end
        return false
      end
      return set[v] == true
    end
  end
end

local GENDERS = { ["0"] = "female", ["1"] = "male", female = "female", male = "male",
  ["女性"] = "female", ["男性"] = "male", ["女"] = "female", ["男"] = "male" }

-- filter definitions common to every platform: name -> { validator, builder }
local function common_filters(F)
  F.keyword = { function(b, n) return V.string(b, n, 200) end, function(kw)
    local k = kw:lower()
    return function(r) return r.search:find(k, 1, true) ~= nil end
  end }
  F.country_code = { function(b, n) return V.list(b, n, "^%u%u$", string.upper) end,
    any_in(function(r) return r.country end) }
  F.language_code = { function(b, n) return V.list(b, n, "^%l%l%l?$", string.lower) end,
    any_in(function(r) return r.language end) }
  F.gender = { function(b, n)
    local v = b[n]
    if V.absent(v) then return nil end
    if type(v) == "number" and (v == 0 or v == 1) then v = tostring(math.tointeger(v)) end
    if type(v) ~= "string" or not GENDERS[v:lower()] and not GENDERS[v] then
      return nil, n .. " 必须是 \"0\"(女) 或 \"1\"(男)"
    end
    return GENDERS[v] or GENDERS[v:lower()]
  end, function(g) return function(r) return r.gender == g end end }
  F.has_email = { V.bool, function(v) return function(r) return r.has_email == v end end }
  F.followers_cnt_gte = { V.int, range(function(r) return r.followers end, "gte") }
  F.followers_cnt_lte = { V.int, range(function(r) return r.followers end, "lte") }
  F.industry = { function(b, n) return V.list(b, n, "^%d+$") end, function(ids)
    return function(r)
      for _, e in ipairs(r.industries) do
        local s = e.ids
        for _, id in ipairs(ids) do
          -- L3 ids match exactly; shorter L1/L2 ids match their subtree
          if s == id or (#id < #s and (tostring(e.l1) == id or tostring(e.l2) == id)) then return true end
        end
      end
      return false
    end
  end }
  F.audience_female_rate_gte = { function(b, n) return V.number(b, n, 0, 100) end,
    range(function(r) return r.female_rate end, "gte") }
  F.audience_female_rate_lte = { function(b, n) return V.number(b, n, 0, 100) end,
    range(function(r) return r.female_rate end, "lte") }
  F.audience_country_code_list = { function(b, n) return V.list(b, n, "^%u%u$", string.upper) end,
    any_in(function(r) return r.aud_countries end) }
  F.audience_language_code_list = { function(b, n) return V.list(b, n, "^%l%l%l?$", string.lower) end,
    any_in(function(r) return r.aud_langs end) }
  F.audience_age_list = { function(b, n) return V.list(b, n) end,
    any_in(function(r) return r.aud_ages end) }
  F.last_video_publish_date_gte = { V.date, range(function(r) return r.last_date end, "gte") }
  F.last_video_publish_date_lte = { V.date, range(function(r) return r.last_date end, "lte") }
  F.is_verified = { V.bool, function(v) return function(r) return r.is_verified == v end end }
  return F
end
M.common_filters = common_filters

local function pct_range(get, op)
  return { function(b, n) return V.number(b, n, 0, 100) end,
    range(function(r) return get(r) * 100 end, op) }
end
M.pct_range = pct_range
M.range = range
M.any_in = any_in

local TIKTOK_FILTERS = common_filters({})
do
  local F = TIKTOK_FILTERS
  F.has_mcn = { V.bool, function(v) return function(r) return r.has_mcn == v end end }
  F.has_line = { V.bool, function(v) return function(r) return r.has_line == v end end }
  F.has_zalo = { V.bool, function(v) return function(r) return r.has_zalo == v end end }
  F.has_showcase = { V.bool, function(v) return function(r) return r.has_showcase == v end end }
  F.last10_avg_video_views_cnt_gte = { V.number, range(function(r) return r.avg_views end, "gte") }
  F.last10_avg_video_views_cnt_lte = { V.number, range(function(r) return r.avg_views end, "lte") }
  F.last10_avg_video_interaction_rate_gte = pct_range(function(r) return r.er end, "gte")
  F.last10_avg_video_interaction_rate_lte = pct_range(function(r) return r.er end, "lte")
  F.product_category_id_array = { function(b, n) return V.list(b, n, "^%d+$") end,
    any_in(function(r) return r.products end) }
  F.last30day_gmv_gte = { V.number, range(function(r) return r.gmv30 end, "gte") }
  F.last30day_gmv_lte = { V.number, range(function(r) return r.gmv30 end, "lte") }
  F.last30day_gpm_gte = { V.number, range(function(r) return r.gpm end, "gte") }
  F.last30day_gpm_lte = { V.number, range(function(r) return r.gpm end, "lte") }
  F.last30day_gmv_per_buyer_gte = { V.number, range(function(r) return r.gmv_per_buyer end, "gte") }
  F.last30day_gmv_per_buyer_lte = { V.number, range(function(r) return r.gmv_per_buyer end, "lte") }
  F.last30day_commission_rate_gte = { function(b, n) return V.number(b, n, 0, 100) end,
    range(function(r) return r.commission end, "gte") }
  F.last30day_commission_rate_lte = { function(b, n) return V.number(b, n, 0, 100) end,
    range(function(r) return r.commission end, "lte") }
end

-- "YYYY-MM-DD" or ISO date-time; compared with the row's ISO last_time
local function time_bound(op)
  return { function(b, n)
    local v = b[n]
    if V.absent(v) then return nil end
    if type(v) == "string" then
      if U.valid_date(v) then
        return v .. (op == "gte" and "T00:00:00Z" or "T23:59:59Z")
      end
      local d, t = v:match("^(%d%d%d%d%-%d%d%-%d%d)[T ](%d%d:%d%d:%d%d)")
      if d and U.valid_date(d) then return d .. "T" .. t .. "Z" end
    end
    if type(v) == "number" and v > 0 then return U.iso(v) end -- Unix seconds
    return nil, n .. " 必须是 YYYY-MM-DD 日期或 ISO 8601 时间"
  end, range(function(r) return r.last_time end, op) }
end

local function flag(field)
  return { V.bool, function(v) return function(r) return (r[field] == true) == v end end }
end

local YOUTUBE_FILTERS = common_filters({})
do
  local F = YOUTUBE_FILTERS
  F.has_whatsapp = flag("has_whatsapp")
  F.is_ai_creator = flag("is_ai_creator")
  F.last10_avg_video_view_count_all_gte = { V.number, range(function(r) return r.avg_views end, "gte") }
  F.last10_avg_video_view_count_all_lte = { V.number, range(function(r) return r.avg_views end, "lte") }
  F.last10_avg_video_view_count_short_gte = { V.number, range(function(r) return r.avg_views_short end, "gte") }
  F.last10_avg_video_view_count_short_lte = { V.number, range(function(r) return r.avg_views_short end, "lte") }
  F.last10_avg_interaction_rate_all_gte = pct_range(function(r) return r.er end, "gte")
  F.last10_avg_interaction_rate_all_lte = pct_range(function(r) return r.er end, "lte")
  F.last10_avg_interaction_rate_short_gte = pct_range(function(r) return r.er_short end, "gte")
  F.last10_avg_interaction_rate_short_lte = pct_range(function(r) return r.er_short end, "lte")
  F.last_video_publish_time_gte = time_bound("gte")
  F.last_video_publish_time_lte = time_bound("lte")
  F.audience_language_list = F.audience_language_code_list
  F.female_ratio_gte = F.audience_female_rate_gte
  F.female_ratio_lte = F.audience_female_rate_lte
end

local INSTAGRAM_FILTERS = common_filters({})
do
  local F = INSTAGRAM_FILTERS
  F.has_whatsapp = flag("has_whatsapp")
  F.is_product_kol = flag("is_product_kol")
  F.is_ai_creator = flag("is_ai_creator")
  F.is_top_creator = flag("is_top_creator")
  F.last10_avg_video_view_count_gte = { V.number, range(function(r) return r.avg_views end, "gte") }
  F.last10_avg_video_view_count_lte = { V.number, range(function(r) return r.avg_views end, "lte") }
  F.last10_avg_video_interaction_rate_gte = pct_range(function(r) return r.er end, "gte")
  F.last10_avg_video_interaction_rate_lte = pct_range(function(r) return r.er end, "lte")
  F.last_video_publish_time_gte = time_bound("gte")
  F.last_video_publish_time_lte = time_bound("lte")
  F.audience_language_list = F.audience_language_code_list
  F.female_ratio_gte = F.audience_female_rate_gte
  F.female_ratio_lte = F.audience_female_rate_lte
end

-- YouTube / Instagram document no sort_field enum: followers_cnt (default) plus
-- views and interaction-rate sorts under their TikTok names and the platform's own.
local function other_sorts(views_name, rate_name)
  local fields = {
    followers_cnt = function(r) return r.followers end,
    last10_avg_video_views_cnt = function(r) return r.avg_views end,
    last10_avg_video_interaction_rate = function(r) return r.er end,
  }
  local names = { "followers_cnt", "last10_avg_video_views_cnt", "last10_avg_video_interaction_rate" }
  for _, n in ipairs({ views_name, rate_name }) do
    if not fields[n] then
      names[#names + 1] = n
      fields[n] = n == views_name and fields.last10_avg_video_views_cnt or fields.last10_avg_video_interaction_rate
    end
  end
  return fields, names
end

M.PLATFORMS = {
  tiktok = {
    scope = "creators:tiktok:search",
    filters = TIKTOK_FILTERS,
    sort_fields = {
      followers_cnt = function(r) return r.followers end,
      last10_avg_video_views_cnt = function(r) return r.avg_views end,
      last10_avg_video_interaction_rate = function(r) return r.er end,
    },
    sort_names = { "followers_cnt", "last10_avg_video_views_cnt", "last10_avg_video_interaction_rate" },
    render = R.tiktok,
  },
  youtube = { scope = "creators:youtube:search", filters = YOUTUBE_FILTERS, render = R.youtube },
  instagram = { scope = "creators:instagram:search", filters = INSTAGRAM_FILTERS, render = R.instagram },
}
M.PLATFORMS.youtube.sort_fields, M.PLATFORMS.youtube.sort_names =
  other_sorts("last10_avg_video_view_count_all", "last10_avg_interaction_rate_all")
M.PLATFORMS.instagram.sort_fields, M.PLATFORMS.instagram.sort_names =
  other_sorts("last10_avg_video_view_count", "last10_avg_video_interaction_rate")

-- Compiles the request's filters: returns preds, count or nil, message.
function M.compile(filters, body)
  local preds, count = {}, 0
  local names = {}
  for name in pairs(filters) do names[#names + 1] = name end
  table.sort(names)
  local slow = {}
  for _, name in ipairs(names) do
    local f = filters[name]
    local v, err = f[1](body, name)
    if err then return nil, err end
    if v ~= nil then
      count = count + 1
      -- substring search last: the cheap comparisons reject most rows first
      local list = name == "keyword" and slow or preds
      list[#list + 1] = f[2](v)
    end
  end
  for _, p in ipairs(slow) do preds[#preds + 1] = p end
  return preds, count
end

-- Encoded JSON of a rendered row, cached per (platform, row, level, lang).
-- Rendering is deterministic, so repeated pages cost one table lookup.
local cache, cache_n = {}, 0
local CACHE_MAX = 30000
function M.encoded(platform, r, level, lang, render)
  local key = platform .. "|" .. r.i .. "|" .. level .. "|" .. (lang or "")
  local text = cache[key]
  if not text then
    local o = render(r, level, lang)
    if S.string_values and platform ~= "kapi" then o = json.stringify_scalars(o) end
    text = json.encode(o)
    if cache_n >= CACHE_MAX then cache, cache_n = {}, 0 end
    cache[key] = text
    cache_n = cache_n + 1
  end
  return json.raw(text)
end

-- Runs a paged query over a presorted order. Returns rows, total (nil unless want_total).
function M.query(rows, order, preds, offset, limit, want_total)
  local out, matched = {}, 0
  local np = #preds
  for k = 1, #order do
    local r = rows[order[k]]
    local ok = true
    for p = 1, np do
      if not preds[p](r) then ok = false; break end
    end
    if ok then
      matched = matched + 1
      if matched > offset and #out < limit then out[#out + 1] = r end
      if not want_total and #out >= limit then break end
    end
  end
  return out, want_total and matched or nil
end

function M.validate_common(body, sort_names, default_sort)
  local p = {}
  local err
  p.page, err = V.int(body, "page", 1, 200)
  if err then return nil, err end
  p.size, err = V.int(body, "size", 1, 100)
  if err then return nil, err end
  p.sort_field, err = V.enum(body, "sort_field", sort_names)
  if err then return nil, err end
  p.sort_order, err = V.enum(body, "sort_order", { "asc", "desc" }, true)
  if err then return nil, err end
  p.service_level, err = V.enum(body, "service_level", { "S1", "S2", "S3" }, true)
  if err then return nil, err end
  p.lang, err = V.enum(body, "lang", { "cn", "en" }, true)
  if err then return nil, err end
  p.page = p.page or 1
  p.size = p.size or 50
  p.sort_field = p.sort_field or default_sort
  p.sort_order = p.sort_order or "desc"
  p.service_level = p.service_level or "S2"
  return p
end

function M.handler(platform)
  local spec = M.PLATFORMS[platform]
  return function(ctx)
    local body, bad = CV.body(ctx)
    if not body then return bad end
    local p, err = M.validate_common(body, spec.sort_names, spec.sort_names[1])
    if not p then return CV.invalid(ctx, err) end
    local preds, count = M.compile(spec.filters, body)
    if not preds then return CV.invalid(ctx, count) end
    -- credits: refuse before querying when the balance is exhausted
    local balance = S.balance_of(ctx.key, ctx.spec)
    if balance == 0 then return CV.fail(ctx, 402, 40201, CV.MSG.no_credits) end
    local ds = D.get(platform, S.seed)
    local getter = spec.sort_fields[p.sort_field]
    local order = D.order(ds, p.sort_field, getter, p.sort_order == "desc")
    local want_total = count > 2
    local rows, total = M.query(ds.rows, order, preds, (p.page - 1) * p.size, p.size, want_total)
    local cost = #rows * M.CREDITS[p.service_level]
    if balance >= 0 and cost > balance then
      return CV.fail(ctx, 402, 40201, CV.MSG.no_credits)
    end
    S.charge(ctx.key, ctx.spec, cost)
    local data = json.arr({})
    for i, r in ipairs(rows) do data[i] = M.encoded(platform, r, p.service_level, p.lang, spec.render) end
    local meta = CV.meta(ctx)
    json.set(meta, "page", p.page)
    json.set(meta, "size", p.size)
    json.set(meta, "total", total)
    json.set(meta, "service_level", p.service_level)
    json.set(meta, "credits_consumed", cost)
    json.set(meta, "credits_remaining", S.balance_of(ctx.key, ctx.spec))
    json.set(meta, "lang", p.lang)
    return CV.ok(ctx, data, meta)
  end
end

M.T = T
return M
