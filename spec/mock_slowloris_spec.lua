-- The mock under a slowloris (issue 11 row 13): 1 100 connections that send
-- half a request and stall must not starve other clients — /_mock/health
-- answers every one of 20 probes during the attack.
local socket = require "socket"
local mock = require "support.mock"

describe("mock under a slowloris #slow", function()
  local m, socks = nil, {}
  setup(function() m = mock.start() end)
  teardown(function()
    for _, s in ipairs(socks) do s:close() end
    if m then m:stop() end
  end)

  it("answers /_mock/health while 1 100 connections stall mid-headers", function()
    local host, port = "127.0.0.1", m.port
    for i = 1, 1100 do
      local s = socket.tcp()
      s:settimeout(2)
      local ok = s:connect(host, port)
      if not ok then break end
      s:send("GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Slow-" .. i .. ": ")   -- never finished
      socks[#socks + 1] = s
    end
    assert.equal(1100, #socks)
    socket.sleep(0.5)
    local ok = 0
    for _ = 1, 20 do
      local p = assert(io.popen("curl -s -m 3 -o /dev/null -w '%{http_code}' '" .. m.url .. "/_mock/health'"))
      if p:read("*a") == "200" then ok = ok + 1 end
      p:close()
    end
    assert.equal(20, ok)
  end)
end)
