--- The provider-independent part of a client: options, the request loop,
--- validation before sending, and accounting.
--
-- A provider module (creativault.lua, keyapi.lua) describes its endpoints in a
-- table and calls `client.define(Class, endpoints)` to get one method per
-- endpoint. Each method validates its parameters (nothing is sent, and no
-- credit spent, when they are wrong), performs one request through the
-- request loop (creatorapi.request_loop: C core + a transport) and returns
-- `res` or `nil, err`.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"
local validate = require "creatorapi.validate"
local request_loop = require "creatorapi.request_loop"
local cost = require "creatorapi.cost"
local quota = require "creatorapi.quota"

local M = {}

-- Options a caller may give to a client constructor, with the Lua type each takes.
local OPTION_TYPES = {
  api_key = "string", user_identity = "string", base_url = "string",
  timeout = "number|false", connect_timeout = "number|false",
  user_agent = "string", ca_file = "string", insecure = "boolean",
  proxy = "string", max_body = "number", max_depth = "number",
  max_retries = "number", retry_base = "number", retry_cap = "number",
  max_retry_after = "number", rate_limit = "table|false",
  low_speed_limit = "number|false", low_speed_time = "number|false",
  max_credits = "number|false", max_daily_requests = "number|false", logger = "function",
  transport = "string", shared_dict = "string", cosocket = "table",
  store = "table", cache = "table", budget = "table",
  unknown_params = "string",
}

-- Options that stay in the Lua layer (not passed to the C context).
local LUA_ONLY = {
  max_credits = true, max_daily_requests = true, logger = true, rate_limit = true,
  transport = true, shared_dict = true, cosocket = true, store = true, cache = true,
  budget = true, unknown_params = true,
}

-- The limiter, shared store, cache and budget (creatorapi.client_stores).
local stores = require "creatorapi.client_stores"
M.make_limiter, M.make_store = stores.make_limiter, stores.make_store
M.make_cache, M.make_budget = stores.make_cache, stores.make_budget

-- Log levels, most verbose first.
local LEVELS = { debug = 1, info = 2, warn = 3, error = 4 }

--- The default logger: off unless $CREATORAPI_LOG is debug|info|warn|error;
--- then one line per event on stderr.
local function env_logger()
  local want = LEVELS[(os.getenv("CREATORAPI_LOG") or ""):lower()]
  if not want then return nil end
  return function(level, msg)
    if LEVELS[level] >= want then io.stderr:write("[creatorapi] ", level, " ", msg, "\n") end
  end
end

