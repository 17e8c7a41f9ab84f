-- The cosocket transport, the lua_shared_dict limiter and the OpenResty
-- example under a real nginx + ngx_lua with the LuaJIT build of the core,
-- against the mock (plain HTTP, HTTPS with a spec CA, HTTPS with an
-- untrusted certificate, and one with a per-key rate limit).
-- Bounds are ratios and counts, never tight wall-clock limits.
local core = require "creatorapi.core"
local mock = require "support.mock"
local nginx = require "support.nginx"

local sh, read = nginx.sh, nginx.read
local DELAY = 0.2

local function json(body)
  local v, err = core.json_decode(body or "")
  assert(v, "not JSON (" .. tostring(err) .. "): " .. tostring(body))
  return v
end

local function delay_all(m, seconds)
  m:curl("DELETE", "/_mock/faults")
  if seconds then
    m:curl("POST", "/_mock/faults", string.format('{"kind":"delay","delay":%g,"count":100000}', seconds))
  end
end

local function fd_count(pid)
  return tonumber(sh("ls /proc/" .. pid .. "/fd | wc -l"):match("%d+"))
end

describe("OpenResty cosocket transport", function()
  local dir, m, mtls, mbad, mrl, m6, n1

  setup(function()
    dir = sh("mktemp -d"):gsub("%s+$", "")
    nginx.test_certs(dir)
    m = mock.start{ "--quiet" }
    mtls = mock.start{ "--quiet", "--tls-cert", dir .. "/server.pem", "--tls-key", dir .. "/server.key" }
    mbad = mock.start{ "--quiet", "--tls-cert", dir .. "/bad.pem", "--tls-key", dir .. "/bad.key" }
    mrl = mock.start{ "--quiet", "--time-scale", "60", "--keyapi-rate-limit", "5" }
    m6 = mock.start{ "--quiet", "--host", "::1" }
    local env = string.format("MOCK_URL=%s MOCK_TLS_URL=%s MOCK_BAD_TLS_URL=%s MOCK_RL_URL=%s MOCK_V6_URL='%s'",
      m.url, mtls.url:gsub("^http:", "https:"), mbad.url:gsub("^http:", "https:"), mrl.url, m6.url)
    n1 = nginx.start("spec/support/nginx_async.conf.in", { WORKERS = 1, CA = dir .. "/ca.pem", ENV = env })
  end)

  teardown(function()
    if n1 then n1:stop() end
    for _, x in ipairs{ m, mtls, mbad, mrl, m6 } do x:stop() end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function fan(n, target, extra)
    local body, code = n1:get(string.format("/t/fan?n=%d&target=%s%s", n, target or "plain", extra or ""))
    assert.equal(200, code, body)
    return json(body)
  end

  it("runs 8 and 32 concurrent requests in about one round-trip", function()
    delay_all(m, DELAY)
    local one = fan(1)
    assert.same({ ["200"] = 1 }, one.statuses)
    for _, n in ipairs{ 8, 32 } do
      local r = fan(n)
      assert.same({ ["200"] = n }, r.statuses, n1:error_log())
      assert.is_true(r.elapsed < 3 * math.max(one.elapsed, DELAY),
        ("n=%d took %.3f s, one %.3f s"):format(n, r.elapsed, one.elapsed))
      assert.is_true(r.elapsed < n * DELAY / 2, ("n=%d took %.3f s: not concurrent"):format(n, r.elapsed))
    end
    delay_all(m, nil)
  end)

  it("keeps /ping (no Lua) fast while 32 delayed requests run, and ngx.sleep yields", function()
    delay_all(m, 1.0)
    local bg = n1.prefix .. "/bg.out"
    os.execute(string.format("curl -s '%s/t/fan?n=32' >%s 2>&1 &", n1.url, bg))
    os.execute(string.format("curl -s '%s/t/sleep?s=1.5' >%s.sleep 2>&1 &", n1.url, bg))
    core.sleep(0.2)
    local worst = 0
    for _ = 1, 5 do
      local body, code, secs = n1:get("/ping")
      assert.equal("pong", body)
      assert.equal(200, code)
      worst = math.max(worst, secs)
    end
    -- a blocked worker would answer only after the 32 x 1 s requests (or the 1.5 s sleep)
    assert.is_true(worst < 0.5, ("ping took %.3f s while requests ran"):format(worst))
    for _ = 1, 100 do
      if read(bg):find("elapsed") and read(bg .. ".sleep"):find("slept") then break end
      core.sleep(0.1)
    end
    local r = json(read(bg))
    assert.same({ ["200"] = 32 }, r.statuses)
    assert.is_true(r.elapsed < 3, ("32 x 1 s requests took %.3f s"):format(r.elapsed))
    assert.is_true(json(read(bg .. ".sleep")).slept >= 1.4)
    delay_all(m, nil)
  end)

  it("SDK: a Retry-After wait inside a client call yields the worker", function()
    m:curl("POST", "/_mock/faults",
      '{"kind":"status","status":429,"retry_after":"1","count":1,"path":"/v1/tiktok/influencer/list/analytics"}')
    local bg = n1.prefix .. "/sdk.out"
    os.execute(string.format("curl -s '%s/t/sdk?call=list' >%s 2>&1 &", n1.url, bg))
    core.sleep(0.3)
    local worst = 0
    for _ = 1, 5 do
      local body, _, secs = n1:get("/ping")
      assert.equal("pong", body)
      worst = math.max(worst, secs)
    end
    assert.is_true(worst < 0.3, ("ping took %.3f s during a Retry-After wait"):format(worst))
    for _ = 1, 50 do
      if read(bg):find("elapsed") then break end
      core.sleep(0.1)
    end
    local r = json(read(bg))
    assert.is_true(r.ok, read(bg) .. n1:error_log())
    assert.equal("cosocket", r.transport)
    assert.equal(2, r.attempts)
    assert.is_true(r.elapsed >= 0.9, "the Retry-After was not waited for")
  end)

  it("SDK: a submit whose answer is lost is unknown_outcome over cosockets", function()
    m:curl("POST", "/_mock/faults", '{"kind":"reset_after","count":1,"path":"/openapi/v1/collection/tasks/submit"}')
    local r = json((n1:get("/t/sdk?call=submit")))
    assert.is_false(r.ok)
    assert.equal("unknown_outcome", r.kind)
    assert.equal(1, r.attempts)
    assert.equal("cosocket", r.transport)
    r = json((n1:get("/t/sdk?call=submit")))
    assert.is_true(r.ok)
  end)

  it("SDK: creatorapi.async.all runs calls side by side in ngx threads", function()
    delay_all(m, DELAY)
    local r = json((n1:get("/t/sdkall")))
    delay_all(m, nil)
    assert.equal("ngx", r.host)
    assert.equal(4, r.good)
    assert.is_true(r.elapsed < 4 * DELAY / 2, ("4 calls took %.3f s: not concurrent"):format(r.elapsed))
  end)

  it("SDK: nginx -s reload with a call in flight: the call completes, new workers answer", function()
    delay_all(m, 1.0)
    local bg = n1.prefix .. "/reload.out"
    os.execute(string.format("curl -s '%s/t/sdk?call=list' >%s 2>&1 &", n1.url, bg))
    core.sleep(0.3)
    local master = read(n1.prefix .. "/nginx.pid"):match("%d+")
    local before = n1:workers()
    assert(os.execute("kill -HUP " .. master))
    for _ = 1, 50 do
      if read(bg):find("elapsed") then break end
      core.sleep(0.1)
    end
    delay_all(m, nil)
    local r = json(read(bg))
    assert.is_true(r.ok, read(bg) .. n1:error_log())
    assert.equal("cosocket", r.transport)
    local replaced = false
    for _ = 1, 50 do
      local after = n1:workers()
      replaced = #after > 0
      for _, pid in ipairs(after) do if pid == before[1] then replaced = false end end
      if replaced then break end
      core.sleep(0.1)
    end
    assert.is_true(replaced, "the old worker did not exit after the reload")
    r = json((n1:get("/t/sdk?call=list")))
    assert.is_true(r.ok)
  end)

  it("SDK: init_worker falls back to curl, a timer uses cosockets", function()
    local r
    for _ = 1, 20 do
      r = json((n1:get("/t/sdkphases")))
      if r.timer then break end
      core.sleep(0.1)
    end
    assert.equal("curl:200", r.init_worker)
    assert.equal("cosocket:200", r.timer)
  end)

  it("connects to an IPv6 literal", function()
    local r = fan(2, "v6")
    assert.same({ ["200"] = 2 }, r.statuses, core.json_encode(r))
  end)

  it("verifies TLS against lua_ssl_trusted_certificate, and fails an untrusted one with kind tls", function()
    local r = fan(4, "tls")
    assert.same({ ["200"] = 4 }, r.statuses, core.json_encode(r))
    r = fan(2, "badtls")
    assert.same({ tls = 2 }, r.kinds)
    assert.matches("TLS handshake with 127.0.0.1 failed", r.messages[1])
  end)

  it("reuses keep-alive connections, and never a pooled one for a fresh (submit) request", function()
    fan(1) -- warm the pool
    -- each /_mock/stats read is one curl connection of its own
    local c0 = m:get_json("/_mock/stats").connections
    for _ = 1, 10 do assert.same({ ["200"] = 1 }, fan(1).statuses) end
    assert.equal(c0 + 1, m:get_json("/_mock/stats").connections, "10 sequential GETs opened new connections")
    local before = fan(1).stats
    for _ = 1, 3 do
      local r = fan(1, "plain", "&fresh=1")
      assert.is_nil(next(r.kinds), core.json_encode(r))
    end
    local st = m:get_json("/_mock/stats")
    assert.equal(c0 + 2 + 3, st.connections, "each fresh request on its own new connection")
    local last = m:last_request()
    assert.equal("close", last.headers.connection)
    local after = fan(1).stats
    assert.equal(before.reused + 1, after.reused, "fresh requests neither reused nor displaced the pool")
    assert.equal(c0 + 4 + 3, m:get_json("/_mock/stats").connections) -- + last_request, stats
  end)

  it("maps failures to contract kinds with sent, caps the body, and re-sends once on a dead pooled connection", function()
    local r = fan(2, "refused")
    assert.same({ network = 2 }, r.kinds)
    assert.equal(0, r.sent)
    delay_all(m, 2)
    r = fan(2, "plain", "&timeout=0.4")
    assert.same({ timeout = 2 }, r.kinds)
    assert.equal(2, r.sent)
    assert.is_true(r.elapsed < 1.5, ("timeout 0.4 s took %.3f s"):format(r.elapsed))
    delay_all(m, nil)
    r = fan(1, "plain", "&small=1")
    assert.same({ protocol = 1 }, r.kinds)
    assert.equal(1, r.too_big)
    -- the next answer resets the (pooled) connection: a safe GET is re-sent once on a new one
    local before = fan(1).stats
    m:curl("POST", "/_mock/faults", '{"kind":"reset_before","count":1}')
    r = fan(1)
    assert.same({ ["200"] = 1 }, r.statuses, core.json_encode(r))
    assert.equal(before.resent + 1, r.stats.resent)
    -- a fresh (submit) request is never re-sent: the failure goes to the loop (unknown outcome)
    m:curl("POST", "/_mock/faults", '{"kind":"reset_before","count":1}')
    r = fan(1, "plain", "&fresh=1")
    assert.same({ network = 1 }, r.kinds)
    assert.equal(1, r.sent)
    assert.equal(before.resent + 1, r.stats.resent)
    delay_all(m, nil)
  end)

  it("frees a limiter slot whose holder never released it after the hold TTL", function()
    local r = json((n1:get("/t/expire")))
    assert.same({ first = true, blocked = true, after_hold = true }, r)
  end)

  it("runs in timers, refuses init_worker (the client falls back to curl there)", function()
    local r = json((n1:get("/t/phases")))
    assert.is_true(#r.init_worker >= 1)      -- one per worker started (a reload adds one)
    for _, v in ipairs(r.init_worker) do assert.is_false(v) end
    assert.is_true(r.timer)
    assert.equal(200, r.timer_status)
    assert.is_true(r.content)
  end)

  it("does not grow the worker's fds over 4 000 requests (pooled and fresh)", function()
    local pid = n1:workers()[1]
    fan(8)
    local before = fd_count(pid)
    local body = n1:get("/t/seq?n=4000&conc=16&fresh_every=10", 300)
    local r = json(body)
    -- the fresh ones are POSTs to a GET endpoint: 405, answered and closed
    assert.same({ ["200"] = 3600, ["405"] = 400 }, r.statuses, body:sub(1, 500))
    assert.is_nil(next(r.kinds))
    local after = fd_count(pid)
    assert.is_true(after <= before + 16, ("fds %d -> %d"):format(before, after))
  end)

  it("SDK calls: no fd or memory growth over 4 000 requests", function()
    delay_all(m, nil)
    -- warm up: pools, code paths, the allocator's arenas
    local warm = json(n1:get("/t/sdkseq?n=1000&conc=16", 300))
    assert.equal("cosocket", warm.transport)
    assert.same({ ["200"] = 1000 }, warm.statuses)
    local r = json(n1:get("/t/sdkseq?n=4000&conc=16", 300))
    assert.same({ ["200"] = 4000 }, r.statuses)
    assert.is_nil(next(r.kinds))
    assert.is_true(r.fds <= warm.fds + 2, ("fds %d -> %d"):format(warm.fds, r.fds))
    -- a leak of one 2-row page per call would be > 4 000 KiB of Lua heap
    print(("\n  4 000 SDK calls: fds %d -> %d, Lua heap %.0f -> %.0f KiB, RSS %d -> %d KiB"):format(
      warm.fds, r.fds, warm.lua_kb, r.lua_kb, warm.rss_kb, r.rss_kb))
    assert.is_true(r.lua_kb - warm.lua_kb < 256, ("Lua heap %.0f -> %.0f KiB"):format(warm.lua_kb, r.lua_kb))
    assert.is_true(r.rss_kb - warm.rss_kb < 4096, ("RSS %d -> %d KiB"):format(warm.rss_kb, r.rss_kb))
  end)

  describe("with 4 workers", function()
    local n4
    setup(function()
      local env = string.format("MOCK_URL=%s MOCK_TLS_URL=%s MOCK_BAD_TLS_URL=%s MOCK_RL_URL=%s",
        m.url, m.url, m.url, mrl.url)
      n4 = nginx.start("spec/support/nginx_async.conf.in", { WORKERS = 4, CA = dir .. "/ca.pem", ENV = env })
    end)
    teardown(function() if n4 then n4:stop() end end)

    it("keeps the mock's per-key rate limit with the shared limiter: no 429", function()
      local urls = {}
      for i = 1, 8 do urls[i] = string.format("'%s/t/limited?n=3&limit=5&per=1.05&i=%d'", n4.url, i) end
      local out = nginx.curl_parallel(urls)
      local statuses, pids, npid, credits = {}, {}, 0, 0
      for line in out:gmatch("[^\n]+") do
        local r = json(line)
        for k, v in pairs(r.statuses) do statuses[k] = (statuses[k] or 0) + v end
        assert.is_nil(next(r.kinds), line)
        if not pids[r.pid] then pids[r.pid], npid = true, npid + 1 end
        credits = math.max(credits, r.credits)
      end
      assert.same({ ["200"] = 24 }, statuses, out .. n4:error_log())
      assert.equal(24, credits, "the shared credit counter saw every request")
      assert.is_true(npid >= 2, "the load reached only one worker")
      -- control: the same burst without the limiter is refused
      local r = json((n4:get("/t/fan?n=12&target=rl")))
      assert.is_true((r.statuses["429"] or 0) > 0, core.json_encode(r))
    end)
  end)

  describe("the api_proxy example (SDK in a content handler)", function()
    local np
    setup(function()
      np = nginx.start("examples/openresty/api_proxy/nginx.conf.in", { WORKERS = 1,
        ENV = string.format("KEYAPI_API_KEY=%s KEYAPI_BASE_URL=%s", mock.DEMO.keyapi_key, m.url) })
    end)
    teardown(function() if np then np:stop() end end)

    it("answers 8 concurrent /creators in about one upstream round-trip", function()
      local body, code = np:get("/creators?region=US&size=3")
      assert.equal(200, code, body .. np:error_log())
      assert.equal(3, #json(body).creators)
      delay_all(m, DELAY)
      local urls = {}
      for i = 1, 8 do urls[i] = string.format("'%s/creators?size=2&i=%d'", np.url, i) end
      local t0 = core.monotonic()
      local out = nginx.curl_parallel(urls)
      local secs = core.monotonic() - t0
      delay_all(m, nil)
      local count = 0
      for line in out:gmatch("[^\n]+") do
        assert.equal(2, #json(line).creators, line)
        count = count + 1
      end
      assert.equal(8, count)
      assert.is_true(secs < 8 * DELAY / 2, ("8 SDK calls took %.3f s: not concurrent"):format(secs))
    end)
  end)
end)
