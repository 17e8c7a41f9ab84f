--- Downloads over ngx_lua cosockets (the cosocket transport's `send` for a
--- `p` from ctx:prepare_download): the file host is read in chunks with
--- `receiveany`, each chunk goes to the core's download sink
--- (core.download_sink: the same file rules as the curl engine's — 2xx only,
--- a 206 must start at the offset, max_bytes, pwrite into the part file) and
--- every wait yields to nginx, so a download never blocks the worker.
--
-- Like the curl engine: no credential or custom header reaches the file
-- host; up to 5 redirects are followed, never from https to http; `timeout`
-- bounds the whole transfer, `connect_timeout` the connect, and a transfer
-- slower than `low_speed_limit` bytes/s for `low_speed_time` seconds is a
-- `timeout`. Disk writes are ordinary (blocking) file I/O, as in nginx.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local M = {}

M.PROGRESS_INTERVAL = 0.25
local MAX_REDIRECTS = 5
local READ_CHUNK = 64 * 1024
local NO_LIMIT = 24 * 86400
local STREAM_CAP = 1e15 -- the parser holds one read at a time (take_body)

--- "scheme://host[:port]/target" → { scheme, host, port, target } | nil, why
function M.parse_url(url)
  local scheme, rest = url:match("^(https?)://(.*)$")
  if not scheme then return nil, "not an http(s) URL" end
  local authority, target = rest:match("^([^/?#]*)(.*)$")
  if authority:find("@", 1, true) then return nil, "a URL with credentials" end
  target = target:gsub("#.*$", "")
  if target == "" or target:sub(1, 1) == "?" then target = "/" .. target end
  local host, port = authority:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then return nil, "a URL without a host" end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then return nil, "a URL with an invalid port" end
  return { scheme = scheme, host = host, port = port, target = target }
end

-- Location → absolute URL, relative to base (a parse_url result).
local function resolve(base, location)
  if location:match("^https?://") then return location end
  local origin = string.format("%s://%s:%d", base.scheme,
    base.host:find(":", 1, true) and ("[" .. base.host .. "]") or base.host, base.port)
  if location:sub(1, 1) == "/" then return origin .. location end
  return origin .. base.target:gsub("[?#].*$", ""):gsub("[^/]*$", "") .. location
end

local REDIRECT = { [301] = true, [302] = true, [303] = true, [307] = true, [308] = true }

local function fail(kind, message, extra)
  local raw = { kind = kind, message = message, sent = true }
  if extra then for k, v in pairs(extra) do raw[k] = v end end
  return raw
end

-- Request bytes for one hop: GET with Range when resuming, nothing else of
-- the API's (no credentials, no custom headers).
local function request(u, p)
  local hp = { method = "GET", target = u.target, scheme = u.scheme, host = u.host, port = u.port,
    user_agent = p.user_agent, fresh = true, headers = { "Accept: */*" } }
  if (p.offset or 0) > 0 then hp.headers[2] = string.format("Range: bytes=%d-", p.offset) end
  return require("creatorapi.transport.cosocket").request_bytes(hp)
end

-- Watches the transfer's speed: → nil | "timeout" message.
local function speed_guard(p)
  local lsl, lst = p.low_speed_limit or 0, p.low_speed_time or 0
  if lsl <= 0 or lst <= 0 then return function() return nil end, NO_LIMIT end
  local window_t, window_b = core.monotonic(), 0
  return function(now, got)
    window_b = window_b + got
    if now - window_t >= lst then
      if window_b < lsl * lst then
        return string.format("download slower than %d bytes/s for %d s", lsl, lst)
      end
      window_t, window_b = now, 0
    end
    return nil
  end, lst
end

local function ms(seconds) return math.max(1, math.floor(seconds * 1000)) end

-- The full size an answer announces: a 206's Content-Range total, else Content-Length.
local function full_size(status, cl, cr)
  if status == 206 then return tonumber(cr and cr:match("/(%d+)%s*$")) end
  return cl
end

