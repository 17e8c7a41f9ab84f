--- `creatorapi webhook listen`: a local receiver for webhook deliveries, like
--- the Stripe CLI's `listen`. Each request is read with core.http_request
--- (libhttp-parser), its X-Webhook-Signature verified with creatorapi.webhook,
--- the event printed, and optionally forwarded byte for byte to --forward-to.
--
-- Sockets: LuaSocket (Debian lua-socket), one connection at a time; the
-- forward uses LuaSocket's HTTP client (http:// only: LuaSocket has no TLS).
local core = require "creatorapi.core"
local webhook = require "creatorapi.webhook"

local M = {}

M.MAX_BODY = 1024 * 1024       -- a delivery is a few hundred bytes
M.READ_TIMEOUT = 10            -- seconds for one request to arrive completely

local REASONS = { [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized", [405] = "Method Not Allowed",
  [502] = "Bad Gateway" }

local function respond(conn, status, body)
  conn:send(string.format("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" ..
    "Connection: close\r\n\r\n%s", status, REASONS[status] or "Status", #body, body))
end

-- Reads one request from conn → parser | nil, message.
local function read_request(socket, conn)
  local q = core.http_request(M.MAX_BODY)
  local deadline = socket.gettime() + M.READ_TIMEOUT
  conn:settimeout(0)
  while true do
    local left = deadline - socket.gettime()
    if left <= 0 then return nil, "timed out reading the request" end
    local ready = socket.select({ conn }, nil, left)
    if ready and #ready > 0 then
      local data, err, partial = conn:receive(8192)
      local bytes = data or partial
      if bytes and #bytes > 0 then
        local st, _, msg = q:feed(bytes)
        if st == "done" then return q end
        if not st then return nil, msg end
      end
      if err == "closed" then
        local st, _, msg = q:feed_eof()
        if st == "done" then return q end
        return nil, msg
      end
    end
  end
end

-- POSTs the raw body with the signature to `url`; → status | nil, message.
local function forward(url, body, headers)
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  local sink = {}
  local _, status = http.request{
    url = url, method = "POST", source = ltn12.source.string(body), sink = ltn12.sink.table(sink),
    headers = { ["content-type"] = headers["content-type"] or "application/json",
      ["content-length"] = tostring(#body), [webhook.HEADER:lower()] = headers[webhook.HEADER:lower()] },
  }
  if type(status) ~= "number" then return nil, tostring(status) end
  return status
end

--- run{ host=, port=, secrets={...}, forward_to=, max_events=, on_event(event), log(line) } → exit code
--  on_ready(url) is called once the socket listens.
function M.run(opts)
  local socket = require "socket"
  local server, err = socket.bind(opts.host or "127.0.0.1", opts.port or 0)
  if not server then
    opts.log(string.format("creatorapi: cannot listen on %s:%s: %s", tostring(opts.host), tostring(opts.port), err))
    return 1
  end
  local ip, port = server:getsockname()
  opts.on_ready(string.format("http://%s:%d/", ip, port))
  local events = 0
  while not opts.max_events or events < opts.max_events do
    local conn = server:accept()
    if conn then
      local peer = conn:getpeername() or "?"
      local q, rerr = read_request(socket, conn)
      if not q then
        opts.log("creatorapi: bad request from " .. peer .. ": " .. tostring(rerr))
        respond(conn, 400, core.json_encode({ error = tostring(rerr) }))
      elseif q:method() ~= "POST" then
        respond(conn, 405, '{"error":"POST only"}')
      else
        local headers, body = q:headers(), q:body()
        local event, verr = webhook.verify{ body = body, headers = headers, secrets = opts.secrets,
          tolerance = opts.tolerance }
        if not event then
          opts.log(tostring(verr) .. " (delivery from " .. peer .. ", rejected with 401)")
          respond(conn, 401, core.json_encode({ error = verr.reason }))
        else
          events = events + 1
          opts.on_event(event)
          if opts.forward_to then
            local status, ferr = forward(opts.forward_to, body, headers)
            opts.log(string.format("creatorapi: forwarded %s to %s: %s", tostring(event.event), opts.forward_to,
              status and ("HTTP " .. status) or tostring(ferr)))
            respond(conn, status or 502, status and '{"received":true,"forwarded":true}' or '{"error":"forward failed"}')
          else
            respond(conn, 200, '{"received":true}')
          end
        end
      end
      conn:close()
    end
  end
  server:close()
  return 0
end

return M
