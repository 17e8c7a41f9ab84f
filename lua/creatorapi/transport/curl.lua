--- The curl transport: one libcurl multi handle (core.curl_engine) per client,
--- with keep-alive, TLS, proxies and resumable downloads.
--
--   local t = require("creatorapi.transport.curl").new(ctx)
--   local raw = t:send(p)          -- p from ctx:prepare / ctx:prepare_download
--
-- Outside a task of creatorapi.async a send blocks (it drives the engine
-- until its own transfer is done) and sleep is core.sleep: a script that
-- never uses async behaves as before. Inside a task (creatorapi.async.curl)
-- send and sleep yield, and the host's loop drives every task's transfers on
-- the one multi handle, several in flight at once.
--
-- Lua never runs inside libcurl: eng:perform returns the finished transfers
-- and only then does this module hand each raw answer to its waiter.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"
local host = require "creatorapi.async.curl"

local M = {}

--- A running download's on_progress is called at most this often (seconds).
M.PROGRESS_INTERVAL = 0.25

local T = { name = "curl" }
T.__index = T

function M.new(ctx)
  return setmetatable({ ctx = ctx, eng = nil, results = {}, waiting = {}, closed = false }, T)
end

function T:available()
  return not self.closed
end

local function engine(self)
  if not self.eng then self.eng = core.curl_engine{} end
  return self.eng
end

--- Drives the engine once (up to `timeout` seconds) and hands finished
--- transfers to their waiters. Called by blocking sends and by the host loop.
function T:pump(timeout)
  local eng = self.eng
  local interrupted
  local waiting = self.waiting
  if eng then
    -- finished transfers go straight into self.results[id] (no list built)
    local n
    n, interrupted = eng:perform(timeout, self.results)
    if n > 0 and next(waiting) ~= nil then
      local results = self.results
      for id, w in pairs(waiting) do
        if results[id] ~= nil then
          waiting[id] = nil
          host.wake(w[1], w[2])
        end
      end
    end
  end
  if next(waiting) == nil then host.unwatch(self) end
  return interrupted
end


local function no_report() return nil end

-- A progress reporter for transfer id: call it between waits; it returns an
-- `aborted` raw (and removes the transfer) when on_progress raises.
local function progress_reporter(self, id, p, on_progress)
  if not on_progress then return no_report end
  local start = p.offset or 0
  local last_t, last_b = core.monotonic(), -1
  return function()
    local now = core.monotonic()
    if now - last_t < M.PROGRESS_INTERVAL then return nil end
    local bytes, expected = self.eng:progress(id)
    if not bytes or bytes == last_b then return nil end
    last_t, last_b = now, bytes
    local ok, err = pcall(on_progress, bytes, expected)
    if ok then return nil end
    self.eng:remove(id)
    self.results[id], self.waiting[id] = nil, nil
    return { kind = "aborted", message = errors.raised_message(err), sent = true, start = start, written = bytes - start }
  end
end

--- send(p [, on_progress]) → raw (never raises for I/O failures).
--- on_progress(bytes, expected_or_nil), downloads only, is called between
--- waits; if it raises the transfer is abandoned and raw.kind is "aborted".
function T:send(p, on_progress)
  if self.closed then return { kind = "network", message = "the client is closed", sent = false } end
  local eng = engine(self)
  local id, msg = eng:add(self.ctx, p)
  if not id then return { kind = "network", message = tostring(msg), sent = false } end
  local report = progress_reporter(self, id, p, on_progress)
  local co = host.current()
  while self.results[id] == nil do
    if co then
      host.watch(self)
      host.wait(function(c, token)
        self.waiting[id] = { c, token }
        if on_progress then host.add_timer(c, token, M.PROGRESS_INTERVAL) end
      end)
    elseif self:pump(on_progress and M.PROGRESS_INTERVAL / 2 or 0.25) and self.results[id] == nil then
      -- SIGINT, and the host's handler did not raise: end this call, keep the client.
      eng:remove(id)
      return { kind = "aborted", message = "interrupted (SIGINT) during the request", sent = true,
               start = p.offset or 0, written = 0 }
    end
    if self.results[id] == nil then
      local aborted = report()
      if aborted then return aborted end
    end
  end
  local raw = self.results[id]
  self.results[id], self.waiting[id] = nil, nil
  return raw
end

--- → "interrupted" when a SIGINT cut a blocking sleep short (and the host's handler did not raise).
function T:sleep(seconds)
  if not seconds or seconds <= 0 then return end
  if host.current() then host.sleep(seconds) else return core.sleep(seconds) end
end

function T:now()
  return core.monotonic()
end

--- Closes the multi handle; tasks still waiting get a `network` failure.
function T:close()
  if self.closed then return end
  self.closed = true
  for id, w in pairs(self.waiting) do
    self.results[id] = { kind = "network", message = "the client was closed during the request", sent = true }
    host.wake(w[1], w[2])
  end
  self.waiting = {}
  host.unwatch(self)
  if self.eng then self.eng:close() end
end

--- Transfers in flight on this transport's engine.
function T:running()
  return self.eng and self.eng:running() or 0
end

return M
