--- A credit ledger shared through Redis: the worst-case reservation rule of
--- the single-process hard cap (reserve before sending, settle with the real
--- cost from the answer, release on failure) for every process on one Redis,
--- so the ledger's total never passes the cap.
--
--   local led = require("creatorapi.ledger.redis").new(store, "creativault:<id>", 10000)
--   local r, err = led:reserve(300)        -- r | nil, err (budget / store_unavailable)
--   …send…;  led:settle(r, meta.credits_consumed)   or   led:release(r)
--
-- Keys: <prefix>budget:<name> is a hash { spent, reserved, r:<id> = amount,
-- s:<id> = amount } plus <prefix>budget:<name>:leases, a sorted set of
-- reservation id → lease end (Redis time, µs). Every step is one server-side
-- script, so reservations of concurrent processes can never both fit into the
-- last credits. A process that dies holding a reservation never settles it:
-- when its lease ends the reservation is counted as SPENT at its worst case
-- (the request may have been billed), and a late settle/release still corrects
-- it. Spending therefore never passes the cap, at the price of counting a dead
-- process's reservation as spent.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local M = {}

local L = {}
L.__index = L

-- Moves reservations whose lease ended to `spent` (as s:<id>, so a late settle can correct it).
local SWEEP = [[
local function now_us() local t = redis.call('TIME'); return tonumber(t[1]) * 1000000 + tonumber(t[2]) end
local now = now_us()
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local a = tonumber(redis.call('HGET', KEYS[1], 'r:' .. id) or '0')
  redis.call('HDEL', KEYS[1], 'r:' .. id)
  redis.call('HSET', KEYS[1], 's:' .. id, a)
  redis.call('HINCRBY', KEYS[1], 'reserved', -a)
  redis.call('HINCRBY', KEYS[1], 'spent', a)
  redis.call('ZREM', KEYS[2], id)
end
]]

M.RESERVE = SWEEP .. [[
local cap, amount = tonumber(ARGV[1]), tonumber(ARGV[2])
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + amount > cap then return {0, spent, reserved} end
redis.call('HINCRBY', KEYS[1], 'reserved', amount)
redis.call('HSET', KEYS[1], 'r:' .. ARGV[3], amount)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
return {1, spent, reserved + amount}
]]

-- ARGV: id, actual (settle) or -1 (release)
M.FINISH = SWEEP .. [[
local id, actual = ARGV[1], tonumber(ARGV[2])
local a = redis.call('HGET', KEYS[1], 'r:' .. id)
if a then
  redis.call('HDEL', KEYS[1], 'r:' .. id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(a))
  if actual >= 0 then redis.call('HINCRBY', KEYS[1], 'spent', actual) end
  return 1
end
a = redis.call('HGET', KEYS[1], 's:' .. id)
if a then -- the lease ended and the worst case was counted: correct it
  redis.call('HDEL', KEYS[1], 's:' .. id)
  redis.call('HINCRBY', KEYS[1], 'spent', math.max(actual, 0) - tonumber(a))
  return 2
end
return 0
]]

M.TOTALS = SWEEP .. [[
return { tonumber(redis.call('HGET', KEYS[1], 'spent') or '0'),
         tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0') }
]]

local seq = 0
local pid

local function reservation_id()
  if not pid then
    local f = io.open("/dev/urandom", "rb")
    local noise = f and f:read(16) or ""
    if f then f:close() end
    pid = core.sha256(noise .. tostring({}) .. os.time() .. os.clock()):sub(1, 16)
  end
  seq = seq + 1
  return pid .. ":" .. seq
end

--- new(store, name, cap [, { lease = seconds (default 3600) }]) → ledger
function M.new(store, name, cap, opts)
  opts = opts or {}
  assert(type(cap) == "number" and cap >= 0, "cap must be a number >= 0")
  local key = store.prefix .. "budget:" .. name
  return setmetatable({ store = store, keys = { key, key .. ":leases" }, cap = cap,
    lease_us = math.ceil((opts.lease or 3600) * 1e6) }, L)
end

--- reserve(amount) → reservation | nil, err (kind budget: would pass the cap; store_unavailable)
function L:reserve(amount)
  local id = reservation_id()
  local r, err = self.store:script(M.RESERVE, self.keys,
    { self.cap, math.ceil(amount), id, self.lease_us })
  if not r then return nil, err end
  if r[1] == 1 then return { id = id, amount = amount } end
  local left = self.cap - r[2] - r[3]
  return nil, errors.new("budget", string.format(
    "shared credit budget: this call could cost %s credits and %s of max_credits %s are left " ..
    "(%s spent, %s reserved by calls in flight); nothing was sent",
    tostring(amount), tostring(math.max(left, 0)), tostring(self.cap), tostring(r[2]), tostring(r[3])),
    { credits_consumed = r[2], max_credits = self.cap, worst_case = amount })
end

--- settle(reservation, actual) → true | nil, err
function L:settle(res, actual)
  local r, err = self.store:script(M.FINISH, self.keys, { res.id, math.max(0, math.floor(actual or 0)) })
  return r ~= nil, err
end

--- release(reservation): the call failed before it could be billed → true | nil, err
function L:release(res)
  local r, err = self.store:script(M.FINISH, self.keys, { res.id, -1 })
  return r ~= nil, err
end

--- totals() → spent, reserved | nil, err
function L:totals()
  local r, err = self.store:script(M.TOTALS, self.keys, {})
  if not r then return nil, err end
  return r[1], r[2]
end

return M
