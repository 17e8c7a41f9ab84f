-- The core client path: core.context (prepare/parse/decide) + the request
-- loop on the curl transport (spec/support/core_client.lua), envelope.c, error.c
-- against real sockets: a LuaSocket HTTP peer (spec/support/raw_http_server.lua,
-- run with lua5.4 as a child process) and `openssl s_server` for TLS.
-- Tagged #jit so the Makefile's LuaJIT run covers it too.
local core = require "creatorapi.core"
local make_core_client = require "support.core_client"

local peer = require "support.peer"
local free_port, wait_port, spawn, control, server_log =
  peer.free_port, peer.wait_port, peer.spawn, peer.control, peer.server_log
local KEY = "cv_live_TOPSECRETkey123"
local IDENT = "ops@example.com"

describe("core client #jit", function()
  local port, pid, base

  -- max_retries = 0: this spec checks single responses; retries are in
  -- spec/core_retry_spec.lua.
  local function client(extra)
    local cfg = { base_url = base, dialect = "creativault", api_key = KEY, user_identity = IDENT,
                  max_retries = 0 }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return make_core_client(cfg)
  end

  local function ka_client(extra)
    local cfg = { base_url = base, dialect = "keyapi", api_key = KEY, max_retries = 0 }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return make_core_client(cfg)
  end

  lazy_setup(function()
    port, pid = peer.start()
    base = "http://127.0.0.1:" .. port
  end)
  lazy_teardown(function() peer.stop(port, pid) end)
  before_each(function() control(port, "/__reset") end)

  describe("request shape", function()
    it("GET sends auth headers, Accept, User-Agent and the encoded query", function()
      local c = client()
      local res, err = c:request {
        method = "GET", path = "/cv/ok",
        query = { b = 183.0, a = true, z = false, list = { "x y", 2, 3.5 }, gone = core.null,
                  s = "a&b=c/é~", neg = -7 },
      }
      assert.is_nil(err)
      assert.equal(200, res.status)
      assert.same({ 1, 2, 3 }, { res.data.items[1], res.data.items[2], res.data.items[3] })
      assert.equal("req_ok", res.meta.request_id)
      assert.equal("hdr-req-id", res.headers["x-request-id"])
      assert.equal("application/json", res.headers["content-type"])
      local log = server_log(port)
      assert.equal(1, #log.requests)
      local r = log.requests[1]
      assert.equal("GET", r.method)
      assert.equal("/cv/ok?a=true&b=183&list=x%20y,2,3.5&neg=-7&s=a%26b%3Dc%2F%C3%A9~&z=false", r.target)
      assert.equal(KEY, r.headers["x-api-key"])
      assert.equal(IDENT, r.headers["x-user-identity"])
      assert.equal("application/json", r.headers["accept"])
      assert.is_nil(r.headers["content-type"])
      assert.is_nil(r.headers["authorization"])
      assert.equal("creatorapi-lua/" .. core._VERSION .. " libcurl/" .. core.curl_version,
        r.headers["user-agent"])
      assert.equal("", r.body)
      c:close()
    end)

    it("POST sends the JSON body with Content-Type, {} for a nil body", function()
      local c = client({ user_agent = "my-app/1.0" })
      local res = assert(c:request { method = "POST", path = "/cv/ok", body = { page = 1, keyword = "cat" } })
      assert.equal(200, res.status)
      assert(c:request { method = "POST", path = "/cv/ok" })
      local log = server_log(port)
      local r1, r2 = log.requests[1], log.requests[2]
      assert.equal("POST", r1.method)
      assert.equal("application/json", r1.headers["content-type"])
      assert.same({ page = 1, keyword = "cat" }, core.json_decode(r1.body))
      assert.equal(tostring(#r1.body), r1.headers["content-length"])
      assert.is_nil(r1.headers["expect"])
      assert.equal("my-app/1.0", r1.headers["user-agent"])
      assert.equal("{}", r2.body)
      assert.equal("application/json", r2.headers["content-type"])
      c:close()
    end)

    it("auth = key drops X-User-Identity, auth = none drops both", function()
      local c = client()
      assert(c:request { method = "POST", path = "/cv/ok", auth = "key" })
      assert(c:request { method = "POST", path = "/cv/ok", auth = "none" })
      local log = server_log(port)
      assert.equal(KEY, log.requests[1].headers["x-api-key"])
      assert.is_nil(log.requests[1].headers["x-user-identity"])
      assert.is_nil(log.requests[2].headers["x-api-key"])
      assert.is_nil(log.requests[2].headers["x-user-identity"])
      c:close()
    end)

    it("KeyAPI sends Authorization: Bearer and returns meta {request_id, message}", function()
      local c = ka_client()
      local res = assert(c:request { method = "GET", path = "/ka/ok", query = { uniqueId = "abc" } })
      assert.equal(200, res.status)
      assert.equal(1, res.data.x)
      assert.same({ request_id = "rid-ok", message = "success" }, res.meta)
      assert(c:request { method = "GET", path = "/ka/ok", auth = "none" })
      local log = server_log(port)
      assert.equal("Bearer " .. KEY, log.requests[1].headers["authorization"])
      assert.is_nil(log.requests[1].headers["x-api-key"])
      assert.is_nil(log.requests[1].headers["x-user-identity"])
      assert.equal("/ka/ok?uniqueId=abc", log.requests[1].target)
      assert.is_nil(log.requests[2].headers["authorization"])
      c:close()
    end)

    it("asks for gzip-compressed responses and decodes them", function()
      local c = client()
      assert(c:request { method = "GET", path = "/cv/ok" })
      -- gzip only: what every API server offers; each further name is more
      -- bytes libcurl formats on every request (docs/decisions.md)
      assert.equal("gzip", server_log(port).requests[1].headers["accept-encoding"])
      local res = assert(c:request { method = "GET", path = "/cv/gzip" })
      assert.equal("gz1", res.data.list[1].uid)
      assert.equal("req_gzip", res.meta.request_id)
      c:close()
    end)

    -- The URL reaches libcurl parsed, in a handle pooled with the easy handle
    -- (curl_options.c cra_set_url): each request must replace it whole.
    it("a pooled handle takes every request to its own path and query", function()
      local c = client()
      assert(c:request { method = "GET", path = "/cv/ok", query = { a = 1 } })
      assert(c:request { method = "GET", path = "/cv/gzip" })
      assert(c:request { method = "POST", path = "/cv/ok", body = { n = 1 } })
      assert(c:request { method = "GET", path = "/cv/ok" })
      local log = server_log(port)
      assert.same({ "/cv/ok?a=1", "/cv/gzip", "/cv/ok", "/cv/ok" },
        { log.requests[1].target, log.requests[2].target, log.requests[3].target, log.requests[4].target })
      assert.same({ "GET", "GET", "POST", "GET" },
        { log.requests[1].method, log.requests[2].method, log.requests[3].method, log.requests[4].method })
      c:close()
    end)

    -- The query travels in the request target and the URL handle keeps the
    -- query-less URL between calls (curl_options.c): every call still gets
    -- its own query, none a query left from the call before.
    it("sends each call's own query on one client, none left from the call before", function()
      local c = client()
      for _, q in ipairs { { a = 1 }, { a = 2 }, false, { a = 3 } } do
        assert(c:request { method = "GET", path = "/cv/ok", query = q or nil })
      end
      assert(c:request { method = "GET", path = "/cv/gzip", query = { b = 1 } })
      assert(c:request { method = "GET", path = "/cv/ok", query = { a = 4 } })
      local targets = {}
      for i, r in ipairs(server_log(port).requests) do targets[i] = r.target end
      assert.same({ "/cv/ok?a=1", "/cv/ok?a=2", "/cv/ok", "/cv/ok?a=3", "/cv/gzip?b=1", "/cv/ok?a=4" }, targets)
      c:close()
    end)

    it("resolves dot segments in a path with a query as libcurl does", function()
      local c = client()
      assert(c:request { method = "GET", path = "/cv/x/../ok", query = { a = 1 } })
      assert.equal("/cv/ok?a=1", server_log(port).requests[1].target)
      c:close()
    end)

    it("follows redirects only for GETs that carry no credential", function()
      local c = client()
      local res, err = c:request { method = "GET", path = "/redirect" }
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(302, err.status)
      res, err = c:request { method = "POST", path = "/redirect", auth = "none" }
      assert.is_nil(res)
      assert.equal(302, err.status)
      res = assert(c:request { method = "GET", path = "/redirect", query = { a = 1 }, auth = "none" })
      assert.equal(200, res.status)
      local log = server_log(port)
      assert.equal(4, #log.requests)
      assert.equal("/redirect?a=1", log.requests[3].target)
      assert.equal("/cv/ok", log.requests[4].target) -- the Location's target, not the first one
      assert.is_nil(log.requests[4].headers["x-api-key"])
      c:close()
    end)

    it("sends through the configured proxy", function()
      local c = make_core_client { base_url = "http://api.example.invalid", dialect = "creativault",
        proxy = "http://127.0.0.1:" .. port }
      local res = assert(c:request { method = "GET", path = "/cv/ok", query = { a = 1 } })
      assert.equal(200, res.status)
      local r = server_log(port).requests[1]
      assert.equal("http://api.example.invalid/cv/ok?a=1", r.target)
      assert.equal("api.example.invalid", r.headers["host"])
      c:close()
    end)

    -- The proxy variables are read when the context is made (context.c): set
    -- then, libcurl still takes the proxy (and no_proxy) from them.
    it("sends through the proxy of http_proxy set when the client was made; no_proxy still applies", function()
      local lua = os.getenv("CREATORAPI_LUA") or (jit and "luajit" or "lua5.4")
      local code = [[
        local c = require("support.core_client"){ base_url = "http://api.example.invalid", dialect = "creativault",
          max_retries = 0 }
        local res, err = c:request { method = "GET", path = "/cv/ok", query = { a = 1 } }
        io.write(res and tostring(res.status) or (err.kind .. " " .. tostring(err.curl_code)))]]
      local script = os.tmpname()
      require("support.files").writefile(script, code)
      local function run(env)
        local out, code_ = require("support.shell").sh(string.format("env %s %s %s", env, lua, script))
        assert.equal(0, code_, out)
        return (out:gsub("exit=%d+%s*$", ""))
      end
      local proxy = "http_proxy=http://127.0.0.1:" .. port
      assert.equal("200", run(proxy))
      assert.equal("http://api.example.invalid/cv/ok?a=1", server_log(port).requests[1].target)
      assert.equal("network 6", run(proxy .. " no_proxy=api.example.invalid")) -- CURLE_COULDNT_RESOLVE_HOST
      assert.equal(1, #server_log(port).requests)
      os.remove(script)
    end)

    it("sends extra headers and lets them replace the defaults", function()
      local c = client()
      assert(c:request { method = "GET", path = "/cv/ok",
        headers = { ["X-CV-Skill-Name"] = "lua", Accept = "application/vnd.test+json" } })
      local r = server_log(port).requests[1]
      assert.equal("lua", r.headers["x-cv-skill-name"])
      assert.equal("application/vnd.test+json", r.headers["accept"])
      c:close()
    end)
  end)

  describe("validation before sending", function()
    for _, bad in ipairs({ "key\r\nX-Evil: 1", "key\nx", "key\0x" }) do
      local label = string.format("%q", bad):sub(1, 12)
      it("refuses a credential with CR/LF/NUL (" .. label .. ") and connects nowhere", function()
        local c = client({ api_key = bad })
        local res, err = c:request { method = "GET", path = "/cv/ok" }
        assert.is_nil(res)
        assert.equal("validation", err.kind)
        assert.equal("api_key", err.field)
        assert.is_false(err.retryable)
        assert.is_nil(tostring(err):find(bad, 1, true))
        -- auth = none does not use the key, so it goes through
        assert(c:request { method = "GET", path = "/cv/ok", auth = "none" })
        local log = server_log(port)
        assert.equal(1, #log.requests)
        assert.equal(1, log.connections)
        c:close()
      end)
    end

    it("refuses a bad user_identity and a header value with CR/LF", function()
      local c = client({ user_identity = "a@b\r\nX: y" })
      local _, err = c:request { method = "GET", path = "/cv/ok" }
      assert.equal("validation", err.kind)
      assert.equal("user_identity", err.field)
      local c2 = client()
      local _, err2 = c2:request { method = "GET", path = "/cv/ok", headers = { ["X-Trace"] = "a\r\nb" } }
      assert.equal("validation", err2.kind)
      assert.equal("X-Trace", err2.field)
      assert.equal(0, server_log(port).connections)
      c:close(); c2:close()
    end)

    it("refuses a cyclic or too deep body at the largest max_depth, connecting nowhere", function()
      local c = client({ max_depth = 100000 })
      local cyc = { a = {} }
      cyc.a.back = cyc
      local _, err = c:request { method = "POST", path = "/cv/ok", body = cyc }
      assert.equal("validation", err.kind)
      assert.equal("body", err.field)
      assert.matches("cycle", err.message, 1, true)
      local deep = {}
      local cur = deep
      for _ = 1, 50000 do cur[1] = {}; cur = cur[1] end
      _, err = c:request { method = "POST", path = "/cv/ok", body = deep }
      assert.equal("validation", err.kind)
      assert.matches("depth cap", err.message, 1, true)
      assert.equal(0, server_log(port).connections)
      c:close()
    end)

    it("refuses bad query values naming the key, bad methods and paths", function()
      local c = client()
      local _, err = c:request { method = "GET", path = "/cv/ok", query = { ok = 1, nested = { a = 1 } } }
      assert.equal("validation", err.kind)
      assert.equal("nested", err.field)
      assert.matches("nested", err.message, 1, true)
      _, err = c:request { method = "DELETE", path = "/cv/ok" }
      assert.equal("method", err.field)
      _, err = c:request { method = "GET", path = "cv/ok" }
      assert.equal("path", err.field)
      _, err = c:request { method = "GET", path = "/cv ok" }
      assert.equal("path", err.field)
      _, err = c:request { method = "GET", path = "/cv/ok", auth = "weird" }
      assert.equal("auth", err.field)
      _, err = c:request { method = "GET", path = "/cv/ok", timeout = -1 }
      assert.equal("timeout", err.field)
      assert.equal(0, server_log(port).connections)
      c:close()
    end)
  end)

  describe("errors", function()
    local CV = {
      { 40001, 400, "validation" }, { 40101, 401, "auth" }, { 40102, 401, "auth" },
      { 40103, 401, "auth" }, { 40104, 401, "auth" }, { 40201, 402, "credits" },
      { 40301, 403, "permission" }, { 40401, 404, "not_found" }, { 42901, 429, "rate_limited" },
      { 42902, 402, "quota" }, { 50001, 500, "server" },
    }
    local RETRYABLE = { rate_limited = true, server = true, network = true, timeout = true }

    it("maps every CreatiVault error code to its kind", function()
      local c = client()
      for _, case in ipairs(CV) do
        local code, http, kind = case[1], case[2], case[3]
        local res, err = c:request { method = "POST", path = "/cv/err/" .. code .. "/" .. http, retry = "safe" }
        assert.is_nil(res)
        assert.equal(core.error_mt, getmetatable(err))
        assert.equal(kind, err.kind, "code " .. code)
        assert.equal(code, err.code)
        assert.equal(http, err.status)
        assert.equal("req_" .. code, err.request_id)
        assert.equal("cv error " .. code, err.message)
        assert.equal(RETRYABLE[kind] == true, err.retryable, "retryable for " .. code)
        assert.equal("POST", err.method)
        assert.equal("/cv/err/" .. code .. "/" .. http, err.path)
        if code == 42901 then
          assert.equal(60, err.retry_after)
        else
          assert.is_nil(err.retry_after)
        end
      end
      c:close()
    end)

    it("maps every KeyAPI code to its kind", function()
      local c = ka_client()
      local KA = { { 400, "validation" }, { 401, "auth" }, { 402, "credits" }, { 403, "permission" },
                   { 404, "not_found" }, { 429, "rate_limited" }, { 500, "server" } }
      for _, case in ipairs(KA) do
        local res, err = c:request { method = "GET", path = "/ka/err/" .. case[1] .. "/" .. case[1] }
        assert.is_nil(res)
        assert.equal(case[2], err.kind)
        assert.equal(case[1], err.code)
        assert.equal("rid-" .. case[1], err.request_id)
        assert.equal("ka error " .. case[1], err.message)
        assert.equal(RETRYABLE[case[2]] == true, err.retryable)
      end
      c:close()
    end)

    it("treats success:false with HTTP 200 and KeyAPI code ~= 0 with HTTP 200 as errors", function()
      local c = client()
      local res, err = c:request { method = "POST", path = "/cv/fail200" }
      assert.is_nil(res)
      assert.equal("validation", err.kind)
      assert.equal(200, err.status)
      assert.equal(40001, err.code)
      assert.equal("req_f200", err.request_id)
      local k = ka_client()
      res, err = k:request { method = "GET", path = "/ka/err/429/200" }
      assert.is_nil(res)
      assert.equal("rate_limited", err.kind)
      assert.equal(429, err.code)
      assert.equal(200, err.status)
      c:close(); k:close()
    end)

    it("maps unknown business codes by family, and success:false without a code to protocol", function()
      local c, k = client(), ka_client()
      local cases = {
        { c, "/cv/err/40002/200", "validation", 40002 }, { c, "/cv/err/50003/200", "server", 50003 },
        { c, "/cv/err/12345/200", "validation", 12345 }, { c, "/cv/err/12345/503", "server", 12345 },
        { k, "/ka/err/10001/200", "validation", 10001 }, { k, "/ka/err/10001/500", "server", 10001 },
      }
      for _, case in ipairs(cases) do
        local res, err = case[1]:request { method = "GET", path = case[2] }
        assert.is_nil(res)
        assert.equal(case[3], err.kind, case[2])
        assert.equal(case[4], err.code, case[2])
      end
      local res, err = c:request { method = "GET", path = "/cv/nocode" }
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.is_nil(err.code)
      assert.equal("hdr-req-id", err.request_id) -- header fallback
      c:close(); k:close()
    end)

    it("turns an HTML 502 into a server error with a short printable excerpt", function()
      local c = client()
      local res, err = c:request { method = "GET", path = "/html502" }
      assert.is_nil(res)
      assert.equal("server", err.kind)
      assert.equal(502, err.status)
      assert.is_true(err.retryable)
      assert.is_string(err.body_excerpt)
      assert.is_true(#err.body_excerpt <= 200)
      assert.matches("502 Bad Gateway", err.body_excerpt, 1, true)
      assert.is_nil(err.body_excerpt:find("[\r\n]"))
      assert.equal("hdr-req-id", err.request_id)
      c:close()
    end)

    it("maps bare statuses without an envelope", function()
      local c = client()
      for status, kind in pairs({ [401] = "auth", [404] = "not_found", [422] = "validation",
                                  [503] = "server", [429] = "rate_limited" }) do
        local _, err = c:request { method = "GET", path = "/status/" .. status }
        assert.equal(kind, err.kind)
        assert.equal(status, err.status)
        assert.is_nil(err.code)
        assert.equal("status " .. status, err.message)
      end
      c:close()
    end)

    it("gives protocol errors for non-JSON 200, a 200 without envelope, and bodies over max_body", function()
      local c = client({ max_body = 4096 })
      local res, err = c:request { method = "GET", path = "/notjson" }
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(200, err.status)
      assert.equal("hello, this is not json", err.body_excerpt)
      assert.is_false(err.retryable)
      res, err = c:request { method = "GET", path = "/noenvelope" }
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.is_nil(err.body_excerpt)
      -- Content-Length known (early abort) and streamed to close (write callback)
      for _, p in ipairs({ "/big/100000", "/bigstream/100000" }) do
        _, err = c:request { method = "GET", path = p }
        assert.equal("protocol", err.kind, p)
        assert.matches("max_body", err.message, 1, true)
        assert.is_number(err.curl_code)
      end
      -- the client is still usable and a small body passes
      res = assert(c:request { method = "GET", path = "/big/100" })
      assert.equal(100, #res.data)
      c:close()
    end)

    it("parses Retry-After as seconds and as an HTTP date", function()
      local c = client()
      local _, err = c:request { method = "GET", path = "/cv/retry-date" }
      assert.equal("rate_limited", err.kind)
      assert.is_true(err.retry_after >= 115 and err.retry_after <= 121, tostring(err.retry_after))
      local k = ka_client()
      _, err = k:request { method = "GET", path = "/ka/err/429/429" }
      assert.equal(7, err.retry_after)
      c:close(); k:close()
    end)

    it("reports connection refused as a retryable network error", function()
      local dead = free_port()
      local c = make_core_client { base_url = "http://127.0.0.1:" .. dead, dialect = "creativault", api_key = KEY,
                              max_retries = 0 }
      local res, err = c:request { method = "GET", path = "/x" }
      assert.is_nil(res)
      assert.equal("network", err.kind)
      assert.equal(7, err.curl_code) -- CURLE_COULDNT_CONNECT
      assert.is_true(err.retryable)
      assert.is_nil(err.status)
      assert.is_string(err.message)
      assert.is_true(#err.message > 0)
      c:close()
    end)

    it("reports a slow server as a timeout (per-call and client timeouts)", function()
      local c = client({ timeout = 0.3 })
      local t0 = core.monotonic()
      local _, err = c:request { method = "GET", path = "/sleep/3" }
      assert.equal("timeout", err.kind)
      assert.equal(28, err.curl_code) -- CURLE_OPERATION_TIMEDOUT
      assert.is_true(err.retryable)
      local _, err2 = client():request { method = "GET", path = "/sleep/3", timeout = 0.5 }
      assert.equal("timeout", err2.kind)
      assert.is_true(core.monotonic() - t0 < 2.5)
      -- a per-call override can also lengthen it
      assert(c:request { method = "GET", path = "/sleep/0.4", timeout = 2 })
      c:close()
    end)

    it("never shows the API key in tostring(err) or tostring(client)", function()
      local c = client()
      local _, err = c:request { method = "GET", path = "/echo-key" }
      assert.equal("validation", err.kind)
      assert.is_nil(err.body_excerpt:find(KEY, 1, true))
      assert.matches("[REDACTED]", err.body_excerpt, 1, true)
      local _, err2 = c:request { method = "GET", path = "/cv/err/40101/401" }
      for _, e in ipairs({ err, err2 }) do
        local s = tostring(e)
        assert.is_nil(s:find(KEY, 1, true))
        assert.is_nil(s:find(IDENT, 1, true))
        for _, v in pairs(e) do
          if type(v) == "string" then assert.is_nil(v:find(KEY, 1, true)) end
        end
      end
      assert.equal("creatorapi: auth (HTTP 401, code 40101, request_id req_40101): cv error 40101",
        tostring(err2))
      local s = tostring(make_core_client { base_url = "https://user:pw@api.example.com/", dialect = "creativault",
        api_key = KEY, user_identity = IDENT })
      assert.matches("^creatorapi%.Context %(creativault, https://api%.example%.com%): 0x", s)
      assert.is_nil(s:find(KEY, 1, true))
      assert.is_nil(s:find("pw", 1, true))
      assert.matches("^creatorapi%.Context %(keyapi, http://127%.0%.0%.1:%d+%)", tostring(ka_client()))
      c:close()
    end)
  end)

  describe("connections", function()
    it("reuses one TCP connection for 20 sequential requests (keep-alive)", function()
      local c = client()
      for i = 1, 20 do
        -- idempotent POSTs say retry = "safe" (the Lua layer does)
        local res, err = c:request { method = i % 2 == 0 and "GET" or "POST", path = "/cv/ok",
                                     retry = i % 2 == 0 and nil or "safe" }
        assert.is_nil(err)
        assert.equal(200, res.status)
      end
      -- error responses with a complete body keep the connection too
      assert.is_nil((c:request { method = "GET", path = "/cv/err/40401/404" }))
      local log = server_log(port)
      assert.equal(21, #log.requests)
      assert.equal(1, log.connections)
      c:close()
    end)

    it("sends submit and never requests on a fresh, one-shot connection", function()
      -- libcurl silently re-sends a request when a reused connection dies
      -- before any answer; a fresh connection is never re-sent on.
      local c = client()
      assert(c:request { method = "GET", path = "/cv/ok" })
      assert(c:request { method = "POST", path = "/cv/ok", retry = "submit" })
      assert(c:request { method = "POST", path = "/cv/ok" }) -- POST defaults to "submit"
      assert(c:request { method = "GET", path = "/cv/ok", retry = "never" })
      assert(c:request { method = "GET", path = "/cv/ok" })
      local log = server_log(port)
      assert.equal(5, #log.requests)
      assert.equal(4, log.connections)
      assert.equal(log.requests[1].conn, log.requests[5].conn) -- the keep-alive one survived
      c:close()
    end)

    it("a handle kept with its options carries nothing of the request before into the next", function()
      -- The engine keeps a plain request's easy handle with its context's
      -- options (no curl_easy_reset): method, body, headers, timeouts and the
      -- one-shot flags are set again for every request.
      local c = client({ user_agent = "kept/1.0" })
      assert(c:request { method = "POST", path = "/cv/ok", body = { n = 1 }, retry = "safe",
                         headers = { ["X-Trace"] = "one" } })
      assert(c:request { method = "GET", path = "/cv/ok", query = { q = 2 } })
      assert(c:request { method = "POST", path = "/cv/ok", retry = "never" })
      assert(c:request { method = "GET", path = "/cv/ok", auth = "none" })
      assert(c:request { method = "GET", path = "/cv/ok" })
      local log = server_log(port)
      assert.equal(5, #log.requests)
      local r = log.requests
      assert.same({ "POST", "GET", "POST", "GET", "GET" },
        { r[1].method, r[2].method, r[3].method, r[4].method, r[5].method })
      assert.same({ n = 1 }, core.json_decode(r[1].body))
      assert.equal("one", r[1].headers["x-trace"])
      assert.equal("/cv/ok?q=2", r[2].target)
      assert.equal("", r[2].body)
      assert.is_nil(r[2].headers["content-type"])
      assert.is_nil(r[2].headers["content-length"])
      assert.is_nil(r[2].headers["x-trace"])
      assert.equal("{}", r[3].body)
      assert.is_nil(r[4].headers["x-api-key"])
      assert.is_nil(r[4].headers["x-user-identity"])
      assert.equal(KEY, r[5].headers["x-api-key"])
      for i = 1, 5 do
        assert.equal("kept/1.0", r[i].headers["user-agent"])
        assert.equal("application/json", r[i].headers["accept"])
        assert.is_nil(r[i].headers["expect"])
      end
      -- 1, 2, 4, 5 on the keep-alive connection; the never-retried POST alone on its own
      assert.equal(2, log.connections)
      assert.same({ r[1].conn, r[1].conn, r[1].conn }, { r[2].conn, r[4].conn, r[5].conn })
      assert.are_not.equal(r[1].conn, r[3].conn)
      c:close()
    end)

    it("a new client opens its own connection", function()
      local a, b = client(), client()
      assert(a:request { method = "GET", path = "/cv/ok" })
      assert(b:request { method = "GET", path = "/cv/ok" })
      assert(a:request { method = "GET", path = "/cv/ok" })
      assert.equal(2, server_log(port).connections)
      a:close(); b:close()
    end)

    it("runs a batch concurrently and returns results in request order", function()
      local c = client()
      local t0 = core.monotonic()
      local out = c:batch {
        { method = "GET", path = "/sleep/0.4" },
        { method = "POST", path = "/cv/err/40401/404" },
        { method = "GET", path = "/sleep/0.4", headers = { ["X-Bad"] = "a\nb" } },
        { method = "POST", path = "/sleep/0.4", body = { n = 3 }, retry = "safe" },
        { method = "GET", path = "/sleep/0.4" },
        "not a table",
      }
      local elapsed = core.monotonic() - t0
      assert.equal(6, #out)
      assert.equal(200, out[1].res.status)
      assert.is_nil(out[1].err)
      assert.equal("not_found", out[2].err.kind)
      assert.equal("validation", out[3].err.kind)
      assert.equal(200, out[4].res.status)
      assert.equal(200, out[5].res.status)
      assert.equal("validation", out[6].err.kind)
      assert.is_true(elapsed < 1.0, "batch took " .. elapsed .. " s: not concurrent")
      local log = server_log(port)
      assert.equal(4, #log.requests)
      assert.is_true(log.connections >= 2 and log.connections <= 4)
      -- the batch's connections stay cached: a follow-up opens none
      assert(c:request { method = "GET", path = "/cv/ok" })
      assert.equal(log.connections, server_log(port).connections)
      assert.same({}, c:batch {})
      c:close()
    end)
  end)

  describe("lifecycle", function()
    it("close is idempotent, use after close raises, __gc after close is safe", function()
      local c = client()
      assert(c:request { method = "GET", path = "/cv/ok" })
      c:close()
      c:close()
      local ok, msg = pcall(c.request, c, { method = "GET", path = "/cv/ok" })
      assert.is_false(ok)
      assert.matches("closed", msg)
      ok = pcall(c.batch, c, {})
      assert.is_false(ok)
      assert.matches("closed", tostring(c))
      -- __gc of an already closed client: must be a no-op
      local weak = setmetatable({ c }, { __mode = "v" })
      c = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak[1])
    end)

    it("collects unclosed clients", function()
      local weak = setmetatable({}, { __mode = "k" })
      do
        local c = client()
        assert(c:request { method = "GET", path = "/cv/ok" })
        weak[c] = true
      end
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak))
    end)

    if _VERSION == "Lua 5.4" and not jit then
      it("closes through a to-be-closed variable", function()
        local chunk = assert(load([[
          local make_core_client, base = ...
          local c <close> = make_core_client { base_url = base, dialect = "keyapi" }
          return c
        ]]))
        local c = chunk(make_core_client, base)
        assert.matches("closed", tostring(c))
      end)
    end

    it("rejects invalid config", function()
      assert.has_error(function() make_core_client { dialect = "creativault" } end)
      assert.has_error(function() make_core_client { base_url = "ftp://x", dialect = "creativault" } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "other" } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "keyapi", timeout = 0 } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "keyapi", insecure = "yes" } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "keyapi", max_body = -1 } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "keyapi", max_body = 1.5 } end)
      assert.has_error(function() make_core_client { base_url = base, dialect = "keyapi", max_depth = 0 } end)
      make_core_client({ base_url = base, dialect = "keyapi", max_body = 1048576.0, max_depth = 10.0 }):close()
      -- false disables a timeout
      local c = make_core_client { base_url = base, dialect = "creativault", timeout = false, connect_timeout = false }
      assert(c:request { method = "GET", path = "/cv/ok" })
      c:close()
    end)

    it("survives re-requiring the module (busted insulate)", function()
      package.loaded["creatorapi.core"] = nil
      local core2 = require "creatorapi.core"
      assert.equal(core.error_mt, core2.error_mt)
      local ctx = core2.context { base_url = base, dialect = "creativault" }
      local p = assert(ctx:prepare { method = "GET", path = "/cv/err/40401/404" })
      local _, err = ctx:parse(p, { status = 404, body = '{"success":false,"error":{"code":40401,"message":"x"}}' })
      assert.equal(core.error_mt, getmetatable(err))
      ctx:close()
      package.loaded["creatorapi.core"] = core
    end)
  end)
end)

describe("core client TLS #jit", function()
  local dir, port, pid

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local ok = os.execute("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " ..
      "-keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem -days 1 -subj /CN=localhost " ..
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1")
    assert(ok == true or ok == 0, "openssl req failed")
    port = free_port()
    pid = spawn("openssl s_server -accept " .. port .. " -cert " .. dir .. "/cert.pem -key " ..
      dir .. "/key.pem -www -quiet")
    assert(wait_port(port, 5), "openssl s_server did not start")
  end)

  lazy_teardown(function()
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("refuses an untrusted certificate with a tls error", function()
    local c = make_core_client { base_url = "https://127.0.0.1:" .. port, dialect = "creativault", api_key = KEY }
    local res, err = c:request { method = "GET", path = "/" }
    assert.is_nil(res)
    assert.equal("tls", err.kind)
    assert.is_false(err.retryable)
    assert.equal(60, err.curl_code) -- CURLE_PEER_FAILED_VERIFICATION
    assert.is_nil(tostring(err):find(KEY, 1, true))
    c:close()
  end)

  it("trusts the certificate through ca_file, and skips checks only with insecure = true", function()
    -- TLS succeeds, then s_server's HTML status page is not JSON: protocol
    for _, cfg in ipairs({ { ca_file = dir .. "/cert.pem" }, { insecure = true } }) do
      cfg.base_url = "https://localhost:" .. port
      cfg.dialect = "creativault"
      local c = make_core_client(cfg)
      local res, err = c:request { method = "GET", path = "/" }
      assert.is_nil(res)
      assert.equal("protocol", err.kind)
      assert.equal(200, err.status)
      c:close()
    end
  end)
end)

-- libcurl speaks HTTP/2 to https servers that offer it (ALPN), and builds the
-- :path pseudo-header from the request line, which the SDK gives it as the
-- request target with the query (curl_options.c): a real h2 server (nginx)
-- must see each call's own path and query.
describe("core client over HTTP/2 #jit", function()
  local nginx = require "support.nginx"
  local dir, n, tls_port

  lazy_setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    nginx.test_certs(dir)
    tls_port = free_port()
    n = nginx.start("spec/support/nginx_h2.conf.in",
      { TLS_PORT = tls_port, CERT = dir .. "/server.pem", KEY = dir .. "/server.key" })
  end)

  lazy_teardown(function()
    if n then n:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("sends each call's own path and query as the :path of an HTTP/2 request", function()
    local c = make_core_client { base_url = "https://127.0.0.1:" .. tls_port, dialect = "creativault",
      api_key = KEY, user_identity = IDENT, ca_file = dir .. "/ca.pem", max_retries = 0 }
    local got = {}
    for _, q in ipairs { { a = 1, s = "x y" }, { a = 2 }, false } do
      local res, err = c:request { method = "GET", path = "/cv/ok", query = q or nil }
      assert.is_nil(err)
      assert.equal("HTTP/2.0", res.data.protocol)
      got[#got + 1] = res.data.target
    end
    assert.same({ "/cv/ok?a=1&s=x%20y", "/cv/ok?a=2", "/cv/ok" }, got)
    c:close()
  end)
end)
