-- luacheck: read globals host
-- creatorapi-mock entry point: loaded once by the C host (mock/main.c).
-- Returns { handle = fn(req) -> response, early = fn(req), tick = fn() -> deliveries,
--           delivery_done = fn(id, status, err, elapsed) }.
--
-- req  = { method, target (raw), path, query (raw string), version,
--          headers = { {name, value}, ... }, body, body_too_large }
-- response = { status, headers = { {name, value}, ... }, body,
--              delay, reset, truncate, chunk, interval }   (see mock/main.c)
local json = require "json"
local S = require "state"
local U = require "util"
local D = require "dataset"
local CV = require "cv"
local K = require "keyapi"
require "keyapi_more"
local MockAPI = require "mockapi"
local Search = require "cv_search"
local Tasks = require "tasks"
local Files = require "files"
local Faults = require "faults"

-- Generate the TikTok dataset now, so the first request is fast.
D.get("tiktok", S.seed)

local CV_PREFIX = "/openapi/v1"

-- path -> { handler, scope, identity (false: X-User-Identity not required), public }
local CV_ROUTES = {
  ["/creators/tiktok/search"] = { handler = Search.handler("tiktok"), scope = "creators:tiktok:search" },
  ["/creators/youtube/search"] = { handler = Search.handler("youtube"), scope = "creators:youtube:search" },
  ["/creators/instagram/search"] = { handler = Search.handler("instagram"), scope = "creators:instagram:search" },
  ["/creators/lookalike"] = { handler = require("lookalike").handler },
  ["/collection/tasks/submit"] = { handler = Tasks.submit, scope = "collection:submit" },
  ["/collection/tasks/keyword-submit"] = { handler = Tasks.keyword_submit, scope = "collection:keyword-submit" },
  ["/collection/tasks/status"] = { handler = Tasks.status, scope = "collection:status" },
  ["/collection/tasks/data"] = { handler = Tasks.data, scope = "collection:data" },
  ["/collection/tasks/export"] = { handler = Files.export, scope = "collection:export" },
  ["/files/download-url"] = { handler = Files.download_url, scope = "files:download", identity = false },
  ["/webhook/verify"] = { public = true, handler = function(ctx)
    local body, bad = CV.body(ctx)
    if not body then return bad end
    local ch = body.challenge
    if ch == nil or ch == json.null then ch = "" end
    if type(ch) ~= "string" then return CV.invalid(ctx, "challenge 必须是字符串") end
    return CV.ok(ctx, json.obj("challenge", ch, "timestamp", U.iso(S.now(), "offset")))
  end },
}

local M = { cv_routes = CV_ROUTES }

local function cv_dispatch(ctx, sub)
  local route = CV_ROUTES[sub]
  if not route then
    ctx.error_code = 404
    return { status = 404, headers = { { "Content-Type", "application/json" } },
      body = json.encode(json.obj("detail", "Not Found")) }
  end
  if ctx.req.method ~= "POST" then
    local r = CV.fail(ctx, 405, 40501, CV.MSG.method)
    r.headers[#r.headers + 1] = { "Allow", "POST" }
    return r
  end
  if not route.public then
    local bad = CV.auth(ctx, route)
    if bad then return bad end
  end
  -- "Query parameters and path parameters are forbidden" (the vendor's rule for /openapi/v1)
  if ctx.req.query ~= "" then
    return CV.invalid(ctx, "不支持 Query 参数，所有参数必须放在 JSON Body 中")
  end
  return route.handler(ctx)
end

local function route(ctx)
  local path = ctx.path
  if path:sub(1, #CV_PREFIX + 1) == CV_PREFIX .. "/" then
    return cv_dispatch(ctx, path:sub(#CV_PREFIX + 1))
  end
  if path:sub(1, 4) == "/v1/" then
    return K.dispatch(ctx)
  end
  if path:sub(1, 8) == "/_files/" then
    return Files.serve(ctx)
  end
  ctx.error_code = 404
  return { status = 404, headers = { { "Content-Type", "application/json" } },
    body = json.encode(json.obj("detail", "Not Found")) }
end

local function record(ctx, res)
  S.seq = S.seq + 1
  local e = {
    seq = S.seq,
    time = U.iso(host.now()),
    method = ctx.req.method,
    path = ctx.path,
    query = ctx.req.query,
    headers = ctx.req.headers,
    body = #ctx.req.body > S.RECORD_BODY_MAX and ctx.req.body:sub(1, S.RECORD_BODY_MAX) or ctx.req.body,
    body_bytes = #ctx.req.body,
    status = res and res.status or 0,
    request_id = ctx.request_id,
  }
  S.log[#S.log + 1] = e
  S.log_bytes = (S.log_bytes or 0) + #e.body
  while #S.log > S.RECORD_MAX or (S.log_bytes > S.RECORD_TOTAL_MAX and #S.log > 1) do
    S.log_bytes = S.log_bytes - #table.remove(S.log, 1).body
  end
end

function M.handle(req)
  local ctx = { req = req, path = req.path }
  ctx.args = U.parse_query(req.query)
  if req.path:sub(1, 7) == "/_mock/" then
    return MockAPI.dispatch(ctx)
  end
  ctx.request_id = req.path:sub(1, 4) == "/v1/" and U.uuid4() or CV.request_id()
  S.requests = S.requests + 1
  S.paths[req.path] = (S.paths[req.path] or 0) + 1
  local fault = #S.faults > 0 and Faults.take(req.method, req.path, "handle") or nil
  local ok, res
  if fault then
    ok, res = xpcall(Faults.apply, debug.traceback, fault, ctx, route)
  else
    ok, res = xpcall(route, debug.traceback, ctx)
  end
  if not ok then
    io.stderr:write("creatorapi-mock: handler error: ", tostring(res), "\n")
    local msg = tostring(res):match("^[^\n]*")
    res = CV.respond(500, json.obj("success", false, "data", nil,
      "error", json.obj("code", 50001, "message", CV.MSG.internal .. ": " .. msg),
      "meta", json.obj("request_id", ctx.request_id)))
  end
  local st = tostring(res.status)
  S.statuses[st] = (S.statuses[st] or 0) + 1
  record(ctx, res)
  if M.after then res = M.after(ctx, res) or res end
  return res
end

-- before the body is read: only "reset_before" faults act here
function M.early(req)
  if #S.faults == 0 or req.path:sub(1, 7) == "/_mock/" then return nil end
  if not Faults.take(req.method, req.path, "early") then return nil end
  local ctx = { req = req, path = req.path, request_id = nil }
  S.requests = S.requests + 1
  S.paths[req.path] = (S.paths[req.path] or 0) + 1
  record(ctx, { status = 0 })
  return { reset = true }
end

function M.tick()
  return Tasks.tick()
end

function M.delivery_done(id, status, err, elapsed)
  Tasks.delivery_done(id, status, err, elapsed)
end

return M
