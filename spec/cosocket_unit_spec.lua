-- The parts of the cosocket transport that need no nginx: request bytes and
-- phase detection (the transport under real nginx: openresty_async_spec).
local cosocket = require "creatorapi.transport.cosocket"

describe("transport.cosocket without nginx #jit", function()
  local function p(over)
    local t = { method = "GET", scheme = "http", host = "127.0.0.1", port = 8080, target = "/v1/x?a=1",
      headers = { "Accept: application/json", "Authorization: Bearer k" }, user_agent = "ua/1", fresh = false }
    for k, v in pairs(over or {}) do t[k] = v end
    return t
  end

  it("writes request line, Host (port only when not the default), User-Agent, headers", function()
    assert.equal("GET /v1/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: ua/1\r\n"
      .. "Accept: application/json\r\nAuthorization: Bearer k\r\n\r\n", table.concat(cosocket.request_bytes(p())))
    assert.matches("\r\nHost: api.example\r\n", table.concat(cosocket.request_bytes(p{ scheme = "https",
      host = "api.example", port = 443 })), 1, true)
    assert.matches("\r\nHost: [::1]:9\r\n", table.concat(cosocket.request_bytes(p{ host = "::1", port = 9 })), 1, true)
  end)

  it("adds Content-Length for POST bodies and Connection: close for fresh requests", function()
    local s = table.concat(cosocket.request_bytes(p{ method = "POST", body = '{"a":1}', fresh = true }))
    assert.matches("\r\nContent-Length: 7\r\nConnection: close\r\n", s, 1, true)
    assert.equal('\r\n\r\n{"a":1}', s:sub(-11))
    s = table.concat(cosocket.request_bytes(p{ method = "POST" }))
    assert.matches("\r\nContent-Length: 0\r\n", s, 1, true)
    assert.is_nil(table.concat(cosocket.request_bytes(p())):find("Content-Length", 1, true))
  end)

  it("is available only where ngx_lua allows cosockets", function()
    assert.is_false(cosocket.available())
    local saved = rawget(_G, "ngx")
    for phase, want in pairs{ content = true, access = true, rewrite = true, timer = true,
        init = false, init_worker = false, log = false, header_filter = false, body_filter = false,
        set = false, balancer = false } do
      rawset(_G, "ngx", { socket = {}, get_phase = function() return phase end })
      assert.equal(want, cosocket.available(), phase)
      assert.equal(want, cosocket.new(nil, {}):available(), phase)
      assert.is_false(cosocket.new({ config = function() return { proxy = "http://p:3128" } end }, {}):available())
    end
    rawset(_G, "ngx", saved)
  end)
end)
