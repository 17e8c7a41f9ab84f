-- CreatiVault search over real HTTP against the bundled mock API.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local json = creatorapi.json
local null = creatorapi.null
local DEMO = mock.DEMO

describe("CreatiVault search_tiktok (mock API) #jit", function()
  local m, cv

  setup(function()
    m = mock.start()
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
  end)

  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
  end)

  it("returns creators as plain tables with integer counts, sorted as asked", function()
    local res, err = cv:search_tiktok{ keyword = "beauty", country_code = "US", followers_cnt_gte = 10000,
      sort_field = "followers_cnt", sort_order = "desc", service_level = "S2", size = 20 }
    assert.is_nil(err)
    assert.equal(200, res.status)
    assert.equal(20, #res.data)
    local prev = math.huge
    for _, c in ipairs(res.data) do
      assert.is_string(c.uid)
      assert.is_string(c.username)
      assert.equal("US", c.country_code)
      assert.is_true(c.followers_count >= 10000)
      assert.is_true(c.followers_count <= prev)
      prev = c.followers_count
      if math.type then assert.equal("integer", math.type(c.followers_count)) end
      assert.is_nil(tostring(c.followers_count):find("%.0$"))
    end
    local meta = res.meta
    assert.matches("^req_", meta.request_id)
    assert.equal(1, meta.page)
    assert.equal(20, meta.size)
    assert.equal("S2", meta.service_level)
    assert.equal(60, meta.credits_consumed)       -- 3 credits per row at S2
    assert.is_number(meta.credits_remaining)
    assert.is_number(meta.total)                  -- 3 filters: total is counted
  end)

  it("sends exactly the documented request", function()
    local params = { keyword = "beauty", country_code = "US", followers_cnt_gte = 10000, page = 1, size = 20,
      sort_field = "followers_cnt", sort_order = "desc", service_level = "S2", lang = "en" }
    assert(cv:search_tiktok(params))
    local r = m:last_request()
    assert.equal("POST", r.method)
    assert.equal("/openapi/v1/creators/tiktok/search", r.path)
    assert.equal(DEMO.cv_key, r.headers["x-api-key"])
    assert.equal(DEMO.cv_identity, r.headers["x-user-identity"])
    assert.equal("application/json", r.headers["content-type"])
    assert.is_nil(r.headers["authorization"])
    local body = assert(json.decode(r.body))
    assert.same(params, body)
    if math.type then assert.equal("integer", math.type(body.followers_cnt_gte)) end
    assert.is_nil(r.body:find("10000%.0"))
  end)

  it("leaves meta.total null with two filters or fewer", function()
    local res = assert(cv:search_tiktok{ country_code = "US", size = 5 })
    assert.equal(null, res.meta.total)
    assert.equal(5, #res.data)
  end)

  it("returns the field set of the service level and charges its rate", function()
    local s1 = assert(cv:search_tiktok{ size = 4, service_level = "S1" })
    local c = s1.data[1]
    assert.is_not_nil(c.followers_count)
    assert.is_nil(c.country_code)          -- S2 field
    assert.equal(4, s1.meta.credits_consumed)
    local s3 = assert(cv:search_tiktok{ size = 4, service_level = "S3" })
    assert.is_not_nil(s3.data[1].audience_female_rate)
    assert.is_not_nil(s3.data[1].country_code)
    assert.equal(16, s3.meta.credits_consumed)
  end)

  it("pages through distinct rows", function()
    local p1 = assert(cv:search_tiktok{ size = 10, page = 1 })
    local p2 = assert(cv:search_tiktok{ size = 10, page = 2 })
    local seen = {}
    for _, c in ipairs(p1.data) do seen[c.uid] = true end
    for _, c in ipairs(p2.data) do assert.is_nil(seen[c.uid]) end
    assert.equal(2, p2.meta.page)
  end)

  it("turns an empty result into an empty array that re-encodes as []", function()
    local res = assert(cv:search_tiktok{ keyword = "zzzz-no-such-creator-zzzz" })
    assert.equal(0, #res.data)
    assert.equal("[]", json.encode(res.data))
    assert.equal(0, res.meta.credits_consumed)
  end)

  it("keeps accounting in stats()", function()
    local before = cv:stats()
    local res = assert(cv:search_tiktok{ size = 3, service_level = "S1" })
    local after = cv:stats()
    assert.equal(before.requests + 1, after.requests)
    assert.equal(before.credits_consumed + 3, after.credits_consumed)
    assert.equal(res.meta.request_id, after.last_request_id)
    assert.equal(res.meta.credits_remaining, after.credits_remaining)
  end)

  it("validates before sending: an invalid call costs no request", function()
    local before = m:get_json("/_mock/stats").requests
    local res, err = cv:search_tiktok{ size = 101 }
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("size", err.field)
    res, err = cv:search_tiktok{ page = 201 }
    assert.is_nil(res)
    assert.equal("page", err.field)
    res, err = cv:search_tiktok{ followers_cnt_gte = "many" }
    assert.is_nil(res)
    assert.equal("followers_cnt_gte", err.field)
    assert.equal(before, m:get_json("/_mock/stats").requests)   -- nothing was sent
  end)

  it("reuses one TCP connection for 20 sequential calls", function()
    local c2 = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    local before = m:get_json("/_mock/stats").connections
    for _ = 1, 20 do assert(c2:search_tiktok{ size = 1, service_level = "S1" }) end
    local after = m:get_json("/_mock/stats").connections
    -- +1 for the client's connection, +1 for the curl CLI's own stats request
    assert.equal(before + 2, after)
    c2:close()
  end)

  it("reports the server's 40001 when the API itself rejects a value", function()
    -- An unknown name passes SDK validation; a known one with a value only the
    -- server checks goes to the server through call().
    local res, err = cv:call("/creators/tiktok/search", { size = 0 })
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal(40001, err.code)
    assert.equal(400, err.status)
    assert.matches("^req_", err.request_id)
  end)
end)

describe("CreatiVault errors (mock API) #jit", function()
  local m

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  local function search_with(key, identity)
    local cv = creatorapi.creativault{ base_url = m.url, api_key = key, user_identity = identity }
    local res, err = cv:search_tiktok{ size = 2 }
    cv:close()
    return res, err
  end

  local cases = {
    { "an unknown key", "cv_live_nosuchkey_0001", DEMO.cv_identity, 401, 40101, "auth" },
    { "an expired key", "cv_live_expired_0001", DEMO.cv_identity, 401, 40102, "auth" },
    { "a revoked key", "cv_live_revoked_0001", DEMO.cv_identity, 401, 40103, "auth" },
    { "no credits", "cv_live_nocredit_0001", DEMO.cv_identity, 402, 40201, "credits" },
    { "a key without the scope", "cv_live_noscope_0001", DEMO.cv_identity, 403, 40301, "permission" },
    { "an exhausted daily quota", "cv_live_quota_0001", DEMO.cv_identity, 402, 42902, "quota" },
  }
  for _, case in ipairs(cases) do
    it("maps " .. case[1] .. " to kind " .. case[6], function()
      local res, err = search_with(case[2], case[3])
      assert.is_nil(res)
      assert.equal(case[4], err.status)
      assert.equal(case[5], err.code)
      assert.equal(case[6], err.kind)
      assert.is_false(err.retryable)
      assert.is_string(err.message)
      local text = tostring(err)
      assert.matches(tostring(case[5]), text)
      assert.is_nil(text:find(case[2], 1, true))           -- never the key
    end)
  end

  it("refuses a call without a key or identity before sending it (spec/credentials_spec.lua)", function()
    local before = m:get_json("/_mock/stats").requests
    for _, who in ipairs({ { user_identity = DEMO.cv_identity }, { api_key = DEMO.cv_key } }) do
      local cv = creatorapi.creativault{ base_url = m.url, api_key = who.api_key, user_identity = who.user_identity }
      local res, err = cv:search_tiktok{ size = 1 }
      assert.is_nil(res)
      assert.equal("auth", err.kind)
      cv:close()
    end
    assert.equal(before, m:get_json("/_mock/stats").requests)
  end)

  it("refuses a credential with CR/LF before sending anything", function()
    local before = m:get_json("/_mock/stats").requests
    local res, err = search_with(DEMO.cv_key .. "\r\nX-Injected: 1", DEMO.cv_identity)
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.is_nil(tostring(err):find(DEMO.cv_key, 1, true))
    assert.equal(before, m:get_json("/_mock/stats").requests)
  end)
end)
