-- Every endpoint of both APIs, called from Lua over HTTP against the mock.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("CreatiVault endpoints (mock API) #jit", function()
  local m, cv

  setup(function()
    m = mock.start()
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
  end)
  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
  end)

  it("searches YouTube with its own field set", function()
    local res = assert(cv:search_youtube{ country_code = "US", followers_cnt_gte = 50000, size = 5, service_level = "S1" })
    assert.equal(5, #res.data)
    for _, c in ipairs(res.data) do
      assert.is_string(c.channel_url)       -- YouTube S1 has channel_url, not profile_url
      assert.is_nil(c.profile_url)
    end
    assert.equal("/openapi/v1/creators/youtube/search", m:last_request().path)
  end)

  it("searches Instagram, and search_creators dispatches by platform", function()
    local res = assert(cv:search_creators("instagram", { country_code = "US", is_product_kol = true, size = 3 }))
    assert.equal(3, #res.data)
    assert.equal("/openapi/v1/creators/instagram/search", m:last_request().path)
    local _, err = cv:search_creators("myspace", {})
    assert.equal("validation", err.kind)
    assert.equal("platform", err.field)
  end)

  it("finds lookalikes sorted by match_score, clamps the limit, and 404s an unknown seed", function()
    local res = assert(cv:lookalike{ username = "@creator_demo", platform = "tiktok", limit = 1000 })
    local items = res.data.items
    assert.is_true(#items > 0 and #items <= 50)
    local prev = 101
    for _, it in ipairs(items) do
      assert.is_true(it.match_score >= 0 and it.match_score <= 100)
      assert.is_true(it.match_score <= prev)
      prev = it.match_score
    end
    assert.equal("creator_demo", creatorapi.json.decode(m:last_request().body).username)   -- '@' stripped
    assert.equal(#items, res.meta.credits_consumed)   -- S1: 1 credit per item
    local none, err = cv:lookalike{ username = "no_such_creator_xyz", platform = "tiktok" }
    assert.is_nil(none)
    assert.equal("not_found", err.kind)
    assert.equal(40401, err.code)
  end)

  it("verify_webhook sends no credentials", function()
    local res = assert(cv:verify_webhook("test_connectivity_12345"))
    assert.equal("test_connectivity_12345", res.data.challenge)
    assert.is_string(res.data.timestamp)
    local r = m:last_request()
    assert.equal("/openapi/v1/webhook/verify", r.path)
    assert.is_nil(r.headers["x-api-key"])
    assert.is_nil(r.headers["x-user-identity"])
  end)

  it("call() reaches endpoints the SDK has no method for, with the envelope handled", function()
    local res = assert(cv:call("/creators/tiktok/search", { size = 2, service_level = "S1" }))
    assert.equal(2, #res.data)
    local _, err = cv:call("/creators/nl-search", { query = "x" })
    assert.equal("not_found", err.kind)
    assert.equal(404, err.status)
  end)

  it("download_url sends no identity header and finds files by id or newest name", function()
    -- needs a file: a tiny completed task exported as CSV (see workflow_spec for the full flow)
    local _, err = cv:download_url{ file_id = "00000000000000000000000000000000" }
    assert.equal("not_found", err.kind)
    local r = m:last_request()
    assert.equal(DEMO.cv_key, r.headers["x-api-key"])
    assert.is_nil(r.headers["x-user-identity"])
    local _, verr = cv:download_url{}
    assert.equal("validation", verr.kind)
  end)

  it("submits tasks and checks their inputs before sending", function()
    local res = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "another.user" }, task_name = "spec" })
    assert.matches("^task_", res.data.task_id)
    assert.equal("submitted", res.data.status)
    assert.equal(2, res.data.total_count)
    local kw = assert(cv:submit_keyword_task{ platform = "tiktok", keywords = { "beauty tips" } })
    assert.equal(1, kw.data.total_count)
    local values = {}
    for i = 1, 501 do values[i] = "u" .. i end
    local _, err = cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok", values = values }
    assert.equal("values", err.field)
    _, err = cv:submit_keyword_task{ platform = "tiktok", keywords = {} }
    assert.equal("keywords", err.field)
    _, err = cv:submit_task{ task_type = "SCRAPE_ALL", platform = "tiktok", values = { "a" } }
    assert.equal("task_type", err.field)
  end)

  it("reports an unknown task as not_found", function()
    local _, err = cv:task_status{ task_id = "task_19990101_nope00" }
    assert.equal("not_found", err.kind)
    assert.equal(40401, err.code)
  end)
end)

describe("KeyAPI endpoints (mock API) #jit", function()
  local m, ka, someone

  setup(function()
    m = mock.start()
    ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
    someone = assert(ka:influencer_list{ region = "US", influencer_sort_field_v2 = 1, sort_type = 1,
      page_size = 1 }).data[1]
  end)
  teardown(function()
    if ka then ka:close() end
    if m then m:stop() end
  end)

  it("influencer_detail by user_id and by @unique_id", function()
    local res = assert(ka:influencer_detail{ user_id = someone.user_id })
    assert.equal(someone.unique_id, res.data[1].unique_id)
    res = assert(ka:influencer_detail{ unique_id = "@" .. someone.unique_id })
    assert.equal(someone.user_id, res.data[1].user_id)
    local _, err = ka:influencer_detail{}
    assert.equal("user_id", err.field)
    local ids = {}
    for i = 1, 11 do ids[i] = tostring(i) end
    _, err = ka:influencer_detail{ user_id = ids }
    assert.equal("validation", err.kind)
  end)

  it("videos, products, livestreams, trends and ranking", function()
    local v = assert(ka:influencer_videos{ user_id = someone.user_id, video_sort_field = 2, sort_type = 1 })
    assert.is_true(#v.data <= 10)
    if #v.data > 1 then assert.is_true(v.data[1].total_views_cnt >= v.data[2].total_views_cnt) end
    assert.is_table(assert(ka:influencer_products{ user_id = someone.user_id }).data)
    assert.is_table(assert(ka:influencer_livestreams{ user_id = someone.user_id }).data)
    local t = assert(ka:influencer_trends{ user_id = someone.user_id })
    assert.is_true(#t.data > 0)
    assert.is_true(t.data[1].dt <= t.data[#t.data].dt)
    local r = assert(ka:influencer_ranking{ region = "US", rank_type = 1 })
    assert.equal(1, r.data[1].rank)
    assert.equal("/v1/tiktok/influencer/ranking/analytics", m:last_request().path)
  end)

  it("each() pages any paged endpoint; each_influencer pages the list", function()
    local n = 0
    for row in ka:each_influencer({ region = "US" }, { max_items = 25 }) do
      n = n + 1
      assert.equal("US", row.region)
    end
    assert.equal(25, n)
    local pages = 0
    for _, r in ipairs(m:get_json("/_mock/requests?limit=10").requests) do
      if r.path == "/v1/tiktok/influencer/list/analytics" and r.query:find("page_size=10", 1, true) then
        pages = pages + 1
      end
    end
    assert.is_true(pages >= 3)
    assert.has_error(function() ka:each("influencer_detail", {}) end)
  end)

  it("get() reaches any KeyAPI path and 404s unknown creators", function()
    local _, err = ka:get("/v1/tiktok/influencer/detail/analytics", { user_id = "999999999999" })
    assert.equal("not_found", err.kind)
    assert.equal(404, err.code)
  end)
end)
