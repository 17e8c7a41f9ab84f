--- The `max_credits` ledger shared through Redis: the worst-case reservation
--- rule of the in-process ledger (creatorapi.budget: reserve before sending,
--- settle with the real cost from the answer, release on an error answer) for
--- every process and node on one Redis, so the ledger's total never passes the cap.
--
--   local led = require("creatorapi.ledger.redis").new(store, "creativault:<hash>", 10000,
--     { lease = 361, on_unavailable = "fail" })
--   local tok, err = led:reserve(300, detail)   -- tok | nil, err (budget / store_unavailable)
--   …send…;  led:settle(tok, meta.credits_consumed)   or   led:release(tok)
--
-- Keys: <prefix>budget:<name> is a hash { spent, reserved, r:<id> = credits,
-- s:<id> = credits } plus <prefix>budget:<name>:leases, a sorted set of
-- reservation id → lease end (Redis's TIME, µs). Every step is one script run
-- by Redis (EVALSHA), so reservations of concurrent processes can never both
-- fit into the last credits: no read-modify-write race. A reservation whose
-- lease ended (its process died, or its call outlived the lease) is counted as
-- SPENT at its worst case — the server may have billed it — and kept as
-- s:<id> for a day so that a late settle or release still corrects it. The
-- ledger never expires by itself: a new `name` starts a new budget.
--
-- Redis unreachable: reserve returns nil, err (kind store_unavailable, nothing
-- is sent) with on_unavailable = "fail" (the default), or reserves in an
-- in-process ledger that starts from the last total this process saw with "local"
-- (what it spends is added to the shared ledger once Redis answers again).
local budget = require "creatorapi.budget"

local M = {}

local L = {}
L.__index = L
L.kind = "redis"

local DAY_US = 86400 * 1000000

-- Moves reservations whose lease ended to `spent` (as s:<id>, so a late
-- settle can correct it); forgets s:<id> a day later.
local SWEEP = [[
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], id)
  if string.sub(id, 1, 2) == 's:' then
    redis.call('HDEL', KEYS[1], id)
  else
    local a = tonumber(redis.call('HGET', KEYS[1], 'r:' .. id) or '0')
    redis.call('HDEL', KEYS[1], 'r:' .. id)
    redis.call('HSET', KEYS[1], 's:' .. id, a)
    redis.call('HINCRBY', KEYS[1], 'reserved', -a)
    redis.call('HINCRBY', KEYS[1], 'spent', a)
    redis.call('ZADD', KEYS[2], now + ]] .. DAY_US .. [[, 's:' .. id)
  end
end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
]]

-- ARGV: cap, credits, id, lease (µs) → { 1 | 0, spent, reserved }
M.RESERVE = SWEEP .. [[
local cap, amount = tonumber(ARGV[1]), tonumber(ARGV[2])
if spent + reserved + amount > cap then return {0, spent, reserved} end
redis.call('HINCRBY', KEYS[1], 'reserved', amount)
redis.call('HSET', KEYS[1], 'r:' .. ARGV[3], amount)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
return {1, spent, reserved + amount}
]]

-- ARGV: id, real credits (settle) or -1 (release) → { 1 | 2 | 0, spent, reserved }
M.FINISH = SWEEP .. [[
local id, actual = ARGV[1], tonumber(ARGV[2])
local a = redis.call('HGET', KEYS[1], 'r:' .. id)
if a then
  redis.call('HDEL', KEYS[1], 'r:' .. id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(a))
  if actual >= 0 then redis.call('HINCRBY', KEYS[1], 'spent', actual) end
  return {1, spent + math.max(actual, 0), reserved - tonumber(a)}
end
a = redis.call('HGET', KEYS[1], 's:' .. id)
if a then -- the lease ended and the worst case was counted: correct it
  redis.call('HDEL', KEYS[1], 's:' .. id)
  redis.call('ZREM', KEYS[2], 's:' .. id)
  redis.call('HINCRBY', KEYS[1], 'spent', math.max(actual, 0) - tonumber(a))
  return {2, spent + math.max(actual, 0) - tonumber(a), reserved}
end
return {0, spent, reserved}
]]

M.TOTALS = SWEEP .. [[
return { spent, reserved }
]]

