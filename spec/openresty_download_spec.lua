-- Downloads over the cosocket transport under a real nginx + ngx_lua (the
-- LuaJIT core): the SDK's cv:download in ngx threads against the mock (they
-- yield, resume with Range, keep error pages out of the file), and one attempt
-- at a time against the LuaSocket peer, case for case with the curl engine's
-- file rules (spec/core_download_spec.lua), plus TLS to the file host.
-- Bounds are ratios and counts, never tight wall-clock limits.
local core = require "creatorapi.core"
local files = require "support.files"
local mock = require "support.mock"
local nginx = require "support.nginx"

local sh = nginx.sh
local DELAY = 0.2

local function json(body)
  local v, err = core.json_decode(body or "")
  assert(v, "not JSON (" .. tostring(err) .. "): " .. tostring(body))
  return v
end

describe("OpenResty cosocket downloads", function()
  local dir, m, mtls, mbad, n1

  setup(function()
    dir = sh("mktemp -d"):gsub("%s+$", "")
    nginx.test_certs(dir)
    m = mock.start{ "--quiet" }
    mtls = mock.start{ "--quiet", "--tls-cert", dir .. "/server.pem", "--tls-key", dir .. "/server.key" }
    mbad = mock.start{ "--quiet", "--tls-cert", dir .. "/bad.pem", "--tls-key", dir .. "/bad.key" }
    local env = string.format("MOCK_URL=%s MOCK_TLS_URL=%s MOCK_BAD_TLS_URL=%s MOCK_RL_URL=%s MOCK_V6_URL=%s",
      m.url, mtls.url:gsub("^http:", "https:"), mbad.url:gsub("^http:", "https:"), m.url, m.url)
    n1 = nginx.start("spec/support/nginx_async.conf.in", { WORKERS = 1, CA = dir .. "/ca.pem", ENV = env })
  end)

  teardown(function()
    if n1 then n1:stop() end
    for _, x in ipairs{ m, mtls, mbad } do x:stop() end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  describe("SDK downloads over cosockets", function()
    local mdl, file, ref, ddir
    local function enc(v)
      return (v:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
    end
    local function dl(url, n, extra)
      local body, code = n1:get(string.format("/t/sdkdl?base=%s&url=%s&dir=%s&n=%d%s",
        enc(mdl.url), enc(url), enc(ddir), n, extra or ""), 120)
      assert.equal(200, code, body)
      return json(body)
    end

    setup(function()
      local creatorapi = require "creatorapi"
      mdl = mock.start{ "--quiet", "--time-scale", "200" }
      ddir = sh("mktemp -d"):gsub("%s+$", "")
      os.execute("chmod 777 '" .. ddir .. "'")          -- nginx workers may run as another user
      local cv = creatorapi.creativault{ base_url = mdl.url, api_key = mock.DEMO.cv_key,
        user_identity = mock.DEMO.cv_identity }
      local values = {}
      for i = 1, 300 do values[i] = "creator_" .. i end
      local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok", values = values })
      assert(cv:wait_task(sub.data.task_id, { interval = 0.05, max_interval = 0.2 }))
      file = assert(cv:export_task{ task_id = sub.data.task_id, format = "csv" }).data
      ref = assert(cv:download(file, ddir .. "/reference.csv"))   -- the blocking path, for comparison
      cv:close()
    end)
    teardown(function()
      if mdl then mdl:stop() end
      if ddir then os.execute("rm -rf '" .. ddir .. "'") end
    end)

    local function file_path()
      return (file.file_url:match("^https?://[^/]+(/[^?]*)"))
    end

    it("four at once yield the worker: four delayed file answers take about one delay", function()
      mdl:curl("DELETE", "/_mock/faults")
      mdl:curl("POST", "/_mock/faults", string.format('{"kind":"delay","delay":%g,"count":4,"path":"%s"}',
        DELAY * 2, file_path()))
      local r = dl(file.file_url, 4)
      assert.equal("cosocket", r.transport)
      for i = 1, 4 do
        local x = r.results[i]
        assert.is_true(x.ok, tostring(x.message))
        assert.equal(ref.sha256, x.sha256)
        assert.equal(ref.bytes, x.bytes)
      end
      -- one after another would be 4 x 0.4 s
      assert.is_true(r.elapsed < 2.5 * DELAY * 2, ("4 downloads took %.3f s: not concurrent"):format(r.elapsed))
    end)

    it("resumes a truncated transfer with Range, and the file on disk is whole", function()
      mdl:curl("DELETE", "/_mock/faults")
      mdl:curl("POST", "/_mock/faults", string.format('{"kind":"truncate","bytes":1000,"count":1,"path":"%s"}',
        file_path()))
      local x = dl(file.file_url, 1).results[1]
      assert.is_true(x.ok, tostring(x.message))
      assert.equal(2, x.attempts)
      assert.equal(ref.sha256, x.sha256)
      local ranges = {}
      for _, q in ipairs(mdl:get_json("/_mock/requests?path=" .. file_path()).requests) do
        for _, h in ipairs(q.headers) do
          if h[1]:lower() == "range" then ranges[#ranges + 1] = h[2] end
          assert.is_nil(h[1]:lower():match("^x%-api%-key$"), "the API key reached the file host")
        end
      end
      assert.same({ "bytes=1000-" }, ranges)
    end)

    it("never writes an error page into the file: a bad signature is a 403 with its excerpt", function()
      mdl:curl("DELETE", "/_mock/faults")
      local x = dl((file.file_url:gsub("sig=[^&]*", "sig=00")), 1, "&attempts=1&name=bad").results[1]
      assert.is_false(x.ok)
      assert.equal(403, x.status)
      assert.matches("SignatureDoesNotMatch", x.excerpt or "")
      assert.is_nil(io.open(ddir .. "/bad1"))
      assert.equal("", sh("ls '" .. ddir .. "' | grep part || true"):gsub("%s+$", ""))
    end)
  end)

  describe("cosocket downloads follow the curl engine's file rules", function()
    local peer = require "support.peer"
    local port, pid, base, tdir, tmp
    local function content(n)
      local lines = {}
      for i = 0, math.floor((n + 9) / 10) - 1 do lines[#lines + 1] = string.format("%09d\n", i) end
      return table.concat(lines):sub(1, n)
    end
    local readfile, writefile = files.readfile, files.writefile
    local function enc(v)
      return (tostring(v):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
    end
    local function rawdl(path, opts)
      local q = { "base=" .. enc(base), "url=" .. enc(base .. path), "path=" .. enc(tmp) }
      for k, v in pairs(opts or {}) do q[#q + 1] = k .. "=" .. enc(v) end
      local body, code = n1:get("/t/rawdl?" .. table.concat(q, "&"), 60)
      assert.equal(200, code, body)
      return json(body)
    end

    setup(function()
      port, pid = peer.start()
      base = "http://127.0.0.1:" .. port
      tdir = sh("mktemp -d"):gsub("%s+$", "")
      os.execute("chmod 777 '" .. tdir .. "'")
    end)
    teardown(function()
      peer.stop(port, pid)
      os.execute("rm -rf '" .. tdir .. "'")
    end)
    before_each(function()
      peer.control(port, "/__reset")
      tmp = tdir .. "/f" .. math.random(1e9)
    end)

    it("streams a multi-MB body with the right bytes, and resumes with Range (206 at offset)", function()
      local n = 4 * 1024 * 1024 + 17
      local r = rawdl("/file/" .. n)
      assert.same({ status = 200, bytes = n, total = n, expected = n, resumed = false,
        content_type = "application/octet-stream" }, r.res)
      assert.equal(core.sha256(content(n)), r.sha256)
      local size, k = 300000, 123457
      writefile(tmp, content(size):sub(1, k) .. string.rep("X", 50))   -- a longer, wrong tail is dropped
      r = rawdl("/file/" .. size, { offset = k })
      assert.same({ status = 206, bytes = size - k, total = size, expected = size, resumed = true,
        content_type = "application/octet-stream" }, r.res)
      assert.equal(core.sha256(content(size)), r.sha256)
      assert.equal("bytes=" .. k .. "-", peer.server_log(port).requests[2].headers["range"])
    end)

    it("416 bytes */<offset> is complete; a server ignoring Range starts over", function()
      writefile(tmp, content(5000))
      local r = rawdl("/file/5000", { offset = 5000 })
      assert.equal(416, r.res.status)
      assert.equal(0, r.res.bytes)
      assert.equal(core.sha256(content(5000)), r.sha256)
      writefile(tmp, string.rep("Z", 5999))
      r = rawdl("/file-norange/200000", { offset = 5000 })
      assert.equal(200, r.res.status)
      assert.is_false(r.res.resumed)
      assert.equal(core.sha256(content(200000)), r.sha256)
    end)

    it("never writes an error page into the file, and keeps its excerpt", function()
      writefile(tmp, "keep me")
      for _, st in ipairs{ 403, 404, 500 } do
        local r = rawdl("/status/" .. st)
        assert.equal(st, r.err.status)
        assert.matches("status " .. st, r.err.excerpt, 1, true)
        assert.equal("keep me", readfile(tmp))
      end
    end)

    it("follows a redirect without any credential header", function()
      local r = rawdl("/redirect-file/2000")
      assert.equal(2000, r.res.bytes)
      assert.equal(core.sha256(content(2000)), r.sha256)
      local log = peer.server_log(port)
      assert.equal(2, #log.requests)
      assert.equal("/file/2000", log.requests[2].target)
      for _, q in ipairs(log.requests) do
        assert.is_nil(q.headers["authorization"])
        for _, v in pairs(q.headers) do assert.is_nil(v:find("TOPSECRET", 1, true)) end
      end
    end)

    it("aborts a stalled body (low_speed_time) and keeps what arrived; max_bytes", function()
      local r = rawdl("/file-stall/100000", { low_speed_limit = 1000, low_speed_time = 1 })
      assert.equal("timeout", r.err.kind)
      assert.equal(100, r.err.bytes)
      assert.equal(100, #readfile(tmp))
      r = rawdl("/file/50000", { max_bytes = 20000 })
      assert.equal("protocol", r.err.kind)
      assert.matches("max_bytes", r.err.message, 1, true)
    end)

    it("verifies the file host's certificate: 403 through a trusted one, kind tls for an untrusted one", function()
      local good = mtls.url:gsub("^http:", "https:")
      local bad = mbad.url:gsub("^http:", "https:")
      local function via(u)
        local body, code = n1:get("/t/rawdl?base=" .. enc(u) .. "&url=" .. enc(u .. "/_files/00?expires=1&sig=x")
          .. "&path=" .. enc(tmp), 60)
        assert.equal(200, code, body)
        return json(body)
      end
      local r = via(good)
      assert.equal(403, r.err.status)
      assert.matches("Signature", r.err.excerpt or "", 1, true)
      r = via(bad)
      assert.equal("tls", r.err.kind)
      assert.is_nil(readfile(tmp))
    end)

    it("reports progress with the expected size, and a raising on_progress aborts", function()
      local r = rawdl("/file-slow/200000/20000/0.1", { progress = "record" })
      assert.equal(200000, r.res.bytes)
      assert.is_true(#r.calls >= 2, #r.calls .. " calls")
      for i = 2, #r.calls do assert.is_true(r.calls[i][1] >= r.calls[i - 1][1]) end
      r = rawdl("/file/50000", { progress = "record" })
      for _, c in ipairs(r.calls) do assert.equal(50000, c[2]) end
      r = rawdl("/file-slow/200000/20000/0.1", { progress = "raise" })
      assert.equal("aborted", r.err.kind)
      assert.equal("stop here", r.err.message)
    end)
  end)

end)
