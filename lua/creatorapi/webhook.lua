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
--
-- Cheap checks come first: a body over `max_body` (64 KiB) or a missing or
-- malformed header is refused before anything is hashed or decoded; the raw
-- body is compared before any re-serialisation. A matching delivery must carry
-- a `timestamp` (ISO 8601, inside the signed payload) within `tolerance`
-- seconds (default 300) of `now` (default os.time()): a captured delivery
-- cannot be replayed later. `tolerance = false` turns that check off.
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

-- Strictly decodes UTF-8 (RFC 3629: no overlongs, no surrogates, nothing
-- above U+10FFFF) → array of code points, or nil when s is not valid UTF-8.
local function codepoints(s)
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local cp, len, min
    if c < 0x80 then cp, len, min = c, 1, 0
    elseif c >= 0xC2 and c <= 0xDF then cp, len, min = c % 32, 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then cp, len, min = c % 16, 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then cp, len, min = c % 8, 4, 0x10000
    else return nil end
    if i + len - 1 > n then return nil end
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return nil end
      cp = cp * 64 + b % 64
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
    out[#out + 1] = cp
    i = i + len
  end
  return out
end

local function utf8_escape(s)
  local cps = codepoints(s)
  if not cps then error({ canonical = "a string is not valid UTF-8" }) end
  local out = {}
  for i, cp in ipairs(cps) do
    if cp < 0x80 then
      out[i] = string.char(cp)
    elseif cp < 0x10000 then
      out[i] = string.format("\\u%04x", cp)
    else
      cp = cp - 0x10000
      out[i] = string.format("\\u%04x\\u%04x", 0xD800 + math.floor(cp / 1024), 0xDC00 + cp % 1024)
    end
  end
  return table.concat(out)
end

local function quote(s, ascii)
  local wide = s:find("[\128-\255]") ~= nil
  if wide and not codepoints(s) then error({ canonical = "a string is not valid UTF-8" }) end
  s = s:gsub('[%c"\\]', function(ch)
    return ESC[ch] or string.format("\\u%04x", ch:byte())
  end)
  if ascii and wide then s = utf8_escape(s) end
  return '"' .. s .. '"'
end

local function number_text(v, python)
  if mtype and mtype(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then
    error({ canonical = "NaN and infinities have no JSON form" })
  end
  if v == math.floor(v) and v > -2^53 and v < 2^53 then
    -- Python writes floats as 50.0, JavaScript as 50.
    return string.format("%d", v) .. ((python and mtype) and ".0" or "")
  end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

-- Byte order, whatever the locale (Lua's `<` on strings uses strcoll); for
-- UTF-8 it is code point order, which is what Python's sort_keys uses.
local function byte_less(a, b)
  local n = #a < #b and #a or #b
  for i = 1, n do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
M.byte_less = byte_less

local MAX_DEPTH = 1000

--- canonical(value, style) → JSON text with sorted keys | nil, message.
--  style "compact" (`,` and `:`) or "python" (`, ` and `: `, ASCII escapes).
--  Keys are sorted bytewise. NaN, infinities, invalid UTF-8, values JSON has
--  no form for and nesting deeper than 1000 give nil, message.
function M.canonical(v, style)
  local python = style == "python"
  local comma, colon = python and ", " or ",", python and ": " or ":"
  local function enc(x, depth)
    local t = type(x)
    if x == null then return "null"
    elseif t == "string" then return quote(x, python)
    elseif t == "number" then return number_text(x, python)
    elseif t == "boolean" then return tostring(x)
    elseif t == "table" then
      if depth >= MAX_DEPTH then error({ canonical = "nesting deeper than " .. MAX_DEPTH .. " (or a cycle)" }) end
      if getmetatable(x) == core.array_mt or (#x > 0 and next(x, #x) == nil) then
        local parts = {}
        for i = 1, #x do parts[i] = enc(x[i], depth + 1) end
        return "[" .. table.concat(parts, comma) .. "]"
      end
      local keys, map = {}, {}
      for k, val in pairs(x) do
        local ks = tostring(k)
        keys[#keys + 1], map[ks] = ks, val
      end
      table.sort(keys, byte_less)
      local parts = {}
      for i, k in ipairs(keys) do parts[i] = quote(k, python) .. colon .. enc(map[k], depth + 1) end
      return "{" .. table.concat(parts, comma) .. "}"
    end
    error({ canonical = "a " .. t .. " has no JSON form" })
  end
  local ok, out = pcall(enc, v, 0)
  if ok then return out end
  if type(out) == "table" and out.canonical then return nil, "webhook.canonical: " .. out.canonical end
  error(out, 0)
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

--- Bodies larger than this are refused before any hashing or decoding.
M.MAX_BODY = 65536
--- Seconds a delivery's signed `timestamp` may differ from the clock.
M.TOLERANCE = 300

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m + (m > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- ISO 8601 date-time (`2026-03-15T10:45:00Z`, `+08:00` offsets, fractions)
--- → Unix seconds | nil. Independent of the process's time zone.
function M.parse_timestamp(v)
  if type(v) == "number" then return v == v and v > -math.huge and v < math.huge and v or nil end
  if type(v) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local frac = rest:match("^%.%d+")
  if frac then rest = rest:sub(#frac + 1) end
  local off
  if rest == "Z" or rest == "z" then off = 0
  else
    local sign, oh, om = rest:match("^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    off = (tonumber(oh) * 60 + tonumber(om)) * 60 * (sign == "-" and -1 or 1)
  end
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + (frac and tonumber("0" .. frac) or 0) - off
end

local function check_args(args)
  local tol = args.tolerance
  if tol == nil then tol = M.TOLERANCE end
  if tol ~= false and (type(tol) ~= "number" or not (tol >= 0 and tol < math.huge)) then
    error("webhook.verify: tolerance must be a finite number of seconds >= 0 or false", 3)
  end
  local max_body = args.max_body or M.MAX_BODY
  if type(max_body) ~= "number" or not (max_body >= 1 and max_body < math.huge) then
    error("webhook.verify: max_body must be a positive number of bytes", 3)
  end
  if args.now ~= nil and type(args.now) ~= "number" then error("webhook.verify: now must be a number", 3) end
  return tol, max_body
end

local function any_match(secrets, candidates, want)
  local matched = false
  for _, secret in ipairs(secrets) do
    for _, text in ipairs(candidates) do
      -- no early exit: every candidate is checked, in constant time each
      if core.constant_time_equal(core.hmac_sha256(secret, text), want) then matched = true end
    end
  end
  return matched
end

--- verify{ body=, signature= | headers=, secret= | secrets={…} [, tolerance=300 | false]
---   [, now=os.time()] [, max_body=65536] } → event | nil, err
--  err.kind == "signature", err.reason ∈ missing_body, body_too_large, missing_signature,
--  malformed_signature, missing_secret, no_match, invalid_json, missing_timestamp,
--  stale_timestamp.
function M.verify(args)
  if type(args) ~= "table" then error("webhook.verify: expects a table of arguments", 2) end
  local tolerance, max_body = check_args(args)
  local body = args.body
  if type(body) ~= "string" then
    return fail("missing_body", "webhook body must be the raw request body (a string)")
  end
  if #body > max_body then
    return fail("body_too_large", string.format("webhook body of %d bytes is over max_body (%d)", #body, max_body))
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

  -- The raw bytes first (cheap); re-serialised forms only when they do not match.
  local matched = any_match(secrets, { body }, want)
  local event = core.json_decode(body)
  if not matched and type(event) == "table" then
    local candidates = {}
    for _, style in ipairs({ "compact", "python" }) do
      local text = M.canonical(event, style)
      if text then candidates[#candidates + 1] = text end
    end
    matched = any_match(secrets, candidates, want)
  end
  if not matched then
    return fail("no_match", "webhook signature does not match (was the RAW body passed, and the right secret?)")
  end
  if type(event) ~= "table" then
    return fail("invalid_json", "signature matches but the body is not a JSON object")
  end
  if tolerance then
    local ts = M.parse_timestamp(event.timestamp)
    if not ts then
      return fail("missing_timestamp", "signed delivery has no ISO 8601 timestamp (tolerance = false skips this check)")
    end
    local now = args.now or os.time()
    if math.abs(now - ts) > tolerance then
      return fail("stale_timestamp", string.format(
        "delivery timestamp %s is %.0f s from now, beyond the %s s tolerance (a replay?)",
        tostring(event.timestamp), now - ts, tostring(tolerance)))
    end
  end
  return event
end

--- sign(payload, secret) → signature_hex, body
--  For tests and local tools: a table payload is serialised compact with sorted
--  keys (string payloads are signed as they are).
--  A payload canonical() refuses gives nil, message.
function M.sign(payload, secret)
  if type(secret) ~= "string" or secret == "" then error("webhook.sign: secret must be a non-empty string", 2) end
  local body, err = payload, nil
  if type(payload) ~= "string" then body, err = M.canonical(payload, "compact") end
  if not body then return nil, err end
  return core.hmac_sha256(secret, body), body
end

return M
