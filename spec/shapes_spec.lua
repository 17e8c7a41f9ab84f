-- Envelope shapes (issue 11 row 5): a well-formed envelope whose `data` (or a
-- field a helper reads) has the wrong type gives every helper a `protocol`
-- error naming the path and the field, with an excerpt — never a raw Lua error.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local DEMO = mock.DEMO
local P = "/openapi/v1"

-- The wrong values `data` (or one of its fields) takes, as JSON text.
local BAD = {
  { "null", "null" }, { "a number", "42" }, { "a boolean", "true" }, { "a string", '"done"' },
  { "an array", '[1,2]' }, { "an object", '{"x":1}' },
}

describe("helpers on wrongly shaped answers (mock API) #jit", function()
  local m, cv, ka, dir

  setup(function()
    m = mock.start{ "--time-scale", "200" }
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      max_retries = 0 }
    ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, max_retries = 0 }
    local p = assert(io.popen("mktemp -d"))
    dir = p:read("*l")
    p:close()
  end)
  teardown(function()
    if cv then cv:close() end
    if ka then ka:close() end
    if m then m:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)
  before_each(function() m:curl("DELETE", "/_mock/faults") end)

  -- The next answer of `path` is 200 with this envelope text.
  local function answer(path, body, count)
    local rule = string.format('{"kind":"status","status":200,"path":%q,"count":%d,"body":%s}',
      path, count or 1, string.format("%q", body))
    local out = m:curl("POST", "/_mock/faults", rule)
    assert.is_nil(out:find('"error"'), out)
  end
  local function cv_env(data) return '{"success":true,"data":' .. data .. ',"error":null,"meta":{"request_id":"rid-1"}}' end
  local function ka_env(data) return '{"code":0,"message":"success","data":' .. data .. ',"requestId":"rid-2"}' end

  local function is_protocol(err, path, field)
    assert.is_table(err)
    assert.equal("protocol", err.kind)
    assert.equal(path, err.path)
    assert.equal(field, err.field)
    assert.is_string(err.body_excerpt)
    assert.is_false(err.retryable)
    assert.truthy(tostring(err):find(field, 1, true), tostring(err))
  end

  local function each_bad(skip, fn)
    for _, b in ipairs(BAD) do
      if b[1] ~= skip then fn(b[1], b[2]) end
    end
  end

  each_bad("an object", function(name, json)
    it("wait_task: data " .. name, function()
      answer(P .. "/collection/tasks/status", cv_env(json))
      local st, err = cv:wait_task("t-1", { interval = 0.01 })
      assert.is_nil(st)
      is_protocol(err, P .. "/collection/tasks/status", "data")
      assert.equal("t-1", err.task_id)
    end)
    it("collect_profiles: submit data " .. name, function()
      answer(P .. "/collection/tasks/submit", cv_env(json))
      local rows, err = cv:collect_profiles{ platform = "tiktok", values = { "https://www.tiktok.com/@a" } }
      assert.is_nil(rows)
      is_protocol(err, P .. "/collection/tasks/submit", "data")
    end)
    it("collect_keywords: submit data " .. name, function()
      answer(P .. "/collection/tasks/keyword-submit", cv_env(json))
      local rows, err = cv:collect_keywords{ platform = "tiktok", keywords = { "beauty" } }
      assert.is_nil(rows)
      is_protocol(err, P .. "/collection/tasks/keyword-submit", "data")
    end)
    it("each_task_row: data " .. name, function()
      answer(P .. "/collection/tasks/data", cv_env(json))
      local rows, err = creatorapi.collect(cv:each_task_row("t-1"))
      assert.same({}, rows)
      is_protocol(err, P .. "/collection/tasks/data", "data")
      assert.equal(1, err.resume)
    end)
    it("download: download-url data " .. name, function()
      answer(P .. "/files/download-url", cv_env(json))
      local r, err = cv:download("f-1", dir .. "/x.bin")
      assert.is_nil(r)
      is_protocol(err, P .. "/files/download-url", "data")
    end)
  end)

  each_bad("an array", function(name, json)
    it("each_creator: data " .. name, function()
      answer(P .. "/creators/tiktok/search", cv_env(json))
      local rows, err = creatorapi.collect(cv:each_creator("tiktok", { keyword = "a" }))
      assert.same({}, rows)
      is_protocol(err, P .. "/creators/tiktok/search", "data")
    end)
    it("KeyAPI each_influencer: data " .. name, function()
      answer("/v1/tiktok/influencer/list/analytics", ka_env(json))
      local rows, err = creatorapi.collect(ka:each_influencer{ region = "US" })
      assert.same({}, rows)
      is_protocol(err, "/v1/tiktok/influencer/list/analytics", "data")
    end)
  end)

  -- The fields the helpers read, each with every wrong type.
  each_bad(nil, function(name, json)
    if name ~= "a string" then
      it("wait_task: data.status " .. name, function()
        answer(P .. "/collection/tasks/status", cv_env('{"task_id":"t-1","status":' .. json .. '}'))
        local st, err = cv:wait_task("t-1", { interval = 0.01 })
        assert.is_nil(st)
        is_protocol(err, P .. "/collection/tasks/status", "data.status")
      end)
      it("collect_profiles: data.task_id " .. name, function()
        answer(P .. "/collection/tasks/submit", cv_env('{"task_id":' .. json .. '}'))
        local rows, err = cv:collect_profiles{ platform = "tiktok", values = { "https://www.tiktok.com/@a" } }
        assert.is_nil(rows)
        is_protocol(err, P .. "/collection/tasks/submit", "data.task_id")
      end)
      it("download: data.file_url " .. name, function()
        answer(P .. "/files/download-url", cv_env('{"file_id":"f-1","file_url":' .. json .. '}'))
        local r, err = cv:download("f-1", dir .. "/y.bin")
        assert.is_nil(r)
        is_protocol(err, P .. "/files/download-url", "data.file_url")
      end)
    end
    if name ~= "an array" then
      it("each_task_row: data.items " .. name, function()
        answer(P .. "/collection/tasks/data", cv_env('{"items":' .. json .. ',"total":3}'))
        local rows, err = creatorapi.collect(cv:each_task_row("t-1"))
        assert.same({}, rows)
        is_protocol(err, P .. "/collection/tasks/data", "data.items")
      end)
    end
  end)

  it("a shape error is complete after a good page: the rows so far and resume", function()
    answer("/v1/tiktok/influencer/list/analytics", ka_env("null"))
    local it1 = ka:each_influencer({ region = "US" }, { start_page = 3 })
    local rows, err = creatorapi.collect(it1)
    assert.same({}, rows)
    assert.equal(3, err.resume)
  end)

  it("the excerpt shows what came, redacted before it is cut", function()
    local key = DEMO.cv_key
    local long = string.rep("x", 195) .. key
    answer(P .. "/collection/tasks/status", cv_env(string.format("%q", long)))
    local _, err = cv:wait_task("t-1")
    assert.equal("protocol", err.kind)
    assert.is_nil(err.body_excerpt:find(key:sub(1, 5), 1, true))
    assert.truthy(#err.body_excerpt <= 200)
    assert.truthy(err.body_excerpt:find("xxxx", 1, true), err.body_excerpt)
    assert.equal(core.null, core.json_decode("null"))
  end)
end)
