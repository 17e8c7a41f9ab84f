--- Helpers for the core specs' LuaSocket test peer (spec/support/raw_http_server.lua):
--- start it on a free port, wait for it, and talk to its /__ control paths.
local socket = require "socket"

local M = {}

local HERE = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "spec/support"
M.SERVER = HERE .. "/raw_http_server.lua"

-- Ports this process has handed out. The kernel may give a port it just
-- released to the next bind(0), so two free_port() calls in a row (say, nginx's
-- plain port and its TLS port) could name the same port: never hand one out twice.
local given = {}

--- A port on 127.0.0.1 nothing listens on now, never one returned before.
function M.free_port()
  for _ = 1, 100 do
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    port = tonumber(port)
    if not given[port] then
      given[port] = true
      return port
    end
  end
  error("free_port: the kernel keeps handing out ports already given")
end

function M.wait_port(port, secs)
  local deadline = socket.gettime() + secs
  repeat
    local c = socket.tcp()
    c:settimeout(0.2)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    if ok then return true end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return false
end

--- Starts cmd in the background; returns its pid (only that pid is killed).
--- `timeout` bounds its life in case this process dies before teardown.
function M.spawn(cmd)
  local p = assert(io.popen("exec timeout 300 " .. cmd .. " >/dev/null 2>&1 & echo $!"))
  local pid = tonumber(p:read("*l"))
  p:close()
  return assert(pid, "could not start: " .. cmd)
end

--- GET (or POST with body) a control path of the peer; returns the body.
function M.control(port, path, body)
  local c = assert(socket.connect("127.0.0.1", port))
  c:settimeout(5)
  if body then
    c:send("POST " .. path .. " HTTP/1.1\r\nHost: test\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
  else
    c:send("GET " .. path .. " HTTP/1.1\r\nHost: test\r\n\r\n")
  end
  local all = c:receive("*a")
  c:close()
  return all and all:match("\r\n\r\n(.*)$")
end

--- Starts the peer on a free port and waits for it; returns port, pid.
function M.start()
  local port = M.free_port()
  local pid = M.spawn("lua5.4 " .. M.SERVER .. " " .. port)
  assert(M.wait_port(port, 5), "test server did not start")
  return port, pid
end

--- Asks the peer to quit, then makes sure it is gone.
function M.stop(port, pid)
  pcall(M.control, port, "/__quit")
  os.execute("kill " .. pid .. " 2>/dev/null")
end

--- The peer's log of requests and connections (a Lua table it serialises).
function M.server_log(port)
  return assert(load(M.control(port, "/__log")))()
end

return M