-- Reads one hop's answer into sink. → raw, next_url (a redirect to follow)
local function read_hop(sock, u, p, sink, deadline, on_progress)
  local parser = core.http_response(STREAM_CAP)
  local status, cl, cr, start
  local too_slow, lst = speed_guard(p)
  local last_report, last_bytes, bytes = core.monotonic(), -1, 0
  while true do
    local left = deadline - core.monotonic()
    if left <= 0 then return fail("timeout", "download timed out") end
    local wait = math.min(left, lst)
    sock:settimeouts(ms(wait), ms(wait), ms(wait))
    local data, err = sock:receiveany(READ_CHUNK)
    local r, kind, msg
    if data then
      r, kind, msg = parser:feed(data)
    elseif err == "closed" then
      -- A cut before the announced end is a broken transfer (retried with
      -- Range), as libcurl's "partial file" is, not a protocol error.
      r = parser:feed_eof()
      if r ~= "done" then
        return fail("network", "connection closed mid-download", status and { status = status } or nil)
      end
    elseif err == "timeout" then
      if deadline - core.monotonic() <= 0 then return fail("timeout", "download timed out") end
      return fail("timeout", string.format("no data for %g s (low_speed_time)", lst))
    else
      return fail("network", "reading the download failed: " .. tostring(err))
    end
    if r == nil then return fail(kind, msg) end
    if not status and parser:status() then
      status = parser:status()
      local h = parser:headers()
      if REDIRECT[status] and p.follow ~= false and h.location then
        return nil, resolve(u, h.location)
      end
      cl, cr = tonumber(h["content-length"]), h["content-range"]
      start = status == 206 and (p.offset or 0) or 0
    end
    if status then
      local chunk = parser:take_body()
      if #chunk > 0 then
        if not sink:write(status, cl, cr, chunk) then
          return fail("network", "download aborted", { status = status, headers = parser:headers() })
        end
        bytes = bytes + #chunk
      end
      local now = core.monotonic()
      local slow = too_slow(now, data and #data or 0)
      if slow then return fail("timeout", slow, { status = status, headers = parser:headers() }) end
      if on_progress and status < 300 and now - last_report >= M.PROGRESS_INTERVAL and bytes ~= last_bytes then
        last_report, last_bytes = now, bytes
        local ok, perr = pcall(on_progress, start + bytes, full_size(status, cl, cr))
        if not ok then
          return { kind = "aborted", message = errors.raised_message(perr), sent = true,
                   start = start, written = bytes }
        end
      end
    end
    if r == "done" then
      sink:finish(true, status, cl, cr)
      return { status = status, headers = parser:headers() }
    end
  end
end

--- send(t, p [, on_progress]) → raw (the fields ctx:parse reads for downloads).
function M.send(t, p, on_progress)
  local timeout = p.timeout
  if timeout == false or timeout == nil or timeout == 0 then timeout = NO_LIMIT end
  local deadline = core.monotonic() + timeout
  local sink = core.download_sink(p)
  local url = p.url
  local raw
  for hop = 0, MAX_REDIRECTS + 1 do
    if hop > MAX_REDIRECTS then raw = fail("protocol", "too many redirects (more than 5)"); break end
    local u, why = M.parse_url(url)
    if not u then raw = fail("network", "cannot download from " .. why, { sent = false }); break end
    if hop > 0 and u.scheme == "http" and p.url:match("^https://") then
      raw = fail("network", "redirect from https to http refused"); break
    end
    local sock, cerr = t:connect({ scheme = u.scheme, host = u.host, port = u.port, fresh = true,
      connect_timeout = p.connect_timeout }, deadline, true)
    if not sock then raw = cerr; break end
    local n, serr = sock:send(request(u, p))
    local next_url
    if not n then
      raw = fail(serr == "timeout" and "timeout" or "network", "sending the request failed: " .. tostring(serr))
    else
      raw, next_url = read_hop(sock, u, p, sink, deadline, on_progress)
    end
    sock:close()
    if not next_url then break end
    url = next_url
  end
  if raw.kind ~= nil then sink:finish(false) end
  sink:fields(raw)
  sink:close()
  return raw
end

return M
