-- KeyAPI influencer list analytics over real HTTP against the bundled mock API.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("KeyAPI influencer_list (mock API) #jit", function()
  local m, ka

  setup(function()
    m = mock.start()
    ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
  end)

  teardown(function()
    if ka then ka:close() end
    if m then m:stop() end
  end)

  it("returns a page of rows with the seed's fields and integer counts", function()
    local res, err = ka:influencer_list{ region = "US", page_num = 1, page_size = 10 }
    assert.is_nil(err)
    assert.equal(200, res.status)
    assert.equal(10, #res.data)
    for _, r in ipairs(res.data) do
      assert.equal("US", r.region)
      assert.is_string(r.user_id)
      assert.is_string(r.unique_id)
      assert.is_number(r.total_followers_cnt)
      if math.type then assert.equal("integer", math.type(r.total_followers_cnt)) end
      assert.is_number(r.ec_score)
    end
    assert.is_string(res.meta.request_id)
    assert.equal("success", res.meta.message)
  end)

  it("sends a GET with the query string and Bearer auth as the seed's curl example", function()
    assert(ka:influencer_list{ region = "US", page_num = 2, page_size = 10, influencer_sort_field_v2 = 1,
      sort_type = 1, min_total_followers_cnt = 1000.0, influencer_category_name = "Beauty & Care" })
    local r = m:last_request()
    assert.equal("GET", r.method)
    assert.equal("/v1/tiktok/influencer/list/analytics", r.path)
    assert.equal("Bearer " .. DEMO.keyapi_key, r.headers["authorization"])
    assert.is_nil(r.headers["x-api-key"])
    assert.is_nil(r.headers["content-type"])
    assert.equal("", r.body)
    -- keys sorted, integers exact (1000.0 is sent as 1000), values percent-encoded
    assert.equal("influencer_category_name=Beauty%20%26%20Care&influencer_sort_field_v2=1"
      .. "&min_total_followers_cnt=1000&page_num=2&page_size=10&region=US&sort_type=1", r.query)
  end)

  it("applies filters and sorting", function()
    local res = assert(ka:influencer_list{ region = "US", min_total_followers_cnt = 50000,
      influencer_sort_field_v2 = 1, sort_type = 1 })
    local prev = math.huge
    for _, r in ipairs(res.data) do
      assert.is_true(r.total_followers_cnt >= 50000)
      assert.is_true(r.total_followers_cnt <= prev)
      prev = r.total_followers_cnt
    end
    local asc = assert(ka:influencer_list{ region = "US", influencer_sort_field_v2 = 1, sort_type = 0 })
    assert.is_true(asc.data[1].total_followers_cnt <= asc.data[#asc.data].total_followers_cnt)
  end)

  it("counts one credit per request", function()
    local before = ka:stats()
    assert(ka:influencer_list{ region = "GB" })
    local after = ka:stats()
    assert.equal(before.credits_consumed + 1, after.credits_consumed)
    assert.equal(before.requests + 1, after.requests)
  end)

  it("validates page_size <= 10 and required region before sending", function()
    local before = m:get_json("/_mock/stats").requests
    local res, err = ka:influencer_list{ region = "US", page_size = 50 }
    assert.is_nil(res)
    assert.equal("page_size", err.field)
    res, err = ka:influencer_list{}
    assert.is_nil(res)
    assert.equal("region", err.field)
    assert.equal(before, m:get_json("/_mock/stats").requests)
  end)

  it("maps the server's 400 to a validation error", function()
    local res, err = ka:get("/v1/tiktok/influencer/list/analytics", { region = "US", page_num = 1, page_size = 50 })
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal(400, err.status)
    assert.equal(400, err.code)
  end)

  local cases = {
    { "an unknown key", "kapi_wrong_0001", 401, "auth", false },
    { "no credits", "kapi_nocredit_0001", 402, "credits", false },
    { "the rate limit", "kapi_ratelimited_0001", 429, "rate_limited", true },
  }
  for _, case in ipairs(cases) do
    it("maps " .. case[1] .. " to " .. case[4], function()
      -- no retries: the always-429 key answers Retry-After: 60, which a retry would honour
      local c = creatorapi.keyapi{ base_url = m.url, api_key = case[2], max_retries = 0 }
      local res, err = c:influencer_list{ region = "US" }
      c:close()
      assert.is_nil(res)
      assert.equal(case[3], err.status)
      assert.equal(case[3], err.code)
      assert.equal(case[4], err.kind)
      assert.equal(case[5], err.retryable)
      if case[4] == "rate_limited" then assert.equal(60, err.retry_after) end
      if case[2] then assert.is_nil(tostring(err):find(case[2], 1, true)) end
    end)
  end
end)
