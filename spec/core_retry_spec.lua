-- creatorapi.core retries, rate limiter and timeouts (src/client.c,
-- src/transport.c) against scripted answers from the LuaSocket peer
-- (spec/support/raw_http_server.lua, POST /__script). Timing assertions
-- are loose lower/upper bounds: backoff uses tiny retry_base values.
local core = require "creatorapi.core"
local make_core_client = require "support.core_client"

local peer = require "support.peer"
local free_port, control, server_log =
  peer.free_port, peer.control, peer.server_log
local KEY = "cv_live_TOPSECRETkey123"

-- Lua source for a value made of tables, strings, numbers and booleans.
local function src(v)
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[#out + 1] = "[" .. src(k) .. "]=" .. src(x) end
    return "{" .. table.concat(out, ",") .. "}"
  elseif type(v) == "string" then
    return string.format("%q", v)
  end
  return tostring(v)
end

local function cv_err(code)
  return '{"success":false,"data":null,"error":{"code":' .. code .. ',"message":"cv ' .. code ..
    '"},"meta":{"request_id":"req_' .. code .. '"}}'
end

local function ka_err(code)
  return '{"code":' .. code .. ',"message":"ka ' .. code .. '","data":null,"requestId":"rid"}'
end

describe("core retries #jit", function()
  local port, pid, base

  local function script(t)
    assert.equal("", control(port, "/__script", "return " .. src(t)))
  end

  local function hits(path)
    local n = 0
    for _, r in ipairs(server_log(port).requests) do
      if r.target:match("^[^?]*") == path then n = n + 1 end
    end
    return n
  end

  local function times(path)
    local t = {}
    for _, r in ipairs(server_log(port).requests) do
      if r.target:match("^[^?]*") == path then t[#t + 1] = r.t end
    end
    return t
  end

  local function client(extra)
    local cfg = { base_url = base, dialect = "creativault", api_key = KEY, user_identity = "a@b.c",
                  retry_base = 0.01, retry_cap = 0.05 }
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
  end)

  describe("safe requests", function()
    it("retry 408, 429, 500, 502, 503, 504, CreatiVault 50001 and KeyAPI 429 until success", function()
      local c = client()
      local k = client { dialect = "keyapi" }
      local cases = {
        { c, { status = 408, body = '{"detail":"slow"}' } },
        { c, { status = 429, body = cv_err(42901) } },
        { c, { status = 500, body = cv_err(50001) } },
        { c, { status = 502, body = "<html>bad gateway</html>", headers = { ["Content-Type"] = "text/html" } } },
        { c, { status = 503, body = '{"detail":"unavailable"}' } },
        { c, { status = 504, body = '{"detail":"gateway timeout"}' } },
        { c, { status = 200, body = cv_err(50001) } },
        { k, { status = 429, body = ka_err(429) } },
        { k, { status = 200, body = ka_err(429) } },
        { k, { status = 500, body = ka_err(500) } },
      }
      for i, case in ipairs(cases) do
        local path = "/s/safe" .. i
        local ok = case[1] == k and '{"code":0,"message":"ok","data":{"n":1},"requestId":"r"}' or nil
        script { [path] = { case[2], { status = 200, body = ok } } }
        local res, err = case[1]:request { method = "GET", path = path }
        assert.is_nil(err, "case " .. i .. ": " .. tostring(err))
        assert.equal(200, res.status)
        assert.equal(2, res.attempts, "case " .. i)
        assert.equal(2, hits(path), "case " .. i)
      end
      -- idempotent POSTs say retry = "safe"
      script { ["/s/post"] = { { status = 503 }, { status = 200 } } }
      local res = assert(c:request { method = "POST", path = "/s/post", body = { q = 1 }, retry = "safe" })
      assert.equal(2, res.attempts)
      c:close(); k:close()
    end)

    it("retry a connection closed without an answer and a timeout", function()
      local c = client()
      script { ["/s/close"] = { { close = true }, { status = 200 } },
               ["/s/slow"] = { { delay = 2 }, { status = 200 } } }
      local res = assert(c:request { method = "GET", path = "/s/close" })
      assert.equal(2, res.attempts)
      -- on a reused connection libcurl re-sends by itself: still counted
      control(port, "/__reset")
      script { ["/s/close"] = { { close = true }, { status = 200 } },
               ["/s/slow"] = { { delay = 2 }, { status = 200 } } }
      assert(c:request { method = "GET", path = "/cv/ok" })
      local before = c:transport_stats()
      res = assert(c:request { method = "GET", path = "/s/close" })
      assert.equal(2, res.attempts)
      assert.equal(2, hits("/s/close"))
      assert.equal(2, c:transport_stats().attempts - before.attempts)
      local t0 = core.monotonic()
      res = assert(c:request { method = "GET", path = "/s/slow", timeout = 0.3 })
      assert.equal(2, res.attempts)
      assert.is_true(core.monotonic() - t0 < 1.5)
      c:close()
    end)

    it("stop after max_retries (client and per request) and record attempts", function()
      local c = client()
      script { ["/s/down"] = { { status = 503, body = '{"detail":"down"}' } } }
      local res, err = c:request { method = "GET", path = "/s/down" }
      assert.is_nil(res)
      assert.equal("server", err.kind)
      assert.equal(503, err.status)
      assert.equal(3, err.attempts)
      assert.equal(3, hits("/s/down"))
      control(port, "/__reset")
      script { ["/s/down"] = { { status = 503 } } }
      res, err = c:request { method = "GET", path = "/s/down", max_retries = 0 }
      assert.is_nil(res)
      assert.equal(1, err.attempts)
      res, err = c:request { method = "GET", path = "/s/down", max_retries = 4 }
      assert.is_nil(res)
      assert.equal(5, err.attempts)
      assert.equal(6, hits("/s/down"))
      c:close()
      local c0 = client { max_retries = 0 }
      res, err = c0:request { method = "GET", path = "/s/down" }
      assert.is_nil(res)
      assert.equal(1, err.attempts)
      c0:close()
    end)

    it("never retry tls, 4xx, 402/40201, 402/42902, 501 or protocol errors", function()
      local c = client()
      local cases = {
        { 400, cv_err(40001), "validation" }, { 401, cv_err(40101), "auth" },
        { 402, cv_err(40201), "credits" }, { 402, cv_err(42902), "quota" },
        { 403, cv_err(40301), "permission" }, { 404, cv_err(40401), "not_found" },
        { 409, '{"detail":"conflict"}', "validation" }, { 422, '{"detail":"bad"}', "validation" },
        { 501, '{"detail":"not implemented"}', "server" }, { 200, "not json", "protocol" },
        { 429, cv_err(42902), "quota" },
      }
      for i, case in ipairs(cases) do
        local path = "/s/never" .. i
        script { [path] = { { status = case[1], body = case[2] }, { status = 200 } } }
        local res, err = c:request { method = "GET", path = path }
        assert.is_nil(res, "case " .. i)
        assert.equal(case[3], err.kind, "case " .. i)
        assert.equal(1, err.attempts, "case " .. i)
        assert.equal(1, hits(path), "case " .. i)
      end
      local k = client { dialect = "keyapi" }
      script { ["/s/ka402"] = { { status = 402, body = ka_err(402) }, { status = 200 } } }
      local _, err = k:request { method = "GET", path = "/s/ka402" }
      assert.equal("credits", err.kind)
      assert.equal(1, err.attempts)
      k:close()
      -- TLS spoken to a plain HTTP port: a handshake failure, never retried
      local t = client { base_url = "https://127.0.0.1:" .. port }
      _, err = t:request { method = "GET", path = "/cv/ok" }
      assert.equal("tls", err.kind)
      assert.equal(1, err.attempts)
      t:close()
      c:close()
    end)

    it("retry = \"never\" gets the first answer", function()
      local c = client()
      script { ["/s/n"] = { { status = 503 }, { status = 200 } } }
      local _, err = c:request { method = "GET", path = "/s/n", retry = "never" }
      assert.equal("server", err.kind)
      assert.equal(1, err.attempts)
      c:close()
    end)

    it("refuse an unknown retry policy or max_retries as validation errors", function()
      local c = client()
      local _, err = c:request { method = "GET", path = "/cv/ok", retry = "always" }
      assert.equal("validation", err.kind)
      assert.equal("retry", err.field)
      assert.equal(0, err.attempts)
      _, err = c:request { method = "GET", path = "/cv/ok", max_retries = -1 }
      assert.equal("max_retries", err.field)
      _, err = c:request { method = "GET", path = "/cv/ok", max_retries = 1.5 }
      assert.equal("max_retries", err.field)
      assert.equal(0, #server_log(port).requests)
      c:close()
    end)
  end)

  describe("backoff and Retry-After", function()
    it("sleep a jittered exponential backoff between attempts (loose bounds)", function()
      -- base 0.2: retry 1 waits 0.1..0.2 s, retry 2 waits 0.2..0.4 s
      local c = client { retry_base = 0.2, retry_cap = 8 }
      script { ["/s/b"] = { { status = 503 }, { status = 503 }, { status = 200 } } }
      local t0 = core.monotonic()
      local res = assert(c:request { method = "GET", path = "/s/b" })
      local dt = core.monotonic() - t0
      assert.equal(3, res.attempts)
      assert.is_true(dt >= 0.28, "elapsed " .. dt)
      assert.is_true(dt < 2.5, "elapsed " .. dt)
      local t = times("/s/b")
      assert.is_true(t[2] - t[1] >= 0.08, "first gap " .. (t[2] - t[1]))
      assert.is_true(t[3] - t[2] >= 0.18, "second gap " .. (t[3] - t[2]))
      -- the cap bounds every wait
      c:close()
      c = client { retry_base = 5, retry_cap = 0.1 }
      control(port, "/__reset")
      script { ["/s/b"] = { { status = 503 }, { status = 503 }, { status = 200 } } }
      t0 = core.monotonic()
      assert(c:request { method = "GET", path = "/s/b" })
      dt = core.monotonic() - t0
      assert.is_true(dt >= 0.09 and dt < 1.5, "elapsed " .. dt)
      c:close()
    end)

    it("treat Retry-After (seconds) as a minimum", function()
      local c = client()
      script { ["/s/ra"] = { { status = 429, body = cv_err(42901), headers = { ["Retry-After"] = "1" } },
                             { status = 200 } } }
      local t0 = core.monotonic()
      local res = assert(c:request { method = "GET", path = "/s/ra" })
      local dt = core.monotonic() - t0
      assert.equal(2, res.attempts)
      assert.is_true(dt >= 0.95, "elapsed " .. dt)
      assert.is_true(dt < 3, "elapsed " .. dt)
      c:close()
    end)

    it("treat Retry-After as an HTTP date as a minimum", function()
      local c = client()
      script { ["/s/rd"] = { { status = 503, retry_after_date = 2 }, { status = 200 } } }
      local t0 = core.monotonic()
      local res = assert(c:request { method = "GET", path = "/s/rd" })
      local dt = core.monotonic() - t0
      assert.equal(2, res.attempts)
      -- whole-second dates: between 1 and 2 s from now
      assert.is_true(dt >= 0.9, "elapsed " .. dt)
      assert.is_true(dt < 4, "elapsed " .. dt)
      c:close()
    end)

    it("return rate_limited at once when Retry-After exceeds max_retry_after", function()
      local c = client { max_retry_after = 5 }
      script { ["/s/long"] = { { status = 429, body = cv_err(42901), headers = { ["Retry-After"] = "60" } },
                               { status = 200 } } }
      local t0 = core.monotonic()
      local res, err = c:request { method = "GET", path = "/s/long" }
      assert.is_nil(res)
      assert.is_true(core.monotonic() - t0 < 1)
      assert.equal("rate_limited", err.kind)
      assert.equal(60, err.retry_after)
      assert.equal(1, err.attempts)
      assert.equal(1, hits("/s/long"))
      assert.matches("retry after 60 s", tostring(err), 1, true)
      c:close()
    end)

    it("ignore Retry-After: 0 and fall back to the backoff", function()
      local c = client()
      script { ["/s/ra0"] = { { status = 503, headers = { ["Retry-After"] = "0" } }, { status = 200 } } }
      local t0 = core.monotonic()
      local res = assert(c:request { method = "GET", path = "/s/ra0" })
      assert.equal(2, res.attempts)
      assert.is_true(core.monotonic() - t0 < 1)
      c:close()
    end)
  end)

  describe("submit requests", function()
    it("are never retried after a failure once sent: unknown_outcome", function()
      local c = client()
      script { ["/s/sub-close"] = { { close = true }, { status = 200 } },
               ["/s/sub-slow"] = { { delay = 2 }, { status = 200 } },
               ["/s/sub-500"] = { { status = 500, body = cv_err(50001) }, { status = 200 } },
               ["/s/sub-503"] = { { status = 503, body = '{"detail":"down"}' }, { status = 200 } } }
      -- a kept-alive connection exists: libcurl would silently re-send on a
      -- fresh one if that connection died unanswered; submits never reuse
      assert(c:request { method = "GET", path = "/cv/ok" })
      local res, err = c:request { method = "POST", path = "/s/sub-close", body = { task = "t1" }, retry = "submit" }
      assert.is_nil(res)
      assert.equal("unknown_outcome", err.kind)
      assert.equal("network", err.cause)
      assert.equal(52, err.curl_code) -- CURLE_GOT_NOTHING
      assert.is_false(err.retryable)
      assert.equal(1, err.attempts)
      assert.matches("may or may not", err.message, 1, true)
      assert.matches("before submitting again", err.message, 1, true)
      assert.equal(1, hits("/s/sub-close"))

      res, err = c:request { method = "POST", path = "/s/sub-slow", body = {}, retry = "submit", timeout = 0.3 }
      assert.is_nil(res)
      assert.equal("unknown_outcome", err.kind)
      assert.equal("timeout", err.cause)
      assert.equal(28, err.curl_code)
      assert.equal(1, hits("/s/sub-slow"))

      res, err = c:request { method = "POST", path = "/s/sub-500", retry = "submit" }
      assert.is_nil(res)
      assert.equal("unknown_outcome", err.kind)
      assert.equal("server", err.cause)
      assert.equal(500, err.status)
      assert.equal(50001, err.code)
      assert.equal("req_50001", err.request_id)
      assert.equal(1, hits("/s/sub-500"))
      assert.matches("^creatorapi: unknown_outcome %(HTTP 500, code 50001", tostring(err))

      -- POST without `retry` is "submit"
      res, err = c:request { method = "POST", path = "/s/sub-503" }
      assert.is_nil(res)
      assert.equal("unknown_outcome", err.kind)
      assert.equal(503, err.status)
      assert.equal(1, hits("/s/sub-503"))
      c:close()
    end)

    it("are retried when refused with 429 / 42901", function()
      local c = client()
      script { ["/s/sub-429"] = { { status = 429, body = cv_err(42901) }, { status = 200 } } }
      local res = assert(c:request { method = "POST", path = "/s/sub-429", retry = "submit" })
      assert.equal(2, res.attempts)
      assert.equal(2, hits("/s/sub-429"))
      c:close()
    end)

    it("keep definitive answers (400, 402) as they are", function()
      local c = client()
      script { ["/s/sub-400"] = { { status = 400, body = cv_err(40001) } },
               ["/s/sub-402"] = { { status = 402, body = cv_err(40201) } } }
      local _, err = c:request { method = "POST", path = "/s/sub-400", retry = "submit" }
      assert.equal("validation", err.kind)
      _, err = c:request { method = "POST", path = "/s/sub-402", retry = "submit" }
      assert.equal("credits", err.kind)
      assert.equal(1, err.attempts)
      c:close()
    end)

    it("are retried when the connection was refused (nothing sent)", function()
      local dead = free_port()
      local c = client { base_url = "http://127.0.0.1:" .. dead }
      local before = c:transport_stats()
      local res, err = c:request { method = "POST", path = "/tasks/submit", body = { n = 1 }, retry = "submit" }
      assert.is_nil(res)
      assert.equal("network", err.kind) -- provably not created: not unknown_outcome
      assert.equal(7, err.curl_code)
      assert.equal(3, err.attempts)
      local after = c:transport_stats()
      assert.equal(3, after.attempts - before.attempts)
      assert.equal(2, after.retries - before.retries)
      assert.equal(1, after.requests - before.requests)
      c:close()
    end)
  end)

  it("submit requests are retried after a DNS failure (nothing sent)", function()
    local c = client { base_url = "http://no-such-host.invalid" }
    local _, err = c:request { method = "POST", path = "/tasks/submit", retry = "submit" }
    assert.equal("network", err.kind)
    assert.equal(6, err.curl_code) -- CURLE_COULDNT_RESOLVE_HOST
    assert.equal(3, err.attempts)
    c:close()
  end)

  describe("timeouts", function()
    it("a server that sends headers then stalls cannot hang a request", function()
      local c = client { timeout = 0.4, max_retries = 1 }
      script { ["/s/stall"] = { { stall = true, partial = 10, body = string.rep("x", 1000) } } }
      local t0 = core.monotonic()
      local res, err = c:request { method = "GET", path = "/s/stall" }
      local dt = core.monotonic() - t0
      assert.is_nil(res)
      assert.equal("timeout", err.kind)
      assert.equal(2, err.attempts)
      assert.is_true(dt >= 0.7 and dt < 3, "elapsed " .. dt)
      c:close()
    end)
  end)

  describe("rate limiter", function()
    it("spaces requests: 2 per 0.5 s, the 5th starts >= ~0.7 s after the first", function()
      local c = client { rate_limit = { requests = 2, per = 0.5 } }
      for _ = 1, 5 do assert(c:request { method = "GET", path = "/cv/ok" }) end
      local t = times("/cv/ok")
      assert.equal(5, #t)
      assert.is_true(t[2] - t[1] < 0.3, "the bucket starts full")
      assert.is_true(t[5] - t[1] >= 0.7, "5th after " .. (t[5] - t[1]))
      assert.is_true(t[5] - t[1] < 3, "5th after " .. (t[5] - t[1]))
      c:close()
    end)

    it("applies to batches: never more than N starts in any window of `per` seconds", function()
      local c = client { rate_limit = { requests = 3, per = 0.4 } }
      local reqs = {}
      for i = 1, 9 do reqs[i] = { method = "GET", path = "/cv/ok" } end
      local t0 = core.monotonic()
      local out = c:batch(reqs)
      local dt = core.monotonic() - t0
      for i = 1, 9 do assert.is_table(out[i].res, "request " .. i) end
      local t = times("/cv/ok")
      table.sort(t)
      assert.equal(9, #t)
      for i = 4, 9 do
        assert.is_true(t[i] - t[i - 3] >= 0.38, "window at " .. i .. ": " .. (t[i] - t[i - 3]))
      end
      assert.is_true(dt >= 0.75 and dt < 4, "elapsed " .. dt)
      c:close()
    end)

    it("applies to retries", function()
      local c = client { rate_limit = { requests = 1, per = 0.3 } }
      script { ["/s/rl"] = { { status = 503 }, { status = 200 } } }
      local res = assert(c:request { method = "GET", path = "/s/rl" })
      assert.equal(2, res.attempts)
      local t = times("/s/rl")
      assert.is_true(t[2] - t[1] >= 0.28, "gap " .. (t[2] - t[1]))
      c:close()
    end)

    it("is off with rate_limit = false, and config errors raise", function()
      local c = client { rate_limit = false }
      for _ = 1, 6 do assert(c:request { method = "GET", path = "/cv/ok" }) end
      c:close()
      for _, bad in ipairs({ { requests = 0, per = 1 }, { requests = 1.5, per = 1 }, { requests = 2 },
                             { requests = 2, per = 0 }, true, "x" }) do
        assert.has_error(function() client { rate_limit = bad } end)
      end
    end)
  end)

  describe("batches", function()
    it("a request waiting for its retry does not block the others", function()
      local c = client()
      script { ["/s/wait"] = { { status = 503, headers = { ["Retry-After"] = "1" } }, { status = 200 } },
               ["/s/quick"] = { { status = 502 }, { status = 200 } },
               ["/s/slowok"] = { { delay = 0.3 } } }
      local t0 = core.monotonic()
      local out = c:batch {
        { method = "GET", path = "/s/wait" },
        { method = "GET", path = "/s/quick" },
        { method = "GET", path = "/s/slowok" },
        { method = "GET", path = "/cv/ok" },
      }
      local dt = core.monotonic() - t0
      for i = 1, 4 do assert.is_table(out[i].res, "request " .. i) end
      assert.equal(2, out[1].res.attempts)
      assert.equal(2, out[2].res.attempts)
      assert.equal(1, out[3].res.attempts)
      local w, q, s = times("/s/wait"), times("/s/quick"), times("/s/slowok")
      assert.is_true(q[2] < w[2], "the quick retry ran while the other waited")
      assert.is_true(s[1] < w[2])
      assert.is_true(w[2] - w[1] >= 0.95, "Retry-After honoured: " .. (w[2] - w[1]))
      assert.is_true(dt < 2.5, "concurrent: " .. dt)
      c:close()
    end)
  end)

  describe("transport_stats", function()
    it("counts requests, attempts and retries", function()
      local c = client()
      assert.same({ attempts = 0, retries = 0, requests = 0 }, c:transport_stats())
      script { ["/s/st"] = { { status = 503 }, { status = 503 }, { status = 200 } } }
      assert(c:request { method = "GET", path = "/cv/ok" })
      assert(c:request { method = "GET", path = "/s/st" })
      c:request { method = "GET", path = "/cv/ok", retry = "bogus" } -- validation: not sent, not counted
      assert.same({ attempts = 4, retries = 2, requests = 2 }, c:transport_stats())
      c:batch { { method = "GET", path = "/cv/ok" }, { method = "GET", path = "/cv/ok" } }
      assert.same({ attempts = 6, retries = 2, requests = 4 }, c:transport_stats())
      c:close()
      assert.same({ attempts = 6, retries = 2, requests = 4 }, c:transport_stats()) -- kept after close
    end)

    it("results record attempts = 1 without retries", function()
      local c = client()
      local res = assert(c:request { method = "GET", path = "/cv/ok" })
      assert.equal(1, res.attempts)
      c:close()
    end)

    it("config values are checked", function()
      for _, bad in ipairs({ { max_retries = -1 }, { max_retries = 1.5 }, { max_retries = 101 },
                             { retry_base = -1 }, { retry_cap = "x" }, { max_retry_after = -5 },
                             { low_speed_limit = 0 }, { low_speed_time = true } }) do
        assert.has_error(function() client(bad) end)
      end
      client({ max_retries = 0, retry_base = 0, retry_cap = 0, max_retry_after = 0,
               low_speed_limit = false, low_speed_time = false }):close()
    end)
  end)
end)

describe("core rate limiter against the mock's fixed windows #jit", function()
  local mock = require "support.mock"
  local m

  lazy_setup(function()
    -- mock minute = 1 real second: --rate-limit 5 allows 5 requests per second window
    m = mock.start { "--time-scale", "60", "--rate-limit", "5", "--quiet" }
  end)

  lazy_teardown(function()
    if m then m:stop() end
  end)

  local function run(rate_limit, n)
    local c = make_core_client { base_url = m.url, dialect = "creativault", api_key = "cv_live_demo_key_0001",
      user_identity = "demo@creatorapi.test", max_retries = 0, rate_limit = rate_limit }
    local limited, t0 = 0, core.monotonic()
    for _ = 1, n do
      local _, err = c:request { method = "POST", path = "/openapi/v1/creators/tiktok/search",
                                 body = { size = 1, service_level = "S1" }, retry = "safe" }
      if err then
        assert.equal("rate_limited", err.kind, tostring(err))
        limited = limited + 1
      end
    end
    c:close()
    return limited, core.monotonic() - t0
  end

  it("a script within its limit never sees a 429; without the limiter it does", function()
    local limited, dt = run({ requests = 5, per = 1 }, 12)
    assert.equal(0, limited)
    assert.is_true(dt >= 1.9 and dt < 6, "elapsed " .. dt)
    core.sleep(1.1) -- a fresh window
    limited = run(false, 12)
    assert.is_true(limited >= 1, "the mock enforces its limit")
  end)
end)
