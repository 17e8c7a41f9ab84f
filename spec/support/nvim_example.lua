-- luacheck: globals vim
-- Runs examples/nvim's :CreatorSearch in headless Neovim against the mock
-- (KEYAPI_API_BASE_URL / KEYAPI_TOKEN in the env). Writes
-- "example ok|FAIL <detail>" and "example_ticks <missed>" to NVIM_CHECKS_OUT.
local root = os.getenv("CREATORAPI_ROOT")
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/jit/?.so;" .. package.cpath
vim.opt.rtp:append(root .. "/examples/nvim")
vim.cmd("runtime plugin/creator_search.lua")

local out = assert(io.open(os.getenv("NVIM_CHECKS_OUT"), "w"))
local uv = vim.loop
local ticks, tick, t0 = 0, uv.new_timer(), uv.hrtime()
tick:start(10, 10, function() ticks = ticks + 1 end)
local ok, err = pcall(vim.cmd, "CreatorSearch US")
local plugin = require "creator_search"
local done = ok and vim.wait(10000, function() return plugin.last ~= nil end, 5)
tick:stop(); tick:close()
local last = plugin.last
local good = done and last and #last.lines == 11 and last.lines[2]:match("^ 1%. @") ~= nil
out:write(string.format("example %s %s\n", good and "ok" or "FAIL",
  (not ok and tostring(err)) or (last and (last.lines[2] or last.lines[1])) or "no result"))
out:write(string.format("example_ticks ok missed=%d\n",
  math.floor((uv.hrtime() - t0) / 1e7) - ticks))
out:close()
vim.cmd("qa!")
