-- KeyAPI TikTok analytics endpoints (GET, Bearer auth, {code,message,data,requestId}).
local json = require "json"
local S = require "state"
local D = require "dataset"
local R = require "render"
local U = require "util"

local K = {}

K.MSG = {
  missing_key = "apiKey is null",
  invalid_key = "apiKey is invalid",
  no_credits = "apiKey quota is not enough",
  rate_limited = "qps limit exceeded",
  forbidden = "apiKey has no permission for this endpoint",
  not_found = "Not Found",
  method = "Method Not Allowed",
}

local function respond(status, env, headers)
  local h = headers or {}
  h[#h + 1] = { "Content-Type", "application/json; charset=utf-8" }
  return { status = status, headers = h, body = json.encode(env) }
end

function K.fail(ctx, status, message, headers)
  ctx.error_code = status
  return respond(status, json.obj("code", status, "data", nil, "message", message,
    "requestId", ctx.request_id), headers)
end

function K.ok(ctx, data)
  return respond(200, json.obj("code", 0, "message", "success", "data", data,
    "requestId", ctx.request_id))
end

-- auth -> rate limit -> (handler validates) -> credits (1 per successful request)
function K.auth(ctx)
  local h = U.header(ctx.req, "Authorization")
  local token = h and h:match("^%s*[Bb][Ee][Aa][Rr][Ee][Rr]%s+(%S+)%s*$")
  if not token or token == "" then return K.fail(ctx, 401, K.MSG.missing_key) end
  local spec = S.KAPI_KEYS[token]
  if not spec then return K.fail(ctx, 401, K.MSG.invalid_key) end
  ctx.key, ctx.spec = token, spec
  if spec.forbidden then return K.fail(ctx, 403, K.MSG.forbidden) end
  -- upstream EchoTik reports an exhausted plan as HTTP 500
  if spec.usage_limit then return K.fail(ctx, 500, "Usage Limit Exceeded") end
  if spec.always_429 or not S.rate_ok("kapi:" .. token, S.keyapi_rate_limit) then
    return K.fail(ctx, 429, K.MSG.rate_limited, { { "Retry-After", "60" } })
  end
  return nil
end

function K.balance(key, spec)
  return S.balance_of("kapi:" .. key, spec)
end

-- charge 1 credit; returns false when the balance is exhausted
function K.charge(ctx, n)
  n = n or 1
  local b = K.balance(ctx.key, ctx.spec)
  if b >= 0 and b < n then return false end
  S.charge("kapi:" .. ctx.key, ctx.spec, n)
  return true
end

---------------------------------------------------------------------------
-- parameter parsing: all query values are strings; "" counts as absent
local function get(args, name)
  local v = args[name]
  if v == nil or v == "" then return nil end
  return v
end

local function int_param(args, name, min, max)
  local v = get(args, name)
  if v == nil then return nil end
  if not v:match("^%s*%-?%d+%s*$") then return nil, "Invalid parameter: " .. name .. " must be an integer" end
  local n = math.tointeger(tonumber(v))
  if not n or (min and n < min) or (max and n > max) then
    if min and max then
      return nil, string.format("Invalid parameter: %s must be between %d and %d", name, min, max)
    end
    return nil, string.format("Invalid parameter: %s must be >= %d", name, min or 0)
  end
  return n
end
K.int_param = int_param

local function num_param(args, name)
  local v = get(args, name)
  if v == nil then return nil end
  local n = tonumber(v)
  if not n or n ~= n then return nil, "Invalid parameter: " .. name .. " must be a number" end
  return n
end
K.num_param = num_param

-- region, page_num (1-10000), page_size (1-10); all required
function K.paging(args, max_size)
  local region = get(args, "region")
  if not region then return nil, "Missing required parameter: region" end
  if not region:match("^%a%a$") then return nil, "Invalid parameter: region must be a 2-letter region code" end
  if not get(args, "page_num") then return nil, "Missing required parameter: page_num" end
  if not get(args, "page_size") then return nil, "Missing required parameter: page_size" end
  local pn, e1 = int_param(args, "page_num", 1, 10000)
  if e1 then return nil, e1 end
  local ps, e2 = int_param(args, "page_size", 1, max_size or 10)
  if e2 then return nil, e2 end
  return { region = region:upper(), page_num = pn, page_size = ps }
end

local SORT_FIELDS = {
  [1] = { "total_followers_cnt", function(r) return r.followers end },
  [2] = { "total_followers_30d_cnt", function(r) return R.kapi_facts(r).f30 end },
  [3] = { "total_post_video_cnt", function(r) return r.videos end },
  [4] = { "per_views_avg_cnt", function(r) return R.kapi_facts(r).per_views_avg end },
  [5] = { "interaction_rate", function(r) return r.er end },
  [6] = { "total_product_cnt", function(r) return R.kapi_facts(r).product_cnt end },
}
K.SORT_FIELDS = SORT_FIELDS

local RANGES = {
  { "total_followers_cnt", "int", function(r) return r.followers end },
  { "total_digg_cnt", "int", function(r) return r.likes end },
  { "interaction_rate", "num", function(r) return r.er end },
  { "total_views_cnt", "int", function(r) return R.kapi_facts(r).views end },
  { "total_views_7d_cnt", "int", function(r) return R.kapi_facts(r).views7 end },
  { "per_video_product_views_avg_cnt", "int", function(r) return R.kapi_facts(r).pv_avg end },
  { "per_video_product_views_avg_7d_cnt", "int", function(r) return R.kapi_facts(r).pv_avg7 end },
}

local GENDER = { male = "male", female = "female", m = "male", f = "female", ["1"] = "male", ["2"] = "female" }

-- Builds the predicate list for list/analytics. Returns preds or nil, message.
function K.list_filters(args, pg)
  local preds = {}
  local region = pg.region
  preds[#preds + 1] = function(r) return r.country == region end
  for _, spec in ipairs(RANGES) do
    for _, side in ipairs({ "min", "max" }) do
      local name = side .. "_" .. spec[1]
      local v, err
      if spec[2] == "int" then v, err = int_param(args, name) else v, err = num_param(args, name) end
      if err then return nil, err end
      if v then
        local g = spec[3]
        if side == "min" then
          preds[#preds + 1] = function(r) return g(r) >= v end
        else
          preds[#preds + 1] = function(r) return g(r) <= v end
        end
      end
    end
  end
  local gender = get(args, "gender")
  if gender then
    local gv = GENDER[gender:lower()]
    if not gv then return nil, "Invalid parameter: gender must be male or female" end
    preds[#preds + 1] = function(r) return R.kapi_facts(r).gender == gv end
  end
  local lang = get(args, "influencer_language")
  if lang then
    local set = {}
    for _, l in ipairs(U.split(lang:lower(), ",")) do set[l] = true end
    preds[#preds + 1] = function(r) return set[r.language] == true end
  end
  local scf, e1 = int_param(args, "show_case_flag", 0, 1)
  if e1 then return nil, e1 end
  if scf then preds[#preds + 1] = function(r) return R.kapi_facts(r).show_case_flag == scf end end
  local sf, e2 = int_param(args, "sales_flag", 0, 4)
  if e2 then return nil, e2 end
  if sf then preds[#preds + 1] = function(r) return R.kapi_facts(r).sales_flag == sf end end
  local pc = get(args, "product_category_id")
  if pc then
    local set = {}
    for _, id in ipairs(U.split(pc, ",")) do set[id] = true end
    preds[#preds + 1] = function(r)
      for _, id in ipairs(r.products) do if set[id] then return true end end
      return false
    end
  end
  local cat = get(args, "influencer_category_name")
  if cat then
    local c = cat:lower()
    preds[#preds + 1] = function(r)
      local rc = R.kapi_facts(r).category:lower()
      if rc == "" then return false end
      if rc == c then return true end
      -- also match the creator's L2/L3 niche names ("Skincare", "Fitness"...)
      for _, e in ipairs(r.industries) do
        if e.en[2]:lower() == c or e.en[3]:lower() == c then return true end
      end
      return rc:find(c, 1, true) ~= nil
    end
  end
  local seller = get(args, "seller_id")
  if seller then preds[#preds + 1] = function(r) return R.kapi_facts(r).seller_id == seller end end
  return preds
end

function K.list_analytics(ctx)
  local args = ctx.args
  local pg, err = K.paging(args)
  if not pg then return K.fail(ctx, 400, err) end
  local sortf, e1 = int_param(args, "influencer_sort_field_v2", 0, 6)
  if e1 then return K.fail(ctx, 400, e1) end
  local sort_type, e2 = int_param(args, "sort_type", 0, 1)
  if e2 then return K.fail(ctx, 400, e2) end
  local preds, e3 = K.list_filters(args, pg)
  if not preds then return K.fail(ctx, 400, e3) end
  if not K.charge(ctx, 1) then return K.fail(ctx, 402, K.MSG.no_credits) end
  local ds = D.get("tiktok", S.seed)
  local order
  if sortf and sortf > 0 then
    local f = SORT_FIELDS[sortf]
    order = D.order(ds, "kapi:" .. f[1], f[2], sort_type == 1)
  else
    order = D.order(ds, "index", function(r) return r.i end, false)
  end
  local CVS = require "cv_search"
  local rows = CVS.query(ds.rows, order, preds, (pg.page_num - 1) * pg.page_size, pg.page_size, false)
  local data = json.arr({})
  for i, r in ipairs(rows) do data[i] = CVS.encoded("kapi", r, "list", nil, R.kapi_row) end
  return K.ok(ctx, data)
end

K.routes = {
  ["/v1/tiktok/influencer/list/analytics"] = K.list_analytics,
}

function K.dispatch(ctx)
  local h = K.routes[ctx.path]
  if not h then return K.fail(ctx, 404, K.MSG.not_found) end
  if ctx.req.method ~= "GET" then
    return K.fail(ctx, 405, K.MSG.method, { { "Allow", "GET" } })
  end
  local bad = K.auth(ctx)
  if bad then return bad end
  return h(ctx)
end

return K
