-- Credentials in answers and logs (issue 11 row 7): a key the server echoes
-- into a SUCCESSFUL answer (request id, meta, headers) never reaches res.meta,
-- stats() or a log line; an excerpt is redacted before it is cut (no key
-- prefix left at the cut); a password in base_url never reaches a log.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO
local KEY = DEMO.cv_key
local P = "/openapi/v1"

describe("redaction of answers and logs (mock API) #jit", function()
  local m, lines, cv

  local function logger(_, msg) lines[#lines + 1] = msg end
  local function all_logs() return table.concat(lines, "\n") end

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)
  before_each(function()
    lines = {}
    m:curl("DELETE", "/_mock/faults")
    cv = creatorapi.creativault{ base_url = m.url, api_key = KEY, user_identity = DEMO.cv_identity,
      logger = logger, max_retries = 0 }
  end)
  after_each(function() cv:close() end)

  local function answer(path, status, body, headers)
    local rule = string.format('{"kind":"status","status":%d,"path":%q,"body":%q%s}', status, path, body,
      headers and (',"headers":' .. headers) or "")
    local out = m:curl("POST", "/_mock/faults", rule)
    assert.is_nil(out:find('"error"'), out)
  end

  it("a key echoed into a successful CreatiVault answer's meta is redacted everywhere", function()
    answer(P .. "/collection/tasks/status", 200, '{"success":true,"data":{"task_id":"t","status":"completed"},'
      .. '"error":null,"meta":{"request_id":"req-' .. KEY .. '","note":{"who":"key ' .. KEY .. '"}}}',
      '{"X-Echo":"' .. KEY .. '"}')
    local res = assert(cv:task_status{ task_id = "t" })
    assert.equal("req-[REDACTED]", res.meta.request_id)
    assert.equal("key [REDACTED]", res.meta.note.who)
    assert.equal("[REDACTED]", res.headers["x-echo"])
    assert.equal("req-[REDACTED]", cv:stats().last_request_id)
    assert.is_nil(all_logs():find(KEY, 1, true))
  end)

  it("a key echoed into a successful KeyAPI requestId is redacted", function()
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, logger = logger }
    answer("/v1/tiktok/influencer/list/analytics", 200,
      '{"code":0,"message":"ok ' .. DEMO.keyapi_key .. '","data":[],"requestId":"' .. DEMO.keyapi_key .. '"}')
    local res = assert(ka:influencer_list{ region = "US" })
    assert.equal("[REDACTED]", res.meta.request_id)
    assert.equal("ok [REDACTED]", res.meta.message)
    assert.equal("[REDACTED]", ka:stats().last_request_id)
    ka:close()
  end)

  it("an error excerpt is redacted before it is cut: no key prefix at the cut", function()
    for _, at in ipairs({ 185, 190, 195, 199 }) do
      answer(P .. "/collection/tasks/status", 502, string.rep("x", at) .. KEY .. " and more text after it")
      local _, err = cv:task_status{ task_id = "t" }
      assert.is_string(err.body_excerpt)
      assert.truthy(#err.body_excerpt <= 200)
      assert.is_nil(err.body_excerpt:find(KEY:sub(1, 4), 1, true), at .. ": " .. err.body_excerpt)
      assert.is_nil(tostring(err):find(KEY:sub(1, 6), 1, true))
    end
  end)

  it("a password in base_url never reaches a log line (insecure warning, failures)", function()
    local url = m.url:gsub("^http://", "http://ops:hunter2secret@")
    local c = creatorapi.creativault{ base_url = url, api_key = KEY, user_identity = DEMO.cv_identity,
      insecure = true, logger = logger, max_retries = 0 }
    answer(P .. "/collection/tasks/status", 500, '{"success":false,"data":null,"error":{"code":50001,'
      .. '"message":"boom at ' .. url .. '"},"meta":{}}')
    c:task_status{ task_id = "t" }
    c:close()
    local text = all_logs()
    assert.truthy(text:find("TLS verification is OFF", 1, true))
    assert.truthy(#lines >= 2)
    assert.is_nil(text:find("hunter2secret", 1, true), text)
  end)
end)
