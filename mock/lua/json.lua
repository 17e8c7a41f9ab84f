-- Minimal JSON writer with ordered objects, plus a decoding wrapper.
--
--   json.obj("k1", v1, "k2", v2, ...)  ordered object (nil values become null)
--   json.arr(t)                        marks t as an array (empty -> [])
--   plain tables: non-empty sequence -> array, empty -> [], else keys sorted
--   json.null                          JSON null (same value as cjson.null)
-- Integers (and integral floats) are written without a fraction; other floats
-- use the shortest %.Ng that reads back to the same double.
local cjson = require "cjson"

local json = {}
json.null = cjson.null

local OBJ = { __name = "mock.json.object" }
local ARR = { __name = "mock.json.array" }
local RAW = { __name = "mock.json.raw" }
json.OBJ, json.ARR, json.RAW = OBJ, ARR, RAW

-- already-encoded JSON text, emitted verbatim
function json.raw(text)
  return setmetatable({ text }, RAW)
end

function json.obj(...)
  local n = select("#", ...)
  local o = setmetatable({ _k = {}, _v = {} }, OBJ)
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    o._k[#o._k + 1] = k
    o._v[k] = v == nil and json.null or v
  end
  return o
end

-- set/append a key of an ordered object
function json.set(o, k, v)
  if o._v[k] == nil then o._k[#o._k + 1] = k end
  o._v[k] = v == nil and json.null or v
  return o
end

function json.get(o, k)
  local v = o._v[k]
  if v == json.null then return nil end
  return v
end

function json.arr(t)
  return setmetatable(t or {}, ARR)
end

local escapes = {
  ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
}
local function esc_char(c)
  return escapes[c] or string.format("\\u%04x", c:byte())
end

-- Replace invalid UTF-8 sequences with U+FFFD.
local function sanitize_utf8(s)
  if utf8.len(s) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local ok, len = utf8.len(s, i, i)
    if ok then
      local c = utf8.codepoint(s, i)
      local ch = utf8.char(c)
      out[#out + 1] = ch
      i = i + #ch
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
    local _ = len
  end
  return table.concat(out)
end

local find, gsub = string.find, string.gsub
local function enc_string(s)
  if not find(s, '[%c"\\\128-\255]') then return '"' .. s .. '"' end -- plain ASCII
  local high = find(s, "[\128-\255]")
  if high then s = sanitize_utf8(s) end
  s = gsub(s, '[%c"\\]', esc_char)
  if high then
    -- U+2028/U+2029 break JavaScript parsers; escape them like most encoders do.
    s = gsub(gsub(s, "\226\128\168", "\\u2028"), "\226\128\169", "\\u2029")
  end
  return '"' .. s .. '"'
end
json.quote = enc_string

local function enc_number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and v > -2^53 and v < 2^53 then
    return string.format("%d", math.tointeger(v))
  end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return string.format("%.17g", v)
end
json.number = enc_number

local encode

local function is_sequence(t)
  local n = #t
  if n == 0 then return false end
  local c = 0
  for _ in pairs(t) do c = c + 1 end
  return c == n
end

encode = function(v, out, sorted)
  local tv = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "null"
  elseif tv == "string" then
    out[#out + 1] = enc_string(v)
  elseif tv == "number" then
    out[#out + 1] = enc_number(v)
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == RAW then
      out[#out + 1] = v[1]
    elseif mt == OBJ then
      local keys = v._k
      if sorted then
        keys = { table.unpack(keys) }
        table.sort(keys)
      end
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = enc_string(tostring(k))
        out[#out + 1] = ":"
        encode(v._v[k], out, sorted)
      end
      out[#out + 1] = "}"
    elseif mt == ARR or next(v) == nil or is_sequence(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, sorted)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = enc_string(k)
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        encode(val, out, sorted)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. tv .. " as JSON")
  end
end

function json.encode(v)
  local out = {}
  encode(v, out, false)
  return table.concat(out)
end

-- Compact, every object's keys sorted (used for webhook signatures).
function json.encode_sorted(v)
  local out = {}
  encode(v, out, true)
  return table.concat(out)
end

-- Decode; returns value or nil, message. cjson numbers are floats or integers;
-- callers check integer-ness themselves.
function json.decode(s)
  local ok, v = pcall(cjson.decode, s)
  if not ok then return nil, tostring(v) end
  return v
end

-- Deep copy turning every scalar into a string ("123", "true"); null stays null.
function json.stringify_scalars(v)
  local tv = type(v)
  if tv == "number" then return enc_number(v)
  elseif tv == "boolean" then return v and "true" or "false"
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == OBJ then
      local o = json.obj()
      for _, k in ipairs(v._k) do json.set(o, k, json.stringify_scalars(v._v[k])) end
      return o
    end
    local t = {}
    for k, x in pairs(v) do t[k] = json.stringify_scalars(x) end
    return setmetatable(t, mt)
  end
  return v
end

return json
