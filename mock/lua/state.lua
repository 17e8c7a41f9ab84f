-- luacheck: read globals host MOCK_CONFIG
-- Mutable server state: configuration, API keys, credit balances, quotas,
-- rate-limit windows, counters and the recorded request log.
local S = {}

local cfg = MOCK_CONFIG or {}
S.cfg = cfg

local function num(name, dflt)
  local v = cfg[name]
  if v == nil or v == true then return dflt end
  local n = tonumber(v)
  if not n then error("--" .. name:gsub("_", "-") .. " expects a number, got '" .. tostring(v) .. "'", 0) end
  return n
end
S.num = num

S.seed = math.tointeger(num("seed", 1)) or error("--seed must be an integer", 0)
S.time_scale = num("time_scale", 1)
if S.time_scale <= 0 then error("--time-scale must be > 0", 0) end
S.string_values = cfg.string_values == true
S.quiet = cfg.quiet == true
S.allow_insecure_webhooks = cfg.allow_insecure_webhooks == true
S.webhook_secret = type(cfg.webhook_secret) == "string" and cfg.webhook_secret or "whsec_creatorapi_mock"
S.webhook_retries = math.tointeger(num("webhook_retries", 3)) or 3
S.file_url_ttl = num("file_url_ttl", 3600)
S.credits_default = math.tointeger(num("credits", 1000000)) or 1000000
S.daily_quota_default = math.tointeger(num("daily_quota", -1)) or -1
-- vendor default 60 requests/minute per key; the demo key is exempt unless
-- --rate-limit is given explicitly (so SDK test suites are not throttled)
S.rate_limit_default = math.tointeger(num("rate_limit", 60)) or 60
S.rate_limit_explicit = cfg.rate_limit ~= nil
S.keyapi_rate_limit = math.tointeger(num("keyapi_rate_limit", 0)) or 0
S.RECORD_MAX = 1000
-- Bytes of one request body the log keeps (the rest is dropped, body_bytes
-- says how long it was), and bytes of bodies the whole log keeps at most.
S.RECORD_BODY_MAX = 65536
S.RECORD_TOTAL_MAX = 8 * 1024 * 1024
-- Pending fault rules at most; the clock moves at most this far in one call.
S.FAULTS_MAX = 10000
S.CLOCK_ADVANCE_MAX = 10 * 366 * 86400

-- CreatiVault keys. Every key belongs to its own tenant.
-- scopes: list; "*" or "prefix:*" wildcards.
local ALL = { "*" }
S.CV_KEYS = {
  cv_live_demo_key_0001 = { scopes = ALL, demo = true },
  cv_live_expired_0001 = { scopes = ALL, expired = true },
  cv_live_revoked_0001 = { scopes = ALL, revoked = true },
  cv_live_nocredit_0001 = { scopes = ALL, credits = 0 },
  cv_live_noscope_0001 = { scopes = { "creators:youtube:search", "creators:instagram:search",
    "collection:*", "files:*" } },
  cv_live_quota_0001 = { scopes = ALL, daily_quota = 0 },
  cv_live_ratelimited_0001 = { scopes = ALL, always_429 = true },
  cv_live_ratelimit5_0001 = { scopes = ALL, rate_limit = 5 },
}
S.KAPI_KEYS = {
  kapi_demo_key_0001 = {},
  kapi_nocredit_0001 = { credits = 0 },
  kapi_ratelimited_0001 = { always_429 = true },
  kapi_forbidden_0001 = { forbidden = true },
  kapi_usagelimit_0001 = { usage_limit = true },
}

-- mock clock: wall time at start, then running time_scale x faster,
-- plus any offset added through POST /_mock/clock.
local start_wall = host.now()
local start_mono = host.monotonic()
S.clock_offset = 0
function S.now()
  return start_wall + (host.monotonic() - start_mono) * S.time_scale + S.clock_offset
end
S.start_wall = start_wall

function S.reset()
  S.requests = 0
  S.paths = {}
  S.statuses = {}
  S.log = {}
  S.log_bytes = 0
  S.seq = 0
  S.credits_used = {}      -- key -> consumed
  S.balance = {}           -- key -> remaining (lazily from defaults)
  S.quota_used = {}        -- key -> { day = "YYYY-MM-DD", used = n }
  S.windows = {}           -- key -> { minute = n, count = n }
  S.kapi_used = {}         -- key -> credits consumed (1 per request)
  S.faults = {}
  S.faults_fired = 0
  S.tasks = {}
  S.task_order = {}
  S.files = {}
  S.deliveries = {}
  S.delivery_order = {}
end
S.reset()

-- credit balance of a key (-1 unlimited)
function S.balance_of(key, spec)
  local b = S.balance[key]
  if b == nil then
    b = spec.credits or S.credits_default
    S.balance[key] = b
  end
  return b
end

function S.charge(key, spec, n)
  S.credits_used[key] = (S.credits_used[key] or 0) + n
  local b = S.balance_of(key, spec)
  if b >= 0 then S.balance[key] = b - n end
end

function S.daily_quota_of(spec)
  if spec.daily_quota then return spec.daily_quota end
  return S.daily_quota_default
end

-- per-key daily counter; resets at 00:00 UTC (mock clock)
function S.quota_state(key)
  local day = os.date("!%Y-%m-%d", math.floor(S.now()))
  local q = S.quota_used[key]
  if not q or q.day ~= day then
    q = { day = day, used = 0 }
    S.quota_used[key] = q
  end
  return q
end

function S.quota_remaining(key, spec)
  local limit = S.daily_quota_of(spec)
  if limit < 0 then return -1 end
  local q = S.quota_state(key)
  return math.max(0, limit - q.used)
end

-- fixed one-minute window; returns true when allowed
function S.rate_ok(key, limit)
  if not limit or limit <= 0 then return true end
  local minute = math.floor(S.now() / 60)
  local w = S.windows[key]
  if not w or w.minute ~= minute then
    w = { minute = minute, count = 0 }
    S.windows[key] = w
  end
  if w.count >= limit then return false end
  w.count = w.count + 1
  return true
end

return S
