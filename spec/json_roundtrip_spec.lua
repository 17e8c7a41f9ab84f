-- Round-trip property of the JSON codec (issue 12): over generated documents,
-- decode(encode(v)) gives back v with the same values and types (integers stay
-- integers, floats stay floats with the same bits, strings byte for byte,
-- arrays keep core.array_mt, null stays core.null), encode is a fixed point,
-- and the simdjson fast path and the yajl decoder agree on every text.
-- The one documented normalisation: an integral float within ±2^53 is written
-- as an integer (docs/json.md), so the generator's floats are non-integral.
local core = require "creatorapi.core"

local decode, encode, yajl = core.json_decode, core.json_encode, core._json_decode_yajl
local HAS_INT = math.type ~= nil
local null = core.null

local seed
local function rnd(n)
  seed = (seed * 16807) % 2147483647
  return seed % n
end

package.path = "bench/?.lua;" .. package.path
local json_docs = require "json_docs"
local utf8c = json_docs.utf8c

-- Strings with every class of byte the encoder treats differently: ASCII,
-- characters it must escape (" \ and controls, NUL included), 2/3/4-byte UTF-8.
local function gen_string()
  local t = {}
  for i = 1, rnd(24) do
    local k = rnd(10)
    if k < 4 then t[i] = string.char(32 + rnd(95))
    elseif k == 4 then t[i] = string.char(rnd(32))
    elseif k == 5 then t[i] = rnd(2) == 0 and '"' or "\\"
    elseif k == 6 then t[i] = utf8c(0x80 + rnd(0x780))
    elseif k == 7 then
      local cp = 0x800 + rnd(0xF800)
      if cp >= 0xD800 and cp <= 0xDFFF then cp = cp - 0x1000 end
      t[i] = utf8c(cp)
    elseif k == 8 then t[i] = utf8c(0x10000 + rnd(0x100000))
    else t[i] = string.rep("a", 8 + rnd(40)) end -- long ASCII runs (8-byte scan)
  end
  return table.concat(t)
end

local function gen_float()
  while true do
    local m = rnd(2 ^ 26) * 2 ^ 26 + rnd(2 ^ 26) + 1
    local k = rnd(4)
    local x
    if k == 0 then x = m * 2.0 ^ (rnd(2100) - 1100)      -- anywhere, subnormals included
    elseif k == 1 then x = m / 2 ^ 52 * 10 ^ (rnd(40) - 20) -- everyday magnitudes
    elseif k == 2 then x = (rnd(2000000) - 1000000) / 1000 -- short decimals
    else x = m * 2.0 ^ -1074 end                          -- subnormals
    if rnd(2) == 0 then x = -x end
    if x == x and x ~= math.huge and x ~= -math.huge and x ~= math.floor(x) then return x end
  end
end

local function gen_int()
  local k = rnd(5)
  if k == 0 then return rnd(10) end
  if k == 1 then return rnd(2000000) - 1000000 end
  if HAS_INT then
    local big = { math.maxinteger, math.mininteger, math.maxinteger - rnd(1000), 9007199254740993,
      -9007199254740993, math.tointeger(2 ^ 62) }
    if k == 2 then return big[1 + rnd(#big)] end
    return math.tointeger(rnd(2 ^ 31)) * math.tointeger(rnd(2 ^ 31)) * (rnd(2) == 0 and 1 or -1)
  end
  return (rnd(2 ^ 26) * 2 ^ 26 + rnd(2 ^ 26)) * (rnd(2) == 0 and 1 or -1) -- within ±2^53
end

local function gen(depth)
  local k = rnd(depth > 4 and 7 or 10)
  if k == 0 then return null end
  if k == 1 then return rnd(2) == 0 end
  if k == 2 then return gen_int() end
  if k == 3 or k == 4 then return gen_float() end
  if k == 5 or k == 6 then return gen_string() end
  if k == 7 or k == 8 then
    local a = setmetatable({}, core.array_mt)
    for i = 1, rnd(8) do a[i] = gen(depth + 1) end
    return a
  end
  local o = {}
  for _ = 1, rnd(8) do o[gen_string()] = gen(depth + 1) end
  return o
end

-- Deep identity; returns nil or the path where a and b differ.
local function diff(a, b, path)
  if type(a) ~= type(b) then return path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if HAS_INT and math.type(a) ~= math.type(b) then return path .. ": " .. math.type(a) .. " vs " .. math.type(b) end
    if a ~= b or (a == 0 and 1 / a ~= 1 / b) then return path .. ": " .. string.format("%.17g vs %.17g", a, b) end
    return nil
  end
  if type(a) ~= "table" then
    if a ~= b then return path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return nil
  end
  if getmetatable(a) ~= getmetatable(b) then return path .. ": metatables differ" end
  for k, v in pairs(a) do
    local d = diff(v, b[k], path .. "[" .. string.format("%q", k) .. "]")
    if d then return d end
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. ": extra key " .. string.format("%q", k) end
  end
  return nil
end

describe("json round trip #jit", function()
  it("decode(encode(v)) is v, with types, over 3000 generated documents", function()
    seed = 20251203
    for n = 1, 3000 do
      local v = gen(0)
      local s = assert(encode(v))
      local back, err = decode(s)
      assert(back ~= nil, err)
      local d = diff(v, back, "$")
      assert(d == nil, "document " .. n .. " changed at " .. tostring(d) .. "\n" .. s:sub(1, 300))
      -- the yajl decoder (error path) reads the same values
      local by, yerr = yajl(s)
      assert(by ~= nil, "yajl: " .. tostring(yerr) .. "\n" .. s:sub(1, 300))
      d = diff(back, by, "$")
      assert(d == nil, "decoders disagree on document " .. n .. " at " .. tostring(d))
      -- encoding is a fixed point
      assert(encode(back) == s, "encode(decode(s)) ~= s for document " .. n)
    end
  end)

  it("keeps every generated float exactly, in shortest form", function()
    seed = 7
    for _ = 1, 20000 do
      local x = gen_float()
      local s = encode(x)
      local back = decode(s)
      assert(back == x, s)
      if HAS_INT then assert(math.type(back) == "float", s) end
      -- shortest: one digit fewer does not read back (17 significant digits at most)
      local digits = s:gsub("^%-", ""):gsub("e.*$", ""):gsub("%.", ""):gsub("^0+", "")
      assert(#digits <= 17, s)
    end
  end)

  it("decodes correctly when a finalizer decodes in the middle of a decode", function()
    if _VERSION == "Lua 5.1" then return end -- no __gc on tables
    local docs = json_docs(encode, null, 0.05)
    local text = docs[5].text -- the KeyAPI page: many objects, cached keys
    local want = assert(yajl(text))
    local inner, stop = 0, false
    local function arm()
      setmetatable({}, { __gc = function()
        if stop then return end
        inner = inner + 1
        local v = assert(decode('{"data":[{"unique_id":"x","region":"US"}],"code":0}'))
        assert(v.data[1].unique_id == "x" and v.code == 0)
        arm()
      end })
    end
    local pause = collectgarbage("setpause", 0)
    arm()
    -- how often the collector runs depends on the heap the other specs left:
    -- decode until the finalizer has struck often enough (or give up)
    for i = 1, 600 do
      local got = assert(decode(text))
      local d = diff(want, got, "$")
      assert(d == nil, "outer decode changed at " .. tostring(d))
      if i >= 30 and inner > 10 then break end
    end
    stop = true
    collectgarbage("setpause", pause)
    collectgarbage()
    assert(inner > 10, "the finalizer ran only " .. inner .. " times")
  end)

  it("round-trips the bench documents (floats, objects, timeline, non-ASCII, API pages)", function()
    local docs = json_docs(encode, null, 0.1)
    for _, doc in ipairs(docs) do
      local v = assert(decode(doc.text))
      local d = diff(v, assert(yajl(doc.text)), "$")
      assert(d == nil, doc.name .. ": decoders disagree at " .. tostring(d))
      local s = assert(encode(v))
      d = diff(v, assert(decode(s)), "$")
      assert(d == nil, doc.name .. ": round trip changed " .. tostring(d))
      assert.equal(s, encode(decode(s)))
    end
  end)
end)
