-- The `creatorapi` command, run for real (bin/creatorapi in a child process)
-- against the mock: requests as the mock recorded them, output formats parsed
-- back, paging that buys exactly N rows, dry runs that send nothing, and the
-- exit code of each error kind.
local mock = require "support.mock"
local cli = require "support.cli"
local endpoints = require "creatorapi.cli.endpoints"
local exits = require "creatorapi.cli.exits"

local decode, jsonl = cli.decode, cli.jsonl

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("creatorapi command #jit", function()
  local m
  setup(function() m = mock.start{ "--quiet", "--time-scale", "600" } end)
  teardown(function() m:stop() end)
  before_each(function() m:reset() end)

  it("search → CSV: exactly --limit rows bought, every row matching, parsed by a CSV reader", function()
    local r = cli.run(m, { "cv", "search", "tiktok", "--country-code", "US", "--has-email",
      "--followers-cnt-gte", "10000", "--limit", "250", "--format", "csv" })
    assert.equal(0, r.code, r.err)
    local recs, head = cli.csv_records(r.out)
    assert.equal(250, #recs)
    assert.equal("username", head[1])                   -- the endpoint's columns first, then the rest
    for _, c in ipairs(recs) do
      assert.equal("US", c.country_code)
      assert.truthy(c.email ~= "" and c.email:find("@", 1, true), c.email)
      assert.truthy(tonumber(c.followers_count) >= 10000)
      assert.is_nil(c.followers_count:find("[.,]"), c.followers_count)   -- raw integers in CSV
    end
    -- the requests as sent: the iterator's pages, the last one trimmed to the rows still wanted
    local sizes, total = {}, 0
    for _, req in ipairs(cli.requests(m, "/openapi/v1/creators/tiktok/search")) do
      assert.equal("POST", req.method)
      assert.equal("US", req.json.country_code)
      assert.equal(true, req.json.has_email)
      assert.equal(10000, req.json.followers_cnt_gte)
      sizes[#sizes + 1] = req.json.size
      total = total + req.json.size
    end
    assert.same({ 100, 100, 50 }, sizes)
    assert.equal(250, total)
    -- the ledger: what the mock charged is what one row costs times 250, and the CLI says so
    local charged = cli.charged(m)
    m:reset()
    assert.equal(0, cli.run(m, { "cv", "search", "tiktok", "--country-code", "US", "--has-email",
      "--followers-cnt-gte", "10000", "--limit", "1", "--format", "csv" }).code)
    local one = cli.charged(m)
    assert.truthy(one > 0)
    assert.equal(250 * one, charged)
    local spent = r.err:match("creatorapi: ([%d,]+) credits spent")
    assert.equal(charged, tonumber((spent:gsub(",", ""))), r.err)
    assert.truthy(r.err:find("left, request id req_", 1, true), r.err)
  end)

  it("json is one array and jsonl one object a line, both read back by the codec", function()
    local r = cli.run(m, { "cv", "search", "tiktok", "--limit", "7", "--format", "json" })
    assert.equal(0, r.code, r.err)
    local rows = decode(r.out)
    assert.equal(7, #rows)
    assert.equal("string", type(rows[1].username))
    assert.equal(math.floor(rows[1].followers_count), rows[1].followers_count)
    r = cli.run(m, { "cv", "search", "tiktok", "--limit", "7", "--fields", "username,followers_count" })
    assert.equal(0, r.code, r.err)                      -- piped: jsonl by default
    local objs = jsonl(r.out)
    assert.equal(7, #objs)
    for i, o in ipairs(objs) do
      assert.same({ username = rows[i].username, followers_count = rows[i].followers_count }, o)
    end
  end)

  it("table: endpoint columns, thousands separators, columns aligned", function()
    local r = cli.run(m, { "keyapi", "influencer-detail", "creator_demo", "--format", "table" })
    assert.equal(0, r.code, r.err)
    local ls = lines(r.out)
    assert.equal(2, #ls)
    assert.truthy(ls[1]:find("^unique_id%s+nick_name%s+region%s+total_followers_cnt"), ls[1])
    assert.truthy(ls[2]:find("150,000", 1, true), ls[2])
    assert.truthy(ls[2]:find("11,952,413", 1, true), ls[2])
    -- numbers are right-aligned under their header's right edge
    local head_end = select(2, ls[1]:find("total_followers_cnt", 1, true))
    local _, num_end = ls[2]:find("150,000", 1, true)
    assert.equal(head_end, num_end)
    r = cli.run(m, { "cv", "search", "tiktok", "--limit", "30", "--format", "table", "--fields", "username,followers_count" })
    assert.equal(0, r.code, r.err)
    ls = lines(r.out)
    assert.equal(31, #ls)
    local width = #ls[1]
    for i = 2, #ls do assert.equal(width, #ls[i], ls[i]) end   -- ASCII names: same byte width
  end)

  it("--fields reaches into objects with dotted paths", function()
    local r = cli.run(m, { "cv", "task", "submit", "--platform", "tiktok", "--task-type", "FILE_UPLOAD",
      "--values", "creator_demo", "--fields", "task_id,status" })
    assert.equal(0, r.code, r.err)
    local o = decode(r.out)
    assert.truthy(o.task_id:find("^task_"))
    assert.equal("submitted", o.status)
    r = cli.run(m, { "cv", "search", "tiktok", "--size", "1", "--fields", "username,industry_categories.1.primary" })
    assert.equal(0, r.code, r.err)
    o = decode(r.out)
    assert.equal("string", type(o["industry_categories.1.primary"]))
  end)

  it("keyapi influencer-list --region GB: the query as sent, Bearer auth, one credit", function()
    local r = cli.run(m, { "keyapi", "influencer-list", "--region", "GB", "--min-total-followers-cnt", "1000",
      "--sort-type", "1", "--influencer-sort-field-v2", "1" })
    assert.equal(0, r.code, r.err)
    assert.equal(10, #jsonl(r.out))
    local req = cli.requests(m)[1]
    assert.equal("GET", req.method)
    assert.equal("/v1/tiktok/influencer/list/analytics", req.path)
    assert.same({ region = "GB", page_num = "1", page_size = "10", min_total_followers_cnt = "1000",
      sort_type = "1", influencer_sort_field_v2 = "1" }, cli.query(req.query))
    assert.equal("Bearer " .. mock.DEMO.keyapi_key, req.headers.authorization)
    assert.truthy(r.err:find("creatorapi: 1 credit spent, balance not reported, request id ", 1, true), r.err)
  end)

  it("keyapi --limit pages by page_num with full pages (billed per request), --page picks one page", function()
    local r = cli.run(m, { "keyapi", "influencer-list", "--region", "US", "--limit", "25" })
    assert.equal(0, r.code, r.err)
    assert.equal(25, #jsonl(r.out))
    local pages = {}
    for _, req in ipairs(cli.requests(m)) do
      local qt = cli.query(req.query)
      assert.equal("10", qt.page_size)
      pages[#pages + 1] = qt.page_num
    end
    assert.same({ "1", "2", "3" }, pages)
    assert.equal(3, cli.charged(m, mock.DEMO.keyapi_key))
    cli.clear(m)
    r = cli.run(m, { "keyapi", "influencer-list", "--region", "US", "--page", "4" })
    assert.equal(0, r.code, r.err)
    assert.equal("4", cli.query(cli.requests(m)[1].query).page_num)
  end)

  describe("every subcommand's request as sent", function()
    local task_id, file_id

    local function sent(argv)
      cli.clear(m)
      local r = cli.run(m, argv)
      assert.equal(0, r.code, table.concat(argv, " ") .. "\n" .. r.err)
      local reqs = cli.requests(m)
      assert.truthy(#reqs >= 1, "nothing sent")
      return reqs[#reqs], r, reqs
    end

    it("cv search youtube / instagram, lookalike", function()
      local req = sent({ "cv", "search", "youtube", "--keyword", "cook", "--size", "2", "--is-ai-creator", "false" })
      assert.equal("/openapi/v1/creators/youtube/search", req.path)
      assert.same({ keyword = "cook", size = 2, is_ai_creator = false }, req.json)
      assert.equal(mock.DEMO.cv_key, req.headers["x-api-key"])
      assert.equal(mock.DEMO.cv_identity, req.headers["x-user-identity"])
      req = sent({ "cv", "search", "instagram", "--country-code", "US,GB", "--gender", "female", "--size", "1" })
      assert.equal("/openapi/v1/creators/instagram/search", req.path)
      assert.same({ country_code = "US,GB", gender = "0", size = 1 }, req.json)   -- the SDK's gender mapping
      req = sent({ "cv", "lookalike", "@creator_demo", "--limit", "3", "--target-platform", "youtube" })
      assert.equal("/openapi/v1/creators/lookalike", req.path)
      assert.same({ username = "creator_demo", limit = 3, target_platform = "youtube" }, req.json)
    end)

    it("cv task submit | keyword-submit | status | wait | data | export, download-url, download", function()
      local req, r = sent({ "cv", "task", "submit", "--platform", "tiktok", "--task-type", "FILE_UPLOAD",
        "--values", "creator_demo", "--values", "jane.doe", "--task-name", "cli" })
      assert.equal("/openapi/v1/collection/tasks/submit", req.path)
      assert.same({ platform = "tiktok", task_type = "FILE_UPLOAD", values = { "creator_demo", "jane.doe" },
        task_name = "cli" }, req.json)
      task_id = decode(r.out).task_id
      local list = os.tmpname()
      local lf = assert(io.open(list, "w"))
      lf:write("creator_demo\r\n\n  jane.doe  \n")
      lf:close()
      local d = decode(cli.run(m, { "cv", "task", "submit", "--platform", "tiktok", "--task-type", "FILE_UPLOAD",
        "--values", "@" .. list, "--values", "sam_smith", "--dry-run", "--format", "json" }).out)
      os.remove(list)
      assert.same({ "creator_demo", "jane.doe", "sam_smith" }, decode(d.body).values)
      req = sent({ "cv", "task", "keyword-submit", "--platform", "tiktok", "--keywords", "beauty,skincare" })
      assert.equal("/openapi/v1/collection/tasks/keyword-submit", req.path)
      assert.same({ platform = "tiktok", keywords = { "beauty", "skincare" } }, req.json)
      req = sent({ "cv", "task", "status", task_id })
      assert.equal("/openapi/v1/collection/tasks/status", req.path)
      assert.same({ task_id = task_id }, req.json)
      local reqs, _
      _, r, reqs = sent({ "cv", "task", "wait", task_id, "--interval", "0.05", "--max-interval", "0.2" })
      assert.equal("completed", decode(r.out).status)
      for _, x in ipairs(reqs) do assert.equal("/openapi/v1/collection/tasks/status", x.path) end
      req, r = sent({ "cv", "task", "data", task_id, "--size", "1", "--page", "2" })
      assert.equal("/openapi/v1/collection/tasks/data", req.path)
      assert.same({ task_id = task_id, size = 1, page = 2 }, req.json)
      assert.equal("jane.doe", decode(r.out).source_value)
      req, r = sent({ "cv", "task", "export", task_id, "--export", "csv" })
      assert.equal("/openapi/v1/collection/tasks/export", req.path)
      assert.same({ task_id = task_id, format = "csv" }, req.json)
      file_id = decode(r.out).file_id
      req = sent({ "cv", "download-url", file_id })
      assert.equal("/openapi/v1/files/download-url", req.path)
      assert.same({ file_id = file_id }, req.json)
      assert.is_nil(req.headers["x-user-identity"])
      local path = os.tmpname()
      _, r, reqs = sent({ "cv", "download", file_id, "-o", path })
      assert.equal("/openapi/v1/files/download-url", reqs[1].path)
      assert.truthy(reqs[2].path:find("^/_files/" .. file_id))
      assert.is_nil(reqs[2].headers["x-api-key"])            -- the file host never sees the key
      local got = decode(r.out)
      local f = assert(io.open(path, "rb"))
      local bytes = f:read("*a")
      f:close()
      os.remove(path)
      assert.equal(#bytes, got.bytes)
      assert.equal(require("creatorapi.core").sha256(bytes), got.sha256)
      assert.truthy(bytes:find("source_value", 1, true))
    end)

    it("cv webhook-verify sends no credentials; cv call and keyapi get reach any path", function()
      local req, r = sent({ "cv", "webhook-verify", "--challenge", "ping" })
      assert.equal("/openapi/v1/webhook/verify", req.path)
      assert.same({ challenge = "ping" }, req.json)
      assert.is_nil(req.headers["x-api-key"])
      assert.equal("ping", decode(r.out).challenge)
      req = sent({ "cv", "call", "/creators/tiktok/search", "--data", '{"size":2,"keyword":"a"}', "--param", "page=3" })
      assert.equal("/openapi/v1/creators/tiktok/search", req.path)
      assert.same({ size = 2, keyword = "a", page = 3 }, req.json)
      req = sent({ "keyapi", "get", "/v1/tiktok/influencer/list/analytics", "--param", "region=US",
        "--param", "page_num=2", "--param", "page_size=3" })
      assert.same({ region = "US", page_num = "2", page_size = "3" }, cli.query(req.query))
    end)

    it("every KeyAPI endpoint", function()
      local cases = {
        { { "keyapi", "influencer-detail", "--unique-id", "creator_demo" }, "/detail/", { unique_id = "creator_demo" } },
        { { "keyapi", "influencer-videos", "--unique-id", "creator_demo", "--video-sort-field", "2" }, "/videos/",
          { unique_id = "creator_demo", video_sort_field = "2", page_num = "1", page_size = "10" } },
        { { "keyapi", "influencer-ranking", "--region", "US", "--rank-type", "3" }, "/ranking/",
          { region = "US", rank_type = "3", page_num = "1", page_size = "10" } },
        { { "keyapi", "influencer-trends", "--unique-id", "creator_demo", "--start-date", "2026-11-01" }, "/trends/",
          { unique_id = "creator_demo", start_date = "2026-11-01" } },
        { { "keyapi", "influencer-products", "--unique-id", "creator_demo" }, "/products/",
          { unique_id = "creator_demo", page_num = "1", page_size = "10" } },
        { { "keyapi", "influencer-livestreams", "--unique-id", "creator_demo" }, "/livestreams/",
          { unique_id = "creator_demo", page_num = "1", page_size = "10" } },
      }
      for _, c in ipairs(cases) do
        local req = sent(c[1])
        assert.truthy(req.path:find(c[2], 1, true), req.path)
        assert.same(c[3], cli.query(req.query))
      end
    end)

    it("--param and --data reach the body; flags override --data", function()
      local req = sent({ "cv", "search", "tiktok", "--data", '{"keyword":"a","size":1}', "--keyword", "b",
        "--param", "brand_new_filter=5", "--param", "followers-cnt-lte=900000" })
      assert.same({ keyword = "b", size = 1, brand_new_filter = 5, followers_cnt_lte = 900000 }, req.json)
    end)
  end)

  describe("--dry-run", function()
    it("prints the exact request with the key redacted and sends nothing", function()
      cli.clear(m)
      local r = cli.run(m, { "cv", "search", "tiktok", "--country-code", "US", "--limit", "300", "--dry-run",
        "--format", "json" })
      assert.equal(0, r.code, r.err)
      local d = decode(r.out)
      assert.equal("POST", d.method)
      assert.equal(m.url .. "/openapi/v1/creators/tiktok/search", d.url)
      assert.same({ country_code = "US", page = 1, size = 100 }, decode(d.body))
      local text = table.concat(d.headers, "\n")
      assert.truthy(text:find("X-API-Key: [REDACTED]", 1, true), text)
      assert.truthy(text:find("X-User-Identity: " .. mock.DEMO.cv_identity, 1, true), text)
      assert.is_nil(r.out:find(mock.DEMO.cv_key, 1, true))
      assert.equal(900, d.worst_case_credits)        -- 300 rows x 3 credits (S2)
      r = cli.run(m, { "keyapi", "influencer-list", "--region", "GB", "--dry-run" , "--format", "table" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.out:find("GET " .. m.url .. "/v1/tiktok/influencer/list/analytics?page_num=1&page_size=10&region=GB",
        1, true), r.out)
      assert.truthy(r.out:find("Authorization: Bearer [REDACTED]", 1, true), r.out)
      assert.truthy(r.out:find("nothing was sent", 1, true), r.out)
      assert.truthy(r.out:find("# worst-case cost: 1 credit (influencer_list: 1 credit per request)", 1, true), r.out)
      assert.is_nil(r.out:find(mock.DEMO.keyapi_key, 1, true))
      r = cli.run(m, { "cv", "collect", "--platform", "tiktok", "--values", "a,b", "--export", "xlsx", "--dry-run" })
      assert.equal(0, r.code, r.err)
      assert.same({ platform = "tiktok", values = { "a", "b" }, task_type = "FILE_UPLOAD" }, decode(decode(r.out).body))
      assert.equal(0, #cli.requests(m))
      assert.equal(0, m:get_json("/_mock/stats").requests)
    end)

    it("still validates: a wrong parameter is exit 3 and nothing is sent", function()
      cli.clear(m)
      local r = cli.run(m, { "cv", "search", "tiktok", "--size", "500", "--dry-run" })
      assert.equal(3, r.code)
      assert.truthy(r.err:find("size: must be <= 100", 1, true), r.err)
      assert.equal(0, #cli.requests(m))
    end)
  end)

  describe("errors: one line on stderr, an exit code per kind", function()
    local function one_line(r)
      local ls = lines(r.err)
      assert.equal(1, #ls, r.err)
      assert.is_nil(r.err:find("traceback", 1, true))
      return ls[1]
    end

    it("validation (3), with the SDK's message and nothing sent", function()
      cli.clear(m)
      local r = cli.run(m, { "cv", "search", "tiktok", "--sort-order", "up" })
      assert.equal(exits.BY_KIND.validation, r.code)
      assert.equal('creatorapi: validation: sort_order: must be one of "asc", "desc" (got "up") ' ..
        "(option --sort-order; see --help)", one_line(r))
      r = cli.run(m, { "cv", "search", "tiktok", "--followers-cnt-gte", "many" })
      assert.equal(3, r.code)
      assert.truthy(one_line(r):find("followers_cnt_gte: expected an integer", 1, true))
      r = cli.run(m, { "keyapi", "influencer-detail" })
      assert.equal(3, r.code)
      assert.truthy(one_line(r):find("user_id or unique_id is required", 1, true))
      assert.equal(0, #cli.requests(m))
    end)

    it("usage (2): unknown options get argparse's suggestion", function()
      local r = cli.run(m, { "cv", "search", "tiktok", "--folowers-cnt-gte", "5" })
      assert.equal(exits.USAGE, r.code)
      assert.truthy(r.err:find("Did you mean '--followers-cnt-gte'?", 1, true), r.err)
      r = cli.run(m, { "cv", "search", "tiktok", "--data", "[1]" })
      assert.equal(2, r.code)
      assert.equal("creatorapi: --data must be a JSON object", one_line(r))
    end)

    it("auth (4): a missing key is one clear line; a revoked key the API's error", function()
      local r = cli.run(m, { "cv", "search", "tiktok" }, { CREATIVAULT_API_KEY = false })
      assert.equal(4, r.code)
      assert.equal("creatorapi: auth: no CreatiVault API key: set $CREATIVAULT_API_KEY or pass --api-key", one_line(r))
      r = cli.run(m, { "keyapi", "influencer-list", "--region", "US" }, { KEYAPI_TOKEN = false })
      assert.equal(4, r.code)
      assert.equal("creatorapi: auth: no KeyAPI API key: set $KEYAPI_TOKEN or pass --api-key", one_line(r))
      r = cli.run(m, { "cv", "task", "status", "x" }, { CREATIVAULT_USER_IDENTITY = false })
      assert.equal(4, r.code)
      r = cli.run(m, { "cv", "search", "tiktok", "--api-key", "cv_live_revoked_0001" })
      assert.equal(4, r.code)
      assert.truthy(one_line(r):find("code 40103", 1, true))
    end)

    it("credits and budget (5)", function()
      local r = cli.run(m, { "cv", "search", "tiktok", "--api-key", "cv_live_nocredit_0001" })
      assert.equal(5, r.code)
      assert.truthy(one_line(r):find("creatorapi: credits (HTTP 402, code 40201", 1, true))
      -- a call whose worst case is over the budget is refused before anything is sent
      cli.clear(m)
      r = cli.run(m, { "cv", "search", "tiktok", "--size", "20", "--max-credits", "10" })
      assert.equal(5, r.code)
      assert.equal("creatorapi: budget: this call may cost up to 60 credits; --max-credits is 10: nothing was sent",
        one_line(r))
      assert.equal(0, #cli.requests(m))
      -- an iteration is cut to the rows the budget buys (3 credits a row at S2): 3 rows, 9 credits
      r = cli.run(m, { "cv", "search", "tiktok", "--limit", "20", "--max-credits", "10" })
      assert.equal(0, r.code, r.err)
      assert.equal(3, #jsonl(r.out))
      assert.equal(9, cli.charged(m))
      assert.truthy(r.err:find("--max-credits 10 buys 3 rows", 1, true), r.err)
      -- KeyAPI: 1 credit a request, so --max-credits 2 is two pages
      r = cli.run(m, { "keyapi", "influencer-list", "--region", "US", "--limit", "35", "--max-credits", "2" })
      assert.equal(0, r.code, r.err)
      assert.equal(20, #jsonl(r.out))
      assert.equal(2, cli.charged(m, mock.DEMO.keyapi_key))
    end)

    it("rate limited (6), network (7), server (8), not found (9)", function()
      m:curl("POST", "/_mock/faults", '{"status":429,"retry_after":"3600","path":"/v1/tiktok/influencer/list/analytics"}')
      local r = cli.run(m, { "keyapi", "influencer-list", "--region", "US" })
      assert.equal(6, r.code, r.err)
      r = cli.run(nil, { "keyapi", "influencer-list", "--region", "US", "--base-url", "http://127.0.0.1:1",
        "--api-key", "k", "--timeout", "2" })
      assert.equal(7, r.code, r.err)
      assert.truthy(one_line(r):find("^creatorapi: network"), r.err)
      m:curl("POST", "/_mock/faults", '{"status":500,"count":3,"path":"/openapi/v1/collection/tasks/status"}')
      r = cli.run(m, { "cv", "task", "status", "task_x" })
      assert.equal(8, r.code, r.err)
      r = cli.run(m, { "cv", "task", "status", "task_nope" })
      assert.equal(9, r.code, r.err)
    end)

    it("task failed (10): task wait on a task that fails prints the status and exits 10", function()
      local sub = decode(cli.run(m, { "cv", "task", "submit", "--platform", "tiktok", "--task-type", "LINK_BATCH",
        "--values", "__fail__" }).out)
      local r = cli.run(m, { "cv", "task", "wait", sub.task_id, "--interval", "0.05" })
      assert.equal(10, r.code, r.err)
      assert.equal("failed", decode(r.out).status)
      assert.truthy(r.err:find("task_failed: task " .. sub.task_id .. " ended failed", 1, true), r.err)
    end)

    it("io (12): a download that cannot write its file", function()
      local sub = decode(cli.run(m, { "cv", "task", "submit", "--platform", "tiktok", "--task-type", "FILE_UPLOAD",
        "--values", "creator_demo" }).out)
      assert.equal(0, cli.run(m, { "cv", "task", "wait", sub.task_id, "--interval", "0.05" }).code)
      local ex = decode(cli.run(m, { "cv", "task", "export", sub.task_id, "--export", "csv" }).out)
      local r = cli.run(m, { "cv", "download", ex.file_id, "-o", "/nonexistent-dir/x.csv" })
      assert.equal(12, r.code, r.err)
      assert.truthy(one_line(r):find("^creatorapi: io"), r.err)
    end)

    it("signature (11): webhook verify offline", function()
      local webhook = require "creatorapi.webhook"
      local sig, body = webhook.sign({ event = "collection.completed", task_id = "t1",
        timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ") }, "whsec_x")
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(body)
      f:close()
      local r = cli.run(nil, { "webhook", "verify", path, "--secret", "whsec_x", "--signature", sig })
      assert.equal(0, r.code, r.err)
      assert.equal("t1", decode(r.out).task_id)
      r = cli.run(nil, { "webhook", "verify", "--secret", "whsec_y", "--signature", sig }, nil, { stdin = path })
      assert.equal(11, r.code)
      assert.truthy(one_line(r):find("creatorapi: signature: webhook signature does not match", 1, true))
      -- a delivery signed an hour ago is a replay unless --tolerance allows it
      sig, body = webhook.sign({ event = "collection.completed", task_id = "t2",
        timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3600) }, "whsec_x")
      f = assert(io.open(path, "wb"))
      f:write(body)
      f:close()
      r = cli.run(nil, { "webhook", "verify", path, "--secret", "whsec_x", "--signature", sig })
      assert.equal(11, r.code)
      assert.truthy(one_line(r):find("tolerance", 1, true), r.err)
      r = cli.run(nil, { "webhook", "verify", path, "--secret", "whsec_x", "--signature", sig, "--tolerance", "4000" })
      assert.equal(0, r.code, r.err)
      os.remove(path)
    end)
  end)

  describe("--help", function()
    local function help(words)
      local argv = {}
      for i, w in ipairs(words) do argv[i] = w end
      argv[#argv + 1] = "--help"
      local r = cli.run(nil, argv)
      assert.equal(0, r.code, r.err)
      return r.out
    end

    it("lists every declared parameter of every endpoint, with its type, enum and range", function()
      for key, prov in pairs(endpoints.PROVIDERS) do
        local E = require(prov.module).Client.ENDPOINTS
        local hints = endpoints.HINTS[prov.name]
        for name, ep in pairs(E) do
          local hint = hints[name] or {}
          local words = { key }
          for _, w in ipairs(hint.words or { (name:gsub("_", "-")) }) do words[#words + 1] = w end
          local text = help(words)
          local positional = {}
          for _, p in ipairs(hint.positional or {}) do positional[p] = true end
          for pname, rule in pairs(ep.params) do
            local flag = "--" .. ((hint.rename or {})[pname] or pname:gsub("_", "-"))
            if pname == "page" or pname == "page_num" then flag = "--page" end
            assert.truthy(text:find(flag, 1, true) or (positional[pname] and text:find(pname, 1, true)),
              table.concat(words, " ") .. ": " .. pname .. " missing\n" .. text)
            if rule.enum and pname ~= "page" then
              assert.truthy(text:find("one of " .. tostring(rule.enum[1]), 1, true), name .. "." .. pname)
            end
          end
        end
      end
    end)

    it("shows ranges and requirements from the tables", function()
      local text = help({ "cv", "search", "tiktok" })
      assert.truthy(text:find("%-%-size <int>%s+integer; 1%.%.100"), text)
      assert.truthy(text:find("%-%-sort%-order <text>%s+text; one of asc, desc"), text)
      assert.truthy(text:find("%-%-gender <text>%s+text; one of 0, 1; also F=0, M=1, female=0, male=1"), text)
      text = help({ "keyapi", "influencer-list" })
      assert.truthy(text:find("%-%-region <text>%s+text; non%-empty; required"), text)
      text = help({ "cv", "task", "submit" })
      assert.truthy(text:find("1..500 items; required", 1, true), text)
    end)
  end)
end)
