--- ngx_lua handlers for spec/openresty_async_spec.lua (runs inside nginx).
-- /t/fan?n=&target=&fresh=&delay_ok=  n concurrent transport sends
-- /t/seq?n=&conc=&fresh_every=         n sends by conc threads (fd growth)
-- /t/sleep?s=                          t:sleep in a handler
-- /t/limited?n=                        n sends through the shared limiter
-- /t/phases                            what init_worker and a timer saw
-- /t/stats, /t/pid
-- /t/sdk?call=list|submit|retry  one SDK call (creatorapi.keyapi / creativault)
-- /t/sdkseq?n=&conc=              n SDK calls by conc threads, then the worker's fds and memory
-- /t/rawdl?base=&url=&path=&offset=&…   one download attempt over the cosocket transport
-- /t/sdkdl?base=&url=&dir=&n=&name=  n concurrent cv:download of one file URL into dir/<name><i>
-- /t/sdkphases                    which transport the SDK used in init_worker and a timer
local core = require "creatorapi.core"
local cosocket = require "creatorapi.transport.cosocket"
local shdict = require "creatorapi.limiter.shdict"

local A = {}
local t = cosocket.new(nil, { max_body = 4 * 1024 * 1024 })
local t_small = cosocket.new(nil, { max_body = 100 })
local KEY = "kapi_demo_key_0001"
local LIST = "/v1/tiktok/influencer/list/analytics?region=US&page_num=1&page_size=5"

local function target_url(name)
  if name == "refused" then return "http://127.0.0.1:1" end
  if name == "v6" then return os.getenv("MOCK_V6_URL") end
  local env = ({ plain = "MOCK_URL", tls = "MOCK_TLS_URL", badtls = "MOCK_BAD_TLS_URL", rl = "MOCK_RL_URL" })[name or "plain"]
  return os.getenv(env)
end

local function prepared(name, fresh)
  local url = assert(target_url(name), "no mock url for " .. tostring(name))
  local scheme, host, port = url:match("^(https?)://%[?([^/%]]-)%]?:(%d+)$")
  return { method = fresh and "POST" or "GET", scheme = scheme, host = host, port = tonumber(port),
    target = LIST, path = "/v1/tiktok/influencer/list/analytics",
    headers = { "Accept: application/json", "Authorization: Bearer " .. KEY },
    user_agent = "creatorapi-spec", body = fresh and "{}" or nil,
    retry = fresh and "submit" or "safe", fresh = fresh and true or false, timeout = 10, connect_timeout = 5 }
end

