-- The mock under abuse (issue 11 rows 12, 15): the request log keeps bounded
-- bytes (bodies truncated, total capped), fault rules are capped, clock
-- advances are bounded, and Retry-After is written as an integer.
local core = require "creatorapi.core"
local mock = require "support.mock"

local sh = mock.sh

describe("mock limits", function()
  local m, tmp
  setup(function()
    m = mock.start()
    tmp = os.tmpname()
  end)
  teardown(function()
    if m then m:stop() end
    os.remove(tmp)
  end)
  before_each(function() m:curl("POST", "/_mock/reset") end)

  local function body_file(n)
    local f = assert(io.open(tmp, "wb"))
    f:write(string.rep("b", n))
    f:close()
  end

  local function post_many(path, n)
    local urls = {}
    for i = 1, n do urls[i] = "'" .. m.url .. path .. "'" end
    sh("curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary @" .. tmp .. " " .. table.concat(urls, " "))
  end

  it("keeps at most 64 KiB of one logged body and says how long it was", function()
    body_file(1024 * 1024)
    post_many("/openapi/v1/creators/tiktok/search", 1)
    local r = m:get_json("/_mock/requests?limit=1").requests[1]
    assert.equal(65536, #r.body)
    assert.equal(1048576, r.body_bytes)
    assert.is_true(r.body_truncated)
  end)

  it("keeps at most 8 MiB of bodies in the whole log", function()
    body_file(65536)
    post_many("/openapi/v1/creators/tiktok/search", 200)
    local t = m:get_json("/_mock/requests?limit=1000")
    local bytes = 0
    for _, r in ipairs(t.requests) do bytes = bytes + #r.body end
    assert.truthy(bytes <= 8 * 1024 * 1024, bytes)
    assert.truthy(t.count < 200 and t.count >= 100, t.count)
    assert.equal(200, m:get_json("/_mock/stats").requests)
  end)

  local function post_file(path, text)
    local f = assert(io.open(tmp, "wb"))
    f:write(text)
    f:close()
    return sh("curl -s -H 'Content-Type: application/json' --data-binary @" .. tmp .. " '" .. m.url .. path .. "'")
  end

  it("caps the pending fault rules", function()
    local rules = {}
    for i = 1, 10001 do rules[i] = '{"status":500,"path":"/x' .. i .. '"}' end
    local out = post_file("/_mock/faults", '{"faults":[' .. table.concat(rules, ",") .. ']}')
    assert.truthy(out:find("at most 10000", 1, true), out:sub(1, 200))
    assert.equal(0, #m:get_json("/_mock/faults").faults)
    out = post_file("/_mock/faults", '{"faults":[' .. table.concat(rules, ",", 1, 10000) .. ']}')
    assert.truthy(out:find('"ok":true', 1, true), out:sub(1, 200))
    out = m:curl("POST", "/_mock/faults", rules[1])
    assert.truthy(out:find("at most 10000", 1, true), out:sub(1, 200))
  end)

  it("bounds clock advances", function()
    local before = m:get_json("/_mock/clock").now
    for _, bad in ipairs({ "1e17", "-1", '"soon"', "1e400" }) do
      local out = m:curl("POST", "/_mock/clock", '{"advance":' .. bad .. '}')
      assert.truthy(out:find('"error"', 1, true), bad .. ": " .. out)
    end
    assert.truthy(m:get_json("/_mock/clock").now - before < 60)
    assert.truthy(m:curl("POST", "/_mock/clock", '{"advance":3600}'):find("mock_time", 1, true))
    assert.truthy(m:get_json("/_mock/clock").now - before >= 3600)
    assert.is_table(core.json_decode(m:curl("GET", "/openapi/v1/webhook/verify")) or {})
  end)

  it("writes Retry-After as an integer", function()
    assert.truthy(m:curl("POST", "/_mock/faults",
      '{"status":429,"retry_after":3,"path":"/openapi/v1/creators/tiktok/search"}'):find('"ok":true', 1, true))
    local head = sh("curl -s -i -X POST -H 'Content-Type: application/json' --data-binary '{}' '"
      .. m.url .. "/openapi/v1/creators/tiktok/search'")
    assert.truthy(head:find("\nRetry%-After: 3\r\n"), head)
    local out = m:curl("POST", "/_mock/faults", '{"status":429,"retry_after":2.5}')
    assert.truthy(out:find("whole number", 1, true), out)
  end)
end)
