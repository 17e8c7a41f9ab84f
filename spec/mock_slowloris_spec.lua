-- The mock under a slowloris (issue 11 row 13): 1 100 connections that send
-- half a request and stall, or trickle one header byte at a time, must not
-- starve other clients — /_mock/health answers every one of 20 probes during
-- the attack — and a request whose headers are not complete within
-- --header-timeout is closed however often it sends a byte (libmicrohttpd's
-- idle timeout alone restarts on every byte).
local socket = require "socket"
local mock = require "support.mock"

local function health_probes(m, n)
  local ok = 0
  for _ = 1, n do
    local p = assert(io.popen("curl -s -m 3 -o /dev/null -w '%{http_code}' '" .. m.url .. "/_mock/health'"))
    if p:read("*a") == "200" then ok = ok + 1 end
    p:close()
  end
  return ok
end

-- Opens n connections that each send the start of a request with an
-- unfinished header line.
local function open_slow(m, n, socks)
  for i = 1, n do
    local s = socket.tcp()
    s:settimeout(2)
    if not s:connect("127.0.0.1", m.port) then break end
    s:send("GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Slow-" .. i .. ": ")   -- never finished
    s:settimeout(0)
    socks[#socks + 1] = s
  end
end

-- True once the mock has closed s (end of file or reset on a read).
local function closed_by_peer(s)
  local _, err = s:receive(1)
  return err ~= nil and err ~= "timeout"
end

-- Sends one more header byte on every open socket each `every` seconds until
-- the mock has closed them all or `limit` seconds have passed; `during` runs
-- once after the first round. Returns how many the mock closed.
local function trickle(socks, every, limit, during)
  local open, closed = {}, 0
  for i, s in ipairs(socks) do open[i] = s end
  local deadline = socket.gettime() + limit
  while #open > 0 and socket.gettime() < deadline do
    local still = {}
    for _, s in ipairs(open) do
      if closed_by_peer(s) then closed = closed + 1
      else
        s:send("a")
        still[#still + 1] = s
      end
    end
    open = still
    if during then during(); during = nil end
    socket.sleep(every)
  end
  return closed
end

describe("mock under a slowloris #slow", function()
  local m, socks = nil, {}
  local function close_all()
    for _, s in ipairs(socks) do s:close() end
    socks = {}
  end
  after_each(function()
    close_all()
    if m then m:stop() end
    m = nil
  end)

  it("answers /_mock/health while 1 100 connections stall mid-headers", function()
    m = mock.start()
    open_slow(m, 1100, socks)
    assert.equal(1100, #socks)
    socket.sleep(0.5)
    assert.equal(20, health_probes(m, 20))
  end)

  it("closes 1 100 connections that trickle header bytes past --header-timeout, answering health meanwhile", function()
    m = mock.start{ "--header-timeout", "2", "--quiet" }
    open_slow(m, 1100, socks)
    assert.equal(1100, #socks)
    local ok
    -- one byte per connection every 0.5 s keeps the 60 s idle timer from
    -- ever firing; only the header bound can end these connections
    local closed = trickle(socks, 0.5, 60, function() ok = health_probes(m, 20) end)
    assert.equal(20, ok)
    assert.equal(1100, closed)
    local s = m:get_json("/_mock/stats")
    assert.is_true(s.header_timeouts >= 1100)  -- (a probe delayed past 2 s on a loaded machine would add one)
    assert.equal(20, health_probes(m, 20))
  end)

  it("leaves a request alone once its headers are in, however long the answer takes", function()
    m = mock.start{ "--header-timeout", "2", "--quiet" }
    assert.equal('{"ok":true,"pending":1}',
      m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":4.5,"path":"/openapi/v1/creators/tiktok/search"}'))
    local p = assert(io.popen("curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -d '{}' '"
      .. m.url .. "/openapi/v1/creators/tiktok/search'"))
    local code = p:read("*a")
    p:close()
    assert.equal("401", code)           -- the real answer (no key), not a closed connection
    assert.equal(1, m:get_json("/_mock/faults").fired)
    assert.equal(0, m:get_json("/_mock/stats").header_timeouts)
  end)

  it("refuses a bad --header-timeout with exit status 2", function()
    local bin = os.getenv("CREATORAPI_MOCK_BIN") or "build/creatorapi-mock"
    for _, v in ipairs{ "soon", "-1", "1e9", "" } do
      local p = assert(io.popen("'" .. bin .. "' --port 0 --header-timeout '" .. v .. "' 2>&1; echo \"rc=$?\""))
      local out = p:read("*a")
      p:close()
      assert.matches("bad %-%-header%-timeout", out)
      assert.matches("rc=2", out)
    end
  end)
end)