-- ARGV: credits spent while Redis was unreachable (on_unavailable = "local") → { 1, spent, reserved }
M.ADD = SWEEP .. [[
redis.call('HINCRBY', KEYS[1], 'spent', tonumber(ARGV[1]))
return {1, spent + tonumber(ARGV[1]), reserved}
]]

local reservation_id = require("creatorapi.store.redis").unique_id

--- new(store, name, cap [, { lease = seconds (default 3600), on_unavailable = "fail" | "local" }]) → ledger
function M.new(store, name, cap, opts)
  opts = opts or {}
  assert(type(cap) == "number" and cap >= 0, "cap must be a number >= 0")
  local key = store.prefix .. "budget:" .. name
  return setmetatable({ store = store, name = name, keys = { key, key .. ":leases" }, max = cap,
    lease_us = math.ceil((opts.lease or 3600) * 1e6), on_unavailable = opts.on_unavailable or "fail",
    seen_spent = 0, seen_reserved = 0, fallbacks = 0, unsynced = 0 }, L)
end

local function seen(self, r)
  self.seen_spent, self.seen_reserved = r[2], r[3]
end

-- The in-process ledger of on_unavailable = "local": this process's view, from the last total it saw.
local function local_ledger(self)
  if not self.local_ledger then
    self.local_ledger = budget.new{ max_credits = self.max }
    self.local_ledger.spent = self.seen_spent + self.seen_reserved
  end
  return self.local_ledger
end

-- Redis is back: what was spent on the local ledger goes onto the shared one
-- (a later outage starts a new local ledger from the then-shared total).
local function sync(self)
  if self.unsynced <= 0 and not self.local_ledger then return true end
  local r, err = self.store:script(M.ADD, self.keys, { self.unsynced })
  if not r then return nil, err end
  self.unsynced, self.local_ledger = 0, nil
  seen(self, r)
  return true
end

--- reserve(credits, detail) → token | nil, err (kind budget: could pass the cap; store_unavailable)
function L:reserve(credits, detail)
  local id = reservation_id()
  local amount = math.ceil(credits)
  local r, err = sync(self)
  if r then r, err = self.store:script(M.RESERVE, self.keys, { self.max, amount, id, self.lease_us }) end
  if not r then
    if self.on_unavailable ~= "local" then return nil, err end
    self.fallbacks = self.fallbacks + 1
    local led = local_ledger(self)
    local tok, berr = led:reserve(credits, detail)
    if not tok then return nil, berr end
    return { lt = tok, led = led }
  end
  seen(self, r)
  if r[1] == 1 then return { id = id, credits = amount } end
  local left = self.max - r[2] - r[3]
  return nil, budget.refusal{ credits = credits, left = left > 0 and left or 0, max = self.max,
    spent = r[2], reserved = r[3], detail = detail, shared = true }
end

local function finish(self, token, credits)
  if token.done then return true end
  token.done = true
  if token.lt then
    if credits < 0 then return token.led:release(token.lt) end
    self.unsynced = self.unsynced + credits
    return token.led:settle(token.lt, credits)
  end
  -- A failed settle or release leaves the reservation to its lease: then counted at its worst case.
  local r, err = self.store:script(M.FINISH, self.keys, { token.id, credits })
  if not r then return nil, err end
  seen(self, r)
  return true
end

--- settle(token, credits) → true | nil, err: the call cost `credits` (nil: its reservation).
function L:settle(token, credits)
  return finish(self, token, math.ceil(credits or token.credits or token.lt.credits))
end

--- release(token) → true | nil, err: the call was not billed.
function L:release(token)
  return finish(self, token, -1)
end

--- state() → { max_credits, spent, reserved, left, shared = true } | nil, err (Redis unreachable)
function L:state()
  local r, err = self.store:script(M.TOTALS, self.keys, {})
  if not r then
    if self.on_unavailable == "local" then
      local st = local_ledger(self):state()
      st.shared = false
      return st
    end
    return nil, err
  end
  self.seen_spent, self.seen_reserved = r[1], r[2]
  local left = self.max - r[1] - r[2]
  return { max_credits = self.max, spent = r[1], reserved = r[2], left = left > 0 and left or 0,
    shared = true, name = self.name }
end

--- left() → credits every process together may still reserve (0 when Redis is unreachable
--- and the policy is "fail": the next reserve then says store_unavailable).
function L:left()
  local st = self:state()
  return st and st.left or 0
end

return M
