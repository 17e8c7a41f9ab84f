--- `make bench`, blocking path: CPU per call, in instructions (callgrind, so
--- the figure does not move with the machine's load), of this tree against
--- the tree before the sans-I/O rewrite (commit BEFORE below, built into
--- build/bench/before from git) and against raw libcurl in C.
-- Per-call cost = (I(N2) - I(N1)) / (N2 - N1): start-up and the first
-- connection cancel out. Goal: this tree within 5 % of the one before.
-- Run through examples/run-with-mock.sh (CREATORAPI_MOCK_URL), from the repo root.
local BEFORE = "45d7a21"
local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "run me through examples/run-with-mock.sh")
local baseline = os.getenv("BENCH_CURL_BASELINE") or "build/bench/curl_baseline"
local N1, N2 = 20, 120
local dir = "build/bench/before"

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  local ok = p:close()
  return out, ok
end

if not io.open(dir .. "/build/5.4/creatorapi/core.so") then
  local out, ok = sh(string.format("rm -rf %s && mkdir -p %s && git archive %s Makefile src lua | tar -x -C %s"
    .. " && make -s -C %s build/5.4/creatorapi/core.so", dir, dir, BEFORE, dir, dir))
  assert(ok, "cannot build the tree before the rewrite (" .. BEFORE .. "): " .. out)
end

local function instructions(env, cmd)
  local out = sh(string.format("%s valgrind --tool=callgrind --callgrind-out-file=/dev/null %s", env, cmd))
  return assert(tonumber(out:match("Collected : (%d+)")), "callgrind failed: " .. out)
end

local function lua_env(root)
  return string.format("LUA_PATH_5_4='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH_5_4='%s/build/5.4/?.so;;'",
    root, root, root)
end

local function per_call(env, cmd_for)
  return (instructions(env, cmd_for(N2)) - instructions(env, cmd_for(N1))) / (N2 - N1)
end

local function sdk(root, what)
  return per_call(lua_env(root), function(n)
    return string.format("lua5.4 bench/cpu_calls.lua %s %d %s", url, n, what)
  end)
end

local raw = per_call("", function(n)
  return string.format("%s '%s/v1/tiktok/influencer/list/analytics?page_num=1&page_size=1&region=US' %d"
    .. " 'Authorization: Bearer kapi_demo_key_0001'", baseline, url, n)
end)
print(string.format("raw libcurl, KeyAPI 1-row GET, bytes only: %9.0f instructions/call", raw))
for _, what in ipairs{ "ka1", "cv50" } do
  local now, before = sdk(".", what), sdk(dir, what)
  local label = what == "ka1" and "KeyAPI list, 1-row page      " or "CreatiVault search, 50 rows  "
  print(string.format("%s: this tree %9.0f, before the rewrite %9.0f instructions/call: %.3fx (goal <= 1.05)%s",
    label, now, before, now / before,
    what == "ka1" and string.format("; %.2fx raw libcurl", now / raw) or ""))
end
