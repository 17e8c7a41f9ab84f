--- Task bookkeeping shared by the hosts (async/curl.lua, async/luv.lua):
--- running tasks by coroutine, and what a finished task records.
--
--   local reg = require("creatorapi.async.registry").new()
--   reg:add(co, task); reg:get(co); reg:take(co); reg:is_task(co); reg:count()
--
-- The registry holds its tasks strongly: a running task stays alive even
-- when its caller dropped the handle.
local M = {}

local R = {}
R.__index = R

function M.new()
  return setmetatable({ tasks = {} }, R)
end

function R:add(co, task)
  self.tasks[co] = task
  return task
end

function R:get(co)
  return co and self.tasks[co]
end

--- Removes co's task and returns it (nil if it was not registered).
function R:take(co)
  local task = self.tasks[co]
  self.tasks[co] = nil
  return task
end

--- True when co (default: the running coroutine) is a registered task.
function R:is_task(co)
  co = co or coroutine.running()
  return co ~= nil and self.tasks[co] ~= nil
end

--- Tasks not finished yet (for tests).
function R:count()
  local n = 0
  for _ in pairs(self.tasks) do n = n + 1 end
  return n
end

--- Records how a task ended: task.done, task.ok, task.results = { n =, ... }.
function M.record(task, ok, ...)
  task.done, task.ok = true, ok
  task.results = { n = select("#", ...), ... }
end

return M
