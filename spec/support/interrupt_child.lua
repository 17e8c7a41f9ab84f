-- Child of spec/interrupt_spec.lua: one blocking wait that the parent
-- interrupts with SIGINT. arg[1] = "sleep" | "call", arg[2] = mock URL.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local what, url = arg[1], arg[2]
local cv = creatorapi.creativault{ base_url = url, api_key = "cv_live_demo_key_0001",
  user_identity = "demo@creatorapi.test", max_retries = 0, rate_limit = false }
io.write("ready\n")
io.flush()
local ok, err
if what == "sleep" then
  ok, err = pcall(core.sleep, 30)
else
  ok, err = pcall(cv.task_status, cv, { task_id = "t-1" })
end
io.write("interrupted ", tostring(ok), " ", tostring(err), "\n")
local res, e2 = cv:task_status{ task_id = "t-1" }
io.write("usable ", tostring(res and res.status or e2.status), "\n")
cv:close()
