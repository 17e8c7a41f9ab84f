-- The real backend may send every scalar in `data` as a string ("123",
-- "true", as the vendor warns). The mock's --string-values serves that shape; the
-- SDK's helpers must still work.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

describe("string-valued responses (mock --string-values) #jit", function()
  local m, cv

  setup(function()
    m = mock.start{ "--string-values", "--time-scale", "300" }
    cv = creatorapi.creativault{ base_url = m.url, api_key = mock.DEMO.cv_key, user_identity = mock.DEMO.cv_identity }
  end)
  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
  end)

  it("returns the data as sent, with numbers as strings, and keeps accounting numeric", function()
    local res = assert(cv:search_tiktok{ size = 3, service_level = "S1" })
    assert.is_string(res.data[1].followers_count)
    assert.is_number(tonumber(res.data[1].followers_count))
    assert.is_true(res.data[1].has_email == "true" or res.data[1].has_email == "false")
    assert.equal(3, res.meta.credits_consumed)       -- meta is never stringified
    assert.equal(3, cv:stats().credits_consumed)
  end)

  it("polls tasks and pages their rows when counts and progress are strings", function()
    local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "jane.doe" } })
    local updates = 0
    local st = assert(cv:wait_task(sub.data.task_id, { interval = 0.05, max_interval = 0.1,
      on_progress = function() updates = updates + 1 end }))
    assert.equal("completed", st.status)
    assert.equal("2", st.total)
    assert.is_true(updates >= 2)
    local rows = creatorapi.collect(cv:each_task_row(sub.data.task_id))
    assert.equal(2, #rows)
    assert.equal("150000", rows[1].followers_count)
  end)

  it("paginates creators when the page is full of strings", function()
    local n = 0
    for c in cv:each_creator("tiktok", { service_level = "S1" }, { size = 4, max_items = 10 }) do
      n = n + 1
      assert.is_string(c.uid)
    end
    assert.equal(10, n)
  end)
end)
