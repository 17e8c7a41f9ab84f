-- The collection workflow end to end against the mock: submit → wait (with
-- progress) → rows → export → download, webhook deliveries, and the failure
-- paths (failed task, wait deadline, expired URL).
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local DEMO = mock.DEMO
local SECRET = "whsec_creatorapi_mock"
local FAST = { interval = 0.05, max_interval = 0.2 }   -- poll fast: the mock runs 200x

local function tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local d = p:read("*l")
  p:close()
  return d
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("collection workflow (mock API) #jit", function()
  local m, cv, dir

  setup(function()
    m = mock.start{ "--time-scale", "200", "--allow-insecure-webhooks", "--file-url-ttl", "2" }
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    dir = tmpdir()
  end)
  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local task_id

  it("waits for a task with progress callbacks and returns the final status", function()
    local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "jane.doe", "sam_smith", "not a valid name!" }, task_name = "wf" })
    task_id = sub.data.task_id
    local seen = {}
    local st = assert(cv:wait_task(task_id, { interval = FAST.interval, max_interval = FAST.max_interval,
      on_progress = function(s) seen[#seen + 1] = s end }))
    assert.equal("completed", st.status)
    assert.equal(4, tonumber(st.total))
    assert.equal(3, tonumber(st.completed))
    assert.equal(1, tonumber(st.failed))
    assert.is_true(#seen >= 2)                   -- at least processing and completed
    assert.equal("processing", seen[1].status)
    assert.equal("completed", seen[#seen].status)
  end)

  it("pages through the task's rows", function()
    local rows = {}
    for row in cv:each_task_row(task_id, { size = 2 }) do rows[#rows + 1] = row end
    assert.equal(3, #rows)
    assert.equal("creator_demo", rows[1].source_value)
    assert.is_number(rows[1].followers_count)
  end)

  it("exports CSV and downloads it to disk with its sha256, without the API key", function()
    local ex = assert(cv:export_task{ task_id = task_id, format = "csv" })
    assert.equal(3, ex.data.row_count)
    local again = assert(cv:export_task{ task_id = task_id, format = "csv" })
    assert.equal(ex.data.file_id, again.data.file_id)          -- cached per task + format
    local path = dir .. "/export.csv"
    local progress = {}
    local out = assert(cv:download(ex.data, path, { on_progress = function(n) progress[#progress + 1] = n end }))
    local body = read_file(path)
    assert.equal(#body, out.bytes)
    assert.equal("\239\187\191", body:sub(1, 3))               -- UTF-8 BOM
    assert.truthy(body:find("creator_demo", 1, true))
    assert.equal(core.sha256(body), out.sha256)
    assert.is_nil(io.open(path .. ".part"))
    assert.is_true(#progress >= 1)
    assert.equal(out.bytes, progress[#progress])
    local r = m:last_request()
    assert.matches("^/_files/", r.path)
    assert.is_nil(r.headers["x-api-key"])
    assert.is_nil(r.headers["authorization"])
    assert.is_nil(r.headers["x-user-identity"])
  end)

  it("exports XLSX (a zip) and HTML, and downloads by file_id and by file name", function()
    local x = assert(cv:export_task{ task_id = task_id, format = "xlsx" })
    local xo = assert(cv:download(x.data.file_id, dir .. "/export.xlsx"))
    assert.equal("PK\3\4", read_file(xo.path):sub(1, 4))
    -- a real workbook (libxlsxwriter): the header and a row are in its shared strings
    local p = assert(io.popen("python3 -c \"import sys,zipfile; print(zipfile.ZipFile(sys.argv[1])"
      .. ".read('xl/sharedStrings.xml').decode())\" '" .. xo.path .. "'"))
    local strings = p:read("*a")
    p:close()
    assert.truthy(strings:find("source_value", 1, true), strings)
    assert.truthy(strings:find("creator_demo", 1, true), strings)
    local h = assert(cv:export_task{ task_id = task_id, format = "html" })
    local ho = assert(cv:download({ file_name = h.data.file_name }, dir .. "/export.html"))
    assert.truthy(read_file(ho.path):find("<table", 1, true))
  end)

  it("asks for a fresh URL once when the signed URL has expired", function()
    local ex = assert(cv:export_task{ task_id = task_id, format = "csv" })
    core.sleep(3.2)                                             -- --file-url-ttl 2
    local before = m:get_json("/_mock/stats").paths["/openapi/v1/files/download-url"] or 0
    local out = assert(cv:download(ex.data, dir .. "/late.csv"))
    assert.is_true(out.bytes > 0)
    assert.equal(before + 1, m:get_json("/_mock/stats").paths["/openapi/v1/files/download-url"])
  end)

  it("collect_profiles runs submit → wait → rows", function()
    local rows, st = cv:collect_profiles{ platform = "tiktok", task_type = "FILE_UPLOAD",
      values = { "creator_demo", "jane.doe" }, wait = FAST }
    assert.is_table(rows, tostring(st))
    assert.equal(2, #rows)
    assert.equal("completed", st.status)
  end)

  it("collect_keywords returns a task_failed error for a failed task", function()
    local rows, err = cv:collect_keywords{ platform = "tiktok", keywords = { "__fail__" }, wait = FAST }
    assert.is_nil(rows)
    assert.equal("task_failed", err.kind)
    assert.equal("failed", err.last_status.status)
    assert.matches("^task_", err.task_id)
  end)

  it("wait_task gives up at its own deadline with the last status; the task keeps running", function()
    local sub = assert(cv:submit_keyword_task{ platform = "tiktok", keywords = { "beauty", "fitness", "travel" } })
    local st, err = cv:wait_task(sub.data.task_id, { interval = 0.05, timeout = 0.3 })
    assert.is_nil(st)
    assert.equal("timeout", err.kind)
    assert.equal("processing", err.last_status.status)
    assert.equal(sub.data.task_id, err.task_id)
    assert.equal("processing", assert(cv:task_status{ task_id = sub.data.task_id }).data.status)
  end)

  it("webhook deliveries verify with creatorapi.webhook.verify", function()
    -- call() skips the SDK's https check so the mock may deliver to a closed local port
    local sub = assert(cv:call("/collection/tasks/submit", { task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo" }, webhook_url = "http://127.0.0.1:9/hook" }))
    assert.equal("completed", assert(cv:wait_task(sub.data.task_id, FAST)).status)
    local delivery
    for _ = 1, 400 do                            -- up to 20 s: slow under sanitizers and GC stress
      for _, d in ipairs(m:get_json("/_mock/webhooks").deliveries) do
        if d.task_id == sub.data.task_id and #d.attempts > 0 then delivery = d end
      end
      if delivery then break end
      core.sleep(0.05)
    end
    assert.is_table(delivery)
    local body = delivery.payload                -- the raw body the mock sent
    -- the mock signs compact sorted-key JSON: re-serialising gives the same bytes
    assert.equal(body, creatorapi.webhook.canonical(creatorapi.json.decode(body), "compact"))
    local now = m:get_json("/_mock/clock").now     -- the mock's clock runs 200x
    local ev = assert(creatorapi.webhook.verify{ body = body, signature = delivery.signature, secret = SECRET,
      now = now })
    assert.equal("collection.completed", ev.event)
    assert.equal(sub.data.task_id, ev.task_id)
    local _, err = creatorapi.webhook.verify{ body = body, signature = delivery.signature, secret = "other",
      now = now }
    assert.equal("no_match", err.reason)
  end)
end)

-- Broken transfers, with file URLs that live long enough not to expire mid-test.
describe("download resume (mock API) #jit", function()
  local m, cv, dir

  setup(function()
    m = mock.start{ "--time-scale", "300" }
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    dir = tmpdir()
  end)
  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  it("resumes a broken download with Range and removes the partial file on final failure", function()
    local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok", values = { "creator_demo" } })
    assert.equal("completed", assert(cv:wait_task(sub.data.task_id, FAST)).status)
    local ex = assert(cv:export_task{ task_id = sub.data.task_id, format = "html" })
    local file_path = ex.data.file_url:match("^https?://[^/]+(/[^?]*)")
    m:curl("POST", "/_mock/faults", creatorapi.json.encode{ kind = "truncate", path = file_path, bytes = 100 })
    local out = assert(cv:download(ex.data, dir .. "/resumed.html"))
    assert.equal(2, out.attempts)
    local body = read_file(dir .. "/resumed.html")
    assert.equal(#body, out.bytes)
    assert.equal(core.sha256(body), out.sha256)
    assert.truthy(body:find("</html>", 1, true))
    local last = m:last_request()
    assert.matches("^bytes=100%-", last.headers["range"])         -- the second transfer asked for the rest
    -- every transfer broken: the error comes back and no .part file is left behind
    m:curl("POST", "/_mock/faults", creatorapi.json.encode{ kind = "truncate", path = file_path, bytes = 10, count = 10 })
    local none, err = cv:download(ex.data, dir .. "/broken.html", { max_attempts = 3 })
    assert.is_nil(none)
    assert.equal("network", err.kind)
    assert.equal(3, err.attempts)
    assert.is_nil(io.open(dir .. "/broken.html.part"))
    assert.is_nil(io.open(dir .. "/broken.html"))
    m:curl("DELETE", "/_mock/faults")
  end)

end)
