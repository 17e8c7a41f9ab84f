--- CreatiVault Open API client.
--
--   local cv = creatorapi.creativault{ api_key = "...", user_identity = "me@example.com" }
--   local res, err = cv:search_tiktok{ keyword = "beauty", country_code = "US", size = 20 }
--
-- Every endpoint is `POST {base_url}/openapi/v1/<path>` with a JSON body and
-- the `{success,data,error,meta}` envelope. Parameters are checked against the
-- tables below before anything is sent (see docs/api.md and docs/decisions.md).
local core = require "creatorapi.core"
local base = require "creatorapi.client"
local errors = require "creatorapi.errors"
local paging = require "creatorapi.paging"
local shape = require "creatorapi.shape"
local tasks = require "creatorapi.tasks"

local CreatiVault = { NAME = "creatorapi.CreatiVault" }
CreatiVault.__index = CreatiVault

CreatiVault.DEFAULT_BASE_URL = "https://openapi.creativault.ai"
CreatiVault.PREFIX = "/openapi/v1"

local PLATFORMS = { "tiktok", "youtube", "instagram" }
local LEVELS = { "S1", "S2", "S3" }

-- The vendor wants gender as "0" (female) / "1" (male); accept the spellings
-- users and older docs use and send the canonical code (api-notes §1.7).
local GENDER = {
  type = "string", enum = { "0", "1" },
  map = { female = "0", male = "1", F = "0", M = "1", ["女性"] = "0", ["男性"] = "1" },
}

local function https_only(v)
  if not v:match("^[Hh][Tt][Tt][Pp][Ss]://[^/%s]+") then
    return "must be an https:// URL (the API only delivers webhooks over HTTPS)"
  end
end

local function merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...))) do out[k] = v end
  end
  return out
end

local function range(names, rule)
  local out = {}
  for _, n in ipairs(names) do
    out[n .. "_gte"] = rule
    out[n .. "_lte"] = rule
  end
  return out
end

local INT0 = { type = "integer", min = 0 }
local NUM = { type = "number" }
local PCT = { type = "number", min = 0, max = 100 }
local LIST = { type = "list" }
local BOOL = { type = "boolean" }
local STR = { type = "string" }
local DATE = { type = "date" }

-- Filters every search endpoint takes (api-notes §1.8.2).
local SEARCH_COMMON = merge({
  page = { type = "integer", min = 1, max = 200 },
  size = { type = "integer", min = 1, max = 100 },
  keyword = STR,
  country_code = LIST,
  gender = GENDER,
  has_email = BOOL,
  language_code = LIST,
  industry = LIST,
  sort_order = { type = "string", enum = { "asc", "desc" } },
  service_level = { type = "string", enum = LEVELS },
  lang = { type = "string", enum = { "cn", "en" } },
  audience_country_code_list = LIST,
  audience_age_list = LIST,
}, range({ "followers_cnt" }, INT0))

local SEARCH_PARAMS = {
  tiktok = merge(SEARCH_COMMON, {
    sort_field = { type = "string",
      enum = { "followers_cnt", "last10_avg_video_views_cnt", "last10_avg_video_interaction_rate" } },
    has_mcn = BOOL, has_line = BOOL, has_zalo = BOOL,
    product_category_id_array = LIST,
    audience_language_code_list = LIST,
  }, range({ "last10_avg_video_views_cnt", "last30day_gmv", "last30day_gpm",
             "last30day_gmv_per_buyer" }, NUM),
     range({ "last10_avg_video_interaction_rate", "last30day_commission_rate",
             "audience_female_rate" }, PCT),
     range({ "last_video_publish_date" }, DATE)),
  youtube = merge(SEARCH_COMMON, {
    sort_field = STR, has_whatsapp = BOOL, is_ai_creator = BOOL,
    audience_language_code_list = LIST, audience_language_list = LIST,
  }, range({ "last10_avg_video_view_count_all", "last10_avg_video_view_count_short" }, NUM),
     range({ "last10_avg_interaction_rate_all", "last10_avg_interaction_rate_short",
             "audience_female_rate", "female_ratio" }, PCT),
     range({ "last_video_publish_date" }, DATE),
     range({ "last_video_publish_time" }, STR)),
  instagram = merge(SEARCH_COMMON, {
    sort_field = STR, has_whatsapp = BOOL, is_product_kol = BOOL, is_ai_creator = BOOL,
    is_top_creator = BOOL, audience_language_list = LIST,
  }, range({ "last10_avg_video_view_count" }, NUM),
     range({ "last10_avg_video_interaction_rate", "female_ratio" }, PCT),
     range({ "last_video_publish_time" }, STR)),
}

local TASK_COMMON = {
  platform = { type = "string", enum = PLATFORMS, required = true },
  task_name = STR,
  webhook_url = { type = "string", check = https_only },
  start_time = INT0,
  end_time = INT0,
}

