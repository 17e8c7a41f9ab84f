--- spec/support/in_tasks.lua — busted helper that runs every SDK call of the
--- suite inside a task, on a yielding transport, so the retry, fault-matrix,
--- workflow and provider specs check the non-blocking path with the same
--- assertions as the blocking one.
--
--   CREATORAPI_IN_TASKS=curl lua5.4 /usr/bin/busted --helper=spec/support/in_tasks.lua spec/…
--   CREATORAPI_IN_TASKS=luv  lua5.4 /usr/bin/busted --helper=spec/support/in_tasks.lua spec/…
--
-- curl: each public client method runs as creatorapi.async(fn):wait() (the
-- script loop, async/curl.lua: sends and sleeps yield). luv: each runs as a
-- task of creatorapi.async.luv driven by uv.run (the luv transport: libcurl's
-- multi-socket API on uv polls and timers). A call made from inside a task
-- (wait_task polling task_status, iterators fetching pages) runs directly in
-- that task. The spec support core client (spec/support/core_client.lua) is
-- wrapped the same way.
local mode = os.getenv("CREATORAPI_IN_TASKS") or "curl"
assert(mode == "curl" or mode == "luv", "CREATORAPI_IN_TASKS must be curl or luv")

local unpack = table.unpack or unpack
local function pack(...) return { n = select("#", ...), ... } end

local run
if mode == "curl" then
  local async = require "creatorapi.async"
  local host = require "creatorapi.async.curl"
  run = function(fn, ...)
    if host.current() then return fn(...) end
    local args = pack(...)
    return async(function() return fn(unpack(args, 1, args.n)) end):wait()
  end
else
  local host = require "creatorapi.async.luv"
  assert(host.available(), "CREATORAPI_IN_TASKS=luv needs luv")
  run = function(fn, ...)
    if host.is_task() then return fn(...) end
    local args = pack(...)
    local r = pack(host.run(function() return fn(unpack(args, 1, args.n)) end))
    return unpack(r, 1, r.n)
  end
end

local SKIP = { close = true, __close = true, __gc = true, __index = true, __tostring = true,
  stats = true, transport_stats = true, new = true }

local function wrap_class(class)
  if rawget(class, "_in_tasks") then return end
  class._in_tasks = true
  for name, fn in pairs(class) do
    if type(fn) == "function" and not SKIP[name] and name:sub(1, 1) ~= "_" then
      class[name] = function(...) return run(fn, ...) end
    end
  end
end

wrap_class(require("creatorapi.creativault").Client)
wrap_class(require("creatorapi.keyapi").Client)

-- the core specs' client: same methods, same treatment
local make = require "support.core_client"
package.loaded["support.core_client"] = function(cfg)
  local c = make(cfg)
  local mt = getmetatable(c)
  wrap_class(mt)
  return c
end

-- luv: the clients choose the luv transport inside luv tasks on their own
-- (automatic choice); nothing else to set.
return true
