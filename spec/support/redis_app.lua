-- luacheck: globals ngx
-- Handlers of spec/support/nginx_redis.conf.in (OpenResty, cosocket transport,
-- Redis store over cosockets + hiredis's reader).
--   /t/limited?n=&limit=&per=&shared=0|1   n searches, no retries → counts
--   /t/cached?kw=                           one search through the Redis cache
--   /t/budget?cap=&size=&shared=0|1         searches of `size` credits until max_credits = cap refuses
--                                           one (shared=0: the budget per handler, the limiter still shared)
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"

local M = {}

local function client(args, with)
  local o = { base_url = os.getenv("MOCK_URL"), api_key = "cv_live_demo_key_0001",
    user_identity = "demo@creatorapi.test", max_retries = 0 }
  for k, v in pairs(with) do o[k] = v end
  if args.shared ~= "0" then o.store = { redis = os.getenv("REDIS_URL") } end
  return creatorapi.creativault(o)
end

function M.handle()
  local args = ngx.req.get_uri_args()
  local out
  if ngx.var.uri == "/t/limited" then
    local cv = client(args, { rate_limit = { requests = tonumber(args.limit), per = tonumber(args.per) } })
    out = { ok = 0, limited = 0, other = 0, pid = ngx.worker.pid(), errors = {} }
    for i = 1, tonumber(args.n) do
      local res, err = cv:search_tiktok{ keyword = "beauty", size = 1, page = i }
      if res then out.ok = out.ok + 1
      elseif err.kind == "rate_limited" then out.limited = out.limited + 1
      else out.other = out.other + 1; out.errors[#out.errors + 1] = tostring(err) end
    end
    out.hiredis = cv._store ~= nil and cv._store.conn ~= nil -- the blocking backend must stay unused
    cv:close()
  elseif ngx.var.uri == "/t/budget" then
    -- the Redis limiter keeps the mock's per-key limit in both cases; shared=0: a per-handler budget
    local cv = client({}, { rate_limit = { requests = 20, per = 0.5 }, max_credits = tonumber(args.cap),
      budget = args.shared == "0" and { store = "memory" } or nil })
    out = { ok = 0, pid = ngx.worker.pid() }
    for i = 1, 10000 do
      local res, err = cv:search_tiktok{ keyword = "beauty", size = tonumber(args.size), service_level = "S1", page = i }
      if not res then
        out.kind, out.left, out.err = err.kind, err.credits_left, tostring(err)
        break
      end
      out.ok = out.ok + 1
    end
    out.hiredis = cv._store ~= nil and cv._store.conn ~= nil
    cv:close()
  else
    local cv = client(args, { cache = { ttl = 60 } })
    local res, err = cv:search_tiktok{ keyword = args.kw or "beauty", size = 2 }
    out = { ok = res ~= nil, cached = res and res.cached or false, err = err and tostring(err) or nil,
      first = res and res.data[1].username or nil, pid = ngx.worker.pid() }
    cv:close()
  end
  ngx.say(core.json_encode(out))
end

return M
