--- The pieces of a client built from its options that may be shared beyond
--- it: the rate limiter (in-process, an nginx shared dict or Redis), the
--- shared store (Redis), the paid-answer cache and the max_credits budget
--- (in-process or a Redis ledger). Constructors in creatorapi.client call
--- these; option errors raise at the caller of the client constructor (level 4).
local core = require "creatorapi.core"
local budget = require "creatorapi.budget"

local M = {}

local RATE_LIMIT_MSG = "must be { requests = <integer >= 1>, per = <seconds > 0> } or false"

--- The client's limiter: in-process (core.limiter) or, with shared_dict, in
--- an nginx lua_shared_dict shared by every worker. nil when off.
function M.make_limiter(where, rl, opts, dialect)
  if rl == nil or rl == false then return nil end
  local n, per = rl.requests, rl.per
  if type(n) ~= "number" or n ~= n or n < 1 or n > 1e6 or n ~= math.floor(n)
    or type(per) ~= "number" or per ~= per or per <= 0 or per > 86400 then
    error(string.format("%s: option rate_limit %s", where, RATE_LIMIT_MSG), 4)
  end
  if opts.shared_dict then
    return require("creatorapi.limiter.shdict").for_client(opts.shared_dict, dialect,
      opts.api_key, rl, opts.timeout)
  end
  if opts.store then
    return require("creatorapi.limiter.redis").new(opts.store,
      tostring(dialect) .. ":" .. core.sha256(opts.api_key or ""):sub(1, 16), n, per,
      { timeout = opts.timeout, on_unavailable = opts.store_policy.limiter })
  end
  return core.limiter(n, per)
end

local POLICIES = { ["fail"] = true, ["local"] = true }

--- The client's shared store (`store = { redis = url, prefix =, timeout =, on_unavailable = }`
--- or a creatorapi.store.redis object) → store, { limiter =, budget = } | nil.
function M.make_store(where, o)
  if o == nil then return nil end
  local redis = require "creatorapi.store.redis"
  if redis.is_store(o) then return o, { limiter = "fail", budget = "fail" } end
  for k in pairs(o) do
    if k ~= "redis" and k ~= "prefix" and k ~= "timeout" and k ~= "on_unavailable" and k ~= "retry_interval" then
      error(string.format("%s: option store: unknown field %q", where, tostring(k)), 4)
    end
  end
  if o.redis == nil then error(where .. ": option store needs redis = \"redis://host:port/db\"", 4) end
  local pol = o.on_unavailable or "fail"
  if type(pol) == "string" then pol = { limiter = pol, budget = pol } end
  if type(pol) ~= "table" or not POLICIES[pol.limiter or "fail"] or not POLICIES[pol.budget or "fail"] then
    error(where .. ": option store.on_unavailable must be \"fail\", \"local\" or { limiter =, budget = }", 4)
  end
  local ok, s = pcall(redis.new, { url = o.redis, prefix = o.prefix, timeout = o.timeout,
    retry_interval = o.retry_interval })
  if not ok then error(where .. ": option store: " .. tostring(s):gsub("^.-creatorapi%.store%.redis: ", ""), 4) end
  return s, { limiter = pol.limiter or "fail", budget = pol.budget or "fail" }
end

--- The client's paid-answer cache (`cache = { store =, ttl =, on_unavailable = }`) | nil.
function M.make_cache(where, o, opts, provider, base_url)
  if o == nil then return nil end
  for k in pairs(o) do
    if k ~= "store" and k ~= "ttl" and k ~= "on_unavailable" then
      error(string.format("%s: option cache: unknown field %q", where, tostring(k)), 4)
    end
  end
  local ttl = o.ttl or 3600
  if type(ttl) ~= "number" or ttl ~= ttl or ttl <= 0 then error(where .. ": option cache.ttl must be seconds > 0", 4) end
  local st = o.store
  if st == nil then st = opts.store or "memory" end
  if st == "memory" then
    st = require("creatorapi.store.memory").new()
  elseif type(st) == "table" and getmetatable(st) == nil and st.file ~= nil then
    if type(st.file) ~= "string" or st.file == "" or next(st, next(st)) ~= nil then
      error(where .. ": option cache.store = { file = <path> } takes one file name", 4)
    end
    st = require("creatorapi.store.sqlite").new{ path = st.file }
  elseif type(st) == "table" and getmetatable(st) == nil then
    st = M.make_store(where, st)
  elseif type(st) ~= "table" or type(st.get) ~= "function" or type(st.set) ~= "function" then
    error(where .. ": option cache.store must be \"memory\", { redis = url }, { file = path } or a store object", 4)
  end
  local pol = o.on_unavailable or "miss"
  if pol ~= "miss" and pol ~= "fail" then
    error(where .. ": option cache.on_unavailable must be \"miss\" or \"fail\"", 4)
  end
  return require("creatorapi.cache").new{ store = st, ttl = ttl, on_unavailable = pol,
    provider = provider, identity = require("creatorapi.cache").identity(base_url, opts.api_key) }
end

-- How long a shared reservation may be in flight: the longest a request loop can
-- take with these options (every attempt timing out after the longest wait).
local function default_lease(opts)
  local t = opts.timeout
  if t == nil then t = 60 elseif t == false then t = 3600 end
  local tries = (opts.max_retries or 2) + 1
  return (t + math.max(opts.max_retry_after or 60, opts.retry_cap or 8)) * tries + 1
end

--- The client's `max_credits` ledger → in-process (creatorapi.budget) or, with
--- `budget = { store = … }` or the client's `store`, shared through Redis
--- (creatorapi.ledger.redis) | nil without max_credits.
function M.make_budget(where, o, opts, dialect)
  local cap = opts.max_credits
  if o ~= nil and not cap then error(where .. ": option budget needs max_credits = <credits>", 4) end
  if not cap then return nil end
  o = o or {}
  for k in pairs(o) do
    if k ~= "store" and k ~= "name" and k ~= "lease" and k ~= "on_unavailable" then
      error(string.format("%s: option budget: unknown field %q", where, tostring(k)), 4)
    end
  end
  local st, policy = o.store, opts.store_policy and opts.store_policy.budget
  if st == nil then st = opts.store or "memory" end
  if st == "memory" then return budget.new{ max_credits = cap } end
  local owned = type(st) == "table" and getmetatable(st) == nil
  if owned then
    st, policy = M.make_store(where, st)
    policy = policy.budget
  elseif not require("creatorapi.store.redis").is_store(st) then
    error(where .. ": option budget.store must be \"memory\", { redis = url } or a creatorapi.store.redis object", 4)
  end
  local pol = o.on_unavailable or policy or "fail"
  if not POLICIES[pol] then error(where .. ": option budget.on_unavailable must be \"fail\" or \"local\"", 4) end
  local lease = o.lease or default_lease(opts)
  if type(lease) ~= "number" or lease ~= lease or lease <= 0 or lease > 86400 then
    error(where .. ": option budget.lease must be seconds in (0, 86400]", 4)
  end
  local name = o.name or (tostring(dialect) .. ":" .. core.sha256(opts.api_key or ""):sub(1, 16))
  if type(name) ~= "string" or name == "" then error(where .. ": option budget.name must be a non-empty string", 4) end
  local led = require("creatorapi.ledger.redis").new(st, name, cap, { lease = lease, on_unavailable = pol })
  led.owns_store = owned -- closed with the client
  return led
end

return M
