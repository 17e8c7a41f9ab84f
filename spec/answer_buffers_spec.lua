-- A client keeps its last answer's buffers, and its last request's libcurl
-- header list, for the next request (answer.c, curl_engine.c,
-- curl_options.c: no malloc per call). Neither may leak into the next call:
-- alternating long and short answers on one client decode exactly as each
-- does on a fresh client, error answers after a long success are read from
-- their own bytes, and each request sends exactly its own header lines (the
-- mock's request log).
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
    local function long()
      assert.are.equal(50, #assert(search(c, 50)).data)
    end
    -- the next answer of the search path is the fault `rule` (JSON text without "path")
    local function faulted(rule)
      m:curl("POST", "/_mock/faults", string.format('{"path":"%s",%s}', path, rule))
      local res, err = search(c, 50)
      assert.is_nil(res)
      return err
    end
    long()
    local err = faulted('"kind":"status","status":400,'
      .. '"body":{"success":false,"error":{"code":40001,"message":"short"}}')
    assert.are.equal(400, err.status)
    assert.are.equal("short", err.vendor_message)
    long()
    err = faulted('"kind":"empty"')
    assert.are.equal("protocol", err.kind)
    assert.are.equal("HTTP 200: empty response body", err.message)
    long()
    err = faulted('"kind":"invalid_json"')
    assert.are.equal('{"success":true,"data":[{"uid":"12",', err.body_excerpt)
    long()
    c:close()
  end)

  it("each request sends its own header lines, the same list or a changed one", function()
    local c = cv()
    m:curl("DELETE", "/_mock/requests")
    local plan = { {}, { ["X-Trace"] = "1" }, { ["X-Trace"] = "1" }, {}, { ["X-Trace"] = "2", ["X-Other"] = "b" }, {} }
    for _, h in ipairs(plan) do
      assert(c:search_tiktok({ country_code = "US", size = 1 }, next(h) and { headers = h } or nil))
    end
    local log = m:get_json("/_mock/requests?limit=" .. #plan).requests
    assert.are.equal(#plan, #log)
    for i, h in ipairs(plan) do
      local got, n = {}, 0
      for _, nv in ipairs(log[i].headers) do
        local name = nv[1]:lower()
        if name:match("^x%-") and name ~= "x-api-key" and name ~= "x-user-identity" then got[nv[1]] = nv[2] end
        if name == "x-api-key" then n = n + 1 end
      end
      assert.are.same(h, got)
      assert.are.equal(1, n)
    end
    c:close()
  end)
end)

