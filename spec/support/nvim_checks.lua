-- luacheck: globals vim
-- Runs inside headless Neovim (spec/nvim_spec.lua):
--   nvim --headless -u NONE -c "luafile spec/support/nvim_checks.lua"
-- env: CREATORAPI_ROOT (the worktree), NVIM_CHECKS_OUT (result file),
-- NVIM_CHECKS_ENGINE = "fake" | "real", CREATORAPI_MOCK_URL (real).
-- Writes one line per check: "<name> ok|FAIL <detail>", then quits.
local root = os.getenv("CREATORAPI_ROOT")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. root .. "/spec/?.lua;" .. package.path
package.cpath = root .. "/build/jit/?.so;" .. package.cpath

local out = assert(io.open(os.getenv("NVIM_CHECKS_OUT"), "w"))
local function report(name, ok, detail)
  out:write(string.format("%s %s %s\n", name, ok and "ok" or "FAIL", tostring(detail or "")))
  out:flush()
end

local uv = vim.loop
local host = require "creatorapi.async.luv"
local luvt = require "creatorapi.transport.luv"
local real = os.getenv("NVIM_CHECKS_ENGINE") == "real"
local CTX, P
local arm = function() end      -- real: program the mock's next answers late
if real then
  local core = require "creatorapi.core"
  local url = os.getenv("CREATORAPI_MOCK_URL")
  CTX = core.context{ base_url = url, dialect = "keyapi", api_key = os.getenv("KEYAPI_TOKEN") }
  arm = function(delay_ms, count)
    os.execute(string.format("curl -s -o /dev/null -X POST -H 'Content-Type: application/json' " ..
      "--data-binary '{\"kind\":\"delay\",\"delay\":%g,\"count\":%d}' %s/_mock/faults",
      delay_ms / 1000, count, url))
  end
  P = function() return assert(CTX:prepare{ method = "GET", retry = "safe",
    path = "/v1/tiktok/influencer/list/analytics",
    query = { region = "US", page_num = 1, page_size = 10 } }) end
else
  local fake = require "support.fake_engine"
  luvt._reset(function() return fake.new() end)
  CTX = { config = function() return {} end }
  P = function(delay_ms) return { delay = delay_ms / 1000 } end
end
local t = luvt.new(CTX)

local function check(name, fn)
  local ok, err = pcall(fn)
  if not ok then report(name, false, err) end
end

-- 1. a 10 ms timer keeps ticking during a 500 ms call
check("ticks", function()
  arm(500, 1)
  local r = require("support.ticks").during(uv, host, function() return t:send(P(500)) end, 5)
  report("ticks", r.ok, r.detail)
end)

-- 2. 8 concurrent coroutines finish in about one round-trip
check("concurrent8", function()
  arm(200, 8)
  local t0, tasks = uv.hrtime(), {}
  for i = 1, 8 do tasks[i] = host.spawn(function() return t:send(P(200)) end) end
  host.run_until(function()
    for i = 1, 8 do if not tasks[i].done then return false end end
    return true
  end, 5)
  local el = (uv.hrtime() - t0) / 1e9
  local allok = true
  for i = 1, 8 do allok = allok and tasks[i].ok end
  report("concurrent8", allok and el < 0.45, string.format("elapsed=%.3f", el))
end)

-- 3. on_done is delivered through vim.schedule (not in a fast event)
check("schedule", function()
  local fast
  local task = host.spawn(function() return t:send(P(10)) end,
    function() fast = vim.in_fast_event() end)
  host.run_until(function() return fast ~= nil end, 5)
  report("schedule", task.ok and fast == false, "in_fast_event=" .. tostring(fast))
end)

-- 4. a task body may call vim.api after a request (resumed outside fast events)
check("api_after_send", function()
  local task = host.spawn(function()
    t:send(P(10))
    return vim.api.nvim_buf_line_count(0), vim.in_fast_event()
  end)
  host.run_until(function() return task.done end, 5)
  report("api_after_send", task.ok and task.results[2] == false, tostring(task.results[1]))
end)

out:close()
vim.cmd("qa!")
