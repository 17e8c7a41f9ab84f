--- Progress lines on stderr: one line redrawn in place ("\r" + erase to end
--- of line), only when stderr is a terminal (or `--progress` forces it), so a
--- pipe or a log file never receives carriage returns.
local core = require "creatorapi.core"

local M = {}

--- True when file descriptor `fd` (1 = stdout, 2 = stderr) is a terminal.
--  Lua has no isatty: `test -t` in a child shell inherits our descriptors.
function M.isatty(fd)
  local ok, _, code = os.execute("test -t " .. tonumber(fd))
  if type(ok) == "number" then return ok == 0 end   -- Lua 5.1 / LuaJIT
  return ok == true and (code == nil or code == 0)
end

local Bar = {}
Bar.__index = Bar

--- new(enabled [, stream]) → a progress line (every method is a no-op when disabled).
function M.new(enabled, stream)
  return setmetatable({ on = enabled and true or false, out = stream or io.stderr,
    shown = false, last = -1, interval = 0.1 }, Bar)
end

--- Redraws the line with `text` (at most every 0.1 s unless `force`).
function Bar:set(text, force)
  if not self.on then return end
  local now = core.monotonic()
  if not force and now - self.last < self.interval then return end
  self.last = now
  self.out:write("\r", text, "\27[K")
  self.out:flush()
  self.shown = true
end

--- Erases the line (before other output is written to the terminal).
function Bar:clear()
  if self.on and self.shown then
    self.out:write("\r\27[K")
    self.out:flush()
    self.shown = false
  end
end

--- "[#######.......]" for a fraction 0..1.
function M.bar(fraction, width)
  width = width or 24
  fraction = math.max(0, math.min(1, fraction or 0))
  local fill = math.floor(fraction * width + 0.5)
  return "[" .. string.rep("#", fill) .. string.rep(".", width - fill) .. "]"
end

--- 1536 → "1.5 KiB".
function M.bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n = n / 1024; i = i + 1 end
  return i == 1 and string.format("%d B", n) or string.format("%.1f %s", n, units[i])
end

--- 75 → "1m15s".
function M.duration(s)
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  if s < 3600 then return string.format("%dm%02ds", math.floor(s / 60), s % 60) end
  return string.format("%dh%02dm", math.floor(s / 3600), math.floor(s % 3600 / 60))
end

--- A download progress reporter for cv:download's on_progress(bytes, total).
function M.download(bar, label)
  local t0 = core.monotonic()
  return function(bytes, total)
    local dt = core.monotonic() - t0
    local rate = dt > 0 and bytes / dt or 0
    local text = string.format("%s %s", label, M.bytes(bytes))
    if total and total > 0 then
      local eta = rate > 0 and (total - bytes) / rate or nil
      text = string.format("%s %s %s / %s  %s/s%s", label, M.bar(bytes / total), M.bytes(bytes), M.bytes(total),
        M.bytes(rate), eta and ("  ETA " .. M.duration(eta)) or "")
    else
      text = text .. string.format("  %s/s", M.bytes(rate))
    end
    bar:set(text, total ~= nil and bytes >= total)
  end
end

--- A task-wait reporter for wait_task's on_progress(status).
function M.task(bar, task_id)
  return function(st)
    local pct = tonumber(st.progress) or 0
    bar:set(string.format("task %s %s %5.1f%%  %s  %s/%s done, %s failed", task_id, M.bar(pct / 100), pct,
      tostring(st.status), tostring(st.completed or "?"), tostring(st.total or "?"), tostring(st.failed or 0)), true)
  end
end

return M
