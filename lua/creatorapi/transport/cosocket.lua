--- The OpenResty transport: one attempt of a prepared request (contract: `p`
--- from ctx:prepare) over an ngx_lua cosocket, answers parsed by the C core's
--- libhttp-parser binding (core.http_response). Every wait yields to nginx's
--- event loop, so SDK calls in content/access/rewrite/timer handlers never
--- block the worker.
--
--   local t = require("creatorapi.transport.cosocket").new(ctx, { pool_size = 64 })
--   if t:available() then local raw = t:send(p) end
--
-- TLS: sslhandshake verifies the server against nginx's
-- `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`), the name
-- checked is p.host (an IP literal matches a certificate CN of that IP); host
-- names need nginx's `resolver` directive (nginx does not read /etc/hosts).
-- Without lua_ssl_trusted_certificate
-- directive every https request fails with a `tls` error unless the client
-- was made with `insecure = true`. The client's `ca_file` cannot apply here.
-- A configured `proxy` is not supported: available() is then false and the
-- client falls back to curl.
--
-- Connections: answers that allow it go back to a per-worker keep-alive pool
-- named by scheme, host, port and TLS verification. `p.fresh` requests
-- (submits) connect through a pool name no connection was ever put in, send
-- `Connection: close` and are closed afterwards: they never ride a reused
-- connection and never leave one behind. A safe request whose reused
-- connection turns out dead before any answer byte is re-sent once on a new
-- connection (the server closed an idle connection; it saw nothing).
local core = require "creatorapi.core"

local M = {}

local T = {}
T.__index = T

-- Phases in which ngx_lua allows cosockets and ngx.sleep
-- (init, init_worker, set, header_filter, body_filter, log, balancer,
-- ssl_session_store and exit_worker do not).
M.COSOCKET_PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}

local DEFAULT_MAX_BODY = 64 * 1024 * 1024
local NO_LIMIT = 24 * 86400 -- `false` timeouts: about 24 days, like the curl transport
local READ_CHUNK = 64 * 1024
local fresh_seq = 0

