-- Tests of creatorapi-mock itself, over HTTP (LuaSocket).
-- Uses CREATORAPI_MOCK_BIN or build/creatorapi-mock.
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local BIN = os.getenv("CREATORAPI_MOCK_BIN") or "build/creatorapi-mock"

local CV_KEY, CV_ID = "cv_live_demo_key_0001", "demo@creatorapi.test"
local KAPI_KEY = "kapi_demo_key_0001"

-- Starts the mock; returns { base = "http://127.0.0.1:PORT", pid = n, fh = popen handle }
local function start_mock(args)
  local errfile = os.tmpname()
  local cmd = string.format("sh -c '%s --port 0 --quiet %s & echo $!; wait $!' 2>%s",
    BIN, args or "", errfile)
  local fh = assert(io.popen(cmd, "r"))
  local pid = fh:read("l")
  local first = fh:read("l")
  if not (pid and first) then
    local ef = io.open(errfile)
    local err = ef and ef:read("a") or ""
    if ef then ef:close() end
    os.remove(errfile)
    error("mock did not start (" .. BIN .. "): " .. err)
  end
  os.remove(errfile)
  local base = first:match("^listening on (http://127%.0%.0%.1:%d+)$")
  assert(base, "unexpected first line: " .. first)
  return { base = base, pid = tonumber(pid), fh = fh, first = first }
end

local function stop_mock(m)
  os.execute("kill -TERM " .. m.pid .. " 2>/dev/null")
  return m.fh:close()
end

