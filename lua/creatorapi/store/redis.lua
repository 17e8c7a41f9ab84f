--- A Redis store: one logical connection per store object, over the
--- backend that fits the host.
--
--   local s = require("creatorapi.store.redis").new{ url = "redis://127.0.0.1:6379/0",
--     prefix = "creatorapi:", timeout = 0.5 }
--   s:call("GET", s.prefix .. "x")                 → value | nil, err
--   s:script(SRC, { key }, { arg, … })             → value | nil, err  (EVALSHA, loaded on NOSCRIPT)
--
-- Backends:
--   * scripts, luv, in-task: `core.redis` (libhiredis), BLOCKING for at most
--     `timeout` seconds per connect/send/receive — meant for Redis on loopback
--     or a near LAN (docs/scaling.md);
--   * OpenResty phases with cosockets: ngx.socket.tcp with nginx's keepalive
--     pool, commands encoded by hiredis (`core.resp_command`) and replies
--     parsed by hiredis's reader (`core.resp_reader`); never blocks a worker.
--
-- Failures: an unreachable or broken Redis → `nil, err` with kind
-- `store_unavailable` (the connection is dropped and re-opened on the next
-- call, at most once per `retry_interval` seconds); a Redis error reply →
-- kind `store`. Never raises for I/O.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local unpack = table.unpack or unpack -- luacheck: ignore unpack

local M = {}

local S = {}
S.__index = S
S.kind = "redis"

--- parse_url("redis://[:password@]host[:port][/db]") → { host, port, password, db } | nil, msg
function M.parse_url(url)
  if type(url) ~= "string" then return nil, "must be a redis:// URL string" end
  local rest = url:match("^redis://(.*)$")
  if not rest then return nil, "must start with redis://" end
  local auth, hostpart = rest:match("^(.*)@([^@]*)$")
  if not auth then hostpart = rest end
  local hp, db = hostpart:match("^([^/]*)/?(%d*)$")
  if not hp then return nil, "the database must be a number" end
  local host, port = hp:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = hp:match("^([^:]*):?(%d*)$") end
  local out = { host = host ~= "" and host or "127.0.0.1", port = tonumber(port) or 6379,
    db = tonumber(db) or 0 }
  if auth then
    local user, pass = auth:match("^([^:]*):(.*)$")
    out.user = user ~= "" and user or nil
    out.password = pass or auth
  end
  if out.port < 1 or out.port > 65535 then return nil, "port out of range" end
  return out
end

local function unavailable(self, message)
  return nil, errors.new("store_unavailable",
    string.format("redis %s:%d: %s", self.host, self.port, message), { retryable = false })
end

local function in_cosocket_phase()
  if not ngx then return false end -- luacheck: ignore ngx
  return require("creatorapi.transport.cosocket").available()
end

-- AUTH and SELECT after a connect; `send(words)` → value | nil, msg, kind.
local function handshake(self, send)
  if self.password then
    local _, msg = send(self.user and { "AUTH", self.user, self.password } or { "AUTH", self.password })
    if msg then return nil, "AUTH failed" end
  end
  if self.db ~= 0 then
    local _, msg = send({ "SELECT", tostring(self.db) })
    if msg then return nil, "SELECT failed: " .. msg end
  end
  return true
end

-- The blocking hiredis backend: one connection per store, re-opened after a
-- failure (→ conn | nil, err).
local function connection(self)
  local c = self.conn
  if c and c:connected() then return c end
  local now = core.monotonic()
  if self.down_until and now < self.down_until then
    return unavailable(self, self.last_error or "unreachable")
  end
  local err
  c, err = core.redis{ host = self.host, port = self.port, timeout = self.timeout }
  if c then
    local ok, msg = handshake(self, function(w) return c:command(unpack(w)) end)
    if not ok then c:close(); c, err = nil, msg end
  end
  if not c then
    self.last_error, self.down_until = err, now + self.retry_interval
    return unavailable(self, err)
  end
  self.conn = c
  return c
end

-- `how` is "command" (the reply) or "send" (written now, reply not awaited).
local function call_hiredis(self, words, how)
  local c, err = connection(self)
  if not c then return nil, err end
  local v, msg, kind = c[how](c, unpack(words))
  if kind == "io" then
    self.conn = nil
    return unavailable(self, msg)
  end
  if kind then return nil, errors.new("store", "redis: " .. msg) end
  return v
end

