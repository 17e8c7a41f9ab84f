--- Host driver for a libuv loop (luv, Neovim's vim.loop / vim.uv).
--
--   local host = require "creatorapi.async.luv"
--   local task = host.spawn(function() return client:search(...) end,
--                           function(ok, res, err) ... end)
--   host.run_until(function() return task.done end)   -- scripts without a loop
--
-- spawn keeps a strong reference to every running task (a spawned task is
-- never collected mid-request); the luv transport resumes coroutines through
-- host.resume so errors and completion are handled in one place. No error
-- raised by user code escapes into a uv callback: resume is protected and
-- on_done runs under pcall (in Neovim: delivered through vim.schedule).
local M = {}

--- The uv module of this host: Neovim's loop when inside Neovim, else luv.
--- luv runs every callback on the Lua thread that first required it, so it
--- is required here only on the main thread (a coroutine would become the
--- thread all uv callbacks run on, and crash once it is suspended or dead).
function M.uv()
  if M._uv then return M._uv end
  local vim = rawget(_G, "vim")
  local uv = vim and (vim.uv or vim.loop) or package.loaded.luv
  if not uv then
    local co, main = coroutine.running()
    if co == nil or main then
      local ok, mod = pcall(require, "luv")
      uv = ok and mod or nil
    end
  end
  M._uv = uv
  return uv
end

function M.in_nvim()
  local vim = rawget(_G, "vim")
  return vim ~= nil and type(vim.schedule) == "function"
end

local registry = require "creatorapi.async.registry"
local tasks = registry.new()

--- Where errors of callbacks go (never raised into the uv loop).
function M.report(msg)
  io.stderr:write("creatorapi.async.luv: ", tostring(msg), "\n")
end

local function deliver(fn, ...)
  if not fn then return end
  local n, args = select("#", ...), { ... }
  local function call()
    local ok, err = pcall(fn, (table.unpack or unpack)(args, 1, n))
    if not ok then M.report(err) end
  end
  local vim = rawget(_G, "vim")
  if vim and vim.schedule and vim.in_fast_event() then vim.schedule(call) else call() end
end

local function finish(task, ok, ...)
  registry.record(task, ok, ...)
  if not ok and not task.on_done then M.report((...)) end
  deliver(task.on_done, ok, ...)
end

--- Resumes co with the given values; a dead coroutine's task is finished.
function M.resume(co, ...)
  if coroutine.status(co) ~= "suspended" then return false end
  return M._after(co, coroutine.resume(co, ...))
end

function M._after(co, ok, ...)
  if coroutine.status(co) == "dead" then
    local task = tasks:take(co)
    if task then
      finish(task, ok, ...)
    elseif not ok then
      M.report((...))
    end
  end
  return ok
end

--- Resumes co from a uv callback. In Neovim uv callbacks are "fast events"
--- (no vim.api): the resume is deferred with vim.schedule, so a task body
--- may call vim.api after a request.
function M.wake(co, ...)
  local vim = rawget(_G, "vim")
  if vim and vim.schedule and vim.in_fast_event() then
    local n, args = select("#", ...), { ... }
    vim.schedule(function() M.resume(co, (table.unpack or unpack)(args, 1, n)) end)
    return true
  end
  return M.resume(co, ...)
end

--- spawn(fn [, on_done]) → task {done, ok, results}. on_done(ok, ...) gets
--- fn's results (or false, err). fn starts right away, up to its first yield.
function M.spawn(fn, on_done, ...)
  M.uv()                           -- load luv now, on the caller's thread
  local co = coroutine.create(fn)
  local task = { co = co, on_done = on_done, done = false }
  tasks:add(co, task)
  M.resume(co, ...)
  return task
end

--- True when co (default: the running coroutine) is a task spawned here.
function M.is_task(co)
  return tasks:is_task(co)
end

--- True when a libuv loop can host tasks here (Neovim, or luv installed).
function M.available()
  return M.uv() ~= nil
end

--- Number of running spawned tasks (for tests).
function M.running()
  return tasks:count()
end

--- Drives the loop until pred() is true (scripts with no outer loop).
--- timeout (seconds, optional) → false, "timeout". In Neovim: vim.wait.
function M.run_until(pred, timeout)
  local vim = rawget(_G, "vim")
  if vim and vim.wait then
    local ok = vim.wait(math.floor((timeout or 1e6) * 1000), pred, 5)
    if ok then return true end
    return false, "timeout"
  end
  local uv = assert(M.uv(), "creatorapi.async.luv: no luv module")
  if coroutine.running() and select(2, coroutine.running()) ~= true then
    error("creatorapi.async.luv.run_until: must not run inside a coroutine (nor a uv callback)", 2)
  end
  local deadline = timeout and uv.hrtime() + timeout * 1e9
  local ran = false
  while not pred() do
    if deadline and uv.hrtime() > deadline then return false, "timeout" end
    ran = true
    if not uv.run("once") and not pred() then
      return false, "nothing pending on the uv loop"
    end
  end
  -- Handles closed by the last callbacks (a sleep's timer, a finished
  -- transfer's polls) have their close callbacks pending until the next loop
  -- iteration. Run it: luv 1.44 (Debian 12) crashes in lua_close when a close
  -- is still pending then (docs/async.md).
  if ran then uv.run("nowait") end
  return true
end

--- Runs fn as a task and drives the loop until it finishes → fn's results.
function M.run(fn, ...)
  local task = M.spawn(fn, nil, ...)
  local ok, err = M.run_until(function() return task.done end)
  if not ok then return nil, err end
  local r = task.results
  if not task.ok then error(r[1], 0) end
  return (table.unpack or unpack)(r, 1, r.n)
end

return M
