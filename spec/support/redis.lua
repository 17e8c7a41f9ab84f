--- Starts and stops a private redis-server on 127.0.0.1 for specs (Debian
--- package redis-server), on a free port, no persistence.
--
--   local redis = require "support.redis"
--   local r = redis.start()      -- r.url, r.port, r.pid
--   r:cli("FLUSHALL"); r:stop()
local M = {}

local free_port = require("support.peer").free_port

local function bin()
  return os.getenv("CREATORAPI_REDIS_SERVER") or "redis-server"
end

local R = {}
R.__index = R

--- The reply of one command through redis-cli-free means: core.redis.
function R:cli(...)
  local core = require "creatorapi.core"
  local c = assert(core.redis{ host = "127.0.0.1", port = self.port, timeout = 2 })
  local v, err = c:command(...)
  c:close()
  return v, err
end

function R:alive()
  local core = require "creatorapi.core"
  local c = core.redis{ host = "127.0.0.1", port = self.port, timeout = 0.2 }
  if not c then return false end
  local v = c:command("PING")
  c:close()
  return v == "PONG"
end

function R:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null")
    for _ = 1, 200 do
      if not self:alive() then break end
      os.execute("sleep 0.02")
    end
    self.pid = nil
    os.remove(self.log)
  end
end

--- start([port]) → server (port: restart one on the port a stopped server had)
function M.start(want_port)
  for _ = 1, 5 do
    local port = want_port or free_port()
    local log = os.tmpname()
    local cmd = string.format("%s --bind 127.0.0.1 --port %d --save '' --appendonly no " ..
      "--protected-mode yes --daemonize no >%s 2>&1 & echo $!", bin(), port, log)
    local p = assert(io.popen(cmd))
    local pid = assert(tonumber(p:read("*l")), "could not start redis-server")
    p:close()
    local r = setmetatable({ port = port, pid = pid, log = log,
      url = "redis://127.0.0.1:" .. port .. "/0" }, R)
    for _ = 1, 200 do
      if r:alive() then return r end
      os.execute("sleep 0.025")
    end
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.remove(log)
  end
  error("redis-server did not start (is the Debian package redis-server installed?)")
end

return M
