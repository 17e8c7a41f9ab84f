-- Parameter validation runs before anything is sent: a wrong type, an
-- out-of-range value or a missing required field costs no request.
local validate = require "creatorapi.validate"
local errors = require "creatorapi.errors"
local creatorapi = require "creatorapi"

describe("validate.check #jit", function()
  local spec = {
    page = { type = "integer", min = 1, max = 200 },
    size = { type = "integer", min = 1, max = 100, default = 50 },
    rate = { type = "number", min = 0, max = 100 },
    name = { type = "string", required = true },
    flag = { type = "boolean" },
    order = { type = "string", enum = { "asc", "desc" } },
    countries = { type = "list" },
    values = { type = "string_array", min = 1, max = 3 },
    day = { type = "date" },
    gender = { type = "string", enum = { "0", "1" }, map = { female = "0", male = "1" } },
  }

  local function bad(params, field, pattern)
    local out, err = validate.check(spec, params, "t")
    assert.is_nil(out)
    assert.is_true(errors.is_error(err))
    assert.equal("validation", err.kind)
    assert.equal(field, err.field)
    assert.is_false(err.retryable)
    if pattern then assert.matches(pattern, err.message) end
  end

  it("accepts valid params, applies defaults and passes unknown names through when asked", function()
    local out = assert(validate.check(spec, { name = "x", page = 2, future_filter = "kept" }, "t", "pass"))
    assert.equal(2, out.page)
    assert.equal(50, out.size)
    assert.equal("kept", out.future_filter)
    local warned = {}
    out = assert(validate.check(spec, { name = "x", pag = 3 }, "t", "warn", function(m) warned[#warned + 1] = m end))
    assert.equal(3, out.pag)
    assert.equal(1, #warned)
    assert.matches("did you mean `page`?", warned[1], 1, true)
  end)

  it("refuses an unknown name by default, with the closest declared names", function()
    local res, err = validate.check(spec, { name = "x", pages = 2 }, "t")
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("pages", err.field)
    assert.same({ "page" }, err.suggestions)
    assert.matches("unknown parameter for t (did you mean `page`?)", err.message, 1, true)
  end)

  it("suggests by edit distance, ignoring case, '-' and '_'", function()
    local names = { "followers_cnt_gte", "followers_cnt_lte", "country_code", "influencer_sort_field_v2",
      "max_items", "language_code", "keyword" }
    assert.same({ "followers_cnt_gte", "followers_cnt_lte" }, validate.suggest("follower_cnt_gte", names, 2))
    assert.same({ "country_code" }, validate.suggest("countrycode", names))
    assert.same({ "country_code" }, validate.suggest("Country-Code", names))
    assert.same({ "influencer_sort_field_v2" }, validate.suggest("influencer_sort_field", names))
    assert.same({ "max_items" }, validate.suggest("max_item", names))
    assert.same({ "keyword" }, validate.suggest("keywrod", names))            -- a transposition
    assert.same({}, validate.suggest("zzzzzz", names))
    assert.equal("did you mean `max_items`?", validate.did_you_mean("max_item", { max_items = true }))
    assert.is_nil(validate.did_you_mean("qqqq", { max_items = true }))
    assert.equal(1, validate.distance("abc", "acb"))
    assert.equal(3, validate.distance("kitten", "sitting"))
  end)

  it("rejects wrong types with the field name", function()
    bad({ name = "x", page = "two" }, "page", "integer")
    bad({ name = "x", page = 1.5 }, "page", "integer")
    bad({ name = 7 }, "name", "string")
    bad({ name = "x", flag = "true" }, "flag", "boolean")
    bad({ name = "x", rate = "abc" }, "rate", "number")
    bad({ name = "x", rate = 0 / 0 }, "rate", "finite")
    bad({ name = "x", day = "2026/01/01" }, "day", "YYYY%-MM%-DD")
  end)

  it("rejects out-of-range values", function()
    -- the bounds are inclusive, for Lua integers (their short path) and other forms alike
    for _, v in ipairs{ 1, 200, "1", "200", 1.0, 200.0 } do
      assert.equal(math.tointeger and math.tointeger(tonumber(v)) or tonumber(v),
        assert(validate.check(spec, { name = "x", page = v }, "t")).page)
    end
    bad({ name = "x", page = 0 }, "page", ">= 1")
    bad({ name = "x", page = 201 }, "page", "<= 200")
    bad({ name = "x", size = 101 }, "size", "<= 100")
    bad({ name = "x", rate = 100.5 }, "rate", "<= 100")
  end)

  it("rejects values outside an enum and names the allowed ones", function()
    bad({ name = "x", order = "down" }, "order", '"asc", "desc"')
  end)

  it("reports a missing required field", function()
    bad({}, "name", "required")
  end)

  it("coerces integral strings and floats to integers", function()
    local out = assert(validate.check(spec, { name = "x", page = "7", size = 20.0 }))
    assert.equal(7, out.page)
    assert.equal(20, out.size)
    if math.type then
      assert.equal("integer", math.type(out.page))
      assert.equal("integer", math.type(out.size))
    end
  end)

  it("joins lists with commas", function()
    local out = assert(validate.check(spec, { name = "x", countries = { "US", "CA" } }))
    assert.equal("US,CA", out.countries)
    out = assert(validate.check(spec, { name = "x", countries = "US,GB" }))
    assert.equal("US,GB", out.countries)
    bad({ name = "x", countries = {} }, "countries", "empty")
  end)

  it("checks string arrays and their item counts, and keeps them JSON arrays", function()
    local out = assert(validate.check(spec, { name = "x", values = { "a", "b" } }))
    assert.same({ "a", "b" }, out.values)
    assert.equal(creatorapi.json.array_mt, getmetatable(out.values))
    bad({ name = "x", values = {} }, "values", "at least 1")
    bad({ name = "x", values = { "a", "b", "c", "d" } }, "values", "at most 3")
    bad({ name = "x", values = { "a", 5 } }, "values", "item 2")
    bad({ name = "x", values = "a" }, "values", "list")
  end)

  it("maps accepted spellings to the canonical value", function()
    assert.equal("0", assert(validate.check(spec, { name = "x", gender = "female" })).gender)
    assert.equal("1", assert(validate.check(spec, { name = "x", gender = "1" })).gender)
    bad({ name = "x", gender = "other" }, "gender")
  end)

  it("drops null values", function()
    local out = assert(validate.check(spec, { name = "x", page = creatorapi.null }))
    assert.is_nil(out.page)
  end)

  it("raises for a non-table params argument (a programming error)", function()
    assert.has_error(function() validate.check(spec, "page=1", "t") end)
  end)

  it("renders validation errors readably", function()
    local _, err = validate.check(spec, { name = "x", page = 0 }, "t")
    local text = tostring(err)
    assert.matches("validation", text)
    assert.matches("page", text)
  end)
end)

describe("client constructors #jit", function()
  it("raise on unknown options and wrong option types (programming errors)", function()
    assert.has_error(function() creatorapi.creativault{ api_kye = "x" } end)
    assert.has_error(function() creatorapi.creativault{ timeout = "10" } end)
    assert.has_error(function() creatorapi.keyapi("key") end)
  end)

  it("validate before sending: no server is needed to get a validation error", function()
    -- Port 9 (discard) on loopback: if anything were sent this would be a network error.
    local cv = creatorapi.creativault{ api_key = "k", user_identity = "a@b.c", base_url = "http://127.0.0.1:9" }
    local res, err = cv:search_tiktok{ size = 500 }
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("size", err.field)
    res, err = cv:search_tiktok{ sort_field = "likes" }
    assert.is_nil(res)
    assert.equal("sort_field", err.field)
    res, err = cv:submit_task{ task_type = "LINK_BATCH", platform = "tiktok", values = { "u" },
                                webhook_url = "http://example.com/hook" }
    assert.is_nil(res)
    assert.equal("webhook_url", err.field)
    res, err = cv:lookalike{ platform = "tiktok" }
    assert.is_nil(res)
    assert.equal("username", err.field)
    assert.equal(0, cv:stats().requests)
    cv:close()

    local ka = creatorapi.keyapi{ api_key = "k", base_url = "http://127.0.0.1:9" }
    res, err = ka:influencer_list{ region = "US", page_size = 11 }
    assert.is_nil(res)
    assert.equal("page_size", err.field)
    res, err = ka:influencer_list{ page_num = 1 }
    assert.is_nil(res)
    assert.equal("region", err.field)
    res, err = ka:influencer_list{ region = "US", page_num = 10001 }
    assert.is_nil(res)
    assert.equal("page_num", err.field)
    assert.equal(0, ka:stats().requests)
    ka:close()
  end)
end)
