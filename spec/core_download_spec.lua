-- creatorapi.core downloads (client:download, core.sha256_file) against the
-- LuaSocket peer (spec/support/raw_http_server.lua): streaming to a file,
-- resume with Range, error statuses, no credentials, low-speed abort,
-- on_progress.
local core = require "creatorapi.core"
local make_core_client = require "support.core_client"

local peer = require "support.peer"
local control, server_log =
  peer.control, peer.server_log
local KEY = "cv_live_TOPSECRETkey123"
local IDENT = "ops@example.com"

-- The server's content(n): "%09d\n" for lines 0, 1, 2, ... cut to n bytes.
local content_cache = {}
local function content(n)
  if content_cache[n] then return content_cache[n] end
  local lines = {}
  for i = 0, math.floor((n + 9) / 10) - 1 do lines[#lines + 1] = string.format("%09d\n", i) end
  local s = table.concat(lines):sub(1, n)
  content_cache[n] = s
  return s
end

local readfile = require("support.files").readfile

local writefile = require("support.files").writefile

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

describe("core downloads #jit", function()
  local port, pid, base, tmp

  local function client(extra)
    local cfg = { base_url = base, dialect = "creativault", api_key = KEY, user_identity = IDENT }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return make_core_client(cfg)
  end

  lazy_setup(function()
    port, pid = peer.start()
    base = "http://127.0.0.1:" .. port
  end)
  lazy_teardown(function() peer.stop(port, pid) end)

  before_each(function()
    control(port, "/__reset")
    tmp = os.tmpname()
    os.remove(tmp)
  end)

  after_each(function()
    os.remove(tmp)
  end)

  it("streams a multi-MB body to the file, with the right bytes and sha256", function()
    local n = 4 * 1024 * 1024 + 17
    local c = client()
    local res, err = c:download { url = base .. "/file/" .. n, path = tmp }
    assert.is_nil(err, tostring(err))
    assert.equal(200, res.status)
    assert.equal(n, res.bytes)
    assert.equal(n, res.total)
    assert.equal(n, res.expected)
    assert.is_false(res.resumed)
    assert.equal(1, res.attempts)
    assert.equal("application/octet-stream", res.headers["content-type"])
    local want = core.sha256(content(n))
    assert.equal(want, core.sha256_file(tmp))
    assert.equal(want, core.sha256(readfile(tmp)))
    -- the client still makes API calls afterwards
    assert(c:request { method = "GET", path = "/cv/ok" })
    c:close()
  end)

  it("resumes with Range: 206 appends at offset", function()
    local n, k = 300000, 123457
    local c = client()
    -- a longer, wrong tail past offset is dropped
    writefile(tmp, content(n):sub(1, k) .. string.rep("X", 50))
    local res = assert(c:download { url = base .. "/file/" .. n, path = tmp, offset = k })
    assert.equal(206, res.status)
    assert.is_true(res.resumed)
    assert.equal(n - k, res.bytes)
    assert.equal(n, res.total)
    assert.equal(n, res.expected)
    assert.equal(core.sha256(content(n)), core.sha256_file(tmp))
    local r = server_log(port).requests[1]
    assert.equal("bytes=" .. k .. "-", r.headers["range"])
    c:close()
  end)

  it("treats 416 with Content-Range bytes */<offset> as already complete", function()
    local n = 5000
    local c = client()
    writefile(tmp, content(n))
    local res = assert(c:download { url = base .. "/file/" .. n, path = tmp, offset = n })
    assert.equal(416, res.status)
    assert.equal(0, res.bytes)
    assert.equal(n, res.total)
    assert.equal(n, res.expected)
    assert.is_true(res.resumed)
    assert.equal(core.sha256(content(n)), core.sha256_file(tmp))
    -- any other 416 is an error, and the file stays as it was
    local res2, err = c:download { url = base .. "/file/" .. (n - 10), path = tmp, offset = n }
    assert.is_nil(res2)
    assert.equal(416, err.status)
    assert.equal(n, #readfile(tmp))
    c:close()
  end)

  it("starts over when the server ignores Range (200): truncates and writes from 0", function()
    local n, k = 200000, 5000
    local c = client()
    writefile(tmp, string.rep("Z", k + 999))
    local res = assert(c:download { url = base .. "/file-norange/" .. n, path = tmp, offset = k })
    assert.equal(200, res.status)
    assert.is_false(res.resumed)
    assert.equal(n, res.bytes)
    assert.equal(n, res.total)
    assert.equal(n, res.expected)
    assert.equal(core.sha256(content(n)), core.sha256_file(tmp))
    c:close()
  end)

  it("returns HTTP errors by status and never writes the error body to the file", function()
    local c = client()
    writefile(tmp, "keep me")
    for _, st in ipairs({ 403, 410, 404, 500 }) do
      local res, err = c:download { url = base .. "/status/" .. st, path = tmp }
      assert.is_nil(res)
      assert.equal(core.error_mt, getmetatable(err))
      assert.equal(st, err.status)
      assert.equal(0, err.bytes)
      assert.matches("status " .. st, err.body_excerpt, 1, true)
      assert.matches("HTTP " .. st, err.message, 1, true)
      assert.equal("keep me", readfile(tmp))
    end
    local _, err = c:download { url = base .. "/status/403", path = tmp }
    assert.equal("permission", err.kind)
    -- a resume that meets an expired URL leaves the partial file as it was
    _, err = c:download { url = base .. "/status/403", path = tmp, offset = 4 }
    assert.equal(403, err.status)
    assert.equal("keep me", readfile(tmp))
    -- and a path that did not exist is not created
    os.remove(tmp)
    _, err = c:download { url = base .. "/status/410", path = tmp }
    assert.equal(410, err.status)
    assert.is_nil(readfile(tmp))
    c:close()
  end)

  it("never sends the API key, identity or Bearer header, also across redirects", function()
    local c = client()
    assert(c:download { url = base .. "/file/1000", path = tmp })
    local k = make_core_client { base_url = base, dialect = "keyapi", api_key = KEY }
    local res = assert(k:download { url = base .. "/redirect-file/2000", path = tmp })
    assert.equal(200, res.status)
    assert.equal(2000, res.bytes)
    assert.equal(core.sha256(content(2000)), core.sha256_file(tmp))
    local log = server_log(port)
    assert.equal(3, #log.requests)
    assert.equal("/redirect-file/2000", log.requests[2].target)
    assert.equal("/file/2000", log.requests[3].target)
    for _, r in ipairs(log.requests) do
      assert.is_nil(r.headers["x-api-key"])
      assert.is_nil(r.headers["x-user-identity"])
      assert.is_nil(r.headers["authorization"])
      assert.is_nil(r.headers["accept-encoding"]) -- raw bytes, so offsets mean file offsets
      for _, v in pairs(r.headers) do assert.is_nil(v:find(KEY, 1, true)) end
    end
    c:close(); k:close()
  end)

  it("aborts a stalled body below low_speed_limit for low_speed_time", function()
    local c = client()
    local t0 = core.monotonic()
    local res, err = c:download { url = base .. "/file-stall/100000", path = tmp,
                                  low_speed_limit = 1000, low_speed_time = 1 }
    local dt = core.monotonic() - t0
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.equal(28, err.curl_code)
    assert.equal(100, err.bytes) -- what arrived before the stall is on disk
    assert.equal(100, #readfile(tmp))
    assert.is_true(dt >= 0.9 and dt < 5, "elapsed " .. dt)
    c:close()
    -- the client-level setting, and a total timeout with low-speed off
    c = client { low_speed_limit = 1000, low_speed_time = 1 }
    t0 = core.monotonic()
    res, err = c:download { url = base .. "/file-stall/100000", path = tmp }
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    res, err = c:download { url = base .. "/file-stall/100000", path = tmp, low_speed_limit = false,
                          timeout = 0.5 }
    assert.is_nil(res)
    assert.equal("timeout", err.kind)
    assert.is_true(core.monotonic() - t0 < 6)
    c:close()
  end)

  it("calls on_progress with growing counts, at most every 250 ms, and once at the end", function()
    local c = client()
    local calls, stamps = {}, {}
    local n = 200000
    local res = assert(c:download { url = base .. "/file-slow/" .. n .. "/20000/0.1", path = tmp,
      on_progress = function(bytes, expected)
        calls[#calls + 1] = { bytes, expected }
        stamps[#stamps + 1] = core.monotonic()
      end })
    assert.equal(n, res.bytes)
    assert.is_nil(res.expected) -- no Content-Length
    assert.is_true(#calls >= 3, #calls .. " calls")
    assert.is_true(#calls <= 8, #calls .. " calls")
    for i = 2, #calls do
      assert.is_true(calls[i][1] >= calls[i - 1][1], "non-decreasing")
      assert.is_nil(calls[i][2])
    end
    for i = 2, #stamps - 1 do
      assert.is_true(stamps[i] - stamps[i - 1] >= 0.2, "spacing " .. (stamps[i] - stamps[i - 1]))
    end
    assert.equal(n, calls[#calls][1])
    assert.is_true(calls[1][1] < n)
    -- with a Content-Length the expected size is passed
    local last
    assert(c:download { url = base .. "/file/50000", path = tmp,
      on_progress = function(b, e) last = { b, e } end })
    assert.same({ 50000, 50000 }, last)
    c:close()
  end)

  it("turns an error raised by on_progress into nil, err (kind aborted)", function()
    local c = client()
    local res, err = c:download { url = base .. "/file-slow/200000/20000/0.1", path = tmp,
      on_progress = function(bytes) if bytes > 0 then error("stop here", 0) end end }
    assert.is_nil(res)
    assert.equal("aborted", err.kind)
    assert.equal("stop here", err.message)
    assert.is_false(err.retryable)
    assert.is_true(err.bytes > 0 and err.bytes < 200000)
    -- a non-string error value, and an error in the final call
    res, err = c:download { url = base .. "/file/1000", path = tmp,
      on_progress = function() error({}) end }
    assert.is_nil(res)
    assert.equal("aborted", err.kind)
    assert.equal("on_progress raised a table value", err.message)
    -- calling the same client from the callback works: on_progress runs
    -- between engine calls, never inside libcurl, so nothing is re-entered
    local inner
    res, err = c:download { url = base .. "/file/1000", path = tmp,
      on_progress = function() inner = assert(c:request { method = "GET", path = "/cv/ok" }) end }
    assert.is_table(res, tostring(err))
    assert.equal(1000, res.total)
    assert.equal(200, inner.status)
    -- the client is still usable
    assert(c:download { url = base .. "/file/1000", path = tmp })
    assert(c:request { method = "GET", path = "/cv/ok" })
    c:close()
  end)

  it("enforces max_bytes and validates its arguments", function()
    local c = client()
    local _, err = c:download { url = base .. "/file/100000", path = tmp, max_bytes = 5000 }
    assert.equal("protocol", err.kind)
    assert.matches("max_bytes", err.message, 1, true)
    local bad = {
      { { path = tmp }, "url" }, { { url = "ftp://x/y", path = tmp }, "url" },
      { { url = base .. "/a b", path = tmp }, "url" }, { { url = base .. "/file/1" }, "path" },
      { { url = base .. "/file/1", path = tmp, offset = -1 }, "offset" },
      { { url = base .. "/file/1", path = tmp, offset = 10 }, "offset" }, -- no such file
      { { url = base .. "/file/1", path = tmp, timeout = 0 }, "timeout" },
      { { url = base .. "/file/1", path = tmp, low_speed_limit = 0 }, "low_speed_limit" },
      { { url = base .. "/file/1", path = tmp, low_speed_time = "x" }, "low_speed_time" },
      { { url = base .. "/file/1", path = tmp, max_bytes = 0 }, "max_bytes" },
      { { url = base .. "/file/1", path = tmp, on_progress = 1 }, "on_progress" },
    }
    for i, case in ipairs(bad) do
      local res, e = c:download(case[1])
      assert.is_nil(res, "case " .. i)
      assert.equal("validation", e.kind, "case " .. i)
      assert.equal(case[2], e.field, "case " .. i)
    end
    writefile(tmp, "abc")
    _, err = c:download { url = base .. "/file/10", path = tmp, offset = 4 }
    assert.equal("offset", err.field)
    assert.equal(0, #server_log(port).requests - 1) -- only the max_bytes one went out
    assert.has_error(function() c:download("x") end)
    c:close()
    assert.has_error(function() c:download { url = base .. "/file/1", path = tmp } end)
  end)

  it("reports a local file error as kind io", function()
    local c = client()
    local _, err = c:download { url = base .. "/file/1000", path = "/nonexistent-dir/x/y.bin" }
    assert.equal("io", err.kind)
    assert.matches("No such file", err.message, 1, true)
    c:close()
  end)

  it("creates an empty file for an empty 200 body", function()
    local c = client()
    local res = assert(c:download { url = base .. "/file/0", path = tmp })
    assert.equal(0, res.bytes)
    assert.equal("", readfile(tmp))
    c:close()
  end)

  it("keeps memory flat: 100 MB stream to disk", function()
    local c = client()
    local n = 100 * 1024 * 1024
    collectgarbage()
    local before = rss_kb()
    local lua_before = collectgarbage("count")
    local res = assert(c:download { url = base .. "/zeros/" .. n, path = tmp })
    assert.equal(n, res.bytes)
    local grew = rss_kb() and before and (rss_kb() - before) or 0
    local f = assert(io.open(tmp, "rb"))
    assert.equal(n, f:seek("end"))
    f:close()
    assert.is_true(grew < 30 * 1024, "RSS grew by " .. grew .. " KiB")
    assert.is_true(collectgarbage("count") - lua_before < 1024)
    c:close()
  end)

  it("sha256_file streams a file and reports a missing one", function()
    writefile(tmp, "")
    assert.equal(core.sha256(""), core.sha256_file(tmp))
    writefile(tmp, "abc")
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256_file(tmp))
    os.remove(tmp)
    local h, msg = core.sha256_file(tmp)
    assert.is_nil(h)
    assert.matches("cannot open", msg, 1, true)
    assert.has_error(function() core.sha256_file() end)
  end)
end)
