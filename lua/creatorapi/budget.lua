--- The credit ledger behind `max_credits`: a hard cap on what a client spends.
--
-- Every billed call goes through the same three steps (creatorapi.client.send):
--
--   local token, err = ledger:reserve(worst_case, detail)  -- before sending; nil, budget error if it could pass the cap
--   ledger:settle(token, credits)                          -- after the answer: what the call really cost
--   ledger:release(token)                                  -- the API answered with an error: nothing was billed
--
-- and `ledger:left()` (credits that may still be reserved) lets iterators
-- shrink their last page; `ledger:state()` → { max_credits, spent, reserved,
-- left, shared }. Two ledgers have this interface: the in-process one below
-- (the default: one client's spend) and creatorapi.ledger.redis (every
-- process on one Redis: `budget = { store = … }` or the client's `store`).
-- client.send uses only these five methods.
local errors = require "creatorapi.errors"

local M = {}

local Ledger = {}
Ledger.__index = Ledger
Ledger.kind = "memory"

--- new{ max_credits = n } (or new(n)) → in-process ledger
function M.new(o)
  local max_credits = type(o) == "table" and o.max_credits or o
  assert(type(max_credits) == "number" and max_credits >= 0, "max_credits must be a number >= 0")
  return setmetatable({ max = max_credits, spent = 0, reserved = 0 }, Ledger)
end

--- refusal{ credits, left, max, spent, reserved, detail, shared } → the `budget` error of a
--- reservation that could pass the cap (nothing was sent).
function M.refusal(o)
  return errors.new("budget", string.format(
    "%s: this call could cost %s credits but only %s of max_credits %s are left " ..
    "(%s spent%s%s); nothing was sent%s",
    o.shared and "shared credit budget" or "credit budget",
    tostring(o.credits), tostring(o.left), tostring(o.max), tostring(o.spent),
    (o.reserved > 0 or o.shared) and (", " .. tostring(o.reserved) .. " reserved by calls in flight") or "",
    o.shared and ", all processes" or "",
    o.detail and (" [" .. o.detail .. "]") or ""),
    { cost = o.credits, credits_left = o.left, credits_consumed = o.spent, max_credits = o.max,
      shared = o.shared or nil, retryable = false })
end

--- left() → credits that can still be reserved (>= 0).
function Ledger:left()
  local n = self.max - self.spent - self.reserved
  return n > 0 and n or 0
end

--- reserve(credits, detail) → token | nil, err (kind "budget", nothing sent).
function Ledger:reserve(credits, detail)
  local left = self:left()
  if credits > left then
    return nil, M.refusal{ credits = credits, left = left, max = self.max, spent = self.spent,
      reserved = self.reserved, detail = detail }
  end
  self.reserved = self.reserved + credits
  return { credits = credits }
end

--- settle(token, credits) → true: the call cost `credits` (nil: its reservation).
function Ledger:settle(token, credits)
  if token.done then return true end
  token.done = true
  self.reserved = self.reserved - token.credits
  self.spent = self.spent + (credits or token.credits)
  return true
end

--- release(token) → true: the call was not billed.
function Ledger:release(token)
  if token.done then return true end
  token.done = true
  self.reserved = self.reserved - token.credits
  return true
end

--- state() → { max_credits, spent, reserved, left } (for stats).
function Ledger:state()
  return { max_credits = self.max, spent = self.spent, reserved = self.reserved, left = self:left(),
    shared = false }
end

return M
