--- A rate limiter shared by every process and node that uses one Redis:
--- at most `n` requests in any window of `per` seconds for one key name
--- (the contract's limiter: acquire(now) / release(token, now)).
--
--   local lim = require("creatorapi.limiter.redis").new(store, "creativault:<id>", 60, 60)
--
-- One sorted set per key name holds at most n members, each a token with the
-- Redis-clock time (µs) at which its capacity comes back: `f:<id>` while the
-- request is in flight (score = acquire + hold), `r:<id>` once released
-- (score = release + per). acquire and release are server-side Lua scripts
-- (EVALSHA; release is sent without waiting for its answer), so claiming a
-- slot is atomic across processes: no
-- read-modify-write race. Every slot is busy from before its request leaves
-- until `per` s after its answer arrived, so two requests on one slot reach
-- the API at least `per` apart and n slots allow at most n requests in any
-- `per` window, whatever the API's window alignment. Times are Redis's
-- (`TIME`), the same for every client whatever their clocks.
--
-- A process that dies mid-request never releases; its member expires at
-- acquire + hold, hold = request timeout + per (+ 1 s): the capacity comes
-- back at most one window after the moment the request could last have been
-- answered — the same as a live request that ran into its timeout.
--
-- Redis unreachable: acquire returns nil, err (kind store_unavailable) when
-- on_unavailable = "fail" (nothing is sent), or falls back to an in-process
-- core.limiter(n, per) with on_unavailable = "local".
local core = require "creatorapi.core"

local M = {}

local L = {}
L.__index = L
L.kind = "redis"

M.ACQUIRE = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n, per, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < n then
  redis.call('ZADD', KEYS[1], now + hold, 'f:' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((hold + per) / 1000))
  return {1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if string.sub(first[1], 1, 2) == 'f:' then return {0, -1} end
return {0, tonumber(first[2]) - now}
]]

M.RELEASE = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if redis.call('ZREM', KEYS[1], 'f:' .. ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), 'r:' .. ARGV[2])
end
return 1
]]

local token_id = require("creatorapi.store.redis").unique_id

--- new(store, name, n, per [, opts]): opts.timeout (request timeout, s; false = none),
--- opts.hold (ms override of the in-flight lease, s), opts.on_unavailable ("fail" | "local").
function M.new(store, name, n, per, opts)
  opts = opts or {}
  assert(type(n) == "number" and n >= 1 and n == math.floor(n), "n must be a positive integer")
  assert(type(per) == "number" and per > 0, "per must be > 0 seconds")
  local timeout = opts.timeout
  if timeout == nil then timeout = 60 elseif timeout == false then timeout = 3600 end
  local hold = opts.hold or (timeout + per + 1)
  return setmetatable({
    store = store, key = store.prefix .. "lim:" .. name, n = n, per = per,
    per_us = math.ceil(per * 1e6), hold_us = math.ceil(hold * 1e6),
    poll = math.min(0.05, per), on_unavailable = opts.on_unavailable or "fail",
  }, L)
end

local function fallback(self, now, err)
  if self.on_unavailable ~= "local" then return nil, err end
  self.fallbacks = (self.fallbacks or 0) + 1
  self.local_lim = self.local_lim or core.limiter(self.n, self.per)
  local tok, wait = self.local_lim:acquire(now)
  if tok then return { lt = tok } end
  return nil, wait
end

--- acquire(now) → token | nil, wait_seconds | nil, err (store_unavailable, on_unavailable = "fail")
function L:acquire(now)
  local id = token_id()
  local r, err = self.store:script(M.ACQUIRE, { self.key },
    { self.n, self.per_us, self.hold_us, id })
  if not r then return fallback(self, now, err) end
  if r[1] == 1 then return id end
  local wait = r[2] < 0 and self.poll or r[2] / 1e6
  return nil, math.max(wait, 0.001)
end

--- release(token, now): the slot's capacity comes back `per` s from now (Redis clock).
function L:release(token, now)
  if type(token) == "table" then
    return self.local_lim:release(token.lt, now)
  end
  -- Not waited for: its reply is read with the store's next command (one
  -- round trip less a call). A failed release leaves the in-flight lease
  -- to expire after `hold`.
  self.store:script_nowait(M.RELEASE, { self.key }, { self.per_us, token })
end

--- Slots in use now (tests and stats).
function L:busy()
  return self.store:call("ZCARD", self.key)
end

return M
