--- creatorapi.async: run SDK calls concurrently on the current host's loop.
--
--   local async = require "creatorapi.async"     -- also creatorapi.async
--   local h = async(function(q) return cv:search(q) end, query)
--   local res, err = h:wait()                    -- fn's results
--   local a, b = async.all{ f1, f2 }             -- { fn results… } per function, in order
--   async(fn, arg, function(ok, res, err) … end) -- callback form
--
-- Inside an async function every SDK call yields instead of blocking; outside
-- one, calls block as they always did. The host is chosen where the task is
-- started:
--   * OpenResty, in a phase that allows cosockets: an ngx.thread;
--   * a libuv host (Neovim, or inside a task of creatorapi.async.luv): a task
--     on that loop (in Neovim, callbacks run where vim.api may be called);
--   * anywhere else (plain scripts): creatorapi.async.curl, a small loop over
--     the clients' libcurl multi handles, driven by h:wait() / async.all.
-- An error raised inside fn reaches the caller: h:wait() and async.all
-- re-raise it, the callback form receives (false, err).
local M = {}
local ngx = rawget(_G, "ngx") -- OpenResty only; read when a task starts there

local unpack = table.unpack or unpack
local function pack(...) return { n = select("#", ...), ... } end

local function ngx_ok()
  return require("creatorapi.transport.cosocket").available()
end

local function luv_host()
  local luvh = require "creatorapi.async.luv"
  local vim = rawget(_G, "vim")
  if (vim and type(vim.schedule) == "function" and luvh.available()) or luvh.is_task() then
    return luvh
  end
  return nil
end

--- The name of the host a task started here would run on.
function M.host()
  if ngx_ok() then return "ngx" end
  if luv_host() then return "luv" end
  return "curl"
end

local Handle = {}
Handle.__index = Handle

local function results_of(task)
  local r = task.results
  if not task.ok then error(r[1], 0) end
  return unpack(r, 1, r.n)
end

--- h:wait() → fn's results; re-raises fn's error.
function Handle:wait()
  if self.kind == "ngx" then
    if not self.task.done then
      local ok, a = ngx.thread.wait(self.thread)
      if not ok and not self.task.done then
        self.task.done, self.task.ok, self.task.results = true, false, { n = 1, a }
      end
    end
    return results_of(self.task)
  end
  local drv = self.driver
  if not self.task.done then
    if drv.join then
      drv.join({ self.task })
    elseif drv.is_task() then
      error("creatorapi.async: wait inside a luv task: use async.all", 2)
    else
      local ok, why = drv.run_until(function() return self.task.done end)
      if not ok then error("creatorapi.async: " .. tostring(why), 2) end
    end
  end
  return results_of(self.task)
end

--- h:done() → true once fn has returned or raised.
function Handle:done()
  return self.task.done == true
end

local function spawn_ngx(fn, on_done, n, args)
  local task = { done = false }
  local th = ngx.thread.spawn(function()
    local r = pack(pcall(fn, unpack(args, 1, n)))
    task.done, task.ok = true, r[1]
    task.results = { n = r.n - 1, unpack(r, 2, r.n) }
    if on_done then on_done(unpack(r, 1, r.n)) end
    return true
  end)
  return setmetatable({ kind = "ngx", thread = th, task = task }, Handle)
end

local function spawn(fn, on_done, n, args)
  if type(fn) ~= "function" then error("creatorapi.async: expected a function, got " .. type(fn), 3) end
  if ngx_ok() then return spawn_ngx(fn, on_done, n, args) end
  local drv = luv_host() or require "creatorapi.async.curl"
  local task = drv.spawn(fn, on_done, unpack(args, 1, n))
  return setmetatable({ kind = drv == require("creatorapi.async.curl") and "curl" or "luv",
    driver = drv, task = task }, Handle)
end

--- async(fn, ... [, on_done]) → handle. A function as the last argument is
--- the callback on_done(ok, ...); to pass a function as fn's last argument,
--- add a trailing nil.
function M.run(fn, ...)
  local n, args = select("#", ...), { ... }
  local on_done
  if n > 0 and type(args[n]) == "function" then
    on_done, n = args[n], n - 1
  end
  return spawn(fn, on_done, n, args)
end

--- all{ f1, f2, … } → { r1, r2, … } where ri = { n =, ... } holds fi's
--- results. Runs them concurrently; the first error is re-raised once all
--- have finished.
function M.all(fns)
  if type(fns) ~= "table" then error("creatorapi.async.all: expected a list of functions", 2) end
  local hs = {}
  for i, f in ipairs(fns) do hs[i] = spawn(f, nil, 0, {}) end
  if #hs == 0 then return {} end
  local kind = hs[1].kind
  if kind == "ngx" then
    for _, h in ipairs(hs) do pcall(h.wait, h) end
  else
    local drv, list = hs[1].driver, {}
    for i, h in ipairs(hs) do list[i] = h.task end
    if drv.join then
      drv.join(list)
    else
      -- luv: inside a luv task, yield until every child is done
      if drv.is_task() then
        local co = coroutine.running()
        local left = #list
        for _, t in ipairs(list) do
          if t.done then left = left - 1 else
            local prev = t.on_done
            t.on_done = function(...)
              if prev then prev(...) end
              left = left - 1
              if left == 0 then drv.wake(co, true) end
            end
          end
        end
        while left > 0 do coroutine.yield(require("creatorapi.transport.luv").WAIT) end
      else
        local ok, why = drv.run_until(function()
          for _, t in ipairs(list) do if not t.done then return false end end
          return true
        end)
        if not ok then error("creatorapi.async.all: " .. tostring(why), 2) end
      end
    end
  end
  local out = {}
  for i, h in ipairs(hs) do
    local t = h.task
    if not t.ok then error(t.results[1], 0) end
    out[i] = t.results
  end
  return out
end

--- map(list, fn [, opts]) → results in order: fn(item, i) for each item with
--- at most opts.concurrency (default 8) running at once. Each result is
--- { n =, ... }. Raises the first error once the running ones finished.
function M.map(list, fn, opts)
  local limit = (opts and opts.concurrency) or 8
  local out, next_i = {}, 1
  local workers = {}
  for w = 1, math.min(limit, #list) do
    workers[w] = function()
      while next_i <= #list do
        local i = next_i
        next_i = next_i + 1
        out[i] = pack(fn(list[i], i))
      end
    end
  end
  M.all(workers)
  return out
end

return setmetatable(M, { __call = function(_, ...) return M.run(...) end })
