--- What a call can cost, before it is sent.
--
--   local cost = require "creatorapi.cost"
--   local credits, detail = cost.worst_case("creativault", "search_tiktok", { size = 100 })
--   --> 300, "search_tiktok: up to 100 rows x 3 credits (service level S2) = 300 credits"
--
-- `worst_case(provider, endpoint_name, params) → credits, detail` is the most
-- the call can be billed, from its parameters alone (the price table is in
-- docs/decisions.md, "Credits and max_credits"). `provider` is "creativault"
-- or "keyapi"; `endpoint_name` is a client method name ("search_tiktok",
-- "lookalike", "influencer_list", …) or, for `cv:call` / `ka:get`, the path
-- ("/creators/nl-search", "/v1/tiktok/shop/products"). `params` may be the
-- caller's raw values (numbers given as strings are read as numbers).
-- When the cost is unknown it returns `nil, detail`.
local M = {}

--- Credits per returned row of CreatiVault search and lookalike, by service level.
M.PER_ROW = { S1 = 1, S2 = 3, S3 = 4 }

--- The vendor's defaults when a parameter is left out.
M.SEARCH = { size = 50, max_size = 100, service_level = "S2" }
M.LOOKALIKE = { limit = 20, max_limit = 50, service_level = "S1" }

-- CreatiVault endpoints that bill per returned row (kind "search" | "lookalike").
local CV_PER_ROW = {
  search_tiktok = "search", search_youtube = "search", search_instagram = "search",
  lookalike = "lookalike",
}

--- CreatiVault endpoints with a fixed price per call (0: free).
M.CV_FIXED = {
  submit_task = 0, submit_keyword_task = 0, task_status = 0, task_data = 0,
  export_task = 0, download_url = 0, verify_webhook = 0,
  ["/creators/nl-search"] = 15,
  ["/media/upload"] = 20,
}

--- KeyAPI: 1 credit per request, except these paths.
M.KEYAPI_PATHS = { ["/v1/tiktok/shop/products"] = 2 }
M.KEYAPI_DEFAULT = 1

local function int(v)
  local n = tonumber(v)
  if n and n == n and n >= 0 and n < 2^53 then return math.floor(n) end
  return nil
end

local function level(v, default)
  if type(v) == "string" and M.PER_ROW[v:upper()] then return v:upper() end
  return default
end

local function per_row(name, kind, params, detail)
  local rows, lvl
  if kind == "search" then
    rows = int(params.size) or M.SEARCH.size
    if rows > M.SEARCH.max_size then rows = M.SEARCH.max_size end
    lvl = level(params.service_level, M.SEARCH.service_level)
  else
    -- the API clamps limit to 50 instead of refusing larger values
    rows = int(params.limit) or M.LOOKALIKE.limit
    if rows > M.LOOKALIKE.max_limit then rows = M.LOOKALIKE.max_limit end
    lvl = level(params.service_level, M.LOOKALIKE.service_level)
  end
  local price = M.PER_ROW[lvl]
  local credits = rows * price
  if not detail then return credits end
  return credits, string.format("%s: up to %d rows x %d credits (service level %s) = %d credits",
    name, rows, price, lvl, credits)
end

local function cv_path_kind(path)
  if path:match("^/creators/[%w_]+/search$") then return "search" end
  if path == "/creators/lookalike" then return "lookalike" end
  return nil
end

-- The price, and its explanation only when `detail` (the text costs a
-- string.format that a call without max_credits never reads).
local function price(provider, endpoint_name, params, detail)
  if type(endpoint_name) ~= "string" then
    error("worst_case: endpoint_name must be a string", 3)
  end
  if params ~= nil and type(params) ~= "table" then
    error("worst_case: params must be a table or nil", 3)
  end
  params = params or {}
  if provider == "keyapi" then
    local credits = M.KEYAPI_PATHS[endpoint_name] or M.KEYAPI_DEFAULT
    if not detail then return credits end
    return credits, string.format("%s: %d credit%s per request", endpoint_name, credits,
      credits == 1 and "" or "s")
  elseif provider == "creativault" then
    local kind = CV_PER_ROW[endpoint_name] or cv_path_kind(endpoint_name)
    if kind then return per_row(endpoint_name, kind, params, detail) end
    local fixed = M.CV_FIXED[endpoint_name]
    if fixed then
      if not detail then return fixed end
      return fixed, string.format("%s: %s", endpoint_name,
        fixed == 0 and "free (not billed)" or (fixed .. " credits per call"))
    end
    if not detail then return nil end
    return nil, string.format("%s: cost unknown (not an endpoint the SDK knows)", endpoint_name)
  end
  error(string.format("worst_case: provider must be \"creativault\" or \"keyapi\", got %s",
    tostring(provider)), 3)
end

--- worst_case(provider, endpoint_name, params) → credits, detail | nil, detail
function M.worst_case(provider, endpoint_name, params)
  local credits, detail = price(provider, endpoint_name, params, true)   -- not a tail call: error levels
  return credits, detail
end

--- worst_credits(provider, endpoint_name, params) → credits | nil: worst_case without the text.
function M.worst_credits(provider, endpoint_name, params)
  local credits = price(provider, endpoint_name, params, false)
  return credits
end

return M
