-- luacheck: globals vim
-- Headless Neovim: the public clients with transport = "luv" inside host
-- tasks — ka:each_influencer (3 pages) and cv:wait_task must not freeze
-- vim.loop. env: CREATORAPI_ROOT, NVIM_CHECKS_OUT, CREATORAPI_MOCK_URL
-- (mock started with --time-scale 600). Lines: "<name> ok|FAIL|PENDING <detail>".
local root = os.getenv("CREATORAPI_ROOT")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
package.cpath = root .. "/build/jit/?.so;" .. package.cpath
local out = assert(io.open(os.getenv("NVIM_CHECKS_OUT"), "w"))
local uv, host = vim.loop, require "creatorapi.async.luv"
local creatorapi = require "creatorapi"
local url = os.getenv("CREATORAPI_MOCK_URL")

local ok_ka, ka = pcall(creatorapi.keyapi, { base_url = url, api_key = "kapi_demo_key_0001",
  transport = "luv" })
local ok_cv, cv = pcall(creatorapi.creativault, { base_url = url, api_key = "cv_live_demo_key_0001",
  user_identity = "demo@creatorapi.test", transport = "luv" })

-- Runs fn as a host task while a 10 ms timer ticks → ok, detail
-- (support.ticks: the loop's missed ticks against an idle loop's).
local function ticking(fn)
  local r = require("support.ticks").during(uv, host, fn, 30)
  local task = r.task
  return r.ok and task.results[1] == true,
    string.format("%s %s", r.detail, tostring(task.results[2] or ""))
end

if not (ok_ka and ok_cv) then
  out:write("iterator PENDING clients without transport option: ", tostring(ok_ka and cv or ka), "\n")
  out:write("wait_task PENDING\n")
else
  out:write(string.format("iterator %s %s\n", (function()
    local ok, detail = ticking(function()
      local n = 0
      for _ in ka:each_influencer({ region = "US" }, { max_items = 30 }) do n = n + 1 end
      return n == 30, "rows=" .. n
    end)
    return ok and "ok" or "FAIL", detail
  end)()))
  out:write(string.format("wait_task %s %s\n", (function()
    local ok, detail = ticking(function()
      local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
        task_name = "nvim", values = { "creator_demo", "jane.doe" } })
      local st, err = cv:wait_task(sub.data.task_id, { interval = 0.2 })
      return st ~= nil, st and st.status or tostring(err)
    end)
    return ok and "ok" or "FAIL", detail
  end)()))
  -- the public API with the automatic transport: creatorapi.async.all of 8
  -- delayed calls in about one round-trip, the loop ticking meanwhile
  out:write(string.format("async_all %s %s\n", (function()
    local auto = creatorapi.keyapi{ base_url = url, api_key = "kapi_demo_key_0001" }
    local host_name = creatorapi.async.host()
    local ok, detail = ticking(function()
      local fns = {}
      for i = 1, 8 do
        fns[i] = function() return auto:influencer_list{ region = "US", page_num = i, page_size = 2 } end
      end
      local t0 = uv.hrtime()
      local res = creatorapi.async.all(fns)
      local el = (uv.hrtime() - t0) / 1e9
      local good = 0
      for i = 1, 8 do if res[i][1] and res[i][1].status == 200 then good = good + 1 end end
      return good == 8 and host_name == "luv",
        string.format("host=%s good=%d all_s=%.3f", host_name, good, el)
    end)
    return ok and "ok" or "FAIL", detail
  end)()))
end
out:close()
vim.cmd("qa!")
