-- Programmable failures: POST /_mock/faults queues rules that replace or
-- distort the next N answers of a path (or of every path).
local json = require "json"
local S = require "state"

local F = {}

local KINDS = {
  status = true, delay = true, reset_before = true, reset_after = true, truncate = true,
  invalid_json = true, html = true, trickle = true, oversized = true, content_type = true,
  success_false = true, empty = true,
}
F.KINDS = KINDS

local CV_CODES = { [400] = 40001, [401] = 40101, [402] = 40201, [403] = 40301, [404] = 40401,
  [429] = 42901 }
local CV_MSGS = { [40001] = "参数验证失败", [40101] = "API Key 无效", [40201] = "积分余额不足",
  [40301] = "无权限访问该接口", [40401] = "Not Found", [42901] = "请求频率超出限制，请稍后重试",
  [50001] = "服务器内部错误" }
local KAPI_MSGS = { [400] = "Bad Request", [401] = "apiKey is invalid", [402] = "apiKey quota is not enough",
  [403] = "Forbidden", [404] = "Not Found", [429] = "qps limit exceeded", [500] = "Internal server error" }

local function is_keyapi(path) return path:sub(1, 4) == "/v1/" end

-- validates one rule from the request body; returns rule or nil, message
function F.parse(t)
  if type(t) ~= "table" then return nil, "a fault must be an object" end
  local kind = t.kind
  if kind == nil then
    if t.status ~= nil then kind = "status" elseif t.delay ~= nil then kind = "delay" end
  end
  if not KINDS[kind] then
    local names = {}
    for k in pairs(KINDS) do names[#names + 1] = k end
    table.sort(names)
    return nil, "kind must be one of " .. table.concat(names, ", ")
  end
  local count = t.count == nil and 1 or tonumber(t.count)
  if not count or count < 1 or count ~= math.floor(count) then return nil, "count must be an integer >= 1" end
  local path = t.path
  if path == nil or path == json.null or path == "" then path = "*" end
  if type(path) ~= "string" then return nil, "path must be a string" end
  local r = {
    kind = kind, count = math.tointeger(count), path = path,
    method = type(t.method) == "string" and t.method:upper() or nil,
    status = math.tointeger(tonumber(t.status) or 0) or nil, delay = tonumber(t.delay), bytes = tonumber(t.bytes),
    chunk = tonumber(t.chunk), interval = tonumber(t.interval), code = math.tointeger(tonumber(t.code) or 0),
    message = type(t.message) == "string" and t.message or nil,
    content_type = type(t.content_type) == "string" and t.content_type or nil,
    retry_after = t.retry_after,
  }
  if r.retry_after == json.null then r.retry_after = nil end
  if r.retry_after ~= nil and r.retry_after ~= false then
    local ra = tonumber(r.retry_after)
    if not ra or ra ~= math.floor(ra) or ra < 0 or ra > 2147483647 then
      return nil, "retry_after must be a whole number of seconds >= 0 or false"
    end
    r.retry_after = string.format("%d", ra)   -- Retry-After: 3, never 3.0
  end
  if r.status == 0 then r.status = nil end
  if t.status ~= nil and (not r.status or r.status < 100 or r.status > 599) then
    return nil, "status must be an integer 100-599"
  end
  if r.code == 0 then r.code = nil end
  if r.delay and (r.delay < 0 or r.delay > 600) then return nil, "delay must be 0-600 seconds" end
  if t.body ~= nil and t.body ~= json.null then
    r.body = type(t.body) == "string" and t.body or json.encode(t.body)
  end
  if type(t.headers) == "table" then
    r.headers = {}
    for k, v in pairs(t.headers) do r.headers[#r.headers + 1] = { tostring(k), tostring(v) } end
    table.sort(r.headers, function(a, b) return a[1] < b[1] end)
  end
  return r
end

function F.add(rule)
  S.faults[#S.faults + 1] = rule
end

local function matches(rule, method, path)
  return (rule.path == "*" or rule.path == path) and (not rule.method or rule.method == method)
end

-- Takes the first pending rule for this request. phase "early" only sees
-- reset_before rules; phase "handle" sees all the others.
function F.take(method, path, phase)
  for i, rule in ipairs(S.faults) do
    local early = rule.kind == "reset_before"
    if early == (phase == "early") and matches(rule, method, path) then
      rule.count = rule.count - 1
      if rule.count <= 0 then table.remove(S.faults, i) end
      S.faults_fired = (S.faults_fired or 0) + 1
      return rule
    end
  end
  return nil
end

local function error_body(rule, path, status)
  if is_keyapi(path) then
    local code = rule.code or status
    return json.encode(json.obj("code", code, "data", nil, "message",
      rule.message or KAPI_MSGS[code] or "error", "requestId", "00000000-0000-4000-8000-000000000000"))
  end
  local code = rule.code or CV_CODES[status] or 50001
  return json.encode(json.obj("success", false, "data", nil,
    "error", json.obj("code", code, "message", rule.message or CV_MSGS[code] or "error"),
    "meta", json.obj("request_id", "req_fault")))
end

local function with_headers(res, rule)
  res.headers = res.headers or {}
  for _, h in ipairs(rule.headers or {}) do res.headers[#res.headers + 1] = h end
  return res
end

local function set_content_type(res, ct)
  local hs = {}
  for _, h in ipairs(res.headers or {}) do
    if h[1]:lower() ~= "content-type" then hs[#hs + 1] = h end
  end
  hs[#hs + 1] = { "Content-Type", ct }
  res.headers = hs
end

-- Produces the response for a fault; `run` computes the real answer.
function F.apply(rule, ctx, run)
  local kind, path = rule.kind, ctx.path
  local res
  if kind == "status" then
    local status = rule.status or 500
    res = { status = status, headers = { { "Content-Type", "application/json; charset=utf-8" } },
      body = rule.body or error_body(rule, path, status) }
    if status == 429 and rule.retry_after ~= false then
      res.headers[#res.headers + 1] = { "Retry-After", tostring(rule.retry_after or 60) }
    end
  elseif kind == "success_false" then
    res = { status = rule.status or 200, headers = { { "Content-Type", "application/json; charset=utf-8" } },
      body = rule.body or error_body(rule, path, 500) }
  elseif kind == "reset_after" then
    res = { status = 0, reset = true, headers = {}, body = "" }
  elseif kind == "invalid_json" then
    res = { status = rule.status or 200, headers = { { "Content-Type", "application/json; charset=utf-8" } },
      body = rule.body or (is_keyapi(path) and '{"code":0,"message":"success","data":[{"user_id":"12'
        or '{"success":true,"data":[{"uid":"12",') }
  elseif kind == "html" then
    local status = rule.status or 502
    local titles = { [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
      [504] = "Gateway Time-out" }
    local t = string.format("%d %s", status, titles[status] or "Error")
    res = { status = status, headers = { { "Content-Type", "text/html" } },
      body = rule.body or ("<html>\r\n<head><title>" .. t .. "</title></head>\r\n<body>\r\n<center><h1>" .. t ..
        "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n") }
  elseif kind == "oversized" then
    local n = math.floor(rule.bytes or (65 * 1024 * 1024))
    res = { status = rule.status or 200, headers = { { "Content-Type", "application/json; charset=utf-8" } },
      body = '{"success":true,"data":"' .. string.rep("x", n) .. '","error":null,"meta":{}}' }
  elseif kind == "empty" then
    res = { status = rule.status or 200, headers = { { "Content-Type", "application/json; charset=utf-8" } },
      body = "" }
  else
    -- delay, truncate, trickle, content_type distort the real answer
    res = run(ctx)
    if kind == "truncate" then
      res.truncate = math.floor(rule.bytes or (#res.body // 2))
    elseif kind == "trickle" then
      res.chunk = math.floor(rule.chunk or 16)
      res.interval = rule.interval or 0.05
    elseif kind == "content_type" then
      set_content_type(res, rule.content_type or "text/plain; charset=utf-8")
    end
  end
  if rule.delay then res.delay = rule.delay end
  return with_headers(res, rule)
end

function F.list()
  local out = json.arr({})
  for i, r in ipairs(S.faults) do
    out[i] = json.obj("kind", r.kind, "path", r.path, "method", r.method, "remaining", r.count,
      "status", r.status, "delay", r.delay)
  end
  return json.obj("faults", out, "fired", S.faults_fired or 0)
end

return F
