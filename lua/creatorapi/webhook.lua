--- Verifying CreatiVault webhook deliveries.
--
--   local event, err = creatorapi.webhook.verify{ body = raw_body, signature = hdr, secret = secret }
--
-- The vendor signs with HMAC-SHA256 and sends the signature in the
-- `X-Webhook-Signature` header, computed over "the payload serialised with
-- sorted keys". The exact bytes (separators, escaping) and
-- the encoding are not documented, so a signature is accepted when it matches
-- any of (docs/decisions.md, "Webhook signatures"):
--   1. the raw request body as received;
--   2. the payload re-serialised with sorted keys, compact (`{"a":1,"b":2}`);
--   3. the same with Python's default separators (`{"a": 1, "b": 2}`),
--      with non-ASCII characters as \uXXXX escapes, as `json.dumps(..., sort_keys=True)` writes it.
-- The signature is lower- or upper-case hex, optionally prefixed `sha256=`.
-- Comparison is constant-time. Pass the RAW body: parse JSON only after verifying.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local M = {}

M.HEADER = "X-Webhook-Signature"

local null = core.null
local mtype = math.type

local function fail(reason, message)
  return nil, errors.new("signature", message, { reason = reason, retryable = false })
end

-- JSON string escaping; `ascii` escapes every non-ASCII code point as \uXXXX
-- (surrogate pairs above U+FFFF) like Python's ensure_ascii.
local ESC = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
              ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function utf8_escape(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local cp, len
    if c < 0x80 then cp, len = c, 1
    elseif c >= 0xF0 then
      cp, len = ((c % 8) * 262144) + ((s:byte(i + 1) % 64) * 4096) + ((s:byte(i + 2) % 64) * 64) + (s:byte(i + 3) % 64), 4
    elseif c >= 0xE0 then
      cp, len = ((c % 16) * 4096) + ((s:byte(i + 1) % 64) * 64) + (s:byte(i + 2) % 64), 3
    else
      cp, len = ((c % 32) * 64) + (s:byte(i + 1) % 64), 2
    end
    if cp < 0x80 then
      out[#out + 1] = string.char(cp)
    elseif cp < 0x10000 then
      out[#out + 1] = string.format("\\u%04x", cp)
    else
      cp = cp - 0x10000
      out[#out + 1] = string.format("\\u%04x\\u%04x", 0xD800 + math.floor(cp / 1024), 0xDC00 + cp % 1024)
    end
    i = i + len
  end
  return table.concat(out)
end

local function quote(s, ascii)
  s = s:gsub('[%c"\\]', function(ch)
    return ESC[ch] or string.format("\\u%04x", ch:byte())
  end)
  if ascii and s:find("[\128-\255]") then s = utf8_escape(s) end
  return '"' .. s .. '"'
end

local function number_text(v, python)
  if mtype and mtype(v) == "integer" then return string.format("%d", v) end
  if v == math.floor(v) and v > -2^53 and v < 2^53 then
    -- Python writes floats as 50.0, JavaScript as 50.
    return string.format("%d", v) .. ((python and mtype) and ".0" or "")
  end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

--- canonical(value, style) → JSON text with sorted keys.
--  style "compact" (`,` and `:`) or "python" (`, ` and `: `, ASCII escapes).
function M.canonical(v, style)
  local python = style == "python"
  local comma, colon = python and ", " or ",", python and ": " or ":"
  local function enc(x)
    local t = type(x)
    if x == null then return "null"
    elseif t == "string" then return quote(x, python)
    elseif t == "number" then return number_text(x, python)
    elseif t == "boolean" then return tostring(x)
    elseif t == "table" then
      if getmetatable(x) == core.array_mt or (#x > 0 and next(x, #x) == nil) then
        local parts = {}
        for i = 1, #x do parts[i] = enc(x[i]) end
        return "[" .. table.concat(parts, comma) .. "]"
      end
      local keys = {}
      for k in pairs(x) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      local parts = {}
      for i, k in ipairs(keys) do parts[i] = quote(k, python) .. colon .. enc(x[k]) end
      return "{" .. table.concat(parts, comma) .. "}"
    end
    error("cannot serialise a " .. t)
  end
  return enc(v)
end

local function normalise_signature(sig)
  sig = sig:gsub("^%s+", ""):gsub("%s+$", "")
  sig = sig:gsub("^[Ss][Hh][Aa]256=", "")
  if #sig ~= 64 or sig:find("[^%x]") then return nil end
  return sig:lower()
end

local function find_header(headers, name)
  local lname = name:lower()
  for k, v in pairs(headers) do
    if type(k) == "string" and k:lower() == lname then return v end
  end
end

--- verify{ body=, signature= | headers=, secret= | secrets={…} } → event | nil, err
--  err.kind == "signature", err.reason ∈ missing_body, missing_signature,
--  malformed_signature, missing_secret, invalid_json, no_match.
function M.verify(args)
  if type(args) ~= "table" then error("webhook.verify: expects a table of arguments", 2) end
  local body = args.body
  if type(body) ~= "string" then
    return fail("missing_body", "webhook body must be the raw request body (a string)")
  end
  local sig = args.signature
  if sig == nil and type(args.headers) == "table" then sig = find_header(args.headers, M.HEADER) end
  if type(sig) == "table" then sig = sig[1] end
  if type(sig) ~= "string" or sig == "" then
    return fail("missing_signature", "no " .. M.HEADER .. " signature")
  end
  local want = normalise_signature(sig)
  if not want then
    return fail("malformed_signature", M.HEADER .. " is not a 64-character hex HMAC-SHA256 (optionally sha256=…)")
  end
  local secrets = args.secrets or { args.secret }
  if type(secrets) ~= "table" or #secrets == 0 then
    return fail("missing_secret", "no webhook secret given")
  end
  for _, s in ipairs(secrets) do
    if type(s) ~= "string" or s == "" then return fail("missing_secret", "webhook secrets must be non-empty strings") end
  end

  local event = core.json_decode(body)
  local candidates = { body }
  if type(event) == "table" then
    candidates[2] = M.canonical(event, "compact")
    candidates[3] = M.canonical(event, "python")
  end
  local matched = false
  for _, secret in ipairs(secrets) do
    for _, text in ipairs(candidates) do
      -- no early exit: every candidate is checked, in constant time each
      if core.constant_time_equal(core.hmac_sha256(secret, text), want) then matched = true end
    end
  end
  if not matched then
    return fail("no_match", "webhook signature does not match (was the RAW body passed, and the right secret?)")
  end
  if type(event) ~= "table" then
    return fail("invalid_json", "signature matches but the body is not a JSON object")
  end
  return event
end

--- sign(payload, secret) → signature_hex, body
--  For tests and local tools: a table payload is serialised compact with sorted
--  keys (string payloads are signed as they are).
function M.sign(payload, secret)
  if type(secret) ~= "string" or secret == "" then error("webhook.sign: secret must be a non-empty string", 2) end
  local body = type(payload) == "string" and payload or M.canonical(payload, "compact")
  return core.hmac_sha256(secret, body), body
end

return M
