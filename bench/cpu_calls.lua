--- Driver for bench/blocking_cpu.lua: N blocking calls on one client.
--   lua5.4 bench/cpu_calls.lua URL N WHAT [cpu]
-- WHAT: ka1 (KeyAPI list, 1-row page) or cv50 (CreatiVault TikTok search, 50 rows).
-- With `cpu`, one warm-up call, then prints the CPU time (user + system,
-- os.clock) of the N calls in seconds, and its user and system parts
-- (/proc/self/stat, clock ticks of 10 ms: the loops last seconds)
-- (bench/cpu_time.lua).
-- Run under callgrind by the bench, once with this tree's Lua layer and core
-- and once with the tree before the sans-I/O rewrite: the same calls on both.
local creatorapi = require "creatorapi"
local url, n, what = arg[1], tonumber(arg[2]), arg[3]

local call
if what == "ka1" then
  local ka = creatorapi.keyapi{ base_url = url, api_key = "kapi_demo_key_0001" }
  call = function() return ka:influencer_list{ region = "US", page_num = 1, page_size = 1 } end
else
  local cv = creatorapi.creativault{ base_url = url, api_key = "cv_live_demo_key_0001",
    user_identity = "demo@creatorapi.test", rate_limit = false }
  call = function() return cv:search_tiktok{ country_code = "US", size = 50 } end
end
local cpu = arg[4] == "cpu"
-- utime and stime of this process, in seconds (fields 14 and 15 of
-- /proc/self/stat, after the command name in parentheses); nil off Linux.
local function times()
  local f = io.open("/proc/self/stat")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  local u, s = line:match("^.*%) %S+" .. string.rep(" %S+", 10) .. " (%d+) (%d+)")
  return tonumber(u) / 100, tonumber(s) / 100
end
if cpu then assert(call()) end
local u0, s0 = times()
local t0 = os.clock()
for _ = 1, n do
  local res, err = call()
  assert(res, tostring(err))
end
if cpu then
  local t = os.clock() - t0
  local u1, s1 = times()
  if u1 then print(string.format("%.6f %.2f %.2f", t, u1 - u0, s1 - s0))
  else print(string.format("%.6f", t)) end
end