local function request(m, method, path, body, headers)
  local out = {}
  headers = headers or {}
  if body then headers["Content-Length"] = tostring(#body) end
  local ok, code, rh = http.request {
    url = m.base .. path,
    method = method,
    headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(out),
  }
  assert(ok, code)
  local text = table.concat(out)
  local decoded
  if text ~= "" then
    local okj, v = pcall(cjson.decode, text)
    if okj then decoded = v end
  end
  return code, decoded, text, rh
end

local function cv_headers(key, identity)
  local h = { ["Content-Type"] = "application/json" }
  if key then h["X-API-Key"] = key end
  if identity then h["X-User-Identity"] = identity end
  return h
end

local function search(m, body, key, identity, platform)
  return request(m, "POST", "/openapi/v1/creators/" .. (platform or "tiktok") .. "/search",
    type(body) == "string" and body or cjson.encode(body),
    cv_headers(key == nil and CV_KEY or key or nil, identity == nil and CV_ID or identity or nil))
end

local function kapi(m, query, key)
  local h = {}
  if key ~= false then h.Authorization = "Bearer " .. (key or KAPI_KEY) end
  return request(m, "GET", "/v1/tiktok/influencer/list/analytics?" .. query, nil, h)
end

-- Moves the mock clock to one hour past the start of its next day. The mock
-- clock follows the wall clock, so a test that counts on a one-minute rate
-- window or a daily quota not turning over mid-test would fail when run near
-- 00:00 UTC or across a minute boundary; from 01:00:00 it has an hour.
local function clock_to_quiet_hour(m)
  local _, j = request(m, "GET", "/_mock/clock")
  local now = assert(tonumber(j.now), "GET /_mock/clock has no now")
  local code = request(m, "POST", "/_mock/clock", string.format('{"advance": %.3f}', 86400 - now % 86400 + 3600))
  assert.equal(200, code)
end

local function keyset(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  return table.concat(ks, ",")
end

local S1 = { "uid", "username", "nickname", "avatar_url", "profile_url", "followers_count",
  "likes_count", "video_count", "has_showcase", "has_email", "has_mcn", "has_line", "has_zalo",
  "last_video_publish_date" }
local S2 = { "country_code", "gender", "avg_views", "engagement_rate", "views_per_follower",
  "is_verified", "last10_video_views_per_sub", "last10_med_video_views_cnt",
  "last10_med_video_views_per_sub", "product_categories", "industry_categories", "bio", "hashtags",
  "language", "email", "link_whatsapp", "link_line", "link_zalo", "mcn", "recent_videos" }
local S3 = { "audience_female_rate", "audience_country_code_list", "audience_language_code_list",
  "audience_age_id_list" }

local function fields(...)
  local t = {}
  for _, list in ipairs({ ... }) do for _, f in ipairs(list) do t[f] = true end end
  return keyset(t)
end

describe("creatorapi-mock", function()
  local m

  setup(function()
    m = start_mock()
  end)

  teardown(function()
    if m then
      local ok, how, code = stop_mock(m)
      assert.is_true(ok, "mock exit: " .. tostring(how) .. " " .. tostring(code))
    end
  end)

  before_each(function()
    local code = request(m, "POST", "/_mock/reset")
    assert.equal(200, code)
  end)

  it("prints the listening line first", function()
    assert.truthy(m.first:match("^listening on http://127%.0%.0%.1:%d+$"))
    assert.not_equal("0", m.base:match(":(%d+)$"))
  end)

  describe("CreatiVault TikTok search", function()
    it("returns the envelope, meta and S2 rows by default", function()
      local code, j = search(m, { size = 5 })
      assert.equal(200, code)
      assert.is_true(j.success)
      assert.equal(cjson.null, j.error)
      assert.equal(5, #j.data)
      local meta = j.meta
      assert.truthy(meta.request_id:match("^req_%x+$"))
      assert.equal(1, meta.page)
      assert.equal(5, meta.size)
      assert.equal(cjson.null, meta.total)
      assert.equal(-1, meta.quota_remaining)
      assert.equal("S2", meta.service_level)
      assert.equal(15, meta.credits_consumed)
      assert.equal(1000000 - 15, meta.credits_remaining)
      assert.equal(cjson.null, meta.lang)
      assert.equal(fields(S1, S2), keyset(j.data[1]))
    end)

    it("returns exactly the fields of each service level and bills 1/3/4 per row", function()
      local _, j1 = search(m, { size = 2, service_level = "S1" })
      assert.equal(fields(S1), keyset(j1.data[1]))
      assert.equal(2, j1.meta.credits_consumed)
      local _, j3 = search(m, { size = 2, service_level = "S3" })
      assert.equal(fields(S1, S2, S3), keyset(j3.data[1]))
      assert.equal(8, j3.meta.credits_consumed)
      assert.equal(1000000 - 10, j3.meta.credits_remaining)
      local _, stats = request(m, "GET", "/_mock/stats")
      assert.equal(10, stats.credits_consumed[CV_KEY])
    end)

    it("writes integers as integers and empty arrays as []", function()
      local _, _, text = search(m, { size = 3, service_level = "S2" })
      assert.truthy(text:match('"followers_count":%d+[,}]'))
      assert.falsy(text:match('"followers_count":%d+%.0'))
      local _, _, empty = search(m, { keyword = "no-such-creator-zzz" })
      assert.truthy(empty:match('"data":%[%]'))
      assert.truthy(empty:match('"credits_consumed":0'))
    end)

    it("sorts deterministically with a stable tie-break", function()
      local _, a = search(m, { size = 50, sort_field = "followers_cnt", sort_order = "desc" })
      local _, b = search(m, { size = 50, sort_field = "followers_cnt", sort_order = "desc" })
      for i = 1, 50 do assert.equal(a.data[i].uid, b.data[i].uid) end
      for i = 2, 50 do assert.is_true(a.data[i - 1].followers_count >= a.data[i].followers_count) end
      assert.is_true(a.data[1].followers_count > 10000000)
      local _, asc = search(m, { size = 20, sort_field = "last10_avg_video_views_cnt", sort_order = "asc" })
      for i = 2, 20 do assert.is_true(asc.data[i - 1].avg_views <= asc.data[i].avg_views) end
      local _, p2 = search(m, { size = 25, page = 2, sort_field = "followers_cnt" })
      assert.equal(a.data[26].uid, p2.data[1].uid)
    end)

    it("really filters", function()
      local _, j = search(m, { country_code = "US,CA", followers_cnt_gte = 10000,
        followers_cnt_lte = 200000, has_email = true, size = 100 })
      assert.is_true(#j.data > 10)
      assert.is_number(j.meta.total)
      for _, r in ipairs(j.data) do
        assert.is_true(r.country_code == "US" or r.country_code == "CA")
        assert.is_true(r.followers_count >= 10000 and r.followers_count <= 200000)
        assert.is_true(r.has_email)
        assert.is_string(r.email)
      end
      local _, g = search(m, { gender = "0", size = 50 })
      for _, r in ipairs(g.data) do assert.equal("female", r.gender) end
      local _, g2 = search(m, { gender = "男性", size = 50 })
      for _, r in ipairs(g2.data) do assert.equal("male", r.gender) end
      local _, kw = search(m, { keyword = "Skincare", size = 30 })
      assert.is_true(#kw.data > 0)
      for _, r in ipairs(kw.data) do
        local hay = (r.username .. r.nickname .. r.bio .. table.concat(r.hashtags, " ")):lower()
        assert.truthy(hay:find("skincare", 1, true))
      end
      local _, ind = search(m, { industry = "25009001", size = 30 })
      assert.is_true(#ind.data > 0)
      for _, r in ipairs(ind.data) do
        local found = false
        for _, c in ipairs(r.industry_categories) do if c.tertiary == "Lipstick" then found = true end end
        assert.is_true(found)
      end
      local _, er = search(m, { last10_avg_video_interaction_rate_gte = 8, size = 30,
        sort_field = "last10_avg_video_interaction_rate", sort_order = "asc" })
      for _, r in ipairs(er.data) do assert.is_true(r.engagement_rate >= 0.08) end
      local _, d = search(m, { last_video_publish_date_gte = "2026-11-01",
        last_video_publish_date_lte = "2026-11-10", size = 40 })
      assert.is_true(#d.data > 0)
      for _, r in ipairs(d.data) do
        assert.is_true(r.last_video_publish_date >= "2026-11-01" and r.last_video_publish_date <= "2026-11-10")
      end
      local _, af = search(m, { audience_female_rate_gte = 90, service_level = "S3", size = 20 })
      for _, r in ipairs(af.data) do assert.is_true(r.audience_female_rate >= 90) end
    end)

    it("counts total only with more than two filters and ignores unknown keys", function()
      local _, two = search(m, { country_code = "US", has_email = true, size = 1 })
      assert.equal(cjson.null, two.meta.total)
      local _, three = search(m, { country_code = "US", has_email = true, gender = "1", size = 1,
        lang = "en", sort_order = "asc" })
      assert.is_number(three.meta.total)
      local _, unk = search(m, { country_code = "US", has_email = true, no_such_filter = 5, size = 1 })
      assert.equal(cjson.null, unk.meta.total)
      local _, plain = search(m, { size = 1 })
      local code = search(m, { size = 1, totally_unknown = { 1, 2 } })
      assert.equal(200, code)
      assert.truthy(plain.data[1])
    end)

    it("translates codes when lang is sent", function()
      local _, j = search(m, { country_code = "US", gender = "0", size = 1, lang = "cn" })
      assert.equal("美国", j.data[1].country_code)
      assert.equal("女性", j.data[1].gender)
      assert.equal("cn", j.meta.lang)
    end)

    it("rejects invalid parameters with 40001 naming the field", function()
      local cases = {
        { { page = 0 }, "page" }, { { page = 201 }, "page" }, { { size = 101 }, "size" },
        { { size = 1.5 }, "size" }, { { sort_field = "likes" }, "sort_field" },
        { { sort_order = "up" }, "sort_order" }, { { service_level = "S9" }, "service_level" },
        { { lang = "fr" }, "lang" }, { { followers_cnt_gte = "many" }, "followers_cnt_gte" },
        { { has_email = "maybe" }, "has_email" }, { { gender = "x" }, "gender" },
        { { last_video_publish_date_gte = "2026-13-01" }, "last_video_publish_date_gte" },
        { { keyword = 12 }, "keyword" }, { { industry = "beauty" }, "industry" },
      }
      for _, c in ipairs(cases) do
        local code, j = search(m, c[1])
        assert.equal(400, code)
        assert.is_false(j.success)
        assert.equal(40001, j.error.code)
        assert.truthy(j.error.message:find(c[2], 1, true), j.error.message)
      end
      local code, j = search(m, "{not json")
      assert.equal(400, code)
      assert.equal(40001, j.error.code)
      code, j = search(m, "[1,2]")
      assert.equal(400, code)
      assert.equal(40001, j.error.code)
    end)

    it("answers the documented auth and billing failures", function()
      local cases = {
        { false, CV_ID, 401, 40101 },
        { "cv_live_unknown", CV_ID, 401, 40101 },
        { "cv_live_expired_0001", CV_ID, 401, 40102 },
        { "cv_live_revoked_0001", CV_ID, 401, 40103 },
        { CV_KEY, false, 401, 40104 },
        { CV_KEY, "not-an-email", 400, 40001 },
        { "cv_live_noscope_0001", CV_ID, 403, 40301 },
        { "cv_live_quota_0001", CV_ID, 402, 42902 },
        { "cv_live_nocredit_0001", CV_ID, 402, 40201 },
        { "cv_live_ratelimited_0001", CV_ID, 429, 42901 },
      }
      for _, c in ipairs(cases) do
        local code, j, _, rh = search(m, { size = 1 }, c[1], c[2])
        assert.equal(c[3], code)
        assert.is_false(j.success)
        assert.equal(cjson.null, j.data)
        assert.equal(c[4], j.error.code)
        assert.is_string(j.error.message)
        if c[4] == 42901 then assert.equal("60", rh["retry-after"]) end
        if c[4] == 42902 or c[4] == 42901 then assert.equal(keyset({ request_id = 1 }), keyset(j.meta)) end
      end
      local _, j = search(m, { size = 1 }, false, CV_ID)
      assert.equal("缺少 X-API-Key Header", j.error.message)
      _, j = search(m, { size = 1 }, "cv_live_expired_0001", CV_ID)
      assert.equal("API Key 已过期", j.error.message)
    end)

    it("forbids query parameters on CreatiVault endpoints", function()
      local code, j = request(m, "POST", "/openapi/v1/creators/tiktok/search?size=1", "{}",
        cv_headers(CV_KEY, CV_ID))
      assert.equal(400, code)
      assert.equal(40001, j.error.code)
    end)

    it("allows only POST", function()
      local code, j, _, rh = request(m, "GET", "/openapi/v1/creators/tiktok/search", nil,
        cv_headers(CV_KEY, CV_ID))
      assert.equal(405, code)
      assert.is_false(j.success)
      assert.equal("POST", rh.allow)
    end)

    it("echoes webhook/verify without auth", function()
      local code, j = request(m, "POST", "/openapi/v1/webhook/verify", '{"challenge":"ping_1"}',
        { ["Content-Type"] = "application/json" })
      assert.equal(200, code)
      assert.equal("ping_1", j.data.challenge)
      assert.truthy(j.data.timestamp:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%+00:00$"))
    end)
  end)

  describe("CreatiVault YouTube / Instagram search and lookalike", function()
    it("serves YouTube fields per level with its own filters", function()
      local code, j = search(m, { size = 5, service_level = "S1" }, nil, nil, "youtube")
      assert.equal(200, code)
      assert.equal(keyset({ uid = 1, username = 1, nickname = 1, avatar_url = 1, channel_url = 1,
        has_email = 1, has_whatsapp = 1, last_video_publish_time = 1 }), keyset(j.data[1]))
      assert.truthy(j.data[1].uid:match("^UC[%w%-_]+$"))
      local _, s3 = search(m, { size = 20, service_level = "S3", country_code = "US",
        last10_avg_interaction_rate_all_gte = 5, female_ratio_gte = 50 }, nil, nil, "youtube")
      assert.is_number(s3.meta.total)
      for _, r in ipairs(s3.data) do
        assert.equal("US", r.country_code)
        assert.is_true(r.engagement_rate >= 0.05)
        assert.is_true(r.audience_female_rate >= 50)
        assert.is_table(r.audience_language_list)
        assert.is_table(r.audience_age_list)
        assert.is_number(r.avg_views_short)
      end
      assert.equal(80, s3.meta.credits_consumed)
    end)

    it("serves Instagram with is_product_kol and its field set", function()
      local _, j = search(m, { size = 10, is_product_kol = true, followers_cnt_gte = 10000 }, nil, nil, "instagram")
      assert.is_true(#j.data > 0)
      for _, r in ipairs(j.data) do
        assert.is_true(r.followers_count >= 10000)
        assert.truthy(r.profile_url:match("^https://www%.instagram%.com/"))
        assert.is_nil(r.channel_url)
      end
      local code = search(m, { size = 1 }, "cv_live_noscope_0001", nil, "instagram")
      assert.equal(200, code)
    end)

    it("finds lookalikes sorted by match_score, clamped to 50, billed per row", function()
      local code, j = request(m, "POST", "/openapi/v1/creators/lookalike", cjson.encode {
        username = "creator_demo", platform = "tiktok", target_region = "US", limit = 10,
        follower_min = 10000, lang = "en" }, cv_headers(CV_KEY, CV_ID))
      assert.equal(200, code)
      local items = j.data.items
      assert.equal(10, #items)
      for i, it in ipairs(items) do
        assert.is_true(it.match_score >= 0 and it.match_score <= 100)
        assert.is_true(it.followers_count >= 10000)
        if i > 1 then assert.is_true(items[i - 1].match_score >= it.match_score) end
        assert.not_equal("creator_demo", it.username)
      end
      assert.equal("S1", j.meta.service_level)
      assert.equal(10, j.meta.credits_consumed)
      local _, big = request(m, "POST", "/openapi/v1/creators/lookalike", cjson.encode {
        profile_url = "https://www.tiktok.com/@creator_demo", limit = 1000, service_level = "S2" },
        cv_headers(CV_KEY, CV_ID))
      assert.equal(50, #big.data.items)
      assert.equal(150, big.meta.credits_consumed)
      local c404, nf = request(m, "POST", "/openapi/v1/creators/lookalike",
        cjson.encode { username = "no_such_creator_zz" }, cv_headers(CV_KEY, CV_ID))
      assert.equal(404, c404)
      assert.equal(40401, nf.error.code)
      local c400, bad = request(m, "POST", "/openapi/v1/creators/lookalike",
        cjson.encode { username = "creator_demo", platform = "myspace" }, cv_headers(CV_KEY, CV_ID))
      assert.equal(400, c400)
      assert.equal(40001, bad.error.code)
    end)
  end)

  describe("KeyAPI influencer list analytics", function()
    it("returns the seed's row shape", function()
      local code, j, text = kapi(m, "region=US&page_num=1&page_size=10")
      assert.equal(200, code)
      assert.equal(0, j.code)
      assert.equal("success", j.message)
      assert.truthy(j.requestId:match("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$"))
      assert.equal(10, #j.data)
      local r = j.data[1]
      assert.is_string(r.user_id)
      assert.truthy(r.user_id:match("^%d+$"))
      assert.equal("US", r.region)
      for _, f in ipairs({ "avg_30d_price", "first_crawl_dt", "off_mark", "sales_flag", "show_case_flag",
        "total_followers_cnt", "total_digg_cnt", "total_post_video_cnt", "total_views_cnt" }) do
        assert.is_number(r[f], f)
        assert.equal(math.floor(r[f]), r[f], f)
        -- cjson decodes every number as a float: check the wire text instead
        assert.truthy(text:match('"' .. f .. '":%-?%d+[,}]'), f)
      end
      assert.truthy(r.seller_id == cjson.null or type(r.seller_id) == "string")
      assert.falsy(text:match('"total_followers_cnt":%d+%.0'))
      assert.truthy(text:match('"seller_id":null'))
      for _, f in ipairs({ "influencer_video_duration_level", "most_category_product" }) do
        assert.is_string(r[f])
      end
    end)

    it("sorts and filters", function()
      local _, j = kapi(m, "region=GB&page_num=1&page_size=10&influencer_sort_field_v2=1&sort_type=1")
      for i, r in ipairs(j.data) do
        assert.equal("GB", r.region)
        if i > 1 then assert.is_true(j.data[i - 1].total_followers_cnt >= r.total_followers_cnt) end
      end
      local _, asc = kapi(m, "region=US&page_num=1&page_size=10&influencer_sort_field_v2=5&sort_type=0" ..
        "&min_total_followers_cnt=50000&max_total_followers_cnt=90000")
      assert.equal(10, #asc.data)
      for i, r in ipairs(asc.data) do
        assert.is_true(r.total_followers_cnt >= 50000 and r.total_followers_cnt <= 90000)
        if i > 1 then assert.is_true(asc.data[i - 1].interaction_rate <= r.interaction_rate) end
      end
      local _, sc = kapi(m, "region=US&page_num=1&page_size=10&show_case_flag=1&gender=female")
      for _, r in ipairs(sc.data) do
        assert.equal(1, r.show_case_flag)
        assert.equal("female", r.gender)
      end
      local _, p1 = kapi(m, "region=US&page_num=1&page_size=10")
      local _, p2 = kapi(m, "region=US&page_num=2&page_size=5")
      assert.equal(p1.data[6].user_id, p2.data[1].user_id)
      local _, empty = kapi(m, "region=US&page_num=10000&page_size=10")
      assert.same({}, empty.data)
    end)

    it("validates parameters with 400", function()
      for _, q in ipairs({ "page_num=1&page_size=10", "region=US&page_size=10", "region=US&page_num=1",
        "region=US&page_num=0&page_size=10", "region=US&page_num=1&page_size=11",
        "region=US&page_num=1&page_size=10&sort_type=2",
        "region=US&page_num=1&page_size=10&min_total_followers_cnt=x" }) do
        local code, j = kapi(m, q)
        assert.equal(400, code, q)
        assert.equal(400, j.code)
        assert.equal(cjson.null, j.data)
        assert.is_string(j.message)
      end
      local _, j = kapi(m, "page_num=1&page_size=10")
      assert.equal("Missing required parameter: region", j.message)
    end)

    it("answers auth, credit and rate-limit failures, billing 1 credit per request", function()
      local code, j = kapi(m, "region=US&page_num=1&page_size=1", false)
      assert.equal(401, code)
      assert.equal(401, j.code)
      assert.equal("apiKey is null", j.message)
      code = kapi(m, "region=US&page_num=1&page_size=1", "wrong")
      assert.equal(401, code)
      code, j = kapi(m, "region=US&page_num=1&page_size=1", "kapi_nocredit_0001")
      assert.equal(402, code)
      assert.equal(402, j.code)
      code, j = kapi(m, "region=US&page_num=1&page_size=1", "kapi_ratelimited_0001")
      assert.equal(429, code)
      assert.equal(429, j.code)
      code, j = kapi(m, "region=US&page_num=1&page_size=1", "kapi_forbidden_0001")
      assert.equal(403, code)
      assert.equal(403, j.code)
      code, j = kapi(m, "region=US&page_num=1&page_size=1", "kapi_usagelimit_0001")
      assert.equal(500, code)
      assert.equal("Usage Limit Exceeded", j.message)
      kapi(m, "region=US&page_num=1&page_size=3")
      kapi(m, "region=US&page_num=2&page_size=3")
      local _, stats = request(m, "GET", "/_mock/stats")
      assert.equal(2, stats.credits_consumed[KAPI_KEY])
    end)
  end)

  describe("collection tasks, exports and files", function()
    local function cv(path, tbl, key, identity)
      return request(m, "POST", "/openapi/v1" .. path, type(tbl) == "string" and tbl or cjson.encode(tbl),
        cv_headers(key or CV_KEY, identity == nil and CV_ID or identity or nil))
    end

    it("validates submissions", function()
      local cases = {
        { task_type = "LINK_BATCH", platform = "tiktok", values = {} },
        { task_type = "LINK", platform = "tiktok", values = { "a" } },
        { task_type = "FILE_UPLOAD", platform = "myspace", values = { "a" } },
        { task_type = "FILE_UPLOAD", platform = "tiktok", values = "abc" },
        { task_type = "FILE_UPLOAD", platform = "tiktok", values = { "abc" }, webhook_url = "http://x.test/h" },
      }
      local many = {}
      for i = 1, 501 do many[i] = "user" .. i end
      cases[#cases + 1] = { task_type = "FILE_UPLOAD", platform = "tiktok", values = many }
      for _, c in ipairs(cases) do
        local code, j = cv("/collection/tasks/submit", c)
        assert.equal(400, code)
        assert.equal(40001, j.error.code)
      end
      local code, j = cv("/collection/tasks/keyword-submit", { platform = "tiktok",
        keywords = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k" } })
      assert.equal(400, code)
      assert.truthy(j.error.message:find("keywords", 1, true))
    end)

    it("rejects http:// webhook URLs unless --allow-insecure-webhooks", function()
      local code, j = cv("/collection/tasks/submit", { task_type = "FILE_UPLOAD", platform = "tiktok",
        values = { "creator_demo" }, webhook_url = "http://127.0.0.1:9/hook" })
      assert.equal(400, code)
      assert.truthy(j.error.message:find("webhook_url", 1, true))
    end)

    it("runs a task through processing to completed in mock time, then exports", function()
      local code, j = cv("/collection/tasks/submit", { task_type = "LINK_BATCH", platform = "tiktok",
        values = { "https://www.tiktok.com/@creator_demo", "https://www.tiktok.com/@fresh_face_01", "nonsense url" },
        task_name = "Q1 Creator Collection", webhook_url = "https://example.test/webhook" })
      assert.equal(200, code)
      local id = j.data.task_id
      assert.truthy(id:match("^task_%d%d%d%d%d%d%d%d_%x+$"))
      assert.equal("submitted", j.data.status)
      assert.equal(3, j.data.total_count)
      local _, st = cv("/collection/tasks/status", { task_id = id })
      assert.equal("processing", st.data.status)
      assert.equal(3, st.data.total)
      local ce = cv("/collection/tasks/export", { task_id = id, format = "csv" })
      assert.equal(404, ce)
      request(m, "POST", "/_mock/clock", '{"advance": 3600}')
      _, st = cv("/collection/tasks/status", { task_id = id })
      assert.equal("completed", st.data.status)
      assert.equal(2, st.data.completed)
      assert.equal(1, st.data.failed)
      assert.equal(100, st.data.progress)
      local _, d = cv("/collection/tasks/data", { task_id = id, page = 1, size = 1 })
      assert.equal(2, d.data.total)
      assert.equal(1, #d.data.items)
      assert.equal(2, d.meta.total)
      assert.is_table(d.data.columns_config)
      assert.equal("creator_demo", d.data.items[1].username)
      -- other tenants cannot see it
      local c404 = cv("/collection/tasks/status", { task_id = id }, "cv_live_noscope_0001")
      assert.equal(404, c404)
      -- exports: csv with BOM, xlsx zip, html, feishu_doc unsupported, cached per format
      local _, e1 = cv("/collection/tasks/export", { task_id = id, format = "csv" })
      local _, e2 = cv("/collection/tasks/export", { task_id = id, format = "csv" })
      assert.equal(e1.data.file_id, e2.data.file_id)
      assert.equal(2, e1.data.row_count)
      assert.truthy(e1.data.file_id:match("^%x+$") and #e1.data.file_id == 32)
      local path = e1.data.file_url:match("^http://127%.0%.0%.1:%d+(/_files/.*)$")
      local fc, _, csv, fh = request(m, "GET", path)
      assert.equal(200, fc)
      assert.equal("\239\187\191", csv:sub(1, 3))
      assert.truthy(csv:find("creator_demo", 1, true))
      assert.truthy(fh["content-type"]:find("text/csv", 1, true))
      local rc, _, part, rh = request(m, "GET", path, nil, { Range = "bytes=0-2" })
      assert.equal(206, rc)
      assert.equal("\239\187\191", part)
      assert.truthy(rh["content-range"]:match("^bytes 0%-2/%d+$"))
      local hc, _, htext, hh = request(m, "HEAD", path)
      assert.equal(200, hc)
      assert.equal("", htext)
      assert.equal(tostring(#csv), hh["content-length"])
      local bad = request(m, "GET", (path:gsub("sig=", "sig=00")))
      assert.equal(403, bad)
      local _, x = cv("/collection/tasks/export", { task_id = id, format = "xlsx" })
      local _, _, zip = request(m, "GET", x.data.file_url:match("(/_files/.*)$"))
      assert.equal("PK\3\4", zip:sub(1, 4))
      assert.truthy(zip:find("xl/worksheets/sheet1.xml", 1, true))
      local _, h = cv("/collection/tasks/export", { task_id = id, format = "html" })
      local _, _, html = request(m, "GET", h.data.file_url:match("(/_files/.*)$"))
      assert.truthy(html:find("<table>", 1, true))
      local fcode, fj = cv("/collection/tasks/export", { task_id = id, format = "feishu_doc" })
      assert.equal(400, fcode)
      assert.equal("Format not yet supported", fj.error.message)
      -- download-url by id (no identity needed) and by newest file_name
      local dc, dj = cv("/files/download-url", { file_id = e1.data.file_id }, nil, false)
      assert.equal(200, dc)
      assert.equal(e1.data.file_name, dj.data.file_name)
      assert.truthy(dj.data.file_expire_at:match("%+00:00$"))
      local _, dn = cv("/files/download-url", { file_name = x.data.file_name }, nil, false)
      assert.equal(x.data.file_id, dn.data.file_id)
      local nc, nj = cv("/files/download-url", { file_id = "0123456789abcdef0123456789abcdef" }, nil, false)
      assert.equal(404, nc)
      assert.equal("File not found", nj.error.message)
      assert.equal(400, (cv("/files/download-url", {}, nil, false)))
    end)

    it("fails tasks whose values all look invalid, and times out on request", function()
      local _, a = cv("/collection/tasks/submit", { task_type = "FILE_UPLOAD", platform = "instagram",
        values = { "not valid!", "??" } })
      local _, b = cv("/collection/tasks/keyword-submit", { platform = "tiktok",
        keywords = { "beauty tips", "__timeout__" } })
      request(m, "POST", "/_mock/clock", '{"advance": 86400}')
      local _, sa = cv("/collection/tasks/status", { task_id = a.data.task_id })
      assert.equal("failed", sa.data.status)
      local _, sb = cv("/collection/tasks/status", { task_id = b.data.task_id })
      assert.equal("timeout", sb.data.status)
      request(m, "POST", "/_mock/clock", '{"advance": 604800}')
      assert.equal(404, (cv("/collection/tasks/status", { task_id = a.data.task_id })))
    end)
  end)

  describe("KeyAPI other analytics endpoints", function()
    local function get(path)
      return request(m, "GET", "/v1/tiktok/influencer/" .. path, nil,
        { Authorization = "Bearer " .. KAPI_KEY })
    end
    it("serves detail, videos, ranking, trends, products and livestreams", function()
      local code, j = get("detail/analytics?unique_id=creator_demo")
      assert.equal(200, code)
      assert.equal("creator_demo", j.data[1].unique_id)
      local uid = j.data[1].user_id
      local _, v = get("videos/analytics?user_id=" .. uid .. "&page_num=1&page_size=5")
      assert.equal(5, #v.data)
      for i = 2, 5 do assert.is_true(v.data[i - 1].create_time >= v.data[i].create_time) end
      local _, rk = get("ranking/analytics?region=US&page_num=2&page_size=3&rank_type=1")
      assert.equal(4, rk.data[1].rank)
      local _, tr = get("trends/analytics?user_id=" .. uid .. "&start_date=2026-11-01&end_date=2026-11-10")
      assert.equal(10, #tr.data)
      assert.equal(20261101, tr.data[1].dt)
      local _, pr = get("products/analytics?user_id=" .. uid .. "&page_num=1&page_size=3")
      assert.is_table(pr.data)
      local _, lv = get("livestreams/analytics?user_id=" .. uid .. "&page_num=1&page_size=3")
      assert.is_table(lv.data)
      assert.equal(404, (get("detail/analytics?user_id=1")))
      assert.equal(400, (get("videos/analytics?page_num=1&page_size=1")))
      assert.equal(404, (get("nothing/here")))
    end)
  end)

  describe("fault injection", function()
    local P = "/openapi/v1/creators/tiktok/search"
    local function fault(t)
      local code = request(m, "POST", "/_mock/faults", cjson.encode(t))
      assert.equal(200, code)
    end
    local function raw_post()
      return request(m, "POST", P, '{"size":1}', cv_headers(CV_KEY, CV_ID))
    end

    it("programs statuses for the next N answers of a path", function()
      fault { kind = "status", status = 503, count = 2, path = P }
      assert.equal(503, (raw_post()))
      local code, j = raw_post()
      assert.equal(503, code)
      assert.equal(50001, j.error.code)
      assert.equal(200, (raw_post()))
      fault { status = 429 }
      local c429, j429, _, h = raw_post()
      assert.equal(429, c429)
      assert.equal(42901, j429.error.code)
      assert.equal("60", h["retry-after"])
      fault { status = 500, path = "/v1/tiktok/influencer/list/analytics" }
      local ck, jk = kapi(m, "region=US&page_num=1&page_size=1")
      assert.equal(500, ck)
      assert.equal(500, jk.code)
      fault { kind = "status", status = 418, body = { custom = true }, headers = { ["X-Test"] = "1" } }
      local c418, j418, _, h418 = raw_post()
      assert.equal(418, c418)
      assert.is_true(j418.custom)
      assert.equal("1", h418["x-test"])
    end)

    it("resets connections before and after reading the request", function()
      fault { kind = "reset_before" }
      local ok1 = pcall(raw_post)
      assert.is_false(ok1)
      fault { kind = "reset_after" }
      local ok2 = pcall(raw_post)
      assert.is_false(ok2)
      assert.equal(200, (raw_post()))
      local _, s = request(m, "GET", "/_mock/stats")
      assert.equal(2, s.faults_fired)
      assert.equal(0, s.faults_pending)
    end)

    it("distorts bodies: truncated, invalid JSON, HTML, wrong type, success:false, oversized, trickled", function()
      fault { kind = "truncate", bytes = 10 }
      local okt = pcall(raw_post)
      assert.is_false(okt) -- LuaSocket notices the short body
      fault { kind = "invalid_json" }
      local c1, j1, t1 = raw_post()
      assert.equal(200, c1)
      assert.is_nil(j1)
      assert.truthy(t1:match("^{"))
      fault { kind = "html", status = 502 }
      local c2, _, t2, h2 = raw_post()
      assert.equal(502, c2)
      assert.equal("text/html", h2["content-type"])
      assert.truthy(t2:find("502 Bad Gateway", 1, true))
      fault { kind = "content_type", content_type = "text/plain" }
      local c3, j3, _, h3 = raw_post()
      assert.equal(200, c3)
      assert.equal("text/plain", h3["content-type"])
      assert.is_true(j3.success)
      fault { kind = "success_false", code = 50001 }
      local c4, j4 = raw_post()
      assert.equal(200, c4)
      assert.is_false(j4.success)
      fault { kind = "oversized", bytes = 100000 }
      local _, _, t5 = raw_post()
      assert.is_true(#t5 > 100000)
      fault { kind = "trickle", chunk = 512, interval = 0.02 }
      local socket = require "socket"
      local t0 = socket.gettime()
      local c6, j6, t6 = raw_post()
      assert.equal(200, c6)
      assert.is_true(j6.success)
      assert.is_true(socket.gettime() - t0 >= 0.02 * (math.floor(#t6 / 512) - 1))
      fault { kind = "delay", delay = 0.3 }
      t0 = socket.gettime()
      assert.equal(200, (raw_post()))
      assert.is_true(socket.gettime() - t0 >= 0.29)
    end)

    it("rejects bad fault programs and clears them", function()
      assert.equal(400, (request(m, "POST", "/_mock/faults", '{"kind":"nope"}')))
      assert.equal(400, (request(m, "POST", "/_mock/faults", '{"status":99}')))
      fault { faults = { { status = 500 }, { status = 502, count = 3 } } }
      local _, l = request(m, "GET", "/_mock/faults")
      assert.equal(2, #l.faults)
      request(m, "DELETE", "/_mock/faults")
      assert.equal(200, (raw_post()))
    end)
  end)

  describe("rate limits", function()
    it("limits cv_live_ratelimit5_0001 to 5 requests per minute", function()
      clock_to_quiet_hour(m)
      for _ = 1, 5 do assert.equal(200, (search(m, { size = 1 }, "cv_live_ratelimit5_0001"))) end
      local code, j, _, h = search(m, { size = 1 }, "cv_live_ratelimit5_0001")
      assert.equal(429, code)
      assert.equal(42901, j.error.code)
      assert.equal("60", h["retry-after"])
      request(m, "POST", "/_mock/clock", '{"advance": 60}')
      assert.equal(200, (search(m, { size = 1 }, "cv_live_ratelimit5_0001")))
    end)
  end)

  describe("/_mock endpoints", function()
    it("records requests exactly as sent", function()
      local body = '{"size":1,"keyword":"caf\\u00e9"}'
      search(m, body)
      kapi(m, "region=US&page_num=1&page_size=1&gender=")
      local code, j = request(m, "GET", "/_mock/requests?limit=2")
      assert.equal(200, code)
      assert.equal(2, #j.requests)
      local a, b = j.requests[1], j.requests[2]
      assert.equal("POST", a.method)
      assert.equal("/openapi/v1/creators/tiktok/search", a.path)
      assert.equal(body, a.body)
      assert.equal("", a.query)
      local seen = {}
      for _, h in ipairs(a.headers) do seen[h[1]:lower()] = h[2] end
      assert.equal(CV_KEY, seen["x-api-key"])
      assert.equal(CV_ID, seen["x-user-identity"])
      assert.equal("GET", b.method)
      assert.equal("region=US&page_num=1&page_size=1&gender=", b.query)
      assert.equal(200, b.status)
    end)

    it("keeps non-UTF-8 bodies in base64", function()
      request(m, "POST", "/openapi/v1/webhook/verify", "\255\0ab", { ["Content-Type"] = "application/json" })
      local _, j = request(m, "GET", "/_mock/requests?limit=1")
      assert.equal("/wBhYg==", j.requests[1].body_base64)
      assert.equal(400, j.requests[1].status)
    end)

    it("counts connections, requests and paths; reset clears them", function()
      search(m, { size = 1 })
      search(m, { size = 1 })
      kapi(m, "region=US&page_num=1&page_size=1")
      local _, s = request(m, "GET", "/_mock/stats")
      assert.equal(3, s.requests)
      assert.equal(4, s.connections) -- three calls plus this one (LuaSocket never reuses)
      assert.equal(2, s.paths["/openapi/v1/creators/tiktok/search"])
      assert.equal(1, s.paths["/v1/tiktok/influencer/list/analytics"])
      assert.equal(6, s.credits_consumed[CV_KEY])
      request(m, "POST", "/_mock/reset")
      _, s = request(m, "GET", "/_mock/stats")
      assert.equal(0, s.requests)
      assert.same({}, s.credits_consumed)
      local _, r = request(m, "GET", "/_mock/requests")
      assert.equal(0, #r.requests)
      local _, j = search(m, { size = 1 })
      assert.equal(1000000 - 3, j.meta.credits_remaining)
    end)
  end)
end)

describe("creatorapi-mock --string-values", function()
  it("serves CreatiVault data scalars as strings", function()
    local m = start_mock("--string-values --seed 7")
    local ok, err = pcall(function()
      local code, j = search(m, { size = 2, service_level = "S3" })
      assert.equal(200, code)
      local r = j.data[1]
      assert.is_string(r.followers_count)
      assert.truthy(r.followers_count:match("^%d+$"))
      assert.truthy(r.has_email == "true" or r.has_email == "false")
      assert.is_string(r.audience_female_rate)
      assert.is_number(j.meta.credits_consumed) -- meta is untouched
    end)
    local closed = stop_mock(m)
    assert(ok, err)
    assert.is_true(closed)
  end)
end)

describe("creatorapi-mock webhooks", function()
  it("signs, retries after failures and records deliveries", function()
    local socket = require "socket"
    local srv = assert(socket.bind("127.0.0.1", 0))
    local _, port = srv:getsockname()
    srv:settimeout(0.1)
    local m = start_mock("--time-scale 200 --allow-insecure-webhooks --webhook-secret s3cret")
    local ok, err = pcall(function()
      local code, j = request(m, "POST", "/openapi/v1/collection/tasks/submit", cjson.encode {
        task_type = "FILE_UPLOAD", platform = "tiktok", values = { "creator_demo" },
        webhook_url = "http://127.0.0.1:" .. port .. "/hook" }, cv_headers(CV_KEY, CV_ID))
      assert.equal(200, code)
      local got = {}
      local deadline = socket.gettime() + 8
      while #got < 2 and socket.gettime() < deadline do
        local c = srv:accept()
        if c then
          c:settimeout(2)
          local headers = {}
          local line = c:receive("*l")
          while line and line ~= "" do
            local k, v = line:match("^([^:]+):%s*(.*)$")
            if k then headers[k:lower()] = v end
            line = c:receive("*l")
          end
          local len = tonumber(headers["content-length"] or "0")
          local body = len > 0 and c:receive(len) or ""
          got[#got + 1] = { headers = headers, body = body }
          -- first attempt fails, the retry succeeds
          c:send(#got == 1 and "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"
            or "HTTP/1.1 204 No Content\r\n\r\n")
          c:close()
        end
      end
      assert.equal(2, #got)
      local body = got[1].body
      assert.equal(body, got[2].body)
      local p = cjson.decode(body)
      assert.equal("collection.completed", p.event)
      assert.equal(j.data.task_id, p.task_id)
      assert.equal("FILE_UPLOAD", p.task_type)
      assert.equal(1, p.completed)
      -- compact JSON, keys sorted
      assert.truthy(body:match('^{"completed":1,"event":"collection%.completed","failed":0,"status":"completed",'))
      local hex = io.popen("printf '%s' '" .. body ..
        "' | env -u LD_PRELOAD openssl dgst -sha256 -hmac s3cret -r"):read("l")
      assert.equal(hex:match("^(%x+)"), got[1].headers["x-webhook-signature"])
      socket.sleep(0.2)
      local _, w = request(m, "GET", "/_mock/webhooks")
      assert.equal(1, w.count)
      local d = w.deliveries[1]
      assert.equal("delivered", d.state)
      assert.equal(2, #d.attempts)
      assert.equal(503, d.attempts[1].status)
      assert.equal(204, d.attempts[2].status)
      assert.equal(body, d.payload)
    end)
    srv:close()
    stop_mock(m)
    assert(ok, err)
  end)

end)

describe("creatorapi-mock command-line limits and TLS", function()
  it("applies --rate-limit, --daily-quota and --credits", function()
    local m = start_mock("--rate-limit 3 --daily-quota 4 --credits 10")
    local ok, err = pcall(function()
      clock_to_quiet_hour(m)
      local _, j = search(m, { size = 2, service_level = "S1" })
      assert.equal(3, j.meta.quota_remaining)
      assert.equal(8, j.meta.credits_remaining)
      assert.equal(200, (search(m, { size = 1, service_level = "S1" })))
      assert.equal(200, (search(m, { size = 1, service_level = "S1" })))
      local code, e = search(m, { size = 1 })
      assert.equal(429, code)
      assert.equal(42901, e.error.code)
      request(m, "POST", "/_mock/clock", '{"advance": 61}')
      assert.equal(200, (search(m, { size = 1, service_level = "S1" })))
      code, e = search(m, { size = 1 })
      assert.equal(402, code)
      assert.equal(42902, e.error.code)
      request(m, "POST", "/_mock/clock", '{"advance": 86400}')
      code, e = search(m, { size = 10, service_level = "S3" })
      assert.equal(402, code)
      assert.equal(40201, e.error.code)
    end)
    stop_mock(m)
    assert(ok, err)
  end)

  it("serves HTTPS with --tls-cert/--tls-key", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    -- helper CLIs run without the sanitizer preload of `make asan` (curl hangs under it)
    local gen = os.execute(string.format(
      "env -u LD_PRELOAD openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/k.pem " ..
      "-out %s/c.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", dir, dir))
    assert(gen, "openssl could not make a certificate")
    local cmd = string.format("sh -c '%s --port 0 --quiet --tls-cert %s/c.pem --tls-key %s/k.pem & echo $!; wait $!'",
      BIN, dir, dir)
    local fh = assert(io.popen(cmd, "r"))
    local pid = fh:read("l")
    local first = fh:read("l")
    local ok, err = pcall(function()
      local url = first:match("^listening on (https://127%.0%.0%.1:%d+)$")
      assert.truthy(url, first)
      local out = io.popen(string.format(
        "env -u LD_PRELOAD curl -s --max-time 20 --cacert %s/c.pem -X POST -d '{\"challenge\":\"tls\"}' " ..
        "%s/openapi/v1/webhook/verify",
        dir, url)):read("a")
      assert.equal("tls", cjson.decode(out).data.challenge)
    end)
    os.execute("kill -TERM " .. pid)
    local closed = fh:close()
    os.execute("rm -rf " .. dir)
    assert(ok, err)
    assert.is_true(closed)
  end)
end)

describe("creatorapi-mock determinism", function()
  it("serves byte-identical data on every run for a seed, and other data for another seed", function()
    local function page(args)
      local m = start_mock(args)
      local ok, a, b = pcall(function()
        local _, _, t1 = kapi(m, "region=US&page_num=3&page_size=10&influencer_sort_field_v2=5&sort_type=1")
        local _, _, t2 = search(m, { size = 20, service_level = "S3", lang = "cn", sort_order = "asc" })
        return t1:gsub('"requestId":"[^"]*"', ""), t2:gsub('"request_id":"[^"]*"', "")
      end)
      stop_mock(m)
      assert(ok, a)
      return a, b
    end
    local a1, b1 = page("--seed 42")
    local a2, b2 = page("--seed 42")
    local a3 = page("--seed 43")
    assert.equal(a1, a2)
    assert.equal(b1, b2)
    assert.not_equal(a1, a3)
  end)
end)
