-- luacheck: read globals host MOCK_CONFIG
-- /_mock/* control endpoints (no auth; never recorded or counted).
local json = require "json"
local S = require "state"
local U = require "util"

local M = {}

local function respond(status, v, headers)
  local h = headers or {}
  h[#h + 1] = { "Content-Type", "application/json; charset=utf-8" }
  return { status = status, headers = h, body = json.encode(v) }
end
M.respond = respond

local function strip(k) return (k:gsub("^kapi:", "")) end

-- plain tables encode with sorted keys; an empty map must stay an object
function M.map_obj(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local o = json.obj()
  for _, k in ipairs(keys) do json.set(o, k, t[k]) end
  return o
end

local function stats()
  local consumed, remaining, quota = {}, {}, {}
  for k, v in pairs(S.credits_used) do consumed[strip(k)] = v end
  for k, v in pairs(S.balance) do remaining[strip(k)] = v end
  for k, q in pairs(S.quota_used) do quota[k] = q.used end
  local tasks = 0
  for _ in pairs(S.tasks) do tasks = tasks + 1 end
  return json.obj(
    "connections", host.connections(),
    "header_timeouts", host.header_timeouts(),
    "requests", S.requests,
    "paths", M.map_obj(S.paths),
    "statuses", M.map_obj(S.statuses),
    "credits_consumed", M.map_obj(consumed),
    "credits_remaining", M.map_obj(remaining),
    "quota_used", M.map_obj(quota),
    "tasks", tasks,
    "webhook_deliveries", #S.delivery_order,
    "faults_pending", #S.faults,
    "faults_fired", S.faults_fired or 0,
    "recorded", #S.log,
    "seed", S.seed,
    "time_scale", S.time_scale,
    "mock_time", U.iso(S.now()),
    "uptime", math.floor((host.now() - S.start_wall) * 1000) / 1000)
end

local function requests(ctx)
  local limit = math.tointeger(tonumber(ctx.args.limit or "")) or 50
  if limit < 0 then limit = 0 end
  local path = ctx.args.path
  local list = {}
  for i = #S.log, 1, -1 do
    local e = S.log[i]
    if not path or e.path == path then
      list[#list + 1] = e
      if #list >= limit then break end
    end
  end
  local out = json.arr({})
  for i = #list, 1, -1 do
    local e = list[i]
    local hs = json.arr({})
    for j, h in ipairs(e.headers) do hs[j] = json.arr({ h[1], h[2] }) end
    out[#out + 1] = json.obj(
      "seq", e.seq,
      "time", e.time,
      "method", e.method,
      "path", e.path,
      "query", e.query,
      "headers", hs,
      "body", e.body,
      "body_bytes", e.body_bytes,
      "body_truncated", e.body_bytes > #e.body,
      "status", e.status,
      "request_id", e.request_id)
    if not utf8.len(e.body) then json.set(out[#out], "body_base64", U.base64(e.body)) end
    -- (a truncated body may end inside a UTF-8 sequence: body_base64 then carries its bytes)
  end
  return json.obj("requests", out, "count", #out)
end

M.routes = {
  ["GET /_mock/stats"] = function() return respond(200, stats()) end,
  ["GET /_mock/requests"] = function(ctx) return respond(200, requests(ctx)) end,
  ["DELETE /_mock/requests"] = function()
    S.log, S.log_bytes = {}, 0
    collectgarbage()
    return respond(200, json.obj("ok", true))
  end,
  ["POST /_mock/reset"] = function()
    S.reset()
    collectgarbage()   -- hand the memory of big logged bodies back
    host.connections_reset()
    return respond(200, json.obj("ok", true))
  end,
  ["GET /_mock/webhooks"] = function()
    return respond(200, require("tasks").deliveries_json())
  end,
  -- {"advance": seconds} moves the mock clock forward (tasks, retries, quota day)
  ["POST /_mock/clock"] = function(ctx)
    local body = json.decode(ctx.req.body ~= "" and ctx.req.body or "{}")
    local adv = type(body) == "table" and tonumber(body.advance) or nil
    if not adv or adv ~= adv or adv < 0 or adv > S.CLOCK_ADVANCE_MAX then
      return respond(400, json.obj("error", string.format(
        "body must be {\"advance\": seconds} with 0 <= seconds <= %d (ten years)", S.CLOCK_ADVANCE_MAX)))
    end
    S.clock_offset = S.clock_offset + adv
    return respond(200, json.obj("mock_time", U.iso(S.now()), "offset", S.clock_offset))
  end,
  ["GET /_mock/clock"] = function()
    return respond(200, json.obj("mock_time", U.iso(S.now()), "now", S.now(), "offset", S.clock_offset,
      "time_scale", S.time_scale))
  end,
  -- one rule object, or {"faults": [rule, ...]}; see docs/mock.md
  ["POST /_mock/faults"] = function(ctx)
    local Faults = require "faults"
    local body, err = json.decode(ctx.req.body ~= "" and ctx.req.body or "null")
    if type(body) ~= "table" then
      return respond(400, json.obj("error", "body must be a fault object or {\"faults\":[...]}: " .. tostring(err)))
    end
    local list = body.faults or { body }
    local rules = {}
    for i, t in ipairs(list) do
      local r, msg = Faults.parse(t)
      if not r then return respond(400, json.obj("error", string.format("fault %d: %s", i, msg))) end
      rules[#rules + 1] = r
    end
    if #S.faults + #rules > S.FAULTS_MAX then
      return respond(400, json.obj("error", string.format(
        "at most %d pending fault rules (%d pending, %d given)", S.FAULTS_MAX, #S.faults, #rules)))
    end
    for _, r in ipairs(rules) do Faults.add(r) end
    return respond(200, json.obj("ok", true, "pending", #S.faults))
  end,
  ["GET /_mock/faults"] = function() return respond(200, require("faults").list()) end,
  ["DELETE /_mock/faults"] = function()
    S.faults = {}
    return respond(200, json.obj("ok", true))
  end,
  ["GET /_mock/health"] = function()
    return respond(200, json.obj("ok", true, "seed", S.seed))
  end,
}

function M.dispatch(ctx)
  local h = M.routes[ctx.req.method .. " " .. ctx.path]
  if h then return h(ctx) end
  for k in pairs(M.routes) do
    if k:match("^%S+ (.*)$") == ctx.path then
      return respond(405, json.obj("error", "method not allowed"))
    end
  end
  return respond(404, json.obj("error", "unknown mock endpoint " .. ctx.path))
end

return M