local function summary(raws, t0)
  local out = { statuses = {}, kinds = {}, messages = {}, n = #raws, pid = ngx.worker.pid(), sent = 0, too_big = 0 }
  for _, r in ipairs(raws) do
    if r.sent then out.sent = out.sent + 1 end
    if r.too_big then out.too_big = out.too_big + 1 end
    if r.status then out.statuses[tostring(r.status)] = (out.statuses[tostring(r.status)] or 0) + 1 end
    if r.kind then
      out.kinds[r.kind] = (out.kinds[r.kind] or 0) + 1
      out.messages[#out.messages + 1] = r.message
    end
  end
  out.elapsed = core.monotonic() - t0
  out.stats = t.stats
  return out
end

local function reply(tbl)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(core.json_encode(tbl))
end

local function fan(args)
  local n, raws, threads = tonumber(args.n) or 1, {}, {}
  local t0 = core.monotonic()
  for i = 1, n do
    threads[i] = ngx.thread.spawn(function()
      local p = prepared(args.target, args.fresh == "1")
      p.timeout = tonumber(args.timeout) or p.timeout
      return (args.small == "1" and t_small or t):send(p)
    end)
  end
  for i = 1, n do
    local ok, raw = ngx.thread.wait(threads[i])
    raws[i] = ok and raw or { kind = "lua", message = tostring(raw) }
  end
  return summary(raws, t0)
end

local function seq(args)
  local n, conc = tonumber(args.n) or 1, tonumber(args.conc) or 1
  local every = tonumber(args.fresh_every) or 0
  local raws, threads, next_i = {}, {}, 0
  local t0 = core.monotonic()
  for c = 1, conc do
    threads[c] = ngx.thread.spawn(function()
      while next_i < n do
        next_i = next_i + 1
        local i = next_i
        raws[i] = t:send(prepared(args.target, every > 0 and i % every == 0))
      end
    end)
  end
  for c = 1, conc do ngx.thread.wait(threads[c]) end
  return summary(raws, t0)
end

local function limited(args)
  local lim = shdict.for_client("creatorapi", "keyapi", KEY,
    { requests = tonumber(args.limit) or 5, per = tonumber(args.per) or 1.05 }, 10)
  local n, raws = tonumber(args.n) or 1, {}
  local t0 = core.monotonic()
  for i = 1, n do
    local tok, wait = lim:acquire(t:now())
    while not tok do
      t:sleep(wait)
      tok, wait = lim:acquire(t:now())
    end
    raws[i] = t:send(prepared("rl"))
    assert(not lim.prefix:find(KEY, 1, true), "the API key is in a dict key")
    lim:release(tok, t:now())
    lim:add_credits(1)
  end
  local out = summary(raws, t0)
  out.credits = lim:credits()
  return out
end

-- A token never released (its worker "died") frees its slot after `hold` s.
local function lim_expire()
  local lim = shdict.new("creatorapi", "expire-" .. ngx.worker.pid() .. "-" .. ngx.now(), 1, 0.1, { hold = 0.5 })
  local first = lim:acquire(t:now()) ~= nil
  local blocked = lim:acquire(t:now()) == nil
  t:sleep(0.7)
  return { first = first, blocked = blocked, after_hold = lim:acquire(t:now()) ~= nil }
end

-- SDK clients, made on first use in this worker (not at load: no cosockets in init).
local clients = {}
local function sdk(name)
  if clients[name] then return clients[name] end
  local creatorapi = require "creatorapi"
  if name == "ka" then
    clients.ka = creatorapi.keyapi{ base_url = os.getenv("MOCK_URL"), api_key = KEY, timeout = 10 }
  else
    clients.cv = creatorapi.creativault{ base_url = os.getenv("MOCK_URL"), api_key = "cv_live_demo_key_0001",
      user_identity = "demo@creatorapi.test", timeout = 10, rate_limit = false }
  end
  return clients[name]
end

local function sdk_call(args)
  local t0 = core.monotonic()
  local res, err
  if args.call == "submit" then
    res, err = sdk("cv"):submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok", values = { "creator_demo" } }
  else
    res, err = sdk("ka"):influencer_list{ region = "US", page_num = 1, page_size = 2 }
  end
  local c = sdk(args.call == "submit" and "cv" or "ka")
  return { ok = res ~= nil, status = res and res.status or err.status, kind = err and err.kind,
    attempts = (res or err).attempts, elapsed = core.monotonic() - t0,
    transport = c._loop:choose().name }
end

local function rss_kb()
  local f = io.open("/proc/self/status")
  local s = f and f:read("*a") or ""
  if f then f:close() end
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function fds()
  local p = io.popen("ls /proc/" .. ngx.worker.pid() .. "/fd | wc -l")
  local n = tonumber(p:read("*a"):match("%d+"))
  p:close()
  return n
end

-- n SDK calls (ka:influencer_list) from conc ngx threads sharing one client.
local function sdk_seq(args)
  local n, conc = tonumber(args.n) or 1, tonumber(args.conc) or 1
  local statuses, kinds, next_i, threads = {}, {}, 0, {}
  local ka = sdk("ka")
  for c = 1, conc do
    threads[c] = ngx.thread.spawn(function()
      while next_i < n do
        next_i = next_i + 1
        local res, err = ka:influencer_list{ region = "US", page_num = 1, page_size = 2 }
        local k = tostring(res and res.status or err.status)
        statuses[k] = (statuses[k] or 0) + 1
        if err then kinds[err.kind] = (kinds[err.kind] or 0) + 1 end
      end
    end)
  end
  for c = 1, conc do ngx.thread.wait(threads[c]) end
  collectgarbage("collect")
  collectgarbage("collect")
  return { statuses = statuses, kinds = kinds, fds = fds(), rss_kb = rss_kb(),
    lua_kb = collectgarbage("count"), transport = ka._loop:choose().name }
end

-- One download attempt over the cosocket transport (ctx:prepare_download →
-- send → parse), for the transport-level cases of spec/openresty_async_spec.
local rawdl_ctx, rawdl_t = {}, {}
local function raw_download(args)
  local base = args.base
  if not rawdl_ctx[base] then
    rawdl_ctx[base] = core.context{ base_url = base, dialect = "keyapi", api_key = "kapi_TOPSECRETkey123" }
    rawdl_t[base] = cosocket.new(rawdl_ctx[base])
  end
  local ctx, tr = rawdl_ctx[base], rawdl_t[base]
  local function num(v) return v and (tonumber(v) or (v == "false" and false)) or nil end
  local p, perr = ctx:prepare_download{ url = args.url, path = args.path, offset = num(args.offset),
    max_bytes = num(args.max_bytes), timeout = num(args.timeout),
    low_speed_limit = num(args.low_speed_limit), low_speed_time = num(args.low_speed_time) }
  if not p then return { err = { kind = perr.kind, message = perr.message } } end
  local calls = {}
  local on_progress
  if args.progress == "record" then
    on_progress = function(b, e) calls[#calls + 1] = { b, e or false } end
  elseif args.progress == "raise" then
    on_progress = function(b) if b > 0 then error("stop here", 0) end end
  end
  local t0 = core.monotonic()
  local raw = tr:send(p, on_progress)
  local res, err = ctx:parse(p, raw)
  local out = { elapsed = core.monotonic() - t0, calls = calls, sha256 = core.sha256_file(args.path) }
  if res then
    out.res = { status = res.status, bytes = res.bytes, total = res.total, expected = res.expected,
      resumed = res.resumed, content_type = res.headers["content-type"] }
  else
    out.err = { kind = err.kind, status = err.status, message = err.message, bytes = err.bytes,
      excerpt = err.body_excerpt }
  end
  return out
end

-- n downloads of one file at once (creatorapi.async.all), each to its own path.
local dl_clients = {}
local function sdk_download(args)
  local creatorapi = require "creatorapi"
  local cv = dl_clients[args.base]
  if not cv then
    cv = creatorapi.creativault{ base_url = args.base, api_key = "cv_live_demo_key_0001",
      user_identity = "demo@creatorapi.test", timeout = 10, rate_limit = false }
    dl_clients[args.base] = cv
  end
  local n, fns = tonumber(args.n) or 1, {}
  for i = 1, n do
    fns[i] = function()
      local progress = 0
      local res, err = cv:download({ file_url = args.url }, args.dir .. "/" .. (args.name or "dl") .. i,
        { max_attempts = tonumber(args.attempts) or 4, on_progress = function() progress = progress + 1 end })
      return { ok = res ~= nil, bytes = res and res.bytes, sha256 = res and res.sha256,
        attempts = (res or err).attempts, kind = err and err.kind, status = err and err.status,
        message = err and err.message, excerpt = err and err.body_excerpt, progress = progress }
    end
  end
  local t0 = core.monotonic()
  local out = {}
  for i, r in ipairs(creatorapi.async.all(fns)) do out[i] = r[1] end
  return { results = out, elapsed = core.monotonic() - t0, transport = cv._loop:choose().name }
end

function A.init_worker()
  local spec0 = ngx.shared.spec
  -- the SDK in init_worker: no cosockets here, so the curl transport (blocking)
  local ok, r = pcall(sdk_call, {})
  spec0:set("sdk_init_worker", ok and (r.transport .. ":" .. tostring(r.status)) or tostring(r))
  ngx.timer.at(0, function(premature)
    if premature then return end
    local tok, tr = pcall(sdk_call, {})
    spec0:set("sdk_timer", tok and (tr.transport .. ":" .. tostring(tr.status)) or tostring(tr))
  end)
  local spec = ngx.shared.spec
  spec:set("init_worker_available:" .. ngx.worker.pid(), cosocket.available())
  ngx.timer.at(0, function(premature)
    if premature then return end
    spec:set("timer_available", cosocket.available())
    local raw = t:send(prepared("plain"))
    spec:set("timer_status", raw.status or raw.kind)
  end)
end

function A.handle()
  local args = ngx.req.get_uri_args()
  local what = ngx.var.uri:match("^/t/(%w+)")
  if what == "fan" then return reply(fan(args)) end
  if what == "seq" then return reply(seq(args)) end
  if what == "limited" then return reply(limited(args)) end
  if what == "expire" then return reply(lim_expire()) end
  if what == "sleep" then
    local t0 = core.monotonic()
    t:sleep(tonumber(args.s) or 0.5)
    return reply({ slept = core.monotonic() - t0 })
  end
  if what == "phases" then
    local spec, iw = ngx.shared.spec, {}
    for _, k in ipairs(spec:get_keys(0)) do
      if k:find("^init_worker_available") then iw[#iw + 1] = spec:get(k) end
    end
    return reply({ init_worker = iw, timer = spec:get("timer_available"), timer_status = spec:get("timer_status"),
      content = cosocket.available() })
  end
  if what == "pid" then return reply({ pid = ngx.worker.pid() }) end
  if what == "sdk" then return reply(sdk_call(args)) end
  if what == "sdkseq" then return reply(sdk_seq(args)) end
  if what == "sdkdl" then return reply(sdk_download(args)) end
  if what == "rawdl" then return reply(raw_download(args)) end
  if what == "sdkall" then
    local async = require("creatorapi").async
    local fns = {}
    for i = 1, 4 do fns[i] = function() return sdk_call({}) end end
    local t0 = core.monotonic()
    local out = async.all(fns)
    local good = 0
    for i = 1, 4 do if out[i][1].ok then good = good + 1 end end
    return reply({ host = async.host(), good = good, elapsed = core.monotonic() - t0 })
  end
  if what == "sdkphases" then
    local spec = ngx.shared.spec
    return reply({ init_worker = spec:get("sdk_init_worker"), timer = spec:get("sdk_timer") })
  end
  ngx.status = 404
  ngx.say("unknown")
end

return A