--- Replaces every occurrence of each secret in `text` by "[REDACTED]".
function M.redact_secrets(text, secrets)
  for _, secret in ipairs(secrets) do
    local i = text:find(secret, 1, true)
    while i do
      text = text:sub(1, i - 1) .. "[REDACTED]" .. text:sub(i + #secret)
      i = text:find(secret, 1, true)
    end
  end
  return text
end

-- Removes credentials from a log line (they should never be in one; this is the belt).
local function redact(self, text)
  return M.redact_secrets(text, self._secrets)
end

--- A URL without its userinfo (`https://user:pass@host` → `https://host`).
function M.display_url(url)
  return (url:gsub("^(%a[%w+.-]*://)[^/@]*@", "%1"))
end

local function log(self, level, fmt, ...)
  if self._logger then self._logger(level, redact(self, string.format(fmt, ...))) end
end
M.log = log

local function check_options(where, opts, extra)
  if type(opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", where, type(opts)), 3)
  end
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k] or (extra and extra[k])
    if not want then
      local known = {}
      for name in pairs(OPTION_TYPES) do known[name] = true end
      for name in pairs(extra or {}) do known[name] = true end
      local hint = type(k) == "string" and validate.did_you_mean(k, known)
      error(string.format("%s: unknown option %q%s", where, tostring(k),
        hint and (" (" .. hint .. ")") or ""), 3)
    end
    local got = type(v)
    if v == false and want:find("false", 1, true) then got = "false" end
    if not want:find(got, 1, true) then
      error(string.format("%s: option %s must be %s, got %s", where, k, want, type(v)), 3)
    end
  end
end
M.check_options = check_options
M.OPTION_TYPES = OPTION_TYPES   -- read by tools/gen_types.lua (editor annotations)

local function check_unknown_mode(where, mode, level)
  if mode ~= nil and not validate.UNKNOWN_MODES[mode] then
    error(string.format("%s: unknown_params must be \"error\", \"warn\" or \"pass\", got %q",
      where, tostring(mode)), level + 1)
  end
end

--- A shallow copy of the caller's options (nil means none); raises on a non-table.
function M.copy_options(where, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", where, type(opts)), 3)
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  return o
end

--- Creates the C client and the Lua wrapper state shared by both providers.
function M.new(class, where, opts, defaults)
  check_options(where, opts, class.EXTRA_OPTIONS)
  local mc = opts.max_credits
  if type(mc) == "number" and not (mc >= 0 and mc < math.huge) then
    error(string.format("%s: option max_credits must be a finite number >= 0 or false, got %s", where,
      tostring(mc)), 3)
  end
  local md = opts.max_daily_requests
  if type(md) == "number" and not (md >= 0 and md < math.huge and md == math.floor(md)) then
    error(string.format("%s: option max_daily_requests must be an integer >= 0 or false, got %s", where,
      tostring(md)), 3)
  end
  local cfg = { dialect = defaults.dialect }
  for k in pairs(OPTION_TYPES) do
    if not LUA_ONLY[k] then cfg[k] = opts[k] end
  end
  cfg.base_url = (cfg.base_url or defaults.base_url):gsub("/+$", "")
  if opts.transport ~= nil and not request_loop.TRANSPORTS[opts.transport] then
    error(string.format("%s: option transport must be \"curl\", \"luv\" or \"cosocket\", got %q",
      where, opts.transport), 3)
  end
  local rl = opts.rate_limit
  if rl == nil then rl = defaults.rate_limit end
  local store, policy = M.make_store(where, opts.store)
  local lopts = opts
  if store then
    lopts = setmetatable({ store = store, store_policy = policy }, { __index = opts })
  end
  local limiter = M.make_limiter(where, rl, lopts, defaults.dialect)
  local cache = M.make_cache(where, opts.cache, lopts, defaults.dialect, cfg.base_url)
  local ledger = M.make_budget(where, opts.budget, lopts, defaults.dialect)
  check_unknown_mode(where, opts.unknown_params, 3)
  local self = setmetatable({
    _loop = request_loop.new(core.context(cfg), {
      limiter = limiter, transport = opts.transport, cosocket = opts.cosocket }),
    _opts = opts,
    _stats = {
      requests = 0, errors = 0, credits_consumed = 0,
      credits_remaining = nil, quota_remaining = nil, last_request_id = nil,
    },
    _max_credits = opts.max_credits or nil,
    _store = store, _cache = cache,
    _ledger = ledger,
    _quota = quota.new(opts.max_daily_requests or nil),
    _unknown_params = opts.unknown_params or "error",
    _logger = opts.logger or env_logger(),
    _secrets = { opts.api_key and #opts.api_key >= 4 and opts.api_key or nil },
  }, class)
  -- Passwords in base_url / proxy userinfo are secrets too (redacted from every log line).
  for _, u in ipairs({ cfg.base_url, cfg.proxy }) do
    local info = type(u) == "string" and u:match("^%a[%w+.-]*://([^/@]*)@")
    local pass = info and info:match(":(.+)$")
    if pass and #pass >= 4 then self._secrets[#self._secrets + 1] = pass end
    if info and #info >= 4 then self._secrets[#self._secrets + 1] = info end
  end
  if cfg.insecure then
    log(self, "warn", "TLS verification is OFF for %s (insecure = true)", M.display_url(cfg.base_url))
  end
  return self
end

-- Per-call options an endpoint method accepts as its second argument
-- (unknown_params stays in the Lua layer).
local CALL_OPTIONS = { timeout = true, connect_timeout = true, max_retries = true, headers = true,
  unknown_params = true }

local function check_call_options(call_opts, where)
  if call_opts == nil then return nil end
  if type(call_opts) ~= "table" then
    error(string.format("%s: options must be a table, got %s", where, type(call_opts)), 4)
  end
  for k in pairs(call_opts) do
    if not CALL_OPTIONS[k] then
      local hint = type(k) == "string" and validate.did_you_mean(k, CALL_OPTIONS)
      error(string.format("%s: unknown call option %q%s", where, tostring(k),
        hint and (" (" .. hint .. ")") or ""), 4)
    end
  end
  check_unknown_mode(where, call_opts.unknown_params, 4)
  return call_opts
end

-- Copies checked call options into req.
local function copy_call_options(req, call_opts)
  if call_opts == nil then return req end
  for k, v in pairs(call_opts) do
    if k ~= "unknown_params" then req[k] = v end
  end
  return req
end

local function apply_call_options(req, call_opts, where)
  return copy_call_options(req, check_call_options(call_opts, where))
end
M.apply_call_options = apply_call_options

-- Has the request header `name` been set by the caller (call option headers)?
local function has_header(req, name)
  if type(req.headers) ~= "table" then return false end
  for k in pairs(req.headers) do
    if type(k) == "string" and k:lower() == name then return true end
  end
  return false
end

--- The `auth` error of a request the client has no credentials for, or nil.
--- class.CREDENTIALS = { key = { option=, env=, header= }, identity = { … } }.
local function missing(req, c, value)
  if (value == nil or value == "") and not has_header(req, c.header) then
    return errors.new("auth", string.format(
      "no %s: pass %s = \"...\" to %s{ } or set $%s; nothing was sent",
      c.what, c.option, c.constructor, c.env), { field = c.option, retryable = false, attempts = 0 })
  end
end

local function missing_credentials(self, req)
  local need = getmetatable(self).CREDENTIALS
  if not need or req.auth == "none" then return nil end
  local err = missing(req, need.key, self._opts.api_key)
  if err then return err end
  if need.identity and req.auth ~= "key" then return missing(req, need.identity, self._opts.user_identity) end
  return nil
end

-- A vendor error keeps the vendor's text in err.vendor_message; documented
-- codes get an English err.message (class.MESSAGES: code → text; a text
-- ending in ":" is followed by the vendor's detail).
local function in_english(self, err)
  if err.code == nil or err.status == nil or type(err.message) ~= "string" then return end
  if err.vendor_message == nil then err.vendor_message = err.message end
  local text = (getmetatable(self).MESSAGES or {})[err.code]
  if text then
    err.message = text:sub(-1) == ":" and (text .. " " .. err.vendor_message) or text
  end
end

--- The budget step of a billed request: reserve its worst case in the
--- client's ledger (creatorapi.budget) → token | nil, budget error.
local function reserve(self, req)
  local ledger = self._ledger
  if not (ledger and req.billed) then return nil end
  if req.cost == nil then
    return false, errors.new("budget", string.format(
      "%s %s: the cost of this call is unknown and max_credits is set; pass cost = <credits> " ..
      "(its worst case) in the call's options; nothing was sent", req.method, req.path),
      { max_credits = self._max_credits, credits_left = ledger:left() })
  end
  return ledger:reserve(req.cost, req.cost_detail)
end

-- A cached answer → res (credits saved counted with the provider's own charge rule).
local function from_cache(self, req, charge)
  local res, err = self._cache:lookup(req)
  if not res then return nil, err end
  local saved = { credits_consumed = 0 }
  charge(saved, res.meta, res)
  local st = self._stats
  st.requests = st.requests + 1
  self._cache.credits_saved = self._cache.credits_saved + saved.credits_consumed
  log(self, "debug", "%s %s answered from the cache (%s credits saved)", req.method, req.path,
    tostring(saved.credits_consumed))
  return res
end

-- What count_request reads when there is no retry gate: one attempt taken
-- from the quota, no budget token (never written).
local NO_GATE = setmetatable({ taken = 1 }, { __newindex = function() error("NO_GATE is read-only", 2) end })

-- The gate asked before each retry (creatorapi.request_loop): a retry is a
-- request, so it needs room under the daily quota (creatorapi.quota); with a
-- budget, a retry after an attempt without an answer must fit in what is left
-- (the attempt may have been billed). `g` = { token, worst, taken }.
local function retry_gate(self, req, g, counted)
  return function(e)
    if not self._quota:take(counted) then
      log(self, "warn", "no retry of %s %s: the daily request cap cannot cover it", req.method, req.path)
      return false
    end
    g.taken = g.taken + 1
    if not g.token or e.status then return true end  -- no budget, or an error answer: not billed
    self._ledger:settle(g.token, g.worst)
    g.token = self._ledger:reserve(g.worst, "a retry after an attempt without an answer")
    if not g.token then   -- not sent: count_request sets the quota's count to the attempts made
      log(self, "warn", "no retry of %s %s: the budget cannot cover it", req.method, req.path)
    end
    return g.token ~= nil
  end
end

-- After a request: count its attempts, and note a server that said the daily
-- quota is used up (42902, or an answer with quota_remaining 0).
local function count_request(self, res, err, g, counted)
  local q = self._quota
  q:settle((res or err).attempts, g.taken)
  if not counted then return end
  if err and err.kind == "quota" and err.status then q:exhausted() end
  if res and type(res.meta) == "table" and res.meta.quota_remaining == 0 then q:exhausted() end
end

--- Sends one validated request and records its accounting. A request that
--- can spend credits (`req.billed`, worst case `req.cost`) is refused with a
--- `budget` error, unsent, when its worst case could pass `max_credits`.
--- The reservation is settled with the real cost of the answer, released
--- when the API answered with an error (not billed), and settled at the
--- worst case when no answer came (the server may have billed it). A cached
--- answer (opt-in `cache`) costs nothing and reserves nothing.
function M.send(self, req, charge)
  local st = self._stats
  local cerr = missing_credentials(self, req)
  if cerr then return nil, cerr end
  local cacheable = req.cacheable and self._cache
  req.cacheable = nil
  if cacheable then
    local hit, herr = from_cache(self, req, charge)
    if hit then return hit end
    if herr then
      st.errors = st.errors + 1
      herr.attempts = 0
      return nil, herr
    end
  end
  local token, berr = reserve(self, req)
  if token == false or berr then
    berr.attempts = 0
    return nil, berr
  end
  local counted = req.auth ~= "none"             -- the server's daily quota counts authenticated calls
  local qok, qerr = self._quota:take(counted)
  if not qok then
    if token then self._ledger:release(token) end
    st.errors = st.errors + 1
    log(self, "warn", "%s %s: %s", req.method, req.path, qerr.message)
    return nil, qerr
  end
  local worst = req.cost
  req.billed, req.cost, req.cost_detail = nil, nil, nil
  st.requests = st.requests + 1
  local t0 = self._logger and core.monotonic()
  -- No cap and no reservation: nothing to ask before a retry (count_request
  -- still counts every attempt), so no gate closure, and no table for it to
  -- keep its count in, on the common path.
  local g = (token or self._quota.max) and { token = token, worst = worst, taken = 1 } or NO_GATE
  local gate = g ~= NO_GATE and retry_gate(self, req, g, counted) or nil
  local res, err = self._loop:request(req, gate)
  count_request(self, res, err, g, counted)
  token = g.token
  if not res then
    if token then
      if err.status then self._ledger:release(token) else self._ledger:settle(token, worst) end
    end
    in_english(self, err)
    st.errors = st.errors + 1
    if err.request_id then st.last_request_id = err.request_id end
    log(self, err.kind == "validation" and "info" or "warn", "%s %s failed after %.0f ms: %s",
      req.method, req.path, t0 and (core.monotonic() - t0) * 1000 or 0, tostring(err))
    return nil, err
  end
  if t0 then
    log(self, "debug", "%s %s -> %d in %.0f ms (request_id %s, attempts %s)", req.method, req.path,
      res.status, (core.monotonic() - t0) * 1000, tostring(res.meta and res.meta.request_id),
      tostring(res.attempts or 1))
  end
  local meta = res.meta
  local spent
  if type(meta) == "table" then
    if meta.request_id then st.last_request_id = meta.request_id end
    spent = charge(st, meta, res, worst)
  end
  if cacheable then self._cache:save(req, res) end
  if token then
    local ok, serr = self._ledger:settle(token, spent or worst)
    if not ok then log(self, "warn", "budget settle failed (%s): the reservation counts at its worst case", tostring(serr)) end
  end
  return res
end

--- How an undeclared parameter name is handled for one call.
local function unknown_mode(self, call_opts)
  return type(call_opts) == "table" and call_opts.unknown_params or self._unknown_params
end

--- The warn function of unknown_params = "warn": the client's logger, or stderr.
local function warner(self)
  return function(msg)
    if self._logger then log(self, "warn", "%s", msg)
    else io.stderr:write("[creatorapi] warn ", msg, "\n") end
  end
end

--- Adds one method per endpoint to `class`.
--  endpoint = { method=, path=, params=, auth=, prepare=function(body) } where
--  `prepare` may check cross-field rules and return an error message.
--  A billed endpoint's request carries its worst case (creatorapi.cost).
function M.define(class, endpoints, build_request)
  for name, ep in pairs(endpoints) do
    class[name] = function(self, params, call_opts)
      if getmetatable(self) ~= class then
        error(string.format("%s: call it as client:%s(params)", name, name), 2)
      end
      check_call_options(call_opts, name)
      local mode = unknown_mode(self, call_opts)
      local args, err = validate.check(ep.params, params, name, mode, mode == "warn" and warner(self) or nil)
      if not args then return nil, err end
      if ep.prepare then
        err = ep.prepare(args)
        if err then return nil, err end
      end
      local req = build_request(ep, args)
      if req.billed then
        -- the detail text only serves a budget refusal: no string.format without max_credits
        if self._ledger then req.cost, req.cost_detail = cost.worst_case(class.PROVIDER, name, args)
        else req.cost = cost.worst_credits(class.PROVIDER, name, args) end
      end
      return self:_send(copy_call_options(req, call_opts))
    end
  end
end

--- Methods every client has.
function M.base_methods(class)
  function class:close()
    self._loop:close()
    if self._store then self._store:close() end
    if self._ledger and self._ledger.owns_store then self._ledger.store:close() end
  end
  class.__close = class.close

  --- Accounting since the client was created (a copy; safe to keep).
  function class:stats()
    local out = {}
    for k, v in pairs(self._stats) do out[k] = v end
    local t = self._loop:stats()
    out.attempts, out.retries = t.attempts, t.retries
    out.max_credits = self._max_credits
    local c = self._cache
    if c then
      out.cache_hits, out.cache_misses, out.credits_saved = c.hits, c.misses, c.credits_saved
      out.cache_rejected, out.cache_unavailable = c.rejected, c.unavailable
    end
    if self._ledger then out.credits_left = self._ledger:left() end
    local q = self._quota:state()
    out.daily_requests, out.max_daily_requests, out.quota_exhausted =
      q.daily_requests, q.max_daily_requests, q.quota_exhausted
    return out
  end

  --- Credits the budget still allows (nil without max_credits).
  function class:credits_left()
    return self._ledger and self._ledger:left() or nil
  end

  class.__tostring = function(self)
    return string.format("%s (%s)", class.NAME, self._loop and tostring(self._loop.ctx) or "?")
  end

  --- Transport counters: { attempts, retries, requests }.
  function class:transport_stats()
    return self._loop:stats()
  end
end

return M
