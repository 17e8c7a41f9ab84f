-- Beyond one process: the Redis limiter, the paid-answer cache and the
-- failure policy, against the mock and a private redis-server
-- (spec/support/redis.lua). docs/scaling.md describes the guarantees.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock_support = require "support.mock"
local redis_support = require "support.redis"

local LUA = os.getenv("CREATORAPI_LUA") or "lua5.4"
local DEMO = mock_support.DEMO

local sh = require("support.shell").sh

local function client(url, opts)
  local o = { base_url = url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
  for k, v in pairs(opts or {}) do o[k] = v end
  return creatorapi.creativault(o)
end

local function api_requests(m)
  return m:get_json("/_mock/stats").requests
end

-- Runs `procs` worker processes at once; → sums { ok, limited, other }.
local function run_workers(m, redis_url, procs, count, n, per)
  local outs = {}
  local cmd = {}
  for i = 1, procs do
    outs[i] = os.tmpname()
    cmd[#cmd + 1] = string.format("%s spec/support/shared_limit_worker.lua %s %s %d %d %s >%s 2>&1 &",
      LUA, m.url, redis_url or "none", count, n, tostring(per), outs[i])
  end
  sh(table.concat(cmd, " ") .. " wait")
  local sum = { ok = 0, limited = 0, other = 0 }
  for i = 1, procs do
    local f = assert(io.open(outs[i]))
    local text = f:read("*a")
    f:close()
    os.remove(outs[i])
    local ok, limited, other = text:match("ok (%d+) limited (%d+) other (%d+)")
    assert(ok, "worker " .. i .. " failed: " .. text)
    sum.ok, sum.limited, sum.other = sum.ok + ok, sum.limited + limited, sum.other + other
  end
  return sum
end

describe("shared rate limiter through Redis", function()
  local srv, m
  -- 60 requests per mock minute, the mock clock 120x: a fixed window of 0.5 s real time.
  before_each(function()
    srv = redis_support.start()
    m = mock_support.start{ "--rate-limit", "60", "--time-scale", "120" }
  end)
  after_each(function()
    m:stop()
    srv:stop()
  end)

  it("4 processes sharing one key make 300 requests with 0 x 429", function()
    local sum = run_workers(m, srv.url, 4, 75, 60, 0.5)
    assert.same({ ok = 300, limited = 0, other = 0 }, sum)
    local st = m:get_json("/_mock/stats")
    assert.equal(300, st.statuses["200"])
    assert.is_nil(st.statuses["429"])
  end)

  it("without the shared limiter the same 4 processes get 429s (the spec can fail)", function()
    local sum = run_workers(m, nil, 4, 75, 60, 0.5)
    assert.equal(300, sum.ok + sum.limited)
    assert.is_true(sum.limited > 0)
  end)

  it("keeps at most n tokens in Redis and releases them with a TTL of per", function()
    local cv = client(m.url, { store = { redis = srv.url }, rate_limit = { requests = 3, per = 0.5 } })
    for _ = 1, 5 do assert(cv:search_tiktok{ keyword = "beauty", size = 1 }) end
    local keys = srv:cli("KEYS", "creatorapi:lim:*")
    assert.equal(1, #keys)
    -- the key name carries a hash of the API key, never the key
    assert.is_nil(keys[1]:find(DEMO.cv_key, 1, true))
    local members = srv:cli("ZRANGE", keys[1], 0, -1)
    assert.is_true(#members <= 3)
    for _, mem in ipairs(members) do assert.equal("r:", mem:sub(1, 2)) end
    cv:close()
  end)

  it("a process killed mid-request holds its slot at most timeout + per + 1 s", function()
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":30,"path":"/openapi/v1/creators/tiktok/search"}')
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
      local cv = require("creatorapi").creativault{ base_url = %q, api_key = %q, user_identity = %q,
        store = { redis = %q }, rate_limit = { requests = 1, per = 1 }, timeout = 2, max_retries = 0 }
      cv:search_tiktok{ keyword = "beauty", size = 1 }
    ]], m.url, DEMO.cv_key, DEMO.cv_identity, srv.url))
    f:close()
    local p = assert(io.popen(LUA .. " " .. script .. " >/dev/null 2>&1 & echo $!"))
    local pid = assert(tonumber(p:read("*l")))
    p:close()
    local key, member
    for _ = 1, 200 do
      key = (srv:cli("KEYS", "creatorapi:lim:*") or {})[1]
      member = key and srv:cli("ZRANGE", key, 0, -1, "WITHSCORES")
      if member and member[1] then break end
      os.execute("sleep 0.02")
    end
    os.execute("kill -9 " .. pid)
    os.remove(script)
    assert.equal("f:", member[1]:sub(1, 2))
    local t = srv:cli("TIME")
    local now = tonumber(t[1]) * 1e6 + tonumber(t[2])
    local lease = tonumber(member[2]) - now
    assert.is_true(lease > 0)
    assert.is_true(lease <= (2 + 1 + 1) * 1e6)
    -- another process can go on once the lease expires (nothing else to release it)
    local cv = client(m.url, { store = { redis = srv.url }, rate_limit = { requests = 1, per = 1 } })
    m:curl("DELETE", "/_mock/faults")
    assert(cv:search_tiktok{ keyword = "beauty", size = 1 })
    cv:close()
  end)