--- The endpoint table: method name → { path, params, auth }.
--  auth: "full" (X-API-Key + X-User-Identity), "key" (X-API-Key only), "none".
CreatiVault.ENDPOINTS = {
  search_tiktok = { path = "/creators/tiktok/search", params = SEARCH_PARAMS.tiktok, billed = true },
  search_youtube = { path = "/creators/youtube/search", params = SEARCH_PARAMS.youtube, billed = true },
  search_instagram = { path = "/creators/instagram/search", params = SEARCH_PARAMS.instagram, billed = true },
  lookalike = {
    path = "/creators/lookalike", billed = true,
    params = {
      username = { type = "string", nonempty = true },
      profile_url = { type = "string", nonempty = true },
      platform = { type = "string", enum = PLATFORMS },
      target_platform = { type = "string", enum = PLATFORMS },
      target_region = STR,
      target_language = STR,
      -- The API clamps limit to 50 rather than refusing larger values.
      limit = { type = "integer", min = 1 },
      follower_min = INT0, follower_max = INT0,
      avg_views_min = INT0, avg_views_max = INT0,
      female_rate_min = PCT,
      lang = { type = "string", enum = { "cn", "en" } },
      service_level = { type = "string", enum = LEVELS },
    },
    prepare = function(args)
      if args.username == nil and args.profile_url == nil then
        return errors.validation("username", "username or profile_url is required")
      end
      if args.username then args.username = args.username:gsub("^@", "") end
    end,
  },
  submit_task = {
    path = "/collection/tasks/submit", retry = "submit",
    params = merge(TASK_COMMON, {
      task_type = { type = "string", required = true,
        enum = { "LINK_BATCH", "FILE_UPLOAD", "CREATOR_VIDEO", "POST_VIDEO" } },
      values = { type = "string_array", min = 1, max = 500, required = true },
    }),
  },
  submit_keyword_task = {
    path = "/collection/tasks/keyword-submit", retry = "submit",
    params = merge(TASK_COMMON, {
      keywords = { type = "string_array", min = 1, max = 10, required = true },
    }),
  },
  task_status = {
    path = "/collection/tasks/status",
    params = { task_id = { type = "string", nonempty = true, required = true } },
  },
  task_data = {
    path = "/collection/tasks/data",
    params = {
      task_id = { type = "string", nonempty = true, required = true },
      page = { type = "integer", min = 1 },
      size = { type = "integer", min = 1, max = 100 },
    },
  },
  export_task = {
    path = "/collection/tasks/export",
    params = {
      task_id = { type = "string", nonempty = true, required = true },
      format = { type = "string", enum = { "xlsx", "csv", "html" }, required = true },
    },
  },
  download_url = {
    path = "/files/download-url", auth = "key",
    params = {
      file_id = { type = "string", nonempty = true },
      file_name = { type = "string", nonempty = true },
    },
    prepare = function(args)
      if args.file_id == nil and args.file_name == nil then
        return errors.validation("file_id", "file_id or file_name is required")
      end
    end,
  },
}

-- Retry class of each endpoint: task submits create billable work and the API
-- has no idempotency key, so they are only retried when the request provably
-- never reached the server ("submit"); everything else is safe to repeat.
local function build_request(ep, args)
  return {
    method = "POST",
    path = CreatiVault.PREFIX .. ep.path,
    body = args,
    auth = ep.auth or "full",
    retry = ep.retry or "safe",
    billed = ep.billed,
    cacheable = ep.billed, -- search and lookalike: read-only, billed per row
  }
end

-- Accounting from the envelope's meta (api-notes §1.3): credits_consumed is
-- what this call cost; credits_remaining the balance (-1: unlimited);
-- quota_remaining the daily request quota (-1: unlimited), not a balance.
local function charge(st, meta)
  if type(meta.credits_consumed) == "number" then
    st.credits_consumed = st.credits_consumed + meta.credits_consumed
  end
  if type(meta.credits_remaining) == "number" then st.credits_remaining = meta.credits_remaining end
  if type(meta.quota_remaining) == "number" then st.quota_remaining = meta.quota_remaining end
end

function CreatiVault:_send(req)
  return base.send(self, req, charge)
end

base.define(CreatiVault, CreatiVault.ENDPOINTS, build_request)
base.base_methods(CreatiVault)

--- search_creators(platform, params): the search endpoint of one platform.
function CreatiVault:search_creators(platform, params, call_opts)
  local m = type(platform) == "string" and CreatiVault["search_" .. platform]
  if not m or not SEARCH_PARAMS[platform] then
    return nil, errors.validation("platform", string.format(
      "must be one of \"tiktok\", \"youtube\", \"instagram\" (got %s)", tostring(platform)))
  end
  return m(self, params, call_opts)
