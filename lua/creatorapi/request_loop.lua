--- The request loop: the one code path every SDK call takes.
--
--   prepare (C) → limiter → transport:send → parse (C) → retry policy (C) → transport:sleep → …
--
-- The C core (core.context) does everything that is not I/O; a transport
-- does the I/O and every wait. A transport that yields (cosocket, luv, curl
-- inside creatorapi.async) therefore makes every helper built on this loop
-- non-blocking: endpoint methods, iterators, wait_task, collect_*, download.
-- Only Lua frames yield here: no C function is on the stack across a send
-- or a sleep.
--
-- The transport is chosen per call (see `choose`): cosocket where ngx_lua
-- allows it, luv inside a task on a libuv loop, curl otherwise.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"
local curl = require "creatorapi.transport.curl"

local M = {}

-- Transport modules, loaded on first use (cosocket and luv are host-specific).
local cosocket_mod
local function cosocket() cosocket_mod = cosocket_mod or require "creatorapi.transport.cosocket"; return cosocket_mod end

-- Inside a luv task? No task can exist before creatorapi.async.luv is loaded,
-- so a plain script never loads it here.
local function in_luv_task()
  local host = package.loaded["creatorapi.async.luv"]
  return host ~= nil and host.is_task()
end

--- Transport names a client accepts in `transport = …`.
M.TRANSPORTS = { curl = true, luv = true, cosocket = true }

local Loop = {}
Loop.__index = Loop

--- new(ctx, opts): opts.limiter (acquire(now)/release(token, now) or nil),
--- opts.transport ("curl" | "luv" | "cosocket" | nil: automatic),
--- opts.cosocket (options for creatorapi.transport.cosocket.new).
function M.new(ctx, opts)
  opts = opts or {}
  return setmetatable({
    ctx = ctx, limiter = opts.limiter, choice = opts.transport,
    cosocket_opts = opts.cosocket, curl = curl.new(ctx),
    n_requests = 0, n_attempts = 0, closed = false,
  }, Loop)
end

--- The transport for the next call (requests and downloads alike).
function Loop:choose()
  local c = self.choice
  if c == "cosocket" or (c == nil and rawget(_G, "ngx") ~= nil) then
    local cos = cosocket()
    if cos.available() then
      self.cos = self.cos or cos.new(self.ctx, self.cosocket_opts)
      if self.cos:available() then return self.cos end
    end
  end
  if c == nil or c == "luv" then
    if in_luv_task() then
      self.luv = self.luv or require("creatorapi.transport.luv").new(self.ctx)
      return self.luv
    end
    if c == "luv" then
      error("creatorapi: transport = \"luv\" needs a task on a libuv loop " ..
        "(creatorapi.async in Neovim, or creatorapi.async.luv.spawn)", 4)
    end
  end
  return self.curl
end

-- Waits for a limiter token through the transport; → token | nil, err (a
-- shared limiter whose store is unavailable and configured to fail closed).
local function acquire(self, t)
  local lim = self.limiter
  while true do
    local token, wait = lim:acquire(core.monotonic())
    if token then return token end
    if type(wait) ~= "number" then return nil, wait end
    t:sleep(wait)
  end
end

--- One logical request with its retries → res | nil, err (both carry attempts).
function Loop:request(req)
  if self.closed then error("creatorapi: the client is closed", 3) end
  local ctx = self.ctx
  local p, err = ctx:prepare(req)
  if not p then
    err.attempts = 0
    return nil, err
  end
  local t = self:choose()
  self.n_requests = self.n_requests + 1
  local attempts = 0
  while true do
    local token, lerr
    if p.limited and self.limiter then
      token, lerr = acquire(self, t)
      if not token then
        lerr.attempts = attempts
        return nil, lerr
      end
    end
    local raw = t:send(p)
    if token then self.limiter:release(token, core.monotonic()) end
    local n = 1 + (raw.resends or 0)
    attempts = attempts + n
    self.n_attempts = self.n_attempts + n
    local res, e = ctx:parse(p, raw)
    if res then
      res.attempts = attempts
      return res
    end
    local delay = ctx:decide(p, e, attempts, raw)
    if not delay then
      e.attempts = attempts
      return nil, e
    end
    if t:sleep(delay) == "interrupted" then
      return nil, errors.new("aborted", "interrupted (SIGINT) while waiting to retry after: " .. tostring(e.message),
        { attempts = attempts, status = e.status, method = p.method, path = p.path })
    end
  end
end

--- Several requests at once → { {res=} | {err=}, … } in order. They run
--- concurrently (creatorapi.async) on the chosen transport.
function Loop:batch(reqs)
  if self.closed then error("creatorapi: the client is closed", 2) end
  if type(reqs) ~= "table" then error("batch: expected a list of requests", 2) end
  local fns = {}
  for i, req in ipairs(reqs) do
    fns[i] = function()
      if type(req) ~= "table" then
        return { err = errors.new("validation", "each request must be a table", { attempts = 0 }) }
      end
      local res, err = self:request(req)
      if res then return { res = res } end
      return { err = err }
    end
  end
  local out = {}
  for i, r in ipairs(require("creatorapi.async").all(fns)) do out[i] = r[1] end
  return out
end


--- One download attempt to a file → res | nil, err (res.attempts = 1).
--- opts: url, path, offset, max_bytes, timeout, connect_timeout,
--- low_speed_limit, low_speed_time, on_progress(bytes, expected).
function Loop:download(opts)
  if self.closed then error("creatorapi: the client is closed", 3) end
  local ctx = self.ctx
  local p, err = ctx:prepare_download(opts)
  if not p then
    err.attempts = 0
    return nil, err
  end
  local t = self:choose()
  self.n_requests, self.n_attempts = self.n_requests + 1, self.n_attempts + 1
  local raw = t:send(p, opts.on_progress)
  local res, e = ctx:parse(p, raw)
  if res and opts.on_progress then
    local ok, perr = pcall(opts.on_progress, res.total, res.expected)
    if not ok then
      res, e = nil, errors.new("aborted", errors.raised_message(perr),
        { status = res.status, bytes = res.bytes, total = res.total, method = "GET" })
    end
  end
  if res then res.attempts = 1 else e.attempts = 1 end
  return res, e
end

--- Waits through the transport the next call would use (yields in a task).
function Loop:sleep(seconds)
  return self:choose():sleep(seconds)
end

--- { attempts, retries, requests } since the loop was made.
function Loop:stats()
  return { attempts = self.n_attempts, retries = self.n_attempts - self.n_requests,
           requests = self.n_requests }
end

function Loop:close()
  if self.closed then return end
  self.closed = true
  self.curl:close()
  if self.luv then self.luv:close() end
  if self.cos then self.cos:close() end
  self.ctx:close()
end

return M
