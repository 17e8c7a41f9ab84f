--- A rate limiter shared by all nginx workers, in a `lua_shared_dict`:
--- at most `n` requests in any window of `per` seconds across the whole
--- nginx instance (the contract's limiter: acquire(now) / release(token, now)).
--
--   lua_shared_dict creatorapi 1m;            -- nginx.conf, http {}
--   local lim = require("creatorapi.limiter.shdict").new("creatorapi", "cv:" .. key_id, 60, 60)
--
-- The dict holds n slot keys. acquire claims a free one with `safe_add` (atomic
-- across workers: only one add of a missing key succeeds; never evicts) and release re-sets
-- the slot with a TTL of `per`, so a slot is busy from before the request
-- leaves until `per` s after its answer arrived. Two requests on one slot
-- therefore reach the server at least `per` apart, and n slots allow at most
-- n requests in any `per` window, whatever the server's window alignment.
-- While a request is in flight its slot carries a TTL of `hold` seconds
-- (default: request timeout + per + 30): a worker killed mid-request frees
-- its slot when that expires instead of leaking it.
--
-- The budget counter (`add_credits` / `credits`) lives in the same dict
-- (`incr`, atomic), so `max_credits` can be enforced per nginx instance.
local M = {}

local L = {}
L.__index = L

local seq = 0

--- new(dict_name, key, n, per [, opts]): opts.hold (s) overrides the in-flight TTL,
--- opts.timeout (s, default 30) is the request timeout it is derived from.
function M.new(dict_name, key, n, per, opts)
  opts = opts or {}
  local dict = ngx.shared[dict_name]
  if not dict then
    error(string.format("creatorapi.limiter.shdict: no lua_shared_dict %q in nginx.conf", tostring(dict_name)), 2)
  end
  assert(type(n) == "number" and n >= 1 and n == math.floor(n), "n must be a positive integer")
  assert(type(per) == "number" and per > 0, "per must be > 0 seconds")
  return setmetatable({
    dict = dict, prefix = "creatorapi:lim:" .. key .. ":", n = n, per = per,
    hold = opts.hold or ((opts.timeout or 30) + per + 30),
    poll = opts.poll or math.min(0.05, per),
  }, L)
end

--- for_client(dict_name, dialect, api_key, rate_limit, timeout) → limiter | nil:
--- the limiter a client with `shared_dict = dict_name` uses. Keyed by dialect
--- and a SHA-256 prefix of the API key (never the key itself), so every
--- client of one key in any worker shares one budget. nil when rate_limit is
--- false/absent (the budget counter then needs M.new with n = 1 anyway).
function M.for_client(dict_name, dialect, api_key, rate_limit, timeout)
  if not rate_limit then return nil end
  local id = require("creatorapi.core").sha256(api_key or ""):sub(1, 16)
  return M.new(dict_name, tostring(dialect) .. ":" .. id, rate_limit.requests, rate_limit.per,
    { timeout = type(timeout) == "number" and timeout or nil })
end

local function token_value()
  seq = seq + 1
  return string.format("b%d:%d:%f", ngx.worker.pid(), seq, ngx.now())
end

--- acquire(now) → token | nil, wait_seconds
-- (`now` is unused: the dict's TTLs run on nginx's clock, the same in every worker.)
function L:acquire(now) -- luacheck: no unused args
  local n, dict, prefix = self.n, self.dict, self.prefix
  local start = math.random(n) -- spread workers over the slots
  local wait
  for k = 0, n - 1 do
    local i = (start + k - 1) % n + 1
    local key = prefix .. i
    local v = token_value()
    -- safe_add never evicts other keys (an evicted slot would be a free extra token)
    local ok, err = dict:safe_add(key, v, self.hold)
    if ok then return { key = key, value = v } end
    if err ~= "exists" then
      -- "no memory": the dict is full; be conservative and wait
      wait = self.poll
    else
      local cur = dict:get(key)
      local ttl = dict:ttl(key)
      local w
      if cur == nil or ttl == nil then
        w = 0.001 -- expired between add and now: try again soon
      elseif type(cur) == "string" and cur:sub(1, 1) == "r" then
        w = ttl -- released: free in ttl seconds
      else
        w = self.poll -- in flight: its release time is unknown
      end
      if not wait or w < wait then wait = w end
    end
  end
  return nil, math.max(wait or self.poll, 0.001)
end

--- release(token, now): the slot becomes free `per` s from now.
function L:release(token, now) -- luacheck: no unused args
  if not token then return end
  -- Only the owner re-sets the slot; if it expired (a request longer than
  -- `hold`) and another request took it, leave that one alone.
  if self.dict:get(token.key) == token.value then
    self.dict:safe_set(token.key, "r" .. token.value:sub(2), self.per)
  end
end

--- Budget: adds credits consumed (atomic across workers) → new total.
function L:add_credits(credits)
  return self.dict:incr(self.prefix .. "credits", credits or 0, 0)
end

--- credits() → credits consumed so far (0 when none).
function L:credits()
  return self.dict:get(self.prefix .. "credits") or 0
end

--- Slots in use now (for tests and stats).
function L:busy()
  local c = 0
  for i = 1, self.n do
    if self.dict:get(self.prefix .. i) ~= nil then c = c + 1 end
  end
  return c
end

return M
