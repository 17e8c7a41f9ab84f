-- Child of spec/interrupt_spec.lua: one blocking wait that the parent
-- interrupts with SIGINT. arg[1] = "sleep" | "call" (on the main thread:
-- lua.c's handler raises "interrupted!"), or "sleep_co" | "call_co" (in a
-- coroutine, where lua.c's hook on the main thread does not reach: the SDK's
-- own result shows), arg[2] = mock URL.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local what, url = arg[1], arg[2]
local cv = creatorapi.creativault{ base_url = url, api_key = "cv_live_demo_key_0001",
  user_identity = "demo@creatorapi.test", max_retries = 0, rate_limit = false }

local function wait_once()
  if what:find("^sleep") then return pcall(core.sleep, 30) end
  return pcall(cv.task_status, cv, { task_id = "t-1" })
end

local function after()
  local res, e2 = cv:task_status{ task_id = "t-1" }
  io.write("usable ", tostring(res and res.status or e2.status), "\n")
  io.flush()
end

io.write("ready\n")
io.flush()
if what:find("_co$") then
  local co = coroutine.wrap(function()
    local ok, r1, r2 = wait_once()
    io.write("result ", tostring(ok), " ", tostring(r1), " ", tostring(r2 and r2.kind), "\n")
    after()
  end)
  local ok, err = pcall(co)   -- lua.c's hook fires once back on the main thread
  io.write("main ", tostring(ok), " ", tostring(err), "\n")
else
  local ok, err = wait_once()
  io.write("interrupted ", tostring(ok), " ", tostring(err), "\n")
  after()
end
cv:close()
