--- Starts and stops a scratch nginx (Debian nginx + libnginx-mod-http-lua, or
--- OpenResty's nginx on PATH) from a config template, for the OpenResty specs.
--
--   local nginx = require "support.nginx"
--   local n = nginx.start("spec/support/nginx_async.conf.in", { WORKERS = 1, MOCK_URL = m.url })
--   n:get("/ping") ... n:stop()
--
-- The template gets @PREFIX@, @ROOT@, @PORT@, @MODULES@ and every key of vars.
local socket = require "socket"

local M = {}
local N = {}
N.__index = N

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end
M.sh = sh

local function read(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end
M.read = read

M.free_port = require("support.peer").free_port

local function modules()
  local out = {}
  for _, m in ipairs{ "/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so" } do
    local f = io.open(m)
    if f then f:close() out[#out + 1] = "load_module " .. m .. ";" end
  end
  if sh("id -u"):match("^0") then out[#out + 1] = "user root;" end
  return table.concat(out, " ")
end

--- Runs curl --parallel over quoted URLs → the bodies, one per line (stderr dropped).
function M.curl_parallel(urls, max)
  local p = assert(io.popen(string.format("curl -s --parallel --parallel-immediate --parallel-max %d -w '\\n' %s 2>/dev/null",
    max or #urls, table.concat(urls, " "))))
  local out = p:read("*a")
  p:close()
  return out
end

function M.render(template, vars)
  local text = read(template)
  assert(text ~= "", "no template " .. template)
  return (text:gsub("@([%u_]+)@", function(k)
    local v = vars[k]
    if v == nil then error("template " .. template .. " needs @" .. k .. "@") end
    return tostring(v)
  end))
end

function M.start(template, vars)
  local root = sh("pwd"):gsub("%s+$", "")
  local prefix = sh("mktemp -d"):gsub("%s+$", "")
  local v = { PREFIX = prefix, ROOT = root, PORT = M.free_port(), MODULES = modules() }
  for k, x in pairs(vars or {}) do v[k] = x end
  local f = assert(io.open(prefix .. "/nginx.conf", "w"))
  f:write(M.render(template, v))
  f:close()
  os.execute(string.format("%s nginx -p %s -c %s/nginx.conf >%s/run.log 2>&1 &", v.ENV or "", prefix, prefix, prefix))
  local self = setmetatable({ prefix = prefix, port = v.PORT, url = "http://127.0.0.1:" .. v.PORT }, N)
  for _ = 1, 400 do
    if sh("curl -s -o /dev/null -w '%{http_code}' " .. self.url .. "/ping") == "200" then return self end
    socket.sleep(0.05)
  end
  local log = read(prefix .. "/run.log") .. read(prefix .. "/error.log")
  self:stop()
  error("nginx did not start:\n" .. log)
end

--- Writes a spec CA (ca.pem), a server certificate for 127.0.0.1 signed by
--- it (server.pem/.key) and an untrusted self-signed one (bad.pem/.key) into dir.
function M.test_certs(dir)
  M.sh(("(cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=spec-ca"
    .. " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1"
    .. " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
    .. " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1"
    .. " -extfile ext.cnf"
    .. " && openssl req -x509 -newkey rsa:2048 -nodes -keyout bad.key -out bad.pem -days 1 -subj /CN=127.0.0.1)")
    :format(dir))
end

--- GET path → body, http_code, seconds (curl's time_total)
function N:get(path, max_time)
  local out = sh(string.format("curl -s -m %d -w '\\n%%{http_code} %%{time_total}' '%s%s'",
    max_time or 60, self.url, path))
  local body, code, t = out:match("^(.*)\n(%d+) ([%d.]+)$")
  return body, tonumber(code), tonumber(t)
end

function N:error_log()
  return read(self.prefix .. "/error.log")
end

--- The worker pids (children of the master).
function N:workers()
  local master = read(self.prefix .. "/nginx.pid"):match("%d+")
  local pids = {}
  for pid in sh("pgrep -P " .. tostring(master)):gmatch("%d+") do pids[#pids + 1] = tonumber(pid) end
  return pids
end

function N:stop()
  local pid = read(self.prefix .. "/nginx.pid"):match("%d+")
  if pid then
    os.execute("kill " .. pid)
    for _ = 1, 100 do
      if not sh("kill -0 " .. pid .. " 2>/dev/null && echo up"):find("up") then break end
      socket.sleep(0.05)
    end
  end
  os.execute("rm -rf '" .. self.prefix .. "'")
end

return M
