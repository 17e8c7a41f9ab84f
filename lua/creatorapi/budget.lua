--- The credit ledger behind `max_credits`: a hard cap on what a client spends.
--
-- Every billed call goes through the same three steps (creatorapi.client.send):
--
--   local token, err = ledger:reserve(worst_case, detail)  -- before sending; nil, budget error if it could pass the cap
--   ledger:settle(token, credits)                          -- after the answer: what the call really cost
--   ledger:release(token)                                  -- the API answered with an error: nothing was billed
--
-- and `ledger:left()` (credits that may still be reserved) lets iterators
-- shrink their last page. The in-process ledger below is the default; any
-- object with these four methods (e.g. one kept in Redis and shared by many
-- processes) can replace it: `client._ledger = my_ledger`.
local errors = require "creatorapi.errors"

local M = {}

local Ledger = {}
Ledger.__index = Ledger

--- new(max_credits) → ledger
function M.new(max_credits)
  return setmetatable({ max = max_credits, spent = 0, reserved = 0 }, Ledger)
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
    return nil, errors.new("budget", string.format(
      "credit budget: this call could cost %s credits but only %s of max_credits %s are left " ..
      "(%s spent%s); nothing was sent%s",
      tostring(credits), tostring(left), tostring(self.max), tostring(self.spent),
      self.reserved > 0 and (", " .. tostring(self.reserved) .. " reserved by calls in flight") or "",
      detail and (" [" .. detail .. "]") or ""),
      { cost = credits, credits_left = left, credits_consumed = self.spent, max_credits = self.max,
        retryable = false })
  end
  self.reserved = self.reserved + credits
  return { credits = credits }
end

--- settle(token, credits): the call cost `credits` (nil: its reservation).
function Ledger:settle(token, credits)
  if token.done then return end
  token.done = true
  self.reserved = self.reserved - token.credits
  self.spent = self.spent + (credits or token.credits)
end

--- release(token): the call was not billed.
function Ledger:release(token)
  if token.done then return end
  token.done = true
  self.reserved = self.reserved - token.credits
end

--- state() → { max_credits, spent, reserved, left } (for stats).
function Ledger:state()
  return { max_credits = self.max, spent = self.spent, reserved = self.reserved, left = self:left() }
end

return M
