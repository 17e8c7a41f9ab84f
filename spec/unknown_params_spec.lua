-- A parameter an endpoint does not declare is a validation error naming it,
-- with the closest declared names, and nothing is sent (the APIs silently
-- ignore unknown fields, so a misspelled filter is billed and not applied).
-- unknown_params = "warn" | "pass" (per call or per client) sends it anyway.
-- Unknown iterator and helper options raise (programming errors).
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("unknown parameter names (mock API) #jit", function()
  local m, cv, ka

  setup(function()
    m = mock.start()
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key }
  end)
  teardown(function()
    if cv then cv:close() end
    if ka then ka:close() end
    if m then m:stop() end
  end)

  local function stats() return m:get_json("/_mock/stats") end

  it("refuses a misspelled filter with a suggestion, sending and billing nothing", function()
    local before = stats()
    local cases = {
      { cv, "search_tiktok", { follower_cnt_gte = 50000 }, "follower_cnt_gte", "followers_cnt_gte" },
      { cv, "search_youtube", { countrycode = "US" }, "countrycode", "country_code" },
      { cv, "lookalike", { username = "creator_demo", limt = 5 }, "limt", "limit" },
      { cv, "task_status", { task_id = "t", taskid = "t" }, "taskid", "task_id" },
      { ka, "influencer_list", { region = "US", influencer_sort_field = 1 }, "influencer_sort_field",
        "influencer_sort_field_v2" },
    }
    for _, c in ipairs(cases) do
      local res, err = c[1][c[2]](c[1], c[3])
      assert.is_nil(res)
      assert.equal("validation", err.kind)
      assert.equal(c[4], err.field)
      assert.equal(c[5], err.suggestions[1])
      assert.matches("did you mean `" .. c[5] .. "`", err.message, 1, true)
      assert.matches("nothing was sent", tostring(err), 1, true)
    end
    local after = stats()
    assert.equal(before.requests, after.requests)
    assert.same(before.credits_consumed, after.credits_consumed)
  end)

  it("sends an unknown name with unknown_params = \"pass\", per call or per client", function()
    local res = assert(cv:search_tiktok({ size = 1, service_level = "S1", brand_new_filter = "x" },
      { unknown_params = "pass" }))
    assert.equal(1, #res.data)
    assert.equal("x", creatorapi.json.decode(m:last_request().body).brand_new_filter)
    local loose = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, unknown_params = "pass" }
    assert(loose:influencer_list{ region = "US", brand_new = 1 })
    assert.matches("brand_new=1", m:last_request().query, 1, true)
    -- a per-call "error" is stricter than the client's "pass"
    local _, err = loose:influencer_list({ region = "US", brand_new = 1 }, { unknown_params = "error" })
    assert.equal("validation", err.kind)
    loose:close()
  end)

  it("warns through the logger with unknown_params = \"warn\" and sends it", function()
    local lines = {}
    local c = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity,
      unknown_params = "warn", logger = function(level, msg) lines[#lines + 1] = level .. " " .. msg end }
    assert(c:search_tiktok{ size = 1, service_level = "S1", folowers_cnt_gte = 10 })
    assert.equal(10, creatorapi.json.decode(m:last_request().body).folowers_cnt_gte)
    local found
    for _, l in ipairs(lines) do
      if l:find("^warn folowers_cnt_gte") and l:find("did you mean `followers_cnt_gte`", 1, true) then found = true end
    end
    assert.is_true(found, table.concat(lines, "\n"))
    c:close()
  end)

  it("refuses a misspelled filter inside an iterator before the first request", function()
    local n = stats().requests
    local rows, err = creatorapi.collect(cv:each_creator("tiktok", { follower_cnt_gte = 1 }, { max_items = 5 }))
    assert.equal(0, #rows)
    assert.equal("validation", err.kind)
    assert.equal("follower_cnt_gte", err.field)
    assert.equal(n, stats().requests)
  end)

  it("raises on unknown iterator, helper and option names, with suggestions", function()
    local function raises(pattern, f)
      local ok, e = pcall(f)
      assert.is_false(ok)
      assert.matches(pattern, tostring(e), 1, true)
    end
    raises("unknown option \"max_item\" (did you mean `max_items`?)", function()
      cv:each_creator("tiktok", {}, { max_item = 300 })
    end)
    raises("did you mean `max_items`?", function() ka:each("influencer_list", { region = "US" }, { max_item = 3 }) end)
    raises("did you mean `max_pages`?", function() cv:each_task_row("t", { max_page = 3 }) end)
    raises("did you mean `interval`?", function() cv:wait_task("t", { intervall = 1 }) end)
    raises("did you mean `max_attempts`?", function() cv:download("f", "/tmp/x", { max_attempt = 2 }) end)
    raises("did you mean `max_retries`?", function() cv:search_tiktok({}, { max_retrie = 1 }) end)
    raises("did you mean `max_credits`?", function() creatorapi.keyapi{ max_credit = 5 } end)
    raises("unknown_params must be", function() creatorapi.keyapi{ unknown_params = "ignore" } end)
    raises("unknown_params must be", function() cv:search_tiktok({}, { unknown_params = true }) end)
  end)
end)
