-- The `creatorapi` command's long-running work: progress on a terminal (a
-- pseudo-terminal from util-linux `script`) and none when piped, the
-- collect → xlsx job in one command, and `creatorapi mock`.
local mock = require "support.mock"
local cli = require "support.cli"
local core = require "creatorapi.core"
local json = require("creatorapi").json

local decode = cli.decode

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("creatorapi command: progress and workflows #jit", function()
  local m, dir
  setup(function()
    m = mock.start{ "--quiet", "--time-scale", "600", "--allow-insecure-webhooks" }
    local p = io.popen("mktemp -d")
    dir = p:read("*l")
    p:close()
  end)
  teardown(function()
    m:stop()
    os.execute("rm -rf " .. cli.quote(dir))
  end)

  describe("progress", function()
    it("paging: redrawn in place on a terminal, rows to the file untouched", function()
      local out = dir .. "/p.csv"
      local r = cli.run_tty(m, { "cv", "search", "tiktok", "--limit", "150", "--format", "csv", "--fields", "username" },
        nil, " >" .. cli.quote(out))
      assert.equal(0, r.code, r.tty)
      assert.truthy(r.tty:find("\r[", 1, true), r.tty)
      assert.truthy(r.tty:find("rows 150/150\27[K", 1, true), r.tty)
      assert.truthy(r.tty:find("\r\27[K", 1, true), r.tty)          -- erased at the end
      local csv = read(out)
      assert.is_nil(csv:find("\r", 1, true))
      assert.is_nil(csv:find("\27", 1, true))
      assert.equal(151, #cli.parse_csv(csv))
    end)

    it("none when stderr is piped; --progress forces it, --quiet silences everything", function()
      local r = cli.run(m, { "cv", "search", "tiktok", "--limit", "150", "--format", "csv" })
      assert.equal(0, r.code, r.err)
      assert.is_nil(r.err:find("\r", 1, true))
      assert.is_nil(r.err:find("rows", 1, true))
      assert.truthy(r.err:find("^creatorapi: 450 credits spent"), r.err)
      r = cli.run(m, { "cv", "search", "tiktok", "--limit", "150", "--format", "csv", "--progress" })
      assert.truthy(r.err:find("rows 150/150", 1, true), r.err)
      r = cli.run_tty(m, { "cv", "search", "tiktok", "--limit", "150", "--format", "csv", "--quiet" }, nil, " >/dev/null")
      assert.equal(0, r.code)
      assert.equal("", r.tty)
    end)

    it("table on a terminal by default, rows never garbled by the bar", function()
      local r = cli.run_tty(m, { "cv", "search", "tiktok", "--limit", "3", "--fields", "username,followers_count" })
      assert.equal(0, r.code, r.tty)
      local text = r.tty:gsub("\r\n", "\n")
      -- every line that holds a row starts clean (the bar was erased before it)
      local header = text:match("\27%[K(username%s+followers_count)\n")
      assert.truthy(header, text)
      local rows = 0
      for line in text:gmatch("\n([^\n]+)") do
        if line:find("^%S+%s+[%d,]+$") then rows = rows + 1 end
      end
      assert.equal(3, rows, text)
    end)

    it("task wait shows the task's progress on a terminal", function()
      local sub = decode(cli.run(m, { "cv", "task", "submit", "--platform", "tiktok", "--task-type", "FILE_UPLOAD",
        "--values", "creator_demo,jane.doe" }).out)
      local r = cli.run_tty(m, { "cv", "task", "wait", sub.task_id, "--interval", "0.05", "--format", "json" })
      assert.equal(0, r.code, r.tty)
      assert.truthy(r.tty:find("\rtask " .. sub.task_id .. " [", 1, true), r.tty)
      assert.truthy(r.tty:find("100.0%  completed  2/2 done, 0 failed", 1, true), r.tty)
    end)

    it("downloads show bytes, rate and ETA", function()
      local sub = decode(cli.run(m, { "cv", "collect", "--platform", "tiktok", "--values", "creator_demo" }).out)
      assert.equal(0, cli.run(m, { "cv", "task", "wait", sub.task_id, "--interval", "0.05" }).code)
      local ex = decode(cli.run(m, { "cv", "task", "export", sub.task_id, "--export", "csv" }).out)
      local r = cli.run(m, { "cv", "download", ex.file_id, "-o", dir .. "/d.csv", "--progress" })
      assert.equal(0, r.code, r.err)
      assert.truthy(r.err:find("download " .. dir .. "/d.csv [", 1, true), r.err)
      assert.truthy(r.err:find("/s  ETA ", 1, true), r.err)
      assert.equal(decode(r.out).bytes, #read(dir .. "/d.csv"))
    end)
  end)

  it("collect → xlsx in one command: submit, wait, export, download", function()
    m:reset()
    local path = dir .. "/creators.xlsx"
    local r = cli.run(m, { "cv", "collect", "--platform", "tiktok", "--values", "creator_demo,jane.doe,sam_smith",
      "--export", "xlsx", "-o", path, "--interval", "0.05", "--format", "json" })
    assert.equal(0, r.code, r.err)
    local o = decode(r.out)
    assert.equal("completed", o.status)
    assert.equal(3, o.rows)
    assert.equal(path, o.path)
    local bytes = read(path)
    assert.equal("PK\3\4", bytes:sub(1, 4))                  -- a ZIP container (OOXML)
    assert.truthy(bytes:find("xl/worksheets/sheet1.xml", 1, true))
    assert.equal(#bytes, o.bytes)
    assert.equal(core.sha256(bytes), o.sha256)
    local paths = {}
    for _, req in ipairs(cli.requests(m)) do paths[#paths + 1] = req.path:gsub("^/openapi/v1", ""):gsub("%?.*", "") end
    assert.equal("/collection/tasks/submit", paths[1])
    assert.equal("FILE_UPLOAD", cli.requests(m)[1].json.task_type)     -- usernames, not links
    assert.equal("/collection/tasks/status", paths[2])
    assert.equal("/collection/tasks/export", paths[#paths - 1])
    assert.truthy(paths[#paths]:find("^/_files/"), paths[#paths])
    assert.truthy(r.err:find("submitted task task_", 1, true), r.err)
  end)

  it("collect --wait streams the task's rows; LINK_BATCH when every value is a URL", function()
    m:reset()
    local r = cli.run(m, { "cv", "collect", "--platform", "tiktok", "--values",
      "https://www.tiktok.com/@creator_demo", "--wait", "--interval", "0.05", "--format", "csv",
      "--fields", "source_value,username" })
    assert.equal(0, r.code, r.err)
    local recs = cli.csv_records(r.out)
    assert.equal(1, #recs)
    assert.equal("creator_demo", recs[1].username)
    assert.equal("LINK_BATCH", cli.requests(m)[1].json.task_type)
    r = cli.run(m, { "cv", "collect", "--platform", "tiktok", "--values", "creator_demo,jane.doe,sam_smith",
      "--wait", "--limit", "2", "--interval", "0.05", "--fields", "source_value" })
    assert.equal(0, r.code, r.err)
    assert.same({ { source_value = "creator_demo" }, { source_value = "jane.doe" } }, cli.jsonl(r.out))
  end)

  it("bin/creatorapi finds its checkout through a symlink, from any directory", function()
    local link = dir .. "/creatorapi"
    os.execute("ln -s " .. cli.quote(os.getenv("PWD") .. "/bin/creatorapi") .. " " .. cli.quote(link))
    local p = io.popen("cd / && env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u LUA_PATH -u LUA_CPATH " .. cli.LUA .. " "
      .. cli.quote(link) .. " --version 2>&1")
    local out = p:read("*a")
    p:close()
    assert.equal("creatorapi " .. require("creatorapi").VERSION .. "\n", out)
  end)

  describe("webhook listen", function()
    -- Starts a listener in the background; → { url, pid, out, err } once it listens.
    local function listen(args)
      local out, err = os.tmpname(), os.tmpname()
      -- the mock's clock runs 600x, so its signed timestamps are far from ours
      local argv = { "webhook", "listen", "--port", "0", "--tolerance", "false" }
      for _, a in ipairs(args) do argv[#argv + 1] = a end
      local p = io.popen(cli.command(nil, argv) .. " >" .. cli.quote(out) .. " 2>" .. cli.quote(err) .. " & echo $!")
      local pid = p:read("*l")
      p:close()
      for _ = 1, 400 do
        local url = read(err):match("listening for webhooks on (http://%S+)")
        if url then return { url = url, pid = pid, out = out, err = err } end
        os.execute("sleep 0.025")
      end
      error("the listener did not start: " .. read(err))
    end

    local function wait_for(path, text)
      for _ = 1, 400 do
        if read(path):find(text, 1, true) then return true end
        os.execute("sleep 0.025")
      end
      return false
    end

    local function post(url, body, sig)
      local p = io.popen(string.format("curl -s -o /dev/null -w '%%{http_code}' -X POST -H %s --data-binary %s %s",
        cli.quote("X-Webhook-Signature: " .. sig), cli.quote(body), cli.quote(url)))
      local code = p:read("*a")
      p:close()
      return tonumber(code)
    end

    it("verifies the mock's real delivery, prints the event and forwards it byte for byte", function()
      m:reset()
      local secret = "whsec_creatorapi_mock"
      local target = listen({ "--secret", secret, "--max-events", "1" })
      local front = listen({ "--secret", "whsec_old", "--secret", secret, "--max-events", "1",
        "--forward-to", target.url .. "downstream" })
      -- a forged delivery is refused with 401 and does not count as an event
      assert.equal(401, post(front.url, '{"event":"collection.completed"}', string.rep("0", 64)))
      assert.truthy(wait_for(front.err, "webhook signature does not match"), read(front.err))
      -- the SDK refuses http:// webhook URLs; `cv call` sends the mock one anyway (it allows insecure ones here)
      local r = cli.run(m, { "cv", "call", "/collection/tasks/submit", "--data", json.encode({ platform = "tiktok",
        task_type = "FILE_UPLOAD", values = { "creator_demo" }, webhook_url = front.url .. "hook" }) })
      assert.equal(0, r.code, r.err)
      local task_id = decode(r.out).task_id
      assert.truthy(wait_for(front.out, task_id), read(front.err))
      assert.truthy(wait_for(target.out, task_id), read(target.err))
      local ev = decode(read(front.out))
      assert.equal("collection.completed", ev.event)
      assert.equal("completed", ev.status)
      assert.same(ev, decode(read(target.out)))
      assert.truthy(wait_for(front.err, "forwarded collection.completed to " .. target.url .. "downstream: HTTP 200"),
        read(front.err))
      local deliveries
      for _ = 1, 200 do
        deliveries = m:get_json("/_mock/webhooks").deliveries
        if deliveries[1] and deliveries[1].state == "delivered" then break end
        os.execute("sleep 0.025")
      end
      assert.equal("delivered", deliveries[1].state)
      assert.equal(200, deliveries[1].attempts[#deliveries[1].attempts].status)
      for _, l in ipairs({ front, target }) do
        os.execute("kill " .. l.pid .. " 2>/dev/null")
        os.remove(l.out)
        os.remove(l.err)
      end
    end)
  end)

  it("creatorapi mock starts the bundled mock and prints the environment lines", function()
    local out = os.tmpname()
    local cmd = string.format("%s bin/creatorapi mock --port 0 -- --quiet >%s 2>&1 &", cli.LUA, cli.quote(out))
    os.execute(cmd)
    local text = ""
    for _ = 1, 400 do
      text = read(out)
      if text:find("KEYAPI_TOKEN", 1, true) then break end
      os.execute("sleep 0.025")
    end
    local url = text:match("export CREATIVAULT_BASE_URL=(%S+)")
    local pid = text:match("%(pid (%d+)%)")
    assert.truthy(url and pid, text)
    local env = {}
    for k, v in text:gmatch("export ([%w_]+)=(%S+)") do env[k] = v end
    assert.equal(mock.DEMO.cv_key, env.CREATIVAULT_API_KEY)
    assert.equal(url, env.KEYAPI_API_BASE_URL)
    -- the printed lines are all the command needs
    env.CREATORAPI_UNUSED = "1"
    local r = cli.run(nil, { "keyapi", "influencer-list", "--region", "US", "--fields", "unique_id" }, env)
    os.execute("kill " .. pid)
    assert.equal(0, r.code, r.err)
    assert.equal('{"unique_id":"creator_demo"}', r.out:match("^[^\n]+"))
    os.remove(out)
  end)
end)
