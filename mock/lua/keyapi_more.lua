-- KeyAPI influencer analytics endpoints beyond the list: detail, videos,
-- ranking, trends, products, livestreams. Their parameter tables were not
-- readable in the vendor docs; parameters follow the upstream EchoTik
-- conventions (see docs/mock.md, "KeyAPI: other analytics endpoints").
local json = require "json"
local S = require "state"
local D = require "dataset"
local P = require "prng"
local R = require "render"
local U = require "util"
local T = require "taxonomy"
local K = require "keyapi"

local M = {}

local function get(args, name)
  local v = args[name]
  if v == nil or v == "" then return nil end
  return v
end

-- finds creators by user_id / unique_id (comma lists); returns rows or nil, message
local function creators(args, max)
  local ids, handles = get(args, "user_id"), get(args, "unique_id")
  if not ids and not handles then return nil, "Missing required parameter: user_id" end
  local ds = D.get("tiktok", S.seed)
  ds.by_uid = ds.by_uid or {}
  if not next(ds.by_uid) then
    for _, r in ipairs(ds.rows) do ds.by_uid[r.uid] = r end
  end
  local wanted = {}
  for _, id in ipairs(ids and U.split(ids, ",") or {}) do wanted[#wanted + 1] = { "uid", id } end
  for _, h in ipairs(handles and U.split(handles, ",") or {}) do wanted[#wanted + 1] = { "handle", h } end
  if #wanted > max then
    return nil, string.format("Invalid parameter: at most %d influencers per request", max)
  end
  local out = {}
  for _, w in ipairs(wanted) do
    local r
    if w[1] == "uid" then
      if not w[2]:match("^%d+$") then return nil, "Invalid parameter: user_id must be numeric" end
      r = ds.by_uid[w[2]]
    else
      r = ds.by_username[w[2]:gsub("^@", ""):lower()]
    end
    if r then out[#out + 1] = r end
  end
  return out
end

local function paging(args)
  if not get(args, "page_num") then return nil, "Missing required parameter: page_num" end
  if not get(args, "page_size") then return nil, "Missing required parameter: page_size" end
  local pn, e1 = K.int_param(args, "page_num", 1, 10000)
  if e1 then return nil, e1 end
  local ps, e2 = K.int_param(args, "page_size", 1, 10)
  if e2 then return nil, e2 end
  return { page_num = pn, page_size = ps, offset = (pn - 1) * ps }
end

local function unit(r, a, b) return P.unit(r.salt, a, b) end

local function single(ctx)
  local rows, err = creators(ctx.args, 1)
  if not rows then return nil, K.fail(ctx, 400, err) end
  if #rows == 0 then return nil, K.fail(ctx, 404, "Influencer not found") end
  return rows[1]
end

local function finish(ctx, data)
  if not K.charge(ctx, 1) then return K.fail(ctx, 402, K.MSG.no_credits) end
  return K.ok(ctx, data)
end

---------------------------------------------------------------------------
-- GET /v1/tiktok/influencer/detail/analytics?user_id=1,2 | unique_id=a,b (≤ 10)
function M.detail(ctx)
  local rows, err = creators(ctx.args, 10)
  if not rows then return K.fail(ctx, 400, err) end
  if #rows == 0 then return K.fail(ctx, 404, "Influencer not found") end
  local data = json.arr({})
  for i, r in ipairs(rows) do
    local o = R.kapi_row(r)
    local k = R.kapi_facts(r)
    json.set(o, "per_views_avg_30d_cnt", k.per_views_avg)
    json.set(o, "per_video_product_views_avg_30d_cnt", k.pv_avg)
    local cats = {}
    for n, id in ipairs(r.products) do
      local p = T.product_by_id[id] -- "category_id:rank,..."
      cats[n] = string.format("%s:%d", p[1], n)
    end
    json.set(o, "product_category_list", table.concat(cats, ","))
    data[i] = o
  end
  return finish(ctx, data)
end

---------------------------------------------------------------------------
-- videos of a creator, newest first by default
local VIDEO_SORTS = { [1] = "create_time", [2] = "total_views_cnt", [3] = "total_digg_cnt",
  [4] = "total_comments_cnt", [5] = "total_shares_cnt" }

local function video(r, j)
  local k = R.kapi_facts(r)
  local age_days = (r.last_day and (D.AS_OF_DAY - r.last_day) or 0) + math.floor((j - 1) * (2 + 4 * unit(r, 300, j)))
  local create = (D.AS_OF_DAY - age_days) * 86400 + math.floor(86400 * unit(r, 301, j))
  local views = math.floor(r.avg_views * (0.2 + 2.5 * unit(r, 302, j) ^ 2))
  local digg = math.floor(views * r.er * (0.6 + 0.6 * unit(r, 303, j)))
  local comments = math.floor(digg * 0.02 * (0.5 + unit(r, 304, j)))
  local shares = math.floor(digg * 0.03 * (0.5 + unit(r, 305, j)))
  local sells = k.sales_flag == 1 or k.sales_flag == 3
  local vsale = sells and unit(r, 306, j) < 0.4 and math.floor(views / 2000 * unit(r, 307, j)) or 0
  local id = string.format("%d", 7300000000000000000 + r.i * 1000033 + j * 7)
  return {
    video_id = id,
    create_time = create,
    total_views_cnt = views,
    total_digg_cnt = digg,
    total_comments_cnt = comments,
    total_shares_cnt = shares,
    obj = json.obj(
      "video_id", id,
      "user_id", r.uid,
      "unique_id", r.username,
      "region", r.country,
      "video_desc", ({ "Get ready with me", "My honest review", "Day in my life", "Storytime",
        "Top 5 picks", "You need to try this" })[1 + (j % 6)] .. " " .. table.concat(r.hashtags, " "),
      "create_time", create,
      "duration", 7 + math.floor(120 * unit(r, 308, j) ^ 2),
      "total_views_cnt", views,
      "total_digg_cnt", digg,
      "total_comments_cnt", comments,
      "total_shares_cnt", shares,
      "total_favorites_cnt", math.floor(digg * 0.08),
      "interaction_rate", views > 0 and R.round((digg + comments + shares) / views, 4) or 0,
      "is_ad", unit(r, 309, j) < 0.05 and 1 or 0,
      "product_cnt", vsale > 0 and 1 or 0,
      "total_video_sale_cnt", vsale,
      "total_video_sale_gmv_amt", vsale * k.avg_price,
      "cover_url", "https://p16-sign-va.tiktokcdn.com/obj/tos-maliva-p-0068/" .. D.hex(r, 400 + j) ..
        "~tplv-noop.image",
      "video_url", "https://www.tiktok.com/@" .. r.username .. "/video/" .. id),
  }
end

function M.videos(ctx)
  local r, bad = single(ctx)
  if not r then return bad end
  local pg, err = paging(ctx.args)
  if not pg then return K.fail(ctx, 400, err) end
  local sf, e1 = K.int_param(ctx.args, "video_sort_field", 0, 5)
  if e1 then return K.fail(ctx, 400, e1) end
  local st, e2 = K.int_param(ctx.args, "sort_type", 0, 1)
  if e2 then return K.fail(ctx, 400, e2) end
  local n = math.min(r.videos, 300)
  if r.last_day < D.AS_OF_DAY - 365 then n = math.min(n, 30) end
  local list = {}
  for j = 1, n do list[j] = video(r, j) end
  local field = VIDEO_SORTS[(sf and sf > 0) and sf or 1]
  local desc = st == nil or st == 1 -- newest / biggest first unless sort_type=0
  table.sort(list, function(a, b)
    if a[field] ~= b[field] then
      if desc then return a[field] > b[field] end
      return a[field] < b[field]
    end
    return a.video_id < b.video_id
  end)
  local data = json.arr({})
  for j = pg.offset + 1, math.min(#list, pg.offset + pg.page_size) do data[#data + 1] = list[j].obj end
  return finish(ctx, data)
end

---------------------------------------------------------------------------
-- GET /v1/tiktok/influencer/ranking/analytics?region=&page_num=&page_size=
--     [&rank_type=1..4][&date_type=1..3][&rank_date=YYYY-MM-DD][&influencer_category_name=]
local RANKS = {
  [1] = function(r) return r.followers end,
  [2] = function(r) return R.kapi_facts(r).f30 end,
  [3] = function(r) return R.kapi_facts(r).gmv30 end,
  [4] = function(r) return r.er end,
}

function M.ranking(ctx)
  local args = ctx.args
  local pg, err = K.paging(args)
  if not pg then return K.fail(ctx, 400, err) end
  local rt, e1 = K.int_param(args, "rank_type", 1, 4)
  if e1 then return K.fail(ctx, 400, e1) end
  local _, e2 = K.int_param(args, "date_type", 1, 3)
  if e2 then return K.fail(ctx, 400, e2) end
  local date = get(args, "rank_date")
  if date and not (U.valid_date(date) or (date:match("^%d%d%d%d%d%d%d%d$") and
    U.valid_date(date:sub(1, 4) .. "-" .. date:sub(5, 6) .. "-" .. date:sub(7, 8)))) then
    return K.fail(ctx, 400, "Invalid parameter: rank_date must be YYYY-MM-DD")
  end
  local preds = { function(r) return r.country == pg.region end }
  local cat = get(args, "influencer_category_name")
  if cat then
    local c = cat:lower()
    preds[2] = function(r) return R.kapi_facts(r).category:lower() == c end
  end
  local kind = rt or 1
  local ds = D.get("tiktok", S.seed)
  local order = D.order(ds, "kapi_rank:" .. kind, RANKS[kind], true)
  local offset = (pg.page_num - 1) * pg.page_size
  local rows = require("cv_search").query(ds.rows, order, preds, offset, pg.page_size, false)
  local data = json.arr({})
  for i, r in ipairs(rows) do
    local o = json.obj("rank", offset + i, "rank_type", kind)
    local row = R.kapi_row(r)
    for _, key in ipairs(row._k) do json.set(o, key, row._v[key]) end
    data[i] = o
  end
  return finish(ctx, data)
end

---------------------------------------------------------------------------
-- GET /v1/tiktok/influencer/trends/analytics?user_id=&start_date=&end_date=
-- daily snapshots, at most the past 180 days, oldest first
local function parse_day(s)
  if not s then return nil end
  local y, m, d = s:match("^(%d%d%d%d)%-?(%d%d)%-?(%d%d)$")
  if not y then return false end
  local iso = y .. "-" .. m .. "-" .. d
  if not U.valid_date(iso) then return false end
  return U.days_from_civil(tonumber(y), tonumber(m), tonumber(d))
end

function M.trends(ctx)
  local r, bad = single(ctx)
  if not r then return bad end
  local e = parse_day(get(ctx.args, "end_date"))
  local s = parse_day(get(ctx.args, "start_date"))
  if e == false then return K.fail(ctx, 400, "Invalid parameter: end_date must be YYYY-MM-DD") end
  if s == false then return K.fail(ctx, 400, "Invalid parameter: start_date must be YYYY-MM-DD") end
  e = math.min(e or D.AS_OF_DAY, D.AS_OF_DAY)
  s = s or (e - 29)
  if s > e then return K.fail(ctx, 400, "Invalid parameter: start_date is after end_date") end
  s = math.max(s, D.AS_OF_DAY - 179)
  local k = R.kapi_facts(r)
  local data = json.arr({})
  for day = s, e do
    local back = D.AS_OF_DAY - day
    local f = math.max(0, math.floor(r.followers - k.f30 * back / 30 * (0.9 + 0.2 * unit(r, 500, day))))
    local digg = math.max(0, math.floor(r.likes - k.d30 * back / 30))
    data[#data + 1] = json.obj(
      "dt", tonumber(os.date("!%Y%m%d", day * 86400)),
      "total_followers_cnt", f,
      "total_following_cnt", k.following,
      "total_digg_cnt", digg,
      "total_views_cnt", math.max(0, math.floor(k.views * (1 - back / 400))),
      "total_post_video_cnt", math.max(0, r.videos - math.floor(back / 3)),
      "total_sale_cnt", math.max(0, math.floor(k.sale_cnt * (1 - back / 365))),
      "total_sale_gmv_amt", math.max(0, math.floor(k.gmv * (1 - back / 365))),
      "interaction_rate", R.round(r.er * (0.85 + 0.3 * unit(r, 501, day)), 4))
  end
  return finish(ctx, data)
end

---------------------------------------------------------------------------
-- promoted products of a creator
function M.products(ctx)
  local r, bad = single(ctx)
  if not r then return bad end
  local pg, err = paging(ctx.args)
  if not pg then return K.fail(ctx, 400, err) end
  local k = R.kapi_facts(r)
  local n = math.min(k.product_cnt, 200)
  local data = json.arr({})
  local names = { "Hydrating Serum", "Matte Lipstick", "Wireless Earbuds", "Yoga Leggings", "Protein Bar",
    "LED Desk Lamp", "Phone Case", "Silk Pillowcase", "Hair Clips Set", "Air Fryer Liners", "Pet Brush",
    "Travel Organizer" }
  for j = pg.offset + 1, math.min(n, pg.offset + pg.page_size) do
    local cat = T.product_by_id[r.products[1 + (j - 1) % #r.products]]
    local price = R.round(4.99 + 60 * unit(r, 600, j) ^ 2, 2)
    local sales = math.floor(k.sale_cnt / math.max(1, n) * (0.2 + 1.6 * unit(r, 601, j)))
    data[#data + 1] = json.obj(
      "product_id", string.format("%d", 1729000000000000000 + r.i * 4099 + j),
      "product_name", names[1 + (r.i + j) % #names],
      "region", r.country,
      "category_id", cat[1],
      "category_name", cat[2],
      "cover_url", "https://p16-oec-va.ibyteimg.com/tos-maliva-i-o3syd03w52-us/" .. D.hex(r, 700 + j) ..
        "~tplv-o3syd03w52-origin-jpeg.jpeg",
      "min_price", price,
      "max_price", R.round(price * 1.3, 2),
      "avg_price", R.round(price * 1.1, 2),
      "total_sale_cnt", sales,
      "total_sale_gmv_amt", math.floor(sales * price),
      "total_sale_30d_cnt", math.floor(sales * 0.2),
      "total_video_cnt", 1 + math.floor(8 * unit(r, 602, j)),
      "total_live_cnt", (k.sales_flag == 2 or k.sales_flag == 3) and math.floor(5 * unit(r, 603, j)) or 0,
      "first_crawl_dt", tonumber(os.date("!%Y%m%d", (D.AS_OF_DAY - math.floor(400 * unit(r, 604, j))) * 86400)))
  end
  return finish(ctx, data)
end

---------------------------------------------------------------------------
-- livestream history of a creator, newest first
function M.livestreams(ctx)
  local r, bad = single(ctx)
  if not r then return bad end
  local pg, err = paging(ctx.args)
  if not pg then return K.fail(ctx, 400, err) end
  local k = R.kapi_facts(r)
  local n = math.min(k.live_cnt, 200)
  local data = json.arr({})
  for j = pg.offset + 1, math.min(n, pg.offset + pg.page_size) do
    local start = (D.AS_OF_DAY - j * 2) * 86400 + math.floor(86400 * unit(r, 800, j))
    local dur = 600 + math.floor(10800 * unit(r, 801, j))
    local viewers = math.floor(r.followers * (0.01 + 0.1 * unit(r, 802, j)))
    local sales = (k.sales_flag == 2 or k.sales_flag == 3) and math.floor(viewers * 0.01 * unit(r, 803, j)) or 0
    data[#data + 1] = json.obj(
      "room_id", string.format("%d", 7400000000000000000 + r.i * 8191 + j),
      "user_id", r.uid,
      "unique_id", r.username,
      "region", r.country,
      "title", r.nickname .. " LIVE #" .. j,
      "start_time", start,
      "end_time", start + dur,
      "duration", dur,
      "max_viewers_cnt", math.floor(viewers * 0.3),
      "total_viewers_cnt", viewers,
      "total_digg_cnt", viewers * 3,
      "total_comments_cnt", math.floor(viewers * 0.4),
      "product_cnt", sales > 0 and (1 + math.floor(20 * unit(r, 804, j))) or 0,
      "total_sale_cnt", sales,
      "total_sale_gmv_amt", sales * k.avg_price,
      "cover_url", "https://p16-webcast.tiktokcdn.com/webcast-va/" .. D.hex(r, 900 + j) .. "~tplv-obj.image")
  end
  return finish(ctx, data)
end

K.routes["/v1/tiktok/influencer/detail/analytics"] = M.detail
K.routes["/v1/tiktok/influencer/videos/analytics"] = M.videos
K.routes["/v1/tiktok/influencer/ranking/analytics"] = M.ranking
K.routes["/v1/tiktok/influencer/trends/analytics"] = M.trends
K.routes["/v1/tiktok/influencer/products/analytics"] = M.products
K.routes["/v1/tiktok/influencer/livestreams/analytics"] = M.livestreams

return M
