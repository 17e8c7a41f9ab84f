-- luacheck: read globals host
-- CreatiVault Open API: envelope, authentication, request-body validation.
local json = require "json"
local S = require "state"
local U = require "util"

local CV = {}

CV.MSG = {
  missing_key = "缺少 X-API-Key Header",
  invalid_key = "API Key 无效",
  expired = "API Key 已过期",
  revoked = "API Key 已吊销",
  missing_identity = "缺少 X-User-Identity Header",
  bad_identity = "参数验证失败: X-User-Identity 必须是邮箱地址",
  no_scope = "无权限访问该接口",
  no_credits = "积分余额不足",
  rate_limited = "请求频率超出限制，请稍后重试",
  quota = "每日配额已用尽，请明日重试或升级套餐",
  internal = "服务器内部错误",
  method = "请求方法不允许，仅支持 POST",
}

function CV.request_id()
  return "req_" .. host.random_hex(12)
end

-- standard meta (paging fields null unless given)
function CV.meta(ctx, extra)
  local m = json.obj(
    "request_id", ctx.request_id,
    "page", nil,
    "size", nil,
    "total", nil,
    "quota_remaining", ctx.key and S.quota_remaining(ctx.key, ctx.spec) or -1)
  if extra then
    for _, k in ipairs(extra._k) do json.set(m, k, extra._v[k]) end
  end
  return m
end

