--- The daily request quota, kept by the client per UTC day.
--
-- Two limits, both counted in requests and both reset at 00:00 UTC:
--
-- * the server's: CreatiVault reports what is left of the key's daily request
--   quota in `meta.quota_remaining` and answers HTTP 402 / 42902 once it is used
--   up. After that answer (or an answer with `quota_remaining == 0`) the client
--   refuses further authenticated calls locally, with a `quota` error and
--   nothing sent, until the next 00:00 UTC.
-- * the client's own opt-in cap `max_daily_requests`: at most that many
--   requests sent per UTC day by this client. Every attempt is a request (the
--   server counts each one): a retry needs room under the cap too.
--
-- creatorapi.client.send asks `take()` before the first attempt and before
-- each retry, `settle(attempts, taken)` after the request (the transport may
-- have resent it on a dead kept-alive connection), and `exhausted()` when the
-- server said the quota is used up. `now` (seconds since the epoch, default
-- os.time) is the clock; a test may replace it: `client._quota.now = function() … end`.
local errors = require "creatorapi.errors"

local M = {}

local DAY = 86400

local Quota = {}
Quota.__index = Quota

--- new(max_daily_requests | nil) → quota
function M.new(max_daily)
  return setmetatable({ max = max_daily, day = nil, sent = 0, exhausted_day = nil, now = os.time }, Quota)
end

-- The current UTC day number and the next 00:00 UTC; starts a new count on a new day.
local function today(self)
  local now = self.now()
  local d = math.floor(now / DAY)
  if d ~= self.day then
    self.day, self.sent = d, 0
    if self.exhausted_day ~= nil and self.exhausted_day < d then self.exhausted_day = nil end
  end
  return d, (d + 1) * DAY, now
end

local function resets(reset)
  local iso = os.date("!%Y-%m-%dT%H:%M:%SZ", reset)
  return iso, "it resets at " .. iso   -- tostring(err) adds "(retry after N s)"
end

--- take(server_counts) → true | nil, err (kind "quota", nothing sent).
--- `server_counts`: the request is authenticated (the server's quota applies).
function Quota:take(server_counts)
  local d, reset, now = today(self)
  if server_counts and self.exhausted_day == d then
    local iso, when = resets(reset)
    return nil, errors.new("quota", "the daily request quota is used up (the server said so today); " ..
      "nothing was sent; " .. when, { retryable = false, resets_at = iso, retry_after = math.ceil(reset - now),
        quota_remaining = 0, attempts = 0 })
  end
  if self.max and self.sent >= self.max then
    local iso, when = resets(reset)
    return nil, errors.new("quota", string.format(
      "max_daily_requests: this client has sent %d requests today (UTC), the cap is %d; nothing was sent; %s",
      self.sent, self.max, when), { retryable = false, resets_at = iso, retry_after = math.ceil(reset - now),
        max_daily_requests = self.max, daily_requests = self.sent, attempts = 0 })
  end
  self.sent = self.sent + 1
  return true
end

--- settle(attempts, taken): the request made `attempts` attempts and take()
--- counted `taken`; the count becomes what was really sent (a transport resend
--- on a dead kept-alive connection counts, a request refused before sending does not).
function Quota:settle(attempts, taken)
  local d = self.day
  -- the usual case, as many attempts as counted within the same UTC day,
  -- changes nothing (one clock read)
  if attempts == taken and d == math.floor(self.now() / DAY) then return end
  today(self)
  local n = (tonumber(attempts) or 0) - (self.day == d and taken or 0)
  if n ~= 0 then self.sent = math.max(0, self.sent + n) end
end

--- exhausted(): the server said the daily quota is used up.
function Quota:exhausted()
  self.exhausted_day = today(self)
end

--- state() → { daily_requests, max_daily_requests, quota_exhausted } (for stats).
function Quota:state()
  local d = today(self)
  return { daily_requests = self.sent, max_daily_requests = self.max, quota_exhausted = self.exhausted_day == d }
end

return M
