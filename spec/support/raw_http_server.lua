--[[
  raw_http_server.lua — a tiny HTTP/1.1 test peer for spec/core_client_spec.lua.

  usage: lua5.4 spec/support/raw_http_server.lua PORT

  LuaSocket, one coroutine per connection, a select() loop: several
  connections are served concurrently, keep-alive is honoured, and a
  request may sleep without blocking the others. It records every request
  (method, target, lower-cased headers, body, connection number) and how
  many TCP connections carried API requests.

  Control paths (answered with Connection: close, never counted):
    /__log    → Lua source `return { connections = n, requests = {...} }`
    /__reset  → forget the log and the connection count
    /__quit   → exit
  Canned routes (path without query):
    /cv/ok                      CreatiVault success envelope
    /cv/gzip                    the same kind of envelope gzip-encoded (Content-Encoding: gzip)
    /cv/err/<code>/<http>       CreatiVault error envelope (429 adds Retry-After: 60)
    /cv/fail200                 success:false with HTTP 200 (code 40001)
    /cv/nocode                  success:false, error null, HTTP 200
    /cv/retry-date              429 + Retry-After as an HTTP date 120 s ahead
    /ka/ok                      KeyAPI success envelope
    /ka/err/<code>/<http>       KeyAPI error envelope
    /html502                    502 text/html page
    /notjson                    200 text/plain
    /noenvelope                 200 JSON without an envelope
    /status/<http>              bare status, JSON {"detail": "..."} body
    /big/<n>                    200, a JSON string of n bytes, Content-Length
    /bigstream/<n>              200, n bytes, no Content-Length (read to close)
    /sleep/<seconds>            CreatiVault success after a delay
    /redirect                   302 to /cv/ok
    /echo-key                   body echoes the X-API-Key header (redaction test)
    /file/<n>                   n bytes of content(n) (below); honours Range: bytes=a- / a-b (206)
    /file-norange/<n>           the same bytes, always 200 (ignores Range)
    /file-slow/<n>/<chunk>/<s>  200, n bytes in chunks of <chunk> bytes every <s> seconds
    /file-stall/<n>             200, Content-Length n, sends 100 bytes, then stalls (60 s)
    /redirect-file/<n>          302 to /file/<n>
    /stall-headers              reads the request, never answers (60 s)
  Absolute-form targets (a request sent through a proxy) are routed on their path.

  Scripted answers (spec/core_retry_spec.lua): POST /__script with a Lua
  chunk returning { [path] = { step, step, ... }, ... }. The k-th request to
  `path` gets step k (the last step repeats). A step is
    { status = 200, headers = {..}, body = "...",  -- default: a CreatiVault ok envelope
      delay = s,                -- wait s seconds before answering
      close = true,             -- read the request, close without answering
      stall = true,             -- send the headers (Content-Length = #body) and
                                -- `partial` (default 0) body bytes, then stall 60 s
      retry_after_date = s }    -- Retry-After as an HTTP date s seconds ahead
  Scripts are forgotten on /__reset.

  content(n) is "%09d\n" for line 0, 1, 2, ... cut to n bytes, so every
  offset has a distinct, checkable byte pattern.
]]
local socket = require "socket"

local port = assert(tonumber(arg[1]), "usage: raw_http_server.lua PORT")
local server = assert(socket.bind("127.0.0.1", port))
server:settimeout(0)

local log, connections, next_conn = {}, 0, 0
local scripts, script_hits = {}, {}

local content_cache = {}
local function content(n)
  if content_cache[n] then return content_cache[n] end
  local lines = {}
  for i = 0, (n + 9) // 10 - 1 do lines[#lines + 1] = string.format("%09d\n", i) end
  local s = table.concat(lines):sub(1, n)
  content_cache[n] = s
  return s
end
local clients = {} -- list of { sock=, co=, wait = "read"|"write"|"sleep", wake = t }

local function serialize(v, out)
  local t = type(v)
  if t == "table" then
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      out[#out + 1] = "["
      serialize(k, out)
      out[#out + 1] = "]="
      serialize(x, out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = string.format("%q", v)
  else
    out[#out + 1] = tostring(v)
  end
  return out
end

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

local REASONS = { [200] = "OK", [206] = "Partial Content", [302] = "Found", [408] = "Request Timeout",
  [410] = "Gone", [416] = "Range Not Satisfiable", [504] = "Gateway Timeout", [400] = "Bad Request",
  [401] = "Unauthorized",
  [402] = "Payment Required", [403] = "Forbidden", [404] = "Not Found", [422] = "Unprocessable Entity",
  [429] = "Too Many Requests", [500] = "Internal Server Error", [502] = "Bad Gateway",
  [503] = "Service Unavailable" }

local function cv_ok(extra)
  return '{"success":true,"data":{"echo":true,"items":[1,2,3]' .. (extra or "") ..
    '},"error":null,"meta":{"request_id":"req_ok","quota_remaining":-1}}'
end

-- Range: bytes=a- or a-b against a body of n bytes → first, last (0-based)
local function parse_range(h, n)
  if not h then return nil end
  local a, b = h:match("^bytes=(%d+)-(%d*)$")
  if not a then return nil end
  a, b = tonumber(a), tonumber(b) or n - 1
  if b >= n then b = n - 1 end
  if a > b then return "bad" end
  return a, b
end

-- Returns status, headers table, body, options
-- ({sleep=, stream=, close=, stall=, partial=, chunk=, every=, zeros=})
local function route(req)
  -- absolute-form targets come through a proxy: route on the path part
  local path = req.target:gsub("^https?://[^/]*", ""):match("^[^?]*")
  local code, http
  local steps = scripts[path]
  if steps then
    local k = (script_hits[path] or 0) + 1
    script_hits[path] = k
    local st = steps[math.min(k, #steps)]
    local h = {}
    for name, v in pairs(st.headers or {}) do h[name] = v end
    if st.retry_after_date then h["Retry-After"] = http_date(os.time() + st.retry_after_date) end
    return st.status or 200, h, st.body or cv_ok(),
      { sleep = st.delay, close = st.close, stall = st.stall, partial = st.partial }
  end
  local n = path:match("^/file/(%d+)$")
  if n then
    n = tonumber(n)
    local body = content(n)
    local a, b = parse_range(req.headers["range"], n)
    if a == "bad" then
      return 416, { ["Content-Range"] = "bytes */" .. n, ["Content-Type"] = "text/plain" }, ""
    elseif a then
      return 206, { ["Content-Range"] = ("bytes %d-%d/%d"):format(a, b, n), ["Accept-Ranges"] = "bytes",
        ["Content-Type"] = "application/octet-stream" }, body:sub(a + 1, b + 1)
    end
    return 200, { ["Accept-Ranges"] = "bytes", ["Content-Type"] = "application/octet-stream" }, body
  end
  n = path:match("^/file%-norange/(%d+)$")
  if n then
    return 200, { ["Content-Type"] = "application/octet-stream" }, content(tonumber(n))
  end
  local chunk, every
  n, chunk, every = path:match("^/file%-slow/(%d+)/(%d+)/([%d.]+)$")
  if n then
    return 200, { ["Content-Type"] = "application/octet-stream" }, content(tonumber(n)),
      { chunk = tonumber(chunk), every = tonumber(every) }
  end
  n = path:match("^/file%-stall/(%d+)$")
  if n then
    return 200, { ["Content-Type"] = "application/octet-stream" }, content(tonumber(n)),
      { stall = true, partial = 100 }
  end
  n = path:match("^/redirect%-file/(%d+)$")
  if n then
    return 302, { Location = "/file/" .. n }, ""
  end
  n = path:match("^/zeros/(%d+)$")
  if n then
    return 200, { ["Content-Type"] = "application/octet-stream", ["Content-Length"] = n }, "",
      { zeros = tonumber(n) }
  end
  if path == "/stall-headers" then
    return 200, {}, cv_ok(), { sleep = 60 }
  end
  if path == "/cv/ok" then
    return 200, {}, cv_ok()
  end
  if path == "/cv/gzip" then
    -- gzip of {"success":true,"data":{"list":[{"uid":"gz1"}],"total":1},"error":null,"meta":{"request_id":"req_gzip"}}
    return 200, { ["Content-Encoding"] = "gzip" },
      "\31\139\8\0\0\0\0\0\2\3\37\203\59\10\128\48\16\5\192\187\188\58\141\237\94\69\68\130\46\33"
      .. "\16\141\238\167\73\200\221\21\45\167\152\14\245\109\99\85\144\137\115\192\30\45\130\58\74"
      .. "\86\3\205\29\158\119\16\82\155\48\150\0\171\22\11\104\26\1\44\82\5\116\122\41\1\7\255\77"
      .. "\248\118\86\91\191\244\98\77\45\95\24\227\1\214\232\59\28\104\0\0\0"
  end
  code, http = path:match("^/cv/err/(%d+)/(%d+)$")
  if code then
    local h = {}
    if http == "429" then h["Retry-After"] = "60" end
    return tonumber(http), h, '{"success":false,"data":null,"error":{"code":' .. code ..
      ',"message":"cv error ' .. code .. '"},"meta":{"request_id":"req_' .. code .. '"}}'
  end
  if path == "/cv/fail200" then
    return 200, {}, '{"success":false,"data":null,"error":{"code":40001,"message":"bad param"},' ..
      '"meta":{"request_id":"req_f200"}}'
  end
  if path == "/cv/nocode" then
    return 200, {}, '{"success":false,"data":null,"error":null,"meta":null}'
  end
  if path == "/cv/retry-date" then
    return 429, { ["Retry-After"] = http_date(os.time() + 120) },
      '{"success":false,"data":null,"error":{"code":42901,"message":"slow down"},"meta":{"request_id":"req_rd"}}'
  end
  if path == "/ka/ok" then
    return 200, {}, '{"code":0,"message":"success","data":{"x":1,"list":["a","b"]},"requestId":"rid-ok"}'
  end
  code, http = path:match("^/ka/err/(%d+)/(%d+)$")
  if code then
    local h = {}
    if http == "429" then h["Retry-After"] = "7" end
    return tonumber(http), h, '{"code":' .. code .. ',"message":"ka error ' .. code ..
      '","data":null,"requestId":"rid-' .. code .. '"}'
  end
  if path == "/html502" then
    return 502, { ["Content-Type"] = "text/html" },
      "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1>" ..
      "</center><hr><center>nginx</center></body>\r\n</html>\r\n" .. string.rep("<!-- padding -->\n", 40)
  end
  if path == "/notjson" then
    return 200, { ["Content-Type"] = "text/plain" }, "hello, this is not json"
  end
  if path == "/noenvelope" then
    return 200, {}, '{"hello":"world"}'
  end
  http = path:match("^/status/(%d+)$")
  if http then
    return tonumber(http), {}, '{"detail":"status ' .. http .. '"}'
  end
  n = path:match("^/big/(%d+)$")
  if n then
    return 200, {}, '{"success":true,"data":"' .. string.rep("a", tonumber(n)) .. '","meta":{}}'
  end
  n = path:match("^/bigstream/(%d+)$")
  if n then
    return 200, {}, '{"success":true,"data":"' .. string.rep("a", tonumber(n)) .. '","meta":{}}',
      { stream = true }
  end
  local secs = path:match("^/sleep/([%d.]+)$")
  if secs then
    return 200, {}, cv_ok(), { sleep = tonumber(secs) }
  end
  if path == "/redirect" then
    return 302, { Location = "/cv/ok" }, ""
  end
  if path == "/echo-key" then
    return 400, { ["Content-Type"] = "text/plain" }, "bad key " .. tostring(req.headers["x-api-key"])
  end
  return 404, {}, '{"success":false,"data":null,"error":{"code":40401,"message":"no route"},"meta":{}}'
end

-- Connection coroutine -----------------------------------------------------

local function handle(st)
  local sock, buf = st.sock, ""
  local conn_no, counted

  local function fill()
    local data, err, partial = sock:receive(65536)
    local chunk = data or partial
    if chunk and #chunk > 0 then
      buf = buf .. chunk
      return true
    end
    if err == "closed" then return false end
    st.wait = "read"
    coroutine.yield()
    return true
  end

  local function send_all(s)
    local i = 1
    while i <= #s do
      local sent, err, last = sock:send(s, i)
      if sent then
        i = sent + 1
      elseif err == "timeout" then
        i = last + 1
        st.wait = "write"
        coroutine.yield()
      else
        return false
      end
    end
    return true
  end

  while true do
    -- headers
    local hend
    repeat
      hend = buf:find("\r\n\r\n", 1, true)
      if not hend and buf:byte(1) == 22 then
        -- a TLS ClientHello on this plain-HTTP port: answer in clear text
        -- so the client fails its handshake at once
        send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
      end
      if not hend and not fill() then return end
    until hend
    local head = buf:sub(1, hend - 1)
    buf = buf:sub(hend + 4)
    local method, target = head:match("^(%u+) (%S+) HTTP/1%.%d")
    if not method then return end
    local headers = {}
    for line in head:gmatch("\r\n([^\r\n]*)") do
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      if k then headers[k:lower()] = v end
    end
    local len = tonumber(headers["content-length"] or "0")
    while #buf < len do
      if not fill() then return end
    end
    local body = buf:sub(1, len)
    buf = buf:sub(len + 1)

    local control = target:sub(1, 3) == "/__"
    if control then
      local out = ""
      if target == "/__log" then
        out = table.concat(serialize({ connections = connections, requests = log }, { "return " }))
      elseif target == "/__reset" then
        log, connections = {}, 0
        scripts, script_hits = {}, {}
      elseif target == "/__script" then
        local chunk = load(body, "=script", "t", {})
        local ok, t = pcall(chunk or error)
        if ok and type(t) == "table" then
          for p, steps in pairs(t) do
            scripts[p], script_hits[p] = steps, 0
          end
        else
          out = "bad script"
        end
      elseif target == "/__quit" then
        send_all("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        os.exit(0)
      end
      send_all("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " .. #out ..
        "\r\nConnection: close\r\n\r\n" .. out)
      return
    end

    if not counted then
      counted = true
      connections = connections + 1
      next_conn = next_conn + 1
      conn_no = next_conn
    end
    log[#log + 1] = { method = method, target = target, headers = headers, body = body, conn = conn_no,
                      t = socket.gettime() }

    local status, rh, rbody, opts = route({ method = method, target = target, headers = headers })
    opts = opts or {}
    if opts.sleep then
      st.wait, st.wake = "sleep", socket.gettime() + opts.sleep
      coroutine.yield()
    end
    if opts.close then return end -- read the request, answer nothing
    local lines = { "HTTP/1.1 " .. status .. " " .. (REASONS[status] or "Status") }
    rh["Content-Type"] = rh["Content-Type"] or "application/json"
    rh["X-Request-Id"] = "hdr-req-id"
    if opts.stream or opts.every then
      rh["Connection"] = "close"
    elseif opts.zeros then
      rh["Content-Length"] = tostring(opts.zeros)
    else
      rh["Content-Length"] = tostring(#rbody)
    end
    for k, v in pairs(rh) do lines[#lines + 1] = k .. ": " .. v end
    if not send_all(table.concat(lines, "\r\n") .. "\r\n\r\n") then return end
    if opts.zeros then
      local block, left = string.rep("\0", 1048576), opts.zeros
      while left > 0 do
        if not send_all(left >= #block and block or block:sub(1, left)) then return end
        left = left - #block
      end
      goto continue
    end
    if opts.stall then
      if not send_all(rbody:sub(1, opts.partial or 0)) then return end
      st.wait, st.wake = "sleep", socket.gettime() + 60
      coroutine.yield()
      return
    end
    if opts.every then
      for i = 1, #rbody, opts.chunk do
        if not send_all(rbody:sub(i, i + opts.chunk - 1)) then return end
        st.wait, st.wake = "sleep", socket.gettime() + opts.every
        coroutine.yield()
      end
      return
    end
    if opts.stream then
      -- in slices, so the client's write callback sees many chunks
      for i = 1, #rbody, 16384 do
        if not send_all(rbody:sub(i, i + 16383)) then return end
      end
      return
    end
    if not send_all(rbody) then return end
    ::continue::
  end
end

-- Main loop -------------------------------------------------------------------

while true do
  local readers, writers, timeout = { server }, {}, 0.05
  local now = socket.gettime()
  for _, st in ipairs(clients) do
    if st.wait == "read" then readers[#readers + 1] = st.sock
    elseif st.wait == "write" then writers[#writers + 1] = st.sock
    elseif st.wait == "sleep" then timeout = math.max(0, math.min(timeout, st.wake - now)) end
  end
  local r, w = socket.select(readers, writers, timeout)
  local ready = {}
  for _, s in ipairs(r) do ready[s] = true end
  for _, s in ipairs(w) do ready[s] = true end
  if ready[server] then
    local c = server:accept()
    while c do
      c:settimeout(0)
      c:setoption("tcp-nodelay", true)
      local st = { sock = c }
      st.co = coroutine.create(function() handle(st) end)
      st.wait = "new"
      clients[#clients + 1] = st
      c = server:accept()
    end
  end
  now = socket.gettime()
  local keep = {}
  for _, st in ipairs(clients) do
    local run = st.wait == "new" or ready[st.sock] or (st.wait == "sleep" and now >= st.wake)
    if run then
      st.wait = nil
      local ok, err = coroutine.resume(st.co)
      if not ok then io.stderr:write("raw_http_server: ", tostring(err), "\n") end
    end
    if coroutine.status(st.co) == "dead" then
      st.sock:close()
    else
      keep[#keep + 1] = st
    end
  end
  clients = keep
end