end)

describe("the shared limiter's release", function()
  local srv
  setup(function() srv = redis_support.start() end)
  teardown(function() srv:stop() end)

  it("does not wait for Redis's answer (one round trip less a call)", function()
    local store = require("creatorapi.store.redis").new{ url = srv.url, prefix = "spec:", timeout = 5 }
    local lim = require("creatorapi.limiter.redis").new(store, "nowait", 2, 0.5)
    local tok = assert(lim:acquire(core.monotonic()))
    srv:cli("CLIENT", "PAUSE", "2000", "ALL") -- Redis answers no client for 2 s
    local t0 = core.monotonic()
    lim:release(tok, core.monotonic())
    local took = core.monotonic() - t0
    -- Before: the release waited for its answer, until the pause ended.
    assert.is_true(took < 1, ("release took %.2f s while Redis was paused"):format(took))
    assert.equal("PONG", store:call("PING")) -- its own reply, after the release's
    local members = srv:cli("ZRANGE", "spec:lim:nowait", 0, -1)
    assert.same({ "r:" .. tok }, members)
    assert(lim:acquire(core.monotonic())) -- the store's connection is still in step
    store:close()
  end)
end)

describe("Redis unavailable", function()
  local m
  setup(function() m = mock_support.start() end)
  teardown(function() m:stop() end)

  it("fails closed by default: store_unavailable, nothing sent; recovers when Redis is back", function()
    local srv = redis_support.start()
    local cv = client(m.url, { store = { redis = srv.url, retry_interval = 0 },
      rate_limit = { requests = 10, per = 1 } })
    assert(cv:search_tiktok{ keyword = "beauty", size = 1 })
    srv:stop() -- killed mid-run
    local before = api_requests(m)
    local res, err = cv:search_tiktok{ keyword = "beauty", size = 1 }
    assert.is_nil(res)
    assert.equal("store_unavailable", err.kind)
    assert.equal(0, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(before, api_requests(m))
    assert.truthy(tostring(err):find("store_unavailable", 1, true))
    cv:close()
  end)

  it("falls back to the in-process limiter with on_unavailable = \"local\"", function()
    local srv = redis_support.start()
    local cv = client(m.url, { store = { redis = srv.url, on_unavailable = "local" },
      rate_limit = { requests = 10, per = 1 } })
    assert(cv:search_tiktok{ keyword = "beauty", size = 1 })
    srv:stop()
    local before = api_requests(m)
    assert(cv:search_tiktok{ keyword = "beauty", size = 1 })
    assert.equal(before + 1, api_requests(m))
    assert.equal(1, cv._loop.limiter.fallbacks)
    cv:close()
  end)

  it("the cache falls back to the API by default and fails closed with on_unavailable = \"fail\"", function()
    local srv = redis_support.start()
    local url = srv.url
    local soft = client(m.url, { cache = { store = { redis = url }, ttl = 60 } })
    local hard = client(m.url, { cache = { store = { redis = url }, ttl = 60, on_unavailable = "fail" } })
    local p = { keyword = "beauty", size = 2 }
    assert(soft:search_tiktok(p))
    assert.is_true(assert(hard:search_tiktok(p)).cached)
    srv:stop()
    local before = api_requests(m)
    local res = assert(soft:search_tiktok(p))
    assert.is_nil(res.cached)
    assert.equal(before + 1, api_requests(m))
    assert.equal(1, soft:stats().cache_unavailable)
    local none, err = hard:search_tiktok(p)
    assert.is_nil(none)
    assert.equal("store_unavailable", err.kind)
    assert.equal(before + 1, api_requests(m))
    soft:close()
    hard:close()
  end)
end)

describe("paid-answer cache", function()
  local m, srv
  setup(function()
    m = mock_support.start()
    srv = redis_support.start()
  end)
  teardown(function()
    m:stop()
    srv:stop()
  end)

  local function credits(mm)
    return mm:get_json("/_mock/stats").credits_consumed[DEMO.cv_key] or 0
  end

  -- Runs the example twice with `cache_env`; the second run must buy nothing.
  local function csv_rerun(cache_env)
    local dir = sh("mktemp -d"):match("^(%S+)")
    local env = string.format("CREATIVAULT_BASE_URL=%s CREATIVAULT_API_KEY=%s CREATIVAULT_USER_IDENTITY=%s %s ",
      m.url, DEMO.cv_key, DEMO.cv_identity, cache_env(dir))
    local c0 = credits(m)
    local out1, code1 = sh(env .. LUA .. " examples/search_to_csv.lua " .. dir .. "/a.csv 130")
    assert.equal(0, code1, out1)
    local c1 = credits(m)
    local nreq, paid = out1:match("%((%d+) requests, (%d+) credits%)")
    paid = tonumber(paid)
    assert.is_true(paid > 0)
    assert.equal(paid, c1 - c0)
    local out2, code2 = sh(env .. LUA .. " examples/search_to_csv.lua " .. dir .. "/b.csv 130")
    assert.equal(0, code2, out2)
    assert.equal(c1, credits(m))
    assert.truthy(out2:find("(" .. nreq .. " requests, 0 credits)", 1, true), out2)
    assert.truthy(out2:find("cache: " .. nreq .. " hits, " .. paid .. " credits saved", 1, true), out2)
    local a = assert(io.open(dir .. "/a.csv")):read("*a")
    local b = assert(io.open(dir .. "/b.csv")):read("*a")
    assert.equal(131, select(2, a:gsub("\n", "")))
    assert.equal(a, b)
    os.execute("rm -rf '" .. dir .. "'")
  end

  it("a cached re-run of the search -> CSV example spends 0 credits and writes the same rows (Redis)", function()
    csv_rerun(function() return "CREATORAPI_CACHE_REDIS=" .. srv.url end)
  end)

  it("the same with the file-backed SQLite store", function()
    csv_rerun(function(dir) return "CREATORAPI_CACHE_FILE=" .. dir .. "/cache.sqlite" end)
  end)

  it("SQLite store: expiry, foreign entries, and an unusable file is a miss", function()
    local dir = sh("mktemp -d"):match("^(%S+)")
    local file = dir .. "/c.sqlite"
    local cv = client(m.url, { cache = { store = { file = file }, ttl = 0.3 } })
    local p = { keyword = "beauty", size = 1 }
    assert(cv:search_tiktok(p))
    assert.is_true(assert(cv:search_tiktok(p)).cached)
    core.sleep(0.4)
    assert.is_nil(assert(cv:search_tiktok(p)).cached)
    local other = creatorapi.creativault{ base_url = m.url, api_key = "cv_live_noscope_0001",
      user_identity = DEMO.cv_identity, cache = { store = { file = file }, ttl = 60 } }
    assert.is_nil(assert(other:search_youtube(p)).cached)
    other:close()
    cv:close()
    local junk = assert(io.open(dir .. "/junk.sqlite", "w"))
    junk:write(string.rep("not a database ", 100))
    junk:close()
    local bad = client(m.url, { cache = { store = { file = dir .. "/junk.sqlite" }, ttl = 60 } })
    assert.is_nil(assert(bad:search_tiktok(p)).cached)
    assert.equal(1, bad:stats().cache_unavailable)
    bad:close()
    assert.has_error(function() client(m.url, { cache = { store = { file = "" } } }) end)
    local raw = assert(core.sqlite_store(file))
    assert.is_true(raw:set("k", "v\0w", 60))
    assert.equal("v\0w", raw:get("k"))
    assert.is_nil(raw:get("missing"))
    raw:close()
    raw:close()
    assert.is_nil(raw:get("k"))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("answers search, lookalike and KeyAPI pages with res.cached, counts hits and credits saved", function()
    local cv = client(m.url, { cache = { ttl = 60 } })
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = DEMO.keyapi_key, cache = { ttl = 60 } }
    local before = api_requests(m)
    local a = assert(cv:search_tiktok{ keyword = "beauty", size = 3 })
    local b = assert(cv:search_tiktok{ size = 3, keyword = "beauty" })
    assert.is_nil(a.cached)
    assert.is_true(b.cached)
    assert.same(a.data, b.data)
    assert.equal(0, b.attempts)
    local l1 = assert(cv:lookalike{ username = "creator_demo", platform = "tiktok", limit = 3 })
    assert.is_true(assert(cv:lookalike{ username = "creator_demo", platform = "tiktok", limit = 3 }).cached)
    local k1 = assert(ka:influencer_list{ region = "US", page_num = 1, page_size = 5 })
    local k2 = assert(ka:influencer_list{ region = "US", page_num = 1, page_size = 5 })
    assert.is_true(k2.cached)
    assert.same(k1.data, k2.data)
    assert.equal(before + 3, api_requests(m))
    local st = cv:stats()
    assert.equal(2, st.cache_hits)
    assert.equal(2, st.cache_misses)
    assert.equal(a.meta.credits_consumed + l1.meta.credits_consumed, st.credits_saved)
    assert.equal(st.credits_saved, st.credits_consumed)
    assert.equal(1, ka:stats().credits_saved)
    assert.equal(1, ka:stats().credits_consumed)
    -- other parameters are another entry
    assert.is_nil(assert(cv:search_tiktok{ keyword = "beauty", size = 4 }).cached)
    cv:close()
    ka:close()
  end)

  it("never caches task status or data, submits or the raw request escape hatch", function()
    local cv = client(m.url, { cache = { ttl = 60 } })
    local sub = assert(cv:submit_task{ platform = "tiktok", task_type = "FILE_UPLOAD", values = { "creator_demo" } })
    local id = sub.data.task_id
    local before = api_requests(m)
    for _ = 1, 2 do
      assert.is_nil(assert(cv:task_status{ task_id = id }).cached)
      assert.is_nil(assert(cv:call("/creators/tiktok/search", { keyword = "beauty", size = 1 }, { retry = "safe" })).cached)
    end
    assert.equal(before + 4, api_requests(m))
    assert.equal(0, cv:stats().cache_hits)
    cv:close()
  end)

  it("ignores another key's entries and corrupt entries (a miss, never an error)", function()
    local store = require("creatorapi.store.redis").new{ url = srv.url, prefix = "spec:foreign:" }
    local a = client(m.url, { cache = { store = store, ttl = 60 } })
    local p = { keyword = "beauty", size = 2 }
    assert(a:search_tiktok(p))
    local keys = srv:cli("KEYS", "spec:foreign:cache:*")
    assert.equal(1, #keys)
    assert.is_nil(keys[1]:find(DEMO.cv_key, 1, true))
    local entry = srv:cli("GET", keys[1])
    assert.is_nil(entry:find(DEMO.cv_key, 1, true))
    -- the same request by another key (the mock accepts the special keys) finds nothing,
    -- even when a's entry is copied under the name b would read
    local b = creatorapi.creativault{ base_url = m.url, api_key = "cv_live_noscope_0001",
      user_identity = DEMO.cv_identity, cache = { store = store, ttl = 60 } }
    local bkey = "spec:foreign:" .. b._cache:key({ method = "POST", path = "/openapi/v1/creators/youtube/search",
      body = p })
    srv:cli("SET", bkey, entry)
    local res = assert(b:search_youtube(p))
    assert.is_nil(res.cached)
    assert.equal(1, b:stats().cache_rejected)
    -- corrupt entries are misses too
    for _, junk in ipairs{ "not json", "[]", '{"v":1}', entry:sub(1, math.floor(#entry / 2)) } do
      srv:cli("SET", keys[1], junk)
      local r = assert(a:search_tiktok(p))
      assert.is_nil(r.cached)
    end
    assert.equal(4, a:stats().cache_rejected)
    a:close()
    b:close()
  end)

  it("expires entries after ttl", function()
    local cv = client(m.url, { cache = { ttl = 0.2 } })
    local p = { keyword = "beauty", size = 1 }
    assert(cv:search_tiktok(p))
    assert.is_true(assert(cv:search_tiktok(p)).cached)
    core.sleep(0.3)
    assert.is_nil(assert(cv:search_tiktok(p)).cached)
    cv:close()
  end)

  it("refuses bad cache and store options (programming errors raise)", function()
    assert.has_error(function() client(m.url, { cache = { ttl = -1 } }) end)
    assert.has_error(function() client(m.url, { cache = { bogus = 1 } }) end)
    assert.has_error(function() client(m.url, { cache = { store = 42 } }) end)
    assert.has_error(function() client(m.url, { cache = { on_unavailable = "maybe" } }) end)
    assert.has_error(function() client(m.url, { store = { redis = "http://x" } }) end)
    assert.has_error(function() client(m.url, { store = { url = "redis://x" } }) end)
    assert.has_error(function() client(m.url, { store = { redis = srv.url, on_unavailable = "open" } }) end)
  end)
end)