--- new(ctx, opts): ctx is the core context (only ctx:config() is read, once);
--- opts: pool_size (default 64), keepalive_timeout (s, default 60), max_body,
--- insecure (default ctx's),
--- timeout / connect_timeout fallbacks when p has none (default 30 / 10 s).
function M.new(ctx, opts)
  opts = opts or {}
  local cfg = ctx and ctx.config and ctx:config() or {}
  return setmetatable({
    name = "cosocket",
    max_body = opts.max_body or cfg.max_body or DEFAULT_MAX_BODY,
    proxy = cfg.proxy,
    insecure = (opts.insecure == nil and cfg.insecure or opts.insecure) and true or false,
    pool_size = opts.pool_size or 64,
    keepalive_ms = math.floor((opts.keepalive_timeout or 60) * 1000),
    default_timeout = opts.timeout or 30,
    default_connect_timeout = opts.connect_timeout or 10,
    closed = false,
    stats = { connects = 0, reused = 0, keepalive = 0, closed = 0, resent = 0 },
  }, T)
end

--- true when ngx_lua is loaded and the current phase allows cosockets.
function M.available()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" or not ngx.socket then return false end
  local ok, phase = pcall(ngx.get_phase)
  return ok and M.COSOCKET_PHASES[phase] == true
end

function T:available()
  return not self.closed and not self.proxy and M.available()
end

function T:sleep(seconds)
  if seconds and seconds > 0 then ngx.sleep(seconds) end
end

function T:now()
  return core.monotonic()
end

function T:close()
  self.closed = true
end

local function fail(kind, message, sent, extra)
  local raw = { kind = kind, message = message, sent = sent and true or false }
  if extra then for k, v in pairs(extra) do raw[k] = v end end
  return raw
end

-- ngx error strings → contract kinds
local function io_kind(err)
  if err == "timeout" then return "timeout" end
  return "network"
end

local function host_header(p)
  local host = p.host:find(":", 1, true) and ("[" .. p.host .. "]") or p.host
  local default = (p.scheme == "https" and 443) or 80
  if p.port ~= default then host = host .. ":" .. p.port end
  return host
end

--- The request bytes as an array for sock:send (no concatenation copy).
function M.request_bytes(p)
  local out = { p.method, " ", p.target, " HTTP/1.1\r\nHost: ", host_header(p),
    "\r\nUser-Agent: ", p.user_agent or "creatorapi", "\r\n" }
  if p.body or p.method == "POST" or p.method == "PUT" then
    out[#out + 1] = "Content-Length: " .. #(p.body or "") .. "\r\n"
  end
  if p.fresh then out[#out + 1] = "Connection: close\r\n" end
  for _, line in ipairs(p.headers or {}) do
    out[#out + 1] = line
    out[#out + 1] = "\r\n"
  end
  out[#out + 1] = "\r\n"
  if p.body then out[#out + 1] = p.body end
  return out
end

local function ms(seconds)
  return math.max(1, math.floor(seconds * 1000 + 0.5))
end

function T:pool_name(p)
  if p.fresh then
    fresh_seq = fresh_seq + 1
    return string.format("creatorapi-fresh:%d:%d:%s", ngx.worker.pid(), fresh_seq, tostring({}))
  end
  return string.format("creatorapi:%s:%s:%d:%s", p.scheme, p.host, p.port,
    self.insecure and "noverify" or "verify")
end

-- Connects (and handshakes); returns sock or nil, raw failure.
function T:connect(p, deadline, force_new)
  local sock = ngx.socket.tcp()
  local budget = deadline - self:now()
  local cto = p.connect_timeout
  if cto == false then cto = NO_LIMIT elseif cto == nil then cto = self.default_connect_timeout end
  if budget <= 0 then return nil, fail("timeout", "timed out before connecting", false) end
  sock:settimeouts(ms(math.min(cto, budget)), ms(budget), ms(budget))
  local pool = (force_new and not p.fresh) and self:pool_name({ fresh = true }) or self:pool_name(p)
  -- ngx_lua parses "host:port": an IPv6 literal needs its brackets back
  local host = p.host:find(":", 1, true) and ("[" .. p.host .. "]") or p.host
  local ok, err = sock:connect(host, p.port, { pool = pool, pool_size = self.pool_size })
  if not ok then
    return nil, fail(io_kind(err), string.format("connect to %s:%d failed: %s", p.host, p.port, err), false)
  end
  local reused = sock:getreusedtimes() or 0
  if reused == 0 then self.stats.connects = self.stats.connects + 1 else self.stats.reused = self.stats.reused + 1 end
  if p.scheme == "https" and reused == 0 then
    local sess
    sess, err = sock:sslhandshake(nil, p.host, not self.insecure)
    if not sess then
      sock:close()
      local kind = err == "timeout" and "timeout" or "tls"
      return nil, fail(kind, string.format("TLS handshake with %s failed: %s", p.host, err), false)
    end
  end
  return sock, nil, reused
end

-- Reads the answer into a fresh parser; returns parser or nil, raw failure, got_bytes.
function T:read_answer(sock, deadline)
  local parser = core.http_response(self.max_body)
  local got = false
  while true do
    local left = deadline - self:now()
    if left <= 0 then return nil, fail("timeout", "timed out waiting for the answer", true), got end
    sock:settimeouts(ms(left), ms(left), ms(left))
    local data, err = sock:receiveany(READ_CHUNK)
    local r, kind, msg
    if data then
      got = true
      r, kind, msg = parser:feed(data)
    elseif err == "closed" then
      if not got then return nil, fail("network", "connection closed before any answer", true), got end
      r, kind, msg = parser:feed_eof()
      if r == "more" then r, kind, msg = nil, "protocol", "connection closed mid-answer" end
    else
      return nil, fail(io_kind(err), "reading the answer failed: " .. tostring(err), true), got
    end
    if r == "done" then return parser end
    if r == nil then
      if parser:too_big() then
        return nil, fail("protocol", msg, true, { too_big = true, status = parser:status() }), got
      end
      return nil, fail(kind, msg, true), got
    end
  end
end

-- One exchange on one connection; returns raw, retry_on_new (reused conn died silently).
function T:exchange(p, deadline, force_new)
  local sock, cerr, reused = self:connect(p, deadline, force_new)
  if not sock then return cerr, false end
  local left = deadline - self:now()
  left = ms(math.max(left, 0.001))
  sock:settimeouts(left, left, left)
  local n, err = sock:send(M.request_bytes(p))
  if not n then
    sock:close()
    return fail(io_kind(err), "sending the request failed: " .. tostring(err), true), reused > 0 and err ~= "timeout"
  end
  local parser, rerr, got = self:read_answer(sock, deadline)
  if not parser then
    sock:close()
    self.stats.closed = self.stats.closed + 1
    return rerr, reused > 0 and not got and rerr.kind == "network"
  end
  if parser:keep_alive() and not p.fresh then
    local ok = sock:setkeepalive(self.keepalive_ms, self.pool_size)
    if ok then self.stats.keepalive = self.stats.keepalive + 1 end
  else
    sock:close()
    self.stats.closed = self.stats.closed + 1
  end
  return { status = parser:status(), headers = parser:headers(), body = parser:body(),
    reused = reused > 0 }, false
end

--- send(p [, on_progress]) → raw: one attempt (downloads: see
--- transport/cosocket_download.lua) (plus, for a safe request on a dead pooled
--- connection, one immediate re-send on a new connection). Never raises for
--- I/O failures.
function T:send(p, on_progress)
  if self.closed then return fail("network", "transport closed", false) end
  if p.kind == "download" then
    return require("creatorapi.transport.cosocket_download").send(self, p, on_progress)
  end
  local timeout = p.timeout
  if timeout == false then timeout = NO_LIMIT elseif timeout == nil then timeout = self.default_timeout end
  local deadline = self:now() + timeout
  local raw, again = self:exchange(p, deadline, false)
  if again and not p.fresh then
    self.stats.resent = self.stats.resent + 1
    raw = self:exchange(p, deadline, true)
  end
  return raw
end

return M
