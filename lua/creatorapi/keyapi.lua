--- KeyAPI (TikTok analytics) client.
--
--   local ka = creatorapi.keyapi{ api_key = "..." }
--   local res, err = ka:influencer_list{ region = "US", page_num = 1, page_size = 10 }
--
-- Endpoints are `GET https://api.keyapi.ai/v1/tiktok/...` with query
-- parameters, `Authorization: Bearer`, and the `{code,message,data,requestId}`
-- envelope. Every call costs one credit (billed per request, not per row).
local base = require "creatorapi.client"
local errors = require "creatorapi.errors"
local paging = require "creatorapi.paging"
local shape = require "creatorapi.shape"

local KeyAPI = { NAME = "creatorapi.KeyAPI" }
KeyAPI.__index = KeyAPI
KeyAPI.DEFAULT_BASE_URL = "https://api.keyapi.ai"

local INT0 = { type = "integer", min = 0 }
local NUM = { type = "number" }
local STR = { type = "string" }

local function minmax(names, rule, into)
  for _, n in ipairs(names) do
    into["min_" .. n] = rule
    into["max_" .. n] = rule
  end
  return into
end

-- Paging shared by the analytics list endpoints (api-notes §2.5): page_num
-- 1–10000, page_size at most 10. The SDK sends the largest page by default.
local PAGING = {
  page_num = { type = "integer", min = 1, max = 10000, default = 1 },
  page_size = { type = "integer", min = 1, max = 10, default = 10 },
}

local function with(t, extra)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

-- One creator, by the numeric user_id or the @handle unique_id (api-notes §2.6).
local WHO = { user_id = { type = "list" }, unique_id = { type = "list" } }

local function one_creator(args)
  if args.user_id == nil and args.unique_id == nil then
    return errors.validation("user_id", "user_id or unique_id is required")
  end
  if args.unique_id then args.unique_id = args.unique_id:gsub("@", "") end
end

--- The endpoint table: method name → { path, params, paged, prepare }.
KeyAPI.ENDPOINTS = {
  influencer_list = {
    path = "/v1/tiktok/influencer/list/analytics", paged = true,
    params = minmax({ "total_followers_cnt", "total_digg_cnt", "total_views_cnt",
                      "total_views_7d_cnt", "per_video_product_views_avg_cnt",
                      "per_video_product_views_avg_7d_cnt" }, INT0,
      minmax({ "interaction_rate" }, NUM, with(PAGING, {
        region = { type = "string", nonempty = true, required = true },
        product_category_id = STR,
        influencer_category_name = STR,
        influencer_sort_field_v2 = { type = "integer", enum = { 0, 1, 2, 3, 4, 5, 6 } },
        sort_type = { type = "integer", enum = { 0, 1 } },
        gender = STR,
        influencer_language = STR,
        show_case_flag = { type = "integer", enum = { 0, 1 } },
        sales_flag = { type = "integer", min = 0, max = 4 },
        seller_id = STR,
      }))),
  },
  influencer_detail = {
    path = "/v1/tiktok/influencer/detail/analytics", params = WHO,
    prepare = function(args)
      local err = one_creator(args)
      if err then return err end
      local n = 0
      for _, k in ipairs({ "user_id", "unique_id" }) do
        if args[k] then n = n + select(2, args[k]:gsub("[^,]+", "")) end
      end
      if n > 10 then
        return errors.validation("user_id", string.format("at most 10 creators per call (got %d)", n))
      end
    end,
  },
  influencer_videos = {
    path = "/v1/tiktok/influencer/videos/analytics", paged = true, prepare = one_creator,
    params = with(WHO, with(PAGING, {
      video_sort_field = { type = "integer", min = 1, max = 5 },
      sort_type = { type = "integer", enum = { 0, 1 } },
    })),
  },
  influencer_ranking = {
    path = "/v1/tiktok/influencer/ranking/analytics", paged = true,
    params = with(PAGING, {
      region = { type = "string", nonempty = true, required = true },
      rank_type = { type = "integer", min = 1, max = 4 },
      date_type = { type = "integer", min = 1, max = 3 },
      rank_date = STR,
      influencer_category_name = STR,
    }),
  },
  influencer_trends = {
    path = "/v1/tiktok/influencer/trends/analytics", prepare = one_creator,
    params = with(WHO, { start_date = STR, end_date = STR }),
  },
  influencer_products = {
    path = "/v1/tiktok/influencer/products/analytics", paged = true, prepare = one_creator,
    params = with(WHO, PAGING),
  },
  influencer_livestreams = {
    path = "/v1/tiktok/influencer/livestreams/analytics", paged = true, prepare = one_creator,
    params = with(WHO, PAGING),
  },
}

