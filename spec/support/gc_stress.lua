--- spec/support/gc_stress.lua — busted helper that runs the suite with an
--- aggressive garbage collector (style anchors §2 item 16, §3 item 6).
--
--   lua5.4 /usr/bin/busted --helper=spec/support/gc_stress.lua spec
--   luajit /usr/bin/busted --helper=spec/support/gc_stress.lua --tags=jit spec
--   (.ci/gcstress.sh does the first, and the second with GCSTRESS_JIT=1)
--
-- * The collector never rests: pause 0 starts a new cycle as soon as one
--   ends, so every allocation does collection work and objects die (and
--   their __gc runs) as early as possible, between any two C API calls of
--   the core that allocate. On Lua 5.4 this is `collectgarbage("incremental",
--   0, stepmul, stepsize)`; on LuaJIT / 5.1 `setpause 0` + `setstepmul`.
--   GC_STRESS_MODE=generational runs 5.4 in generational mode instead
--   (minor collections after every 1 % of growth), which exercises the
--   write barriers differently.
-- * After every test: two full collections (the first runs finalisers, the
--   second frees what they released), so a __gc that crashes or a client
--   that cannot be finalised fails in the test that made it.
-- Settings are re-applied before every test, in case a spec changed them.
-- Fails hard (error → busted reports the helper) when the API is missing.
local busted = require "busted"

local is54 = _VERSION == "Lua 5.4"
local mode = os.getenv("GC_STRESS_MODE") or "incremental"

local function aggressive()
  if is54 then
    if mode == "generational" then
      collectgarbage("generational", 1, 100)
    else
      -- pause 0 %, step multiplier 400 %, step size 2^10 bytes
      collectgarbage("incremental", 0, 400, 10)
    end
  else
    collectgarbage("setpause", 0)
    collectgarbage("setstepmul", 400)
  end
  collectgarbage("restart")
end

local function full_collect()
  collectgarbage()
  collectgarbage()
end

assert(type(busted.subscribe) == "function", "gc_stress: busted.subscribe is missing")
aggressive()

busted.subscribe({ "test", "start" }, function()
  aggressive()
  return nil, true
end)

busted.subscribe({ "test", "end" }, function()
  full_collect()
  return nil, true
end)

-- One line on stderr so a log shows the run really was a stress run.
io.stderr:write(string.format("gc_stress: %s, %s mode, pause 0, full collection after each test\n",
  rawget(_G, "jit") and jit.version or _VERSION, is54 and mode or "incremental"))