end

--- each_creator(platform, params [, opts]) → iterator over creators across pages.
--  opts: size (one page, default 100), max_items, max_pages, start_page.
--  Search bills per returned row, so the last page is trimmed to max_items.
function CreatiVault:each_creator(platform, params, opts)
  return paging.iterator({
    where = "each_creator", max_size = 100, page_cap = 200, per_row_billing = true,
    fetch = function(page, size)
      local res, err = self:search_creators(platform, paging.with_page(params, "page", page, "size", size))
      if not res then return nil, err end
      if not shape.is_array(res.data) then
        return nil, shape.error(self, res, "search_" .. platform, "data", "an array", res.data)
      end
      return res.data, res
    end,
  }, opts)
end

--- each_task_row(task_id [, opts]) → iterator over a collection task's rows.
function CreatiVault:each_task_row(task_id, opts)
  return paging.iterator({
    where = "each_task_row", max_size = 100,
    fetch = function(page, size)
      local res, err = self:task_data{ task_id = task_id, page = page, size = size }
      if not res then return nil, err end
      local items, ierr = shape.field(self, res, "task_data", "items", shape.is_array, "an array")
      if not items then return nil, ierr end
      return items, res
    end,
  }, opts)
end

--- wait_task(task_id [, opts]) → final status | nil, err (see creatorapi.tasks).
function CreatiVault:wait_task(task_id, opts)
  if type(task_id) ~= "string" then error("wait_task: task_id must be a string", 2) end
  return tasks.wait(self, task_id, opts)
end

-- Splits a workflow's arguments into submit parameters and helper options.
local function workflow_args(where, args)
  if type(args) ~= "table" then error(where .. ": expects a table of arguments", 3) end
  local params = {}
  for k, v in pairs(args) do
    if k ~= "wait" and k ~= "rows" then params[k] = v end
  end
  return params, { wait = args.wait, rows = args.rows }
end

--- collect_profiles{ platform=, values=, task_type="LINK_BATCH"|"FILE_UPLOAD", task_name=,
--  webhook_url=, wait={…}, rows={…} } → rows, final_status | nil, err
function CreatiVault:collect_profiles(args)
  local params, opts = workflow_args("collect_profiles", args)
  params.task_type = params.task_type or "LINK_BATCH"
  return tasks.collect(self, CreatiVault.submit_task, params, opts)
end

--- collect_keywords{ platform=, keywords=, task_name=, webhook_url=, wait=, rows= }
function CreatiVault:collect_keywords(args)
  local params, opts = workflow_args("collect_keywords", args)
  return tasks.collect(self, CreatiVault.submit_keyword_task, params, opts)
end