-- Every KeyAPI call is a GET (safe to repeat) and costs one credit.
local function build_request(ep, args)
  return { method = "GET", path = ep.path, query = args, retry = "safe", billed = true, cacheable = true }
end

-- KeyAPI bills 1 credit per successful request and reports no balance.
local function charge(st)
  st.credits_consumed = st.credits_consumed + 1
end

function KeyAPI:_send(req)
  return base.send(self, req, charge)
end

base.define(KeyAPI, KeyAPI.ENDPOINTS, build_request)
base.base_methods(KeyAPI)

--- each(method, params [, opts]) → iterator over the rows of a paged endpoint
--  (influencer_list, influencer_videos, influencer_ranking, influencer_products,
--  influencer_livestreams). opts: size (one page, default 10 = the API's
--  maximum), max_items, max_pages, start_page. KeyAPI bills per request, so
--  pages are always full-size.
function KeyAPI:each(method, params, opts)
  local ep = KeyAPI.ENDPOINTS[method]
  if not (ep and ep.paged) then
    error(string.format("each: %s is not a paged KeyAPI endpoint", tostring(method)), 2)
  end
  return paging.iterator({
    where = "each", max_size = 10, page_cap = 10000,
    fetch = function(page, size)
      local res, err = self[method](self, paging.with_page(params, "page_num", page, "page_size", size))
      if not res then return nil, err end
      if not shape.is_array(res.data) then
        return nil, shape.error(self, res, method, "data", "an array", res.data)
      end
      return res.data, res
    end,
  }, opts)
end

--- each_influencer(params [, opts]): each("influencer_list", params, opts).
function KeyAPI:each_influencer(params, opts)
  return self:each("influencer_list", params, opts)
end

--- get(path, params): any KeyAPI GET endpoint the SDK does not know yet.
--  Values are sent as given (nil/null dropped, lists joined with ",").
function KeyAPI:get(path, params)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    error("get: path must be a string starting with '/'", 2)
  end
  if params ~= nil and type(params) ~= "table" then
    error("get: params must be a table or nil", 2)
  end
  return self:_send{ method = "GET", path = path, query = params or {}, retry = "safe", billed = true }
end

local M = {}
M.Client = KeyAPI

--- creatorapi.keyapi{ api_key=, base_url=, timeout=, ... }
--  api_key defaults to $KEYAPI_TOKEN, base_url to $KEYAPI_API_BASE_URL or the vendor host.
function M.new(opts)
  local o = base.copy_options("creatorapi.keyapi", opts)
  -- KeyAPI documents no limit; `qps = N` turns on the client-side limiter.
  local qps = o.qps
  o.qps = nil
  if qps ~= nil then
    if type(qps) ~= "number" or not (qps > 0 and qps < math.huge) then
      error("creatorapi.keyapi: qps must be a finite positive number", 2)
    end
    if o.rate_limit == nil then o.rate_limit = { requests = qps, per = 1 } end
  end
  o.api_key = o.api_key or os.getenv("KEYAPI_TOKEN")
  o.base_url = o.base_url or os.getenv("KEYAPI_API_BASE_URL")
  return base.new(KeyAPI, "creatorapi.keyapi", o,
    { dialect = "keyapi", base_url = KeyAPI.DEFAULT_BASE_URL })
end

M.errors = errors
return M
