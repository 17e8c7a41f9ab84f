--- The luv transport: core.curl_engine in socket mode (libcurl's multi-socket
--- API) on a libuv loop (luv, or Neovim's vim.loop / vim.uv). The transport
--- contract and the request loop: docs/internals.md.
--
-- One engine (one multi handle, its connections) per transport, that is per
-- client, created on first use; all of them on the state's default uv loop.
-- The uv callbacks call eng:socket_action / eng:timeout_action,
-- then apply eng:take_interest(), then resume the coroutines whose transfers
-- completed. No Lua runs inside libcurl: the engine records interest in C.
--
-- send/sleep must run inside a coroutine; the coroutine yields M.WAIT and is
-- resumed from the uv loop through creatorapi.async.luv.wake (in Neovim:
-- deferred with vim.schedule, out of the fast-event context). A coroutine
-- dropped mid-request (only this module still knows it, weakly) is
-- collected; its guard queues eng:remove(id), done at the next engine entry.
local errors = require "creatorapi.errors"
local host = require "creatorapi.async.luv"

local M = { WAIT = setmetatable({}, { __tostring = function() return "luv.WAIT" end }) }

--- A running download's on_progress is called at most this often (ms).
M.PROGRESS_INTERVAL_MS = 250

local EVENTS = { ["in"] = "r", out = "w", inout = "rw" }

local records = setmetatable({}, { __mode = "k" }) -- every live host record (for _reset)
local last_record                                   -- the newest one (for tests)

local apply, finish, on_timeout_of

-- The host record of transport t: its engine, poll handles and waiters.
local function state(t)
  if t.h then return t.h end
  local uv = assert(host.uv(), "creatorapi.transport.luv: no luv / vim.loop")
  local make = M._engine_factory or function(o)
    return require("creatorapi.core").curl_engine(o)
  end
  local h = {
    uv = uv,
    eng = make{ socket_mode = true },
    polls = {},                                  -- fd → uv_poll_t
    waiting = setmetatable({}, { __mode = "v" }), -- id → coroutine (weak)
    results = {},                                -- id → raw, until picked up
    abandoned = {},                              -- ids queued by guards
    live = {},                                   -- id → true while in the engine
    timer = uv.new_timer(),
  }
  h.on_timeout = on_timeout_of(h)
  t.h, records[h], last_record = h, true, h
  return h
end

local function drain_abandoned(h)
  local ids = h.abandoned
  if #ids == 0 then return end
  h.abandoned = {}
  for _, id in ipairs(ids) do
    h.waiting[id], h.results[id] = nil, nil
    if h.live[id] then h.live[id] = nil; h.eng:remove(id) end
  end
  apply(h)
end

-- uv callbacks run protected: an error is reported, never raised into luv.
local function protected(fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then host.report(err) end
end

local function timeout_step(h)
  drain_abandoned(h)
  local done = h.eng:timeout_action()
  apply(h)
  finish(h, done)
end

function on_timeout_of(h)
  return function() protected(timeout_step, h) end
end

local function socket_step(h, fd, err, events)
  drain_abandoned(h)
  local r, w = true, true                  -- on a poll error: both
  if not err and events then
    r, w = events:find("r", 1, true) ~= nil, events:find("w", 1, true) ~= nil
  end
  local done = h.eng:socket_action(fd, r, w)
  apply(h)
  finish(h, done)
end

local function poll_cb(h, fd)
  return function(err, events) protected(socket_step, h, fd, err, events) end
end

local function close_poll(h, fd)
  local p = h.polls[fd]
  if not p then return end
  h.polls[fd] = nil          -- the fd may be reused: a new handle next time
  p:stop()
  if not p:is_closing() then p:close() end
end

local function set_poll(h, fd, events)
  local p = h.polls[fd]
  if not p then
    p = assert(h.uv.new_poll(fd))
    h.polls[fd] = p
  end
  p:start(events, poll_cb(h, fd))
end

--- Applies the interest the engine recorded since the last take.
--- The engine closes a socket libcurl is done with only at the take after
--- the one that reported its "remove", so after removes take once more.
function apply(h)
  repeat
    local socks, tmo = h.eng:take_interest()
    local removed = false
    for _, s in ipairs(socks or {}) do
      if s.what == "remove" then
        close_poll(h, s.fd)
        removed = true
      else
        set_poll(h, s.fd, EVENTS[s.what] or "rw")
      end
    end
    if tmo ~= nil then
      if tmo < 0 then h.timer:stop()
      else h.timer:start(math.floor(tmo), 0, h.on_timeout) end
    end
  until not removed
end

--- Hands completed transfers to their coroutines (after interest is applied).
function finish(h, done)
  for _, d in ipairs(done or {}) do
    local co = h.waiting[d.id]
    h.waiting[d.id], h.live[d.id] = nil, nil
    if co then
      h.results[d.id] = d.raw        -- picked up by send's loop when resumed
      if coroutine.status(co) == "suspended" then host.wake(co, M.WAIT) end
    end
  end
end

local function current(what)
  local co, main = coroutine.running()
  if not co or main then
    error("creatorapi.transport.luv: " .. what .. " must be called inside a coroutine", 3)
  end
  return co
end

-- A guard whose collection (with its coroutine) queues eng:remove(id).
local function guard(h, id)
  local live = { true }
  local function gc() if live[1] then h.abandoned[#h.abandoned + 1] = id end end
  if rawget(_G, "newproxy") then           -- Lua 5.1 / LuaJIT
    local g = newproxy(true)
    getmetatable(g).__gc = gc
    return g, live
  end
  return setmetatable({}, { __gc = gc }), live
end

local T = { name = "luv" }
T.__index = T

function M.new(ctx, _opts)
  local cfg = ctx.config and ctx:config() or {}
  return setmetatable({ ctx = ctx, max_body = cfg.max_body, closed = false }, T)
end

--- True inside a task of the uv host driver (creatorapi.async.luv.spawn):
--- only there is someone resuming the coroutine from the loop. send/sleep
--- also work in any other coroutine that yields M.WAIT to its resumer.
function T:available()
  return not self.closed and host.available() and host.is_task()
end


--- send(p [, on_progress]) → raw. on_progress(bytes, expected) (downloads)
--- runs in this coroutine at most every PROGRESS_INTERVAL; if it raises the
--- transfer is abandoned and raw.kind is "aborted".
function T:send(p, on_progress)
  local co = current("send")
  if self.closed then return { kind = "network", message = "the client is closed", sent = false } end
  local h = state(self)
  drain_abandoned(h)
  local ok, id, err = pcall(h.eng.add, h.eng, self.ctx, p)
  if not ok or not id then
    err = ok and err or id
    apply(h)
    return { kind = "network", message = tostring(err), sent = false }
  end
  local g, live = guard(h, id) -- on this coroutine's stack while it waits
  h.waiting[id], h.live[id] = co, true
  apply(h)
  local tick, last_b
  if on_progress then
    tick = h.uv.new_timer()
    tick:start(M.PROGRESS_INTERVAL_MS, M.PROGRESS_INTERVAL_MS, function() host.wake(co, M.WAIT) end)
  end
  local aborted
  while h.results[id] == nil and not aborted do
    coroutine.yield(M.WAIT)
    if tick and h.results[id] == nil and h.live[id] then
      local bytes, expected = h.eng:progress(id)
      if bytes and bytes ~= last_b then
        last_b = bytes
        local pok, perr = pcall(on_progress, bytes, expected)
        if not pok then
          local start = p.offset or 0
          aborted = { kind = "aborted", message = errors.raised_message(perr), sent = true,
                      start = start, written = bytes - start }
          h.waiting[id], h.live[id] = nil, nil
          h.eng:remove(id)
          apply(h)
        end
      end
    end
  end
  if tick then tick:stop(); tick:close() end
  local raw = aborted or h.results[id]
  h.results[id], live[1] = nil, false
  if g == nil then return nil end          -- keeps g referenced until here
  return raw
end

function T:sleep(seconds)
  local co = current("sleep")
  local uv = host.uv()
  local t, fired = uv.new_timer(), false
  t:start(math.max(0, math.floor((seconds or 0) * 1000 + 0.5)), 0, function()
    fired = true
    t:close()
    host.wake(co, M.WAIT)
  end)
  while not fired do coroutine.yield(M.WAIT) end
end

function T:now()
  local uv = host.uv()
  return uv.hrtime() / 1e9
end

--- Closes this transport's engine, poll handles and timer; a coroutine still
--- waiting gets a `network` failure.
function T:close()
  if self.closed then return end
  self.closed = true
  local h = self.h
  if not h then return end
  -- stop, do not close: a uv_close needs the loop to run once more, and a
  -- close still pending when the state closes crashes luv; stopped handles
  -- are closed by luv's own collector
  for _, p in pairs(h.polls) do p:stop() end
  h.polls = {}
  h.timer:stop()
  for id, co in pairs(h.waiting) do
    h.results[id] = { kind = "network", message = "the client was closed during the request", sent = true }
    if coroutine.status(co) == "suspended" then host.wake(co, M.WAIT) end
  end
  h.waiting, h.live = setmetatable({}, { __mode = "v" }), {}
  if h.eng.close then h.eng:close() end
  records[h] = nil
end

--- For tests: the newest host record (engine, poll handles, pending ids).
function M._state() return last_record end
--- For tests: stop every host record's handles; transports made from now on
--- use factory (default core.curl_engine) for their engines.
function M._reset(factory)
  for h in pairs(records) do
    for fd in pairs(h.polls) do close_poll(h, fd) end
    h.timer:stop()
  end
  records, last_record = setmetatable({}, { __mode = "k" }), nil
  M._engine_factory = factory
end

return M