--- download(file_ref, path [, opts]) → { path, bytes, sha256, file_id, file_name } | nil, err
--  file_ref: a file_id string, `{ file_id = }` / `{ file_name = }`, or the `data`
--  of export_task / download_url (anything with `file_url`).
--  Streams to a new `path .. ".<random>.part"` (created O_EXCL|O_NOFOLLOW before
--  the request, kept open) and renames it onto `path` on success (memory stays flat);
--  resumes with Range after a broken transfer (up to `opts.max_attempts`, default
--  4); asks download_url once more if the signed URL has expired (HTTP 403/410);
--  checks the byte count; removes the partial file on final failure. The file
--  host never receives the API key. opts: on_progress(bytes, total_or_nil),
--  timeout (default none), low_speed_limit / low_speed_time (default 1024 B/s for 30 s).
function CreatiVault:download(file_ref, path, opts)
  if type(path) ~= "string" or path == "" then error("download: path must be a non-empty string", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("download: opts must be a table", 2) end
  opts = opts or {}
  if path:find("\0", 1, true) then   -- before anything touches the file system
    return nil, errors.validation("path", "must not contain NUL")
  end
  local ma = opts.max_attempts
  if ma ~= nil and (type(ma) ~= "number" or not (ma >= 1 and ma < math.huge) or ma ~= math.floor(ma)) then
    return nil, errors.validation("opts.max_attempts", "must be a whole number >= 1, got " .. tostring(ma))
  end
  local info
  if type(file_ref) == "table" and type(file_ref.file_url) == "string" then
    info = file_ref
  else
    local ref = type(file_ref) == "string" and { file_id = file_ref } or file_ref
    if type(ref) ~= "table" then error("download: file_ref must be a file_id or a table", 2) end
    local res, err = self:download_url{ file_id = ref.file_id, file_name = ref.file_name }
    if not res then return nil, err end
    local _, serr = shape.field(self, res, "download_url", "file_url", shape.is_string, "a non-empty string")
    if serr then return nil, serr end
    info = res.data
  end
  -- A fresh, uniquely named file next to the target, opened O_EXCL|O_NOFOLLOW
  -- before any request and kept open until it is renamed onto `path`.
  local part, perr = core.part_file(path)
  if not part then return nil, errors.new("io", perr, { path = path }) end
  local function fail(e)
    part:discard()
    return nil, e
  end
  local refreshed, attempts = false, 0
  local max_attempts = opts.max_attempts or 4
  while true do
    attempts = attempts + 1
    local offset, serr = part:size()
    if not offset then return fail(errors.new("io", serr, { path = path, attempts = attempts })) end
    local r, err = self._loop:download{
      url = info.file_url, path = part:name(), part = part, offset = offset,
      on_progress = opts.on_progress, timeout = opts.timeout or false,
      connect_timeout = opts.connect_timeout,
      low_speed_limit = opts.low_speed_limit, low_speed_time = opts.low_speed_time,
    }
    if r and r.expected and r.total ~= r.expected then
      r, err = nil, errors.new("protocol", string.format(
        "download ended after %d of %d bytes", r.total, r.expected), { retryable = true })
    end
    if r then
      -- The result describes the bytes in our file, read back through its descriptor.
      local size, sha = part:size(), part:sha256()
      local ok, cerr = true, nil
      if not (size and sha) then ok, cerr = false, "cannot read back " .. tostring(part:name()) end
      if ok then ok, cerr = part:commit(path) end
      if not ok then return fail(errors.new("io", tostring(cerr), { path = path, attempts = attempts })) end
      return { path = path, bytes = size, sha256 = sha,
               file_id = info.file_id, file_name = info.file_name, attempts = attempts }
    end
    err.attempts = attempts
    if (err.status == 403 or err.status == 410) and not refreshed and (info.file_id or info.file_name) then
      -- The signed URL expired (or was revoked): ask for a fresh one, once.
      refreshed = true
      local res, uerr = self:download_url{ file_id = info.file_id, file_name = info.file_id == nil and info.file_name or nil }
      if res then
        local _, ferr = shape.field(self, res, "download_url", "file_url", shape.is_string, "a non-empty string")
        res, uerr = ferr == nil and res or nil, ferr or uerr
      end
      if not res then return fail(uerr) end
      info = res.data
    elseif not err.retryable or attempts >= max_attempts then
      return fail(err)
    else
      self._loop:sleep(math.min(8, 0.5 * 2 ^ (attempts - 1)) * (0.5 + math.random() / 2))
    end
  end
end

--- verify_webhook(challenge): the public connectivity check (no auth headers).
function CreatiVault:verify_webhook(challenge)
  if challenge ~= nil and type(challenge) ~= "string" then
    return nil, errors.validation("challenge", "expected a string, got " .. type(challenge))
  end
  return self:_send{ method = "POST", path = CreatiVault.PREFIX .. "/webhook/verify",
                     body = { challenge = challenge or "" }, auth = "none" }
end

--- call(path, body [, opts]): any endpoint the SDK does not know yet.
--  `path` is relative to /openapi/v1 (e.g. "/creators/nl-search").
--  opts: auth ("full" | "key" | "none"), retry ("safe" | "submit" | "never";
--  default "never": the SDK cannot know whether an unknown endpoint is idempotent),
--  billed (true: count it against max_credits), timeout, max_retries.
function CreatiVault:call(path, body, opts)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    error("call: path must be a string starting with '/'", 2)
  end
  if body ~= nil and type(body) ~= "table" then
    error("call: body must be a table or nil", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then error("call: opts must be a table", 2) end
  opts = opts or {}
  return self:_send{ method = "POST", path = CreatiVault.PREFIX .. path, body = body or {},
                     auth = opts.auth or "full", retry = opts.retry or "never",
                     billed = opts.billed ~= false, timeout = opts.timeout, max_retries = opts.max_retries }
end

local M = {}
M.Client = CreatiVault
M.SEARCH_PARAMS = SEARCH_PARAMS

--- creatorapi.creativault{ api_key=, user_identity=, base_url=, timeout=, ... }
--  api_key and user_identity default to $CREATIVAULT_API_KEY and
--  $CREATIVAULT_USER_IDENTITY, base_url to $CREATIVAULT_BASE_URL or the vendor host.
function M.new(opts)
  local o = base.copy_options("creatorapi.creativault", opts)
  o.api_key = o.api_key or os.getenv("CREATIVAULT_API_KEY")
  o.user_identity = o.user_identity or os.getenv("CREATIVAULT_USER_IDENTITY")
  o.base_url = o.base_url or os.getenv("CREATIVAULT_BASE_URL")
  return base.new(CreatiVault, "creatorapi.creativault", o,
    { dialect = "creativault", base_url = CreatiVault.DEFAULT_BASE_URL,
      -- the documented default plan limit (api-notes §1.4); `rate_limit = false` turns it off
      rate_limit = { requests = 60, per = 60 } })
end

return M
