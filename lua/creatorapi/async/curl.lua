--- Host driver for plain scripts: coroutines over the curl transport.
--
-- A script has no event loop of its own, so this module is one: tasks are
-- coroutines; a task that sends a request or sleeps registers what it waits
-- for and yields; run_until() resumes tasks whose wait is over, fires timers
-- and drives the curl engines (eng:perform) while transfers are in flight.
-- Nothing runs until someone drives the loop (handle:wait(), async.all, or
-- run_until): a script stays single-threaded and deterministic.
--
--   local host = require "creatorapi.async.curl"
--   local task = host.spawn(function() return client:search(...) end)
--   host.run_until(function() return task.done end)
--
-- Rules: only this module resumes a task's coroutine; every wait is
-- registered under a fresh token, and a wake with a stale token is dropped
-- (a download may be woken by its progress timer or by its transfer).
local core = require "creatorapi.core"

local M = { WAIT = setmetatable({}, { __tostring = function() return "curl.WAIT" end }) }

local unpack = table.unpack or unpack

local registry = require "creatorapi.async.registry"
local tasks = registry.new()
local ready = {}   -- { co, n, ... } in wake order
local timers = {}  -- { at, co, token }, unsorted (few)
local busy = {}    -- transport → true while it has waiting transfers

--- Where errors nobody can receive go.
function M.report(msg)
  io.stderr:write("creatorapi.async: ", tostring(msg), "\n")
end

local function finish(task, ok, ...)
  registry.record(task, ok, ...)
  if task.on_done then
    task.on_done(ok, ...)
  elseif not ok and not task.joined then
    M.report((...))
  end
end

local function after(co, ok, ...)
  if coroutine.status(co) == "dead" then
    local task = tasks:take(co)
    if task then finish(task, ok, ...) end
  end
end

--- spawn(fn, on_done, ...) → task { done, ok, results }. The task starts at
--- the next drive of the loop; on_done(ok, ...) gets fn's results (or
--- false, err) when it ends.
function M.spawn(fn, on_done, ...)
  local co = coroutine.create(fn)
  local task = { co = co, on_done = on_done, done = false, host = "curl" }
  tasks:add(co, task)
  ready[#ready + 1] = { co, select("#", ...), ... }
  return task
end

--- The running task's coroutine, or nil outside a task of this host.
function M.current()
  local co = coroutine.running()
  if tasks:get(co) then return co end
  return nil
end

function M.is_task(co)
  return tasks:is_task(co)
end

--- Inside a task: registers a wait with setup(token) and yields until woken
--- with that token; returns the values given to wake().
function M.wait(setup)
  local co = M.current()
  local task = tasks:get(co)
  local token = {}
  task.token = token
  setup(co, token)
  return coroutine.yield(M.WAIT)
end

--- Queues co to be resumed with ... if its current wait has this token.
function M.wake(co, token, ...)
  local task = tasks:get(co)
  if task and task.token == token then
    task.token = nil
    ready[#ready + 1] = { co, select("#", ...), ... }
    return true
  end
  return false
end

--- Inside a task: a timer wake after `seconds` (part of a wait's setup).
function M.add_timer(co, token, seconds)
  timers[#timers + 1] = { at = core.monotonic() + math.max(0, seconds or 0), co = co, token = token }
end

--- Inside a task: sleeps without blocking the other tasks.
function M.sleep(seconds)
  M.wait(function(co, token) M.add_timer(co, token, seconds) end)
end

--- A transport with waiting transfers (it must have :pump(timeout)).
function M.watch(t) busy[t] = true end
function M.unwatch(t) busy[t] = nil end

local function run_ready()
  if #ready == 0 then return false end
  local batch = ready
  ready = {}
  for _, r in ipairs(batch) do
    local co = r[1]
    if coroutine.status(co) == "suspended" then
      after(co, coroutine.resume(co, unpack(r, 3, r[2] + 2)))
    end
  end
  return true
end

-- Fires due timers; returns seconds to the next one (or nil).
local function fire_timers()
  if #timers == 0 then return nil end
  local now, nxt, keep = core.monotonic(), nil, {}
  for _, t in ipairs(timers) do
    if t.at <= now then
      M.wake(t.co, t.token)
    else
      keep[#keep + 1] = t
      local left = t.at - now
      if not nxt or left < nxt then nxt = left end
    end
  end
  timers = keep
  return nxt
end

--- Drives the loop until pred() is true. Not from inside a task (a task
--- waits for others with M.join). → true | false, reason
function M.run_until(pred, timeout)
  if M.current() then
    error("creatorapi.async: cannot drive the loop from inside a task (use async.all or handle:wait)", 2)
  end
  local deadline = timeout and core.monotonic() + timeout
  while not pred() do
    if not run_ready() then
      local nxt = fire_timers()
      if #ready == 0 then
        if deadline then
          local left = deadline - core.monotonic()
          if left <= 0 then return false, "timeout" end
          nxt = nxt and math.min(nxt, left) or left
        end
        local ts = {}
        for t in pairs(busy) do ts[#ts + 1] = t end
        if #ts > 0 then
          local slice = math.min(nxt or 0.25, 0.25)
          if #ts > 1 then slice = math.min(slice, 0.01) end
          for i, t in ipairs(ts) do t:pump(i == 1 and slice or 0) end
        elseif nxt then
          core.sleep(nxt)
        elseif not pred() then
          return false, "every task is waiting and nothing can wake one"
        end
      end
    end
  end
  return true
end

--- Waits for every task in list: inside a task by yielding (woken as each
--- finishes), outside by driving the loop.
function M.join(list)
  local function all_done()
    for _, t in ipairs(list) do if not t.done then return false end end
    return true
  end
  for _, t in ipairs(list) do t.joined = true end
  if not M.current() then
    local ok, why = M.run_until(all_done)
    if not ok then error("creatorapi.async: " .. why, 3) end
    return
  end
  while not all_done() do
    M.wait(function(co, token)
      for _, t in ipairs(list) do
        if not t.done then
          local prev = t.on_done
          t.on_done = function(...)
            t.on_done = prev
            if prev then prev(...) end
            M.wake(co, token)
          end
        end
      end
    end)
  end
end

--- Tasks not finished yet (for tests).
function M.running()
  return tasks:count()
end

return M
