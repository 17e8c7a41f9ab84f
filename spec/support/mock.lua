--- Starts and stops the bundled mock API (build/creatorapi-mock) for specs.
--
--   local mock = require "support.mock"
--   local m = mock.start{ "--time-scale", "600" }   -- extra CLI args
--   ... m.url ...; m:get_json("/_mock/stats"); m:stop()
local M = {}

local function bin()
  return os.getenv("CREATORAPI_MOCK_BIN") or "build/creatorapi-mock"
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local Mock = {}
Mock.__index = Mock

function M.start(args)
  local parts = {}
  for i, a in ipairs(args or {}) do parts[i] = shell_quote(a) end
  local out = os.tmpname()
  local cmd = string.format("%s --port 0 %s >%s 2>&1 & echo $!",
    shell_quote(bin()), table.concat(parts, " "), shell_quote(out))
  local p = assert(io.popen(cmd))
  local pid = assert(tonumber(p:read("*l")), "could not start the mock")
  p:close()
  local url
  for _ = 1, 400 do
    local f = io.open(out)
    if f then
      local line = f:read("*l")
      f:close()
      url = line and line:match("^listening on (http%S+)")
      if url then break end
    end
    os.execute("sleep 0.025")
  end
  if not url then
    local f = io.open(out)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    os.execute("kill " .. pid .. " 2>/dev/null")
    error("creatorapi-mock did not start: " .. text)
  end
  return setmetatable({ url = url, pid = pid, log = out,
    port = tonumber(url:match(":(%d+)$")) }, Mock)
end

function Mock:stop()
  if self.pid then
    os.execute("kill " .. self.pid .. " 2>/dev/null; sleep 0.05")
    self.pid = nil
    os.remove(self.log)
  end
end

--- Raw HTTP against the mock's /_mock endpoints through the curl CLI.
function Mock:curl(method, path, body)
  local cmd = string.format("curl -s -X %s %s%s", method,
    body and ("-H 'Content-Type: application/json' --data-binary " .. shell_quote(body) .. " ") or "",
    shell_quote(self.url .. path))
  local p = assert(io.popen(cmd))
  local text = p:read("*a")
  p:close()
  return text
end

function Mock:get_json(path)
  local json = require("creatorapi.core")
  return assert(json.json_decode(self:curl("GET", path)))
end

--- The last request the mock received, headers as a lower-case name → value map.
function Mock:last_request()
  local t = self:get_json("/_mock/requests?limit=1")
  local r = t.requests[#t.requests]
  local h = {}
  for _, pair in ipairs(r.headers) do h[pair[1]:lower()] = pair[2] end
  r.header_list, r.headers = r.headers, h
  return r
end

function Mock:reset()
  return self:curl("POST", "/_mock/reset", "{}")
end

--- Runs a shell command; returns everything it printed on stdout.
function M.sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

M.DEMO = {
  cv_key = "cv_live_demo_key_0001",
  cv_identity = "demo@creatorapi.test",
  keyapi_key = "kapi_demo_key_0001",
}

return M
