--- A CreatiVault webhook receiver for OpenResty (nginx + ngx_lua, LuaJIT).
--
--   location = /webhooks/creativault {
--     content_by_lua_block { require("webhook_receiver").handle() }
--   }
--
-- See nginx.conf next to this file for a complete server, and
-- `examples/openresty/run.sh` to start it against the mock API.
--
-- What it does, in the order the vendor's rules require:
--   * verifies `X-Webhook-Signature` over the RAW body (parse only afterwards);
--   * answers within the 5 s deadline: work is handed to ngx.timer.at, the
--     delivery is acknowledged at once;
--   * refuses replays: `verify` checks the signed `timestamp` against a
--     tolerance (300 s; $CREATIVAULT_WEBHOOK_TOLERANCE seconds, or "false");
--   * is idempotent: deliveries are retried (10 s, 30 s, 90 s) and a task may be
--     delivered more than once, so (task_id, event) pairs are remembered in a
--     lua_shared_dict and repeats are acknowledged without redoing the work.
--
-- The restart gap: a lua_shared_dict survives `nginx -s reload` but not a
-- stop/start. A delivery that arrives again after a restart, and still within
-- the timestamp tolerance, runs on_event a second time. Keep on_event
-- idempotent (key your writes by task_id), or keep the seen-set in a store that
-- survives restarts (Redis `SET key 1 NX EX 604800` through lua-resty-redis),
-- and ideally make the tolerance no longer than you need.
local creatorapi = require "creatorapi"

local M = {}

-- The signing secret: from the environment (nginx needs `env CREATIVAULT_WEBHOOK_SECRET;`).
M.secret = os.getenv("CREATIVAULT_WEBHOOK_SECRET")

-- Seconds a delivery's signed timestamp may be off (nginx needs `env CREATIVAULT_WEBHOOK_TOLERANCE;`).
local tol = os.getenv("CREATIVAULT_WEBHOOK_TOLERANCE")
if tol == "false" then M.tolerance = false else M.tolerance = tonumber(tol) or 300 end

-- What to do with a verified event. Runs in a timer, after the response.
function M.on_event(event)
  ngx.log(ngx.NOTICE, "creativault webhook: ", event.event, " task=", event.task_id,
    " status=", event.status, " completed=", tostring(event.completed), "/", tostring(event.total))
end

local function read_raw_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local path = ngx.req.get_body_file()       -- large bodies are buffered to disk
  if not path then return nil end
  local f = io.open(path, "rb")
  if not f then return nil end
  body = f:read("*a")
  f:close()
  return body
end

local function reply(status, tbl)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(creatorapi.json.encode(tbl))
  return ngx.exit(status)
end

function M.handle()
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return reply(405, { ok = false, error = "method not allowed" })
  end
  local body = read_raw_body()
  local event, err = creatorapi.webhook.verify{
    body = body, headers = ngx.req.get_headers(), secret = M.secret, tolerance = M.tolerance,
    now = ngx.time(),
  }
  if not event then
    ngx.log(ngx.WARN, "rejected webhook: ", tostring(err))
    return reply(err.reason == "missing_secret" and 500 or 401, { ok = false, error = err.reason })
  end

  local seen = ngx.shared.creativault_webhooks
  local key = tostring(event.task_id) .. "|" .. tostring(event.event)
  if seen and not seen:add(key, true, 7 * 24 * 3600) then
    return reply(200, { ok = true, duplicate = true })
  end
  local ok, terr = ngx.timer.at(0, function(premature)
    if not premature then M.on_event(event) end
  end)
  if not ok then
    if seen then seen:delete(key) end    -- let the vendor's retry try again
    ngx.log(ngx.ERR, "cannot schedule webhook work: ", terr)
    return reply(503, { ok = false, error = "busy" })
  end
  return reply(200, { ok = true })
end

return M
