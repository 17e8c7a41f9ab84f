--- Does a host loop keep running while a task works? A 10 ms uv repeat timer
--- counts its ticks while the task runs; right after, the same timer runs over
--- an idle loop for as long (the control, same machine, same moment). A
--- blocked loop misses about every tick of the call (49 of 50 in 500 ms); an
--- idle loop on a busy machine misses a few, so the check allows 5 plus what
--- the control missed — a machine loaded by other test runs moves both.
--
--   local ticks = require "support.ticks"
--   local r = ticks.during(uv, host, function() return t:send(p) end, 5)
--   r.ok, r.detail, r.task        -- ok: the task finished and the loop kept ticking
--
-- Used by the luv specs and, inside headless Neovim, by the nvim checks.
local M = {}

M.SLACK = 5

-- Starts the ticker, then start() (which may begin the work), drives the
-- loop until done() → missed ticks, elapsed ms.
local function count(uv, host, start, done, timeout)
  local ticks, tick, t0 = 0, uv.new_timer(), uv.hrtime()
  tick:start(10, 10, function() ticks = ticks + 1 end)
  start()
  host.run_until(done, timeout)
  tick:stop(); tick:close()
  local el = (uv.hrtime() - t0) / 1e6
  return math.floor(el / 10) - ticks, el
end

--- Ticks an idle loop misses over `ms` milliseconds.
function M.control(uv, host, ms)
  local fired, timer = false, uv.new_timer()
  timer:start(math.max(1, math.floor(ms)), 0, function() fired = true end)
  local missed = count(uv, host, function() end, function() return fired end, ms / 1000 + 5)
  timer:close()
  return missed
end

--- Runs fn as a host task (timeout seconds; slack: missed ticks allowed
--- beyond the control's, default M.SLACK) → { ok, missed, control, elapsed_ms, task, detail }.
function M.during(uv, host, fn, timeout, slack)
  local task
  local missed, el = count(uv, host, function() task = host.spawn(fn) end,
    function() return task.done end, timeout or 5)
  local control = M.control(uv, host, el)
  local r = { missed = missed, control = control, elapsed_ms = el, task = task }
  -- allowed beyond the control: 5, or a tenth of the ticks for long calls
  local allowed = slack or math.max(M.SLACK, math.floor(el / 100))
  r.ok = task.done and task.ok and missed <= allowed + math.max(control, 0)
  r.detail = string.format("missed=%d (idle loop: %d) elapsed_ms=%d", missed, control, math.floor(el))
  return r
end

return M