local function respond(status, env, headers)
  local h = headers or {}
  h[#h + 1] = { "Content-Type", "application/json; charset=utf-8" }
  return { status = status, headers = h, body = json.encode(env) }
end
CV.respond = respond

function CV.ok(ctx, data, meta)
  if S.string_values then data = json.stringify_scalars(data) end
  return respond(200, json.obj("success", true, "data", data, "error", nil,
    "meta", meta or CV.meta(ctx)))
end

-- error envelope; short_meta: meta carries request_id only (429 / 42902)
function CV.fail(ctx, status, code, message, short_meta, headers)
  local meta
  if short_meta then
    meta = json.obj("request_id", ctx.request_id)
  else
    meta = CV.meta(ctx)
  end
  ctx.error_code = code
  return respond(status, json.obj("success", false, "data", nil,
    "error", json.obj("code", code, "message", message), "meta", meta), headers)
end

function CV.invalid(ctx, msg)
  return CV.fail(ctx, 400, 40001, "参数验证失败: " .. msg)
end

local function scope_ok(scopes, need)
  if not need then return true end
  local prefix = need:match("^([^:]+):")
  for _, s in ipairs(scopes) do
    if s == "*" or s == need then return true end
    if s == prefix .. ":*" then return true end
    -- "creators:*:search" style wildcards
    local pat = "^" .. s:gsub("[%-%.%+%[%]%(%)%$%^%%%?]", "%%%0"):gsub("%*", "[^:]+") .. "$"
    if need:match(pat) then return true end
  end
  return false
end
CV.scope_ok = scope_ok

-- Vendor order: key present/valid/not expired/not revoked -> identity ->
-- rate limit -> daily quota -> scope. Returns nil on success, else a response.
function CV.auth(ctx, route)
  local key = U.header(ctx.req, "X-API-Key")
  if key then key = U.trim(key) end
  if not key or key == "" then return CV.fail(ctx, 401, 40101, CV.MSG.missing_key) end
  local spec = S.CV_KEYS[key]
  if not spec then return CV.fail(ctx, 401, 40101, CV.MSG.invalid_key) end
  if spec.expired then return CV.fail(ctx, 401, 40102, CV.MSG.expired) end
  if spec.revoked then return CV.fail(ctx, 401, 40103, CV.MSG.revoked) end
  ctx.key, ctx.spec = key, spec
  if route.identity ~= false then
    local id = U.header(ctx.req, "X-User-Identity")
    id = id and U.trim(id):lower() or ""
    if id == "" then return CV.fail(ctx, 401, 40104, CV.MSG.missing_identity) end
    if not id:find("@", 1, true) then return CV.fail(ctx, 400, 40001, CV.MSG.bad_identity) end
    ctx.identity = id
  end
  local limit = spec.rate_limit or S.rate_limit_default
  if spec.demo and not S.rate_limit_explicit then limit = 0 end
  if spec.always_429 or not S.rate_ok(key, limit) then
    return CV.fail(ctx, 429, 42901, CV.MSG.rate_limited, true, { { "Retry-After", "60" } })
  end
  local quota = S.daily_quota_of(spec)
  if quota >= 0 then
    local q = S.quota_state(key)
    if q.used >= quota then return CV.fail(ctx, 402, 42902, CV.MSG.quota, true) end
    q.used = q.used + 1
  end
  if not scope_ok(spec.scopes, route.scope) then
    return CV.fail(ctx, 403, 40301, CV.MSG.no_scope)
  end
  return nil
end

-- Parses the JSON body. Returns table or nil, response.
function CV.body(ctx)
  local raw = ctx.req.body or ""
  if ctx.req.body_too_large then return nil, CV.invalid(ctx, "请求体过大") end
  if raw:match("^%s*$") then return {} end
  local v, err = json.decode(raw)
  if v == nil and err then
    return nil, CV.invalid(ctx, "请求体不是合法的 JSON (" .. err:gsub("^.-: ", "") .. ")")
  end
  if type(v) ~= "table" or (#v > 0) or (next(v) ~= nil and v[1] ~= nil) then
    return nil, CV.invalid(ctx, "请求体必须是 JSON 对象")
  end
  return v
end

---------------------------------------------------------------------------
-- Field validators (pydantic-like, lax): each returns value or nil, message.
-- A nil / JSON null / "" value counts as absent (returns nil, nil).
local V = {}
CV.V = V

local function absent(v)
  return v == nil or v == json.null or v == ""
end
V.absent = absent

function V.int(body, name, min, max)
  local v = body[name]
  if absent(v) then return nil end
  if type(v) == "string" and v:match("^%s*%-?%d+%s*$") then v = tonumber(v) end
  if type(v) ~= "number" or not U.is_integral(v) then
    return nil, name .. " 必须是整数"
  end
  v = math.tointeger(v)
  if (min and v < min) or (max and v > max) then
    if min and max then return nil, string.format("%s 必须在 %d 到 %d 之间", name, min, max) end
    if min then return nil, string.format("%s 不能小于 %d", name, min) end
    return nil, string.format("%s 不能大于 %d", name, max)
  end
  return v
end

function V.number(body, name, min, max)
  local v = body[name]
  if absent(v) then return nil end
  if type(v) == "string" then v = tonumber(v) or v end
  if type(v) ~= "number" or v ~= v then return nil, name .. " 必须是数字" end
  if (min and v < min) or (max and v > max) then
    return nil, string.format("%s 必须在 %s 到 %s 之间", name, tostring(min or "-∞"), tostring(max or "∞"))
  end
  return v
end

function V.bool(body, name)
  local v = body[name]
  if absent(v) then return nil end
  if v == true or v == false then return v end
  if v == "true" or v == "1" or v == 1 then return true end
  if v == "false" or v == "0" or v == 0 then return false end
  return nil, name .. " 必须是布尔值 (true/false)"
end

function V.string(body, name, maxlen)
  local v = body[name]
  if absent(v) then return nil end
  if type(v) ~= "string" then return nil, name .. " 必须是字符串" end
  if maxlen and utf8.len(v) and utf8.len(v) > maxlen then
    return nil, string.format("%s 长度不能超过 %d", name, maxlen)
  end
  return v
end

function V.enum(body, name, allowed, ci)
  local v = body[name]
  if absent(v) then return nil end
  if type(v) ~= "string" then return nil, name .. " 必须是字符串" end
  local cmp = ci and v:lower() or v
  for _, a in ipairs(allowed) do
    if (ci and a:lower() or a) == cmp then return a end
  end
  return nil, name .. " 必须是以下值之一: " .. table.concat(allowed, ", ")
end

-- comma list (string "US,CA" or JSON array of strings)
function V.list(body, name, pattern, transform)
  local v = body[name]
  if absent(v) then return nil end
  local items = {}
  if type(v) == "string" then
    items = U.split(v, ",")
  elseif type(v) == "table" then
    for _, x in ipairs(v) do
      if type(x) ~= "string" and type(x) ~= "number" then return nil, name .. " 必须是逗号分隔的字符串" end
      items[#items + 1] = U.trim(tostring(math.tointeger(x) or x))
    end
  else
    return nil, name .. " 必须是逗号分隔的字符串"
  end
  if #items == 0 then return nil end
  for i, it in ipairs(items) do
    if transform then it = transform(it) end
    if pattern and not it:match(pattern) then
      return nil, string.format("%s 含有无效的值 '%s'", name, it)
    end
    items[i] = it
  end
  return items
end

function V.date(body, name)
  local v = body[name]
  if absent(v) then return nil end
  if not U.valid_date(v) then return nil, name .. " 必须是 YYYY-MM-DD 格式的日期" end
  return v
end

return CV
