--- Shape checks on an answer's `data` for the helpers that read into it
--- (wait_task, collect_*, the iterators, download).
--
-- A well-formed envelope can still carry `data` of the wrong type (null, a
-- number, a string, an object where an array belongs). The helpers check the
-- type of `data` and of every field they read, and return a `protocol` error
-- naming the request path and the field, with a redacted excerpt of what came,
-- instead of raising a raw Lua error.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local M = {}

--- Bytes of the excerpt kept in `err.body_excerpt` (cut after redaction).
M.EXCERPT_MAX = 200

--- "null", "an array", "an object", "a number", … (for messages).
function M.describe(v)
  if v == nil then return "absent" end
  if v == core.null then return "null" end
  if type(v) == "table" then return getmetatable(v) == core.array_mt and "an array" or "an object" end
  return "a " .. type(v)
end

function M.is_array(v)
  return type(v) == "table" and getmetatable(v) == core.array_mt
end

function M.is_object(v)
  return type(v) == "table" and getmetatable(v) ~= core.array_mt
end

--- Cuts s to at most n bytes without splitting a UTF-8 sequence.
function M.cut_utf8(s, n)
  if #s <= n then return s end
  s = s:sub(1, n)
  local i = #s
  while i > 0 and s:byte(i) >= 0x80 and s:byte(i) < 0xC0 do i = i - 1 end
  local b = i > 0 and s:byte(i) or 0
  if b >= 0xC0 then
    local need = (b >= 0xF0 and 4) or (b >= 0xE0 and 3) or 2
    if #s - i + 1 < need then s = s:sub(1, i - 1) end
  end
  return s
end

--- Replaces every secret in text by [REDACTED] (plain search, no patterns).
function M.redact(text, secrets)
  for _, secret in ipairs(secrets or {}) do
    local i = text:find(secret, 1, true)
    while i do
      text = text:sub(1, i - 1) .. "[REDACTED]" .. text:sub(i + #secret)
      i = text:find(secret, i + 10, true)
    end
  end
  return text
end

--- A redacted excerpt of a value (JSON for tables), redacted BEFORE it is cut.
function M.excerpt(v, secrets)
  local s
  if v == nil then s = ""
  elseif type(v) == "string" then s = v
  else s = core.json_encode(v) or tostring(v) end
  s = s:gsub("%c", " ")
  return M.cut_utf8(M.redact(s, secrets), M.EXCERPT_MAX)
end

--- The request path of endpoint `name` on client (for error messages).
function M.path(client, name)
  local ep = client.ENDPOINTS and client.ENDPOINTS[name]
  return ep and ((client.PREFIX or "") .. ep.path) or name
end

--- The protocol error: `res` the answer, `field` what was read ("data.items"),
--- `want` what it must be ("an array"), `got` the value found.
function M.error(client, res, name, field, want, got)
  local path = M.path(client, name)
  local secrets = client._secrets
  local rid = type(res) == "table" and type(res.meta) == "table" and res.meta.request_id
  return errors.new("protocol", string.format("%s: answer %s must be %s, got %s",
    path, field, want, M.describe(got)), {
      path = path, field = field, status = type(res) == "table" and res.status or nil,
      request_id = type(rid) == "string" and M.redact(rid, secrets) or nil,
      body_excerpt = M.excerpt(type(res) == "table" and res.data or nil, secrets),
      retryable = false,
    })
end

function M.is_string(v)
  return type(v) == "string" and v ~= ""
end

--- data[key] of an answer whose `data` must be an object → value | nil, err.
--- ok(value) says whether the field has the right shape, `want` names it.
function M.field(client, res, name, key, ok, want)
  local data = res.data
  if not M.is_object(data) then return nil, M.error(client, res, name, "data", "an object", data) end
  local v = data[key]
  if not ok(v) then return nil, M.error(client, res, name, "data." .. key, want, v) end
  return v
end

return M
