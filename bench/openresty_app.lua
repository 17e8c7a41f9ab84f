--- ngx_lua side of bench/openresty.lua: the same KeyAPI list requests made
--- (a) through creatorapi (cosocket transport, parse, JSON decode) and
--- (b) through a raw ngx.socket.tcp (hand-written GET, Content-Length read,
--- bytes discarded: the floor).
--   /b/raw?n=&conc=   /b/sdk?n=&conc=   n requests over conc light threads
local core = require "creatorapi.core"
local cosocket = require "creatorapi.transport.cosocket"

local B = {}
local KEY = "kapi_demo_key_0001"
local TARGET = "/v1/tiktok/influencer/list/analytics?region=US&page_num=1&page_size=10"
local url = assert(os.getenv("CREATORAPI_MOCK_URL"), "env CREATORAPI_MOCK_URL; missing")
local HOST, PORT = url:match("^https?://([^:/]+):(%d+)")
PORT = tonumber(PORT)

local t = cosocket.new(nil, {})

-- The SDK path: the KeyAPI client when the clients take a transport (after
-- the issue-7 core refactor), else the transport plus core JSON decode.
local ka
local ok_sdk = pcall(function()
  ka = require("creatorapi").keyapi{ base_url = url, api_key = KEY, transport = "cosocket" }
end)
local P = { method = "GET", scheme = "http", host = HOST, port = PORT, target = TARGET,
  path = "/v1/tiktok/influencer/list/analytics", user_agent = "creatorapi-bench",
  headers = { "Accept: application/json", "Authorization: Bearer " .. KEY },
  retry = "safe", fresh = false, timeout = 30, connect_timeout = 10 }

local function sdk_one()
  if ok_sdk then
    local res = assert(ka:influencer_list{ region = "US", page_num = 1, page_size = 10 })
    assert(#res.data == 10)
    return
  end
  local raw = t:send(P)
  assert(raw.status == 200, raw.message)
  assert(#core.json_decode(raw.body).data == 10)
end

local REQ = "GET " .. TARGET .. " HTTP/1.1\r\nHost: " .. HOST .. ":" .. PORT
  .. "\r\nUser-Agent: raw\r\nAccept: application/json\r\nAuthorization: Bearer " .. KEY .. "\r\n\r\n"

local function raw_one()
  local sock = ngx.socket.tcp()
  sock:settimeouts(10000, 30000, 30000)
  assert(sock:connect(HOST, PORT))
  assert(sock:send(REQ))
  local line = assert(sock:receive("*l"))
  assert(line:find(" 200 "), line)
  local len
  repeat
    line = assert(sock:receive("*l"))
    local v = line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")
    if v then len = tonumber(v) end
  until line == ""
  assert(len, "no Content-Length")
  assert(sock:receive(len))
  sock:setkeepalive(60000, 64)
end

local function run(one, n, conc)
  local left, threads = n, {}
  local t0 = core.monotonic()
  for c = 1, conc do
    threads[c] = ngx.thread.spawn(function()
      while left > 0 do
        left = left - 1
        one()
      end
    end)
  end
  for c = 1, conc do
    local ok, err = ngx.thread.wait(threads[c])
    assert(ok, err)
  end
  return core.monotonic() - t0
end

function B.handle()
  local args = ngx.req.get_uri_args()
  local n, conc = tonumber(args.n) or 1, tonumber(args.conc) or 1
  local one = ngx.var.uri == "/b/raw" and raw_one or sdk_one
  local ok, secs = pcall(run, one, n, conc)
  ngx.header["Content-Type"] = "application/json"
  if not ok then
    ngx.status = 500
    return ngx.say(core.json_encode{ error = tostring(secs) })
  end
  ngx.say(core.json_encode{ seconds = secs, n = n, conc = conc, sdk = ok_sdk and "client" or "transport" })
end

return B