-- The cosocket backend: one socket per call, kept alive in nginx's pool.
local function call_cosocket(self, words)
  local sock = ngx.socket.tcp() -- luacheck: ignore ngx
  local ms = math.floor(self.timeout * 1000)
  sock:settimeouts(ms, ms, ms)
  local ok, err = sock:connect(self.host, self.port,
    { pool = string.format("creatorapi:redis:%s:%d:%d", self.host, self.port, self.db) })
  if not ok then return unavailable(self, "connect: " .. tostring(err)) end
  local rd = core.resp_reader()
  local function send(w)
    local _, serr = sock:send(core.resp_command(w))
    if serr then return nil, "send: " .. serr, "io" end
    while true do
      local got, v, msg = rd:get()
      if got then return v end
      if got == nil then return nil, v, msg end -- redis error reply, or protocol error
      local bytes, rerr = sock:receiveany(65536)
      if not bytes then return nil, "receive: " .. tostring(rerr), "io" end
      rd:feed(bytes)
    end
  end
  if sock:getreusedtimes() == 0 then
    local hok, herr = handshake(self, send)
    if not hok then sock:close(); return unavailable(self, herr) end
  end
  local v, msg, kind = send(words)
  rd:close()
  if kind == "io" or kind == "protocol" then
    sock:close()
    return unavailable(self, msg)
  end
  sock:setkeepalive(60000, 64)
  if kind then return nil, errors.new("store", "redis: " .. tostring(v)) end
  if msg then return nil, errors.new("store", "redis: " .. msg) end
  return v
end

--- s:call(word, …) → value | nil, err
function S:call(...)
  local words = { ... }
  if in_cosocket_phase() then return call_cosocket(self, words) end
  return call_hiredis(self, words, "command")
end

-- { verb, script, #keys, keys…, args… }: an EVAL or EVALSHA command.
local function script_words(verb, script, keys, args)
  local words = { verb, script, #keys }
  for _, k in ipairs(keys) do words[#words + 1] = k end
  for _, a in ipairs(args) do words[#words + 1] = a end
  return words
end

--- s:script(source, keys, args) → value | nil, err. EVALSHA of the loaded
--- script; SCRIPT LOAD on first use and after NOSCRIPT (a restarted or
--- flushed Redis).
function S:script(source, keys, args)
  local sha = self.shas[source]
  for _ = 1, 2 do
    if not sha then
      local err
      sha, err = self:call("SCRIPT", "LOAD", source)
      if not sha then return nil, err end
      self.shas[source] = sha
    end
    local v, err = self:call(unpack(script_words("EVALSHA", sha, keys, args)))
    if v ~= nil or not (err.kind == "store" and err.message:find("NOSCRIPT", 1, true)) then
      return v, err
    end
    self.shas[source], sha = nil, nil
  end
  return nil, errors.new("store", "redis: script could not be loaded")
end

--- s:script_nowait(source, keys, args) → true | nil, err: runs the script
--- without waiting for its answer, for steps whose answer nobody needs (a
--- limiter's release). On the hiredis connection the command (EVAL with the
--- source: no NOSCRIPT to recover from) is written out at once and its reply
--- is read with the next command's, so it costs no round trip of its own;
--- on a cosocket (one socket per call, back to nginx's pool) it is an
--- ordinary script call. An error reply of the script is dropped; a
--- connection that cannot take the command gives nil, err.
function S:script_nowait(source, keys, args)
  if in_cosocket_phase() then
    local v, err = self:script(source, keys, args)
    if v == nil then return nil, err end
    return true
  end
  return call_hiredis(self, script_words("EVAL", source, keys, args), "send")
end

--- Cache interface: get(key) → string | nil [, err]; set(key, value, ttl) → true | nil, err.
function S:get(key)
  local v, err = self:call("GET", self.prefix .. key)
  if v == false then return nil end
  return v, err
end

function S:set(key, value, ttl)
  local ms = math.max(1, math.floor(ttl * 1000))
  local v, err = self:call("SET", self.prefix .. key, value, "PX", ms)
  return v and true, err
end

function S:close()
  if self.conn then self.conn:close(); self.conn = nil end
end

function S:__tostring()
  return string.format("creatorapi.store.redis (%s:%d/%d, prefix %q)", self.host, self.port, self.db, self.prefix)
end

--- new{ url =, prefix = "creatorapi:", timeout = 0.5, retry_interval = 1 } → store (raises on bad options).
function M.new(opts)
  if type(opts) ~= "table" then error("creatorapi.store.redis: options must be a table", 2) end
  local u, msg = M.parse_url(opts.url or opts.redis)
  if not u then error("creatorapi.store.redis: url " .. msg, 2) end
  local timeout = opts.timeout or 0.5
  if type(timeout) ~= "number" or timeout ~= timeout or timeout <= 0 then
    error("creatorapi.store.redis: timeout must be seconds > 0", 2)
  end
  local prefix = opts.prefix or "creatorapi:"
  if type(prefix) ~= "string" then error("creatorapi.store.redis: prefix must be a string", 2) end
  return setmetatable({
    host = u.host, port = u.port, db = u.db, user = u.user, password = u.password,
    prefix = prefix, timeout = timeout, retry_interval = opts.retry_interval or 1,
    shas = {},
  }, S)
end

M.is_store = function(v) return getmetatable(v) == S end

local seq = 0
local process_id

--- unique_id() → "<16 hex>:<n>": a token / reservation id unique across
--- processes and hosts (random, never derived from the API key).
function M.unique_id()
  if not process_id then
    local f = io.open("/dev/urandom", "rb")
    local noise = f and f:read(16) or ""
    if f then f:close() end
    process_id = core.sha256(noise .. tostring({}) .. os.time() .. os.clock()):sub(1, 16)
  end
  seq = seq + 1
  return process_id .. ":" .. seq
end

return M
