-- A client keeps its last answer's buffers for the next request (answer.c
-- → curl_engine.c, no malloc per call). An answer must never show bytes of
-- the one before: alternating long and short answers on one client decode
-- exactly as each does on a fresh client, and an error answer after a long
-- success carries only its own excerpt.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("answer buffers reused across calls #jit", function()
  local m
  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  local function cv()
    return creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      max_retries = 0, rate_limit = false }
  end
  local function search(c, size) return c:search_tiktok{ country_code = "US", size = size } end

  it("long, short, long, short answers on one client equal a fresh client's", function()
    local c = cv()
    for _, size in ipairs{ 50, 1, 20, 1, 50, 2 } do
      local res = assert(search(c, size))
      local fresh = cv()
      local want = assert(search(fresh, size))
      fresh:close()
      assert.are.equal(size, #res.data)
      assert.are.same(want.data, res.data)
    end
    c:close()
  end)

  it("an error answer, an empty body and a cut-off answer after a long success are read from their own bytes", function()
    local c = cv()
    local path = "/openapi/v1/creators/tiktok/search"
    local function long() assert.are.equal(50, #assert(search(c, 50)).data) end
    local function call() return search(c, 50) end
    long()
    m:curl("POST", "/_mock/faults", string.format('{"kind":"status","status":400,"path":"%s","body":{"success":false,"error":{"code":40001,"message":"short"}}}', path))
    local res, err = call()
    assert.is_nil(res)
    assert.are.equal(400, err.status)
    assert.are.equal("short", err.vendor_message)
    long()
    m:curl("POST", "/_mock/faults", string.format('{"kind":"empty","path":"%s"}', path))
    res, err = call()
    assert.is_nil(res)
    assert.are.equal("protocol", err.kind)
    assert.are.equal("HTTP 200: empty response body", err.message)
    long()
    m:curl("POST", "/_mock/faults", string.format('{"kind":"invalid_json","path":"%s"}', path))
    res, err = call()
    assert.is_nil(res)
    assert.are.equal('{"success":true,"data":[{"uid":"12",', err.body_excerpt)
    long()
    c:close()
  end)
end)
