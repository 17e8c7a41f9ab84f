-- JSON codec of creatorapi.core (src/json_*.c): the rules in docs/json.md.
-- Blocks tagged #jit run under LuaJIT too; int64 exactness runs only where
-- Lua has an integer subtype (5.3+), with the documented 2^53 behaviour
-- asserted separately on LuaJIT/5.1.
local core = require "creatorapi.core"
local cjson = require "cjson"

local decode, encode = core.json_decode, core.json_encode
local HAS_INT = math.type ~= nil

-- Every error message has the shape "json: <reason> at byte <n>" (decode).
local function derr(text, reason, byte, max_depth)
  local v, msg = decode(text, max_depth)
  assert.is_nil(v, "expected an error for " .. string.format("%q", text:sub(1, 60)))
  assert.is_string(msg)
  assert.matches("^json: .* at byte %d+$", msg)
  if reason then assert.matches(reason, msg, 1, true) end
  if byte then assert.equal("at byte " .. byte, msg:match("at byte %d+$")) end
  return msg
end

local function eerr(value, reason, max_depth)
  local s, msg = encode(value, max_depth)
  assert.is_nil(s)
  assert.is_string(msg)
  assert.matches("^json: ", msg)
  if reason then assert.matches(reason, msg, 1, true) end
  return msg
end

-- A deterministic KeyAPI influencer-list page (same shape as the seed row:
-- mostly integers, some strings, floats and null).
local function keyapi_page(rows)
  local seed = 42
  local function rnd(n)
    seed = (seed * 16807) % 2147483647
    return seed % n
  end
  local data = {}
  for i = 1, rows do
    local r = {
      avatar = "https://p16-sign-va.tiktokcdn.com/tos-maliva-avt-0068/77eebc91~tplv:100:100.jpeg?dr=10399&x=" .. i,
      avg_30d_price = 0, category = "", contact_email = "", ec_score = 2.62,
      first_crawl_dt = 20250816, gender = "", influencer_video_duration_level = "{}",
      influencer_video_publish_hour = "{}", influencer_video_publish_week = "{}",
      interaction_rate = rnd(10000) / 100, language = "en", most_category_product = "[]",
      most_views_video = "", nick_name = "Hannah Culver \u{e9}\u{1F600}", off_mark = 0,
      per_video_product_views_avg_7d_cnt = 0, region = "US", sales_flag = 0, seller_id = core.null,
      show_case_flag = 0, signature = "line1\nline2 \"quoted\" back\\slash", unique_id = "hannahdowns" .. i,
      user_id = tostring(1000038 + i),
    }
    for _, k in ipairs { "total_comments_cnt", "total_digg_1d_cnt", "total_digg_30d_cnt", "total_digg_7d_cnt",
      "total_digg_90d_cnt", "total_digg_cnt", "total_followers_1d_cnt", "total_followers_30d_cnt",
      "total_followers_7d_cnt", "total_followers_90d_cnt", "total_followers_cnt", "total_following_cnt",
      "total_likes_cnt", "total_live_cnt", "total_live_sale_gmv_30d_amt", "total_post_video_cnt",
      "total_product_30d_cnt", "total_product_cnt", "total_sale_cnt", "total_sale_gmv_30d_amt",
      "total_sale_gmv_amt", "total_shares_cnt", "total_video_product_30d_cnt", "total_video_sale_30d_cnt",
      "total_video_sale_gmv_30d_amt", "total_views_cnt" } do
      r[k] = rnd(3) == 0 and 0 or rnd(100000000)
    end
    data[i] = r
  end
  return { code = 0, message = "success", data = data, requestId = "cf984f6f-04fa-4393-8ca3-f430d9cdec7e" }
end

describe("json_decode #jit", function()
  it("decodes scalars", function()
    assert.is_true(decode("true"))
    assert.is_false(decode("false"))
    assert.equal("abc", decode('"abc"'))
    assert.equal("", decode('""'))
    assert.equal(0, decode("0"))
    assert.equal(-17, decode(" -17 "))
    assert.equal(2.62, decode("2.62"))
    assert.equal(100, decode("1e2"))
    assert.equal(0.001, decode("1E-3"))
    assert.equal(-1.5, decode("-1.5e0"))
    assert.equal(1.0, decode("1." .. string.rep("0", 200) .. "1")) -- long number, > 64 bytes
    assert.equal(0, decode("1e-400")) -- underflow is accepted as 0
  end)

  it("decodes null as the light userdata NULL shared with cjson", function()
    assert.equal("userdata", type(core.null))
    assert.equal(cjson.null, core.null)
    assert.equal(core.null, decode("null"))
    local t = decode('{"a":null,"b":[null]}')
    assert.equal(cjson.null, t.a)
    assert.equal(cjson.null, t.b[1])
    assert.equal(1, #t.b)
  end)

  it("decodes objects and arrays; arrays carry array_mt, objects no metatable", function()
    local t = decode('{"a":[1,"x",{"b":false}],"c":{}, "d":[]}')
    assert.same({ 1, "x", { b = false } }, t.a)
    assert.equal(core.array_mt, getmetatable(t.a))
    assert.equal(core.array_mt, getmetatable(t.d))
    assert.equal(0, #t.d)
    assert.is_nil(getmetatable(t))
    assert.is_nil(getmetatable(t.c))
    assert.is_nil(getmetatable(t.a[3]))
    assert.is_nil(next(t.c))
    assert.equal("creatorapi.array", core.array_mt.__name)
    -- duplicate keys: the last one wins
    assert.equal(2, decode('{"k":1,"k":2}').k)
  end)

  it("decodes string escapes, \\u0000 and surrogate pairs", function()
    local s = decode('"\\u0000a"')
    assert.equal(2, #s)
    assert.equal("\0a", s)
    assert.equal("\240\159\152\128", decode('"\\ud83d\\ude00"')) -- U+1F600
    assert.equal("\240\159\152\128", decode('"\\uD83D\\uDE00"'))
    assert.equal("\244\143\191\191", decode('"\\udbff\\udfff"')) -- U+10FFFF
    assert.equal("\195\169\226\130\172", decode('"\\u00e9\\u20AC"'))
    assert.equal('"\\/\b\f\n\r\t', decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'))
    assert.equal("a\\", decode('"a\\\\"'))
    assert.equal('x"y', decode('{"x\\"y":1}') and next(decode('{"x\\"y":1}')))
    assert.equal(1, decode('{"\\u00e9":1}')["\195\169"])
    -- long escaped string (beyond the initial scratch size)
    local long = string.rep("ab\\n", 500)
    assert.equal(string.rep("ab\n", 500), decode('"' .. long .. '"'))
    -- raw UTF-8 passes through unchanged
    assert.equal("\u{e9}\u{1F600}", decode('"\u{e9}\u{1F600}"'))
  end)

  -- { input, reason substring, byte offset (0-based) or false }
  local bad = {
    { "", "empty input", 0 },
    { " \n\t ", "empty input", 0 },
    { "[1,2] x", "trailing garbage", false },
    { '{"a":1}}', "trailing garbage", false },
    { "1 2", "trailing garbage", false },
    { "[1,]", "error", false },
    { "{a:1}", "error", false },
    { "[1,2", "premature EOF", false },
    { '"abc', "premature EOF", false },
    { "nul", "error", false },
    { "01", "error", false },
    { "'x'", "error", false },
    { '"a\nb"', "error", false }, -- raw control character
    { '["\\x"]', "error", false },
    { "1e400", "number out of range", 0 },
    { "-1e400", "number out of range", 0 },
    { "[0, 1e400]", "number out of range", 4 },
    { '"\\ud83d"', "lone surrogate", 1 },
    { '"\\ude00"', "lone surrogate", 1 },
    { '"ab\\ud83dx"', "lone surrogate", 3 },
    { '"\\ud83d\\u0041"', "lone surrogate", 1 },
    { '"\\ud83d\\ud83d"', "lone surrogate", 1 },
    { '"\255"', "invalid UTF-8", 1 },
    { '"ok\128"', "invalid UTF-8", 3 },
    { '"\192\175"', "invalid UTF-8", 1 },          -- overlong '/'
    { '"\224\128\175"', "invalid UTF-8", 1 },      -- overlong 3-byte
    { '"\237\160\128"', "invalid UTF-8", 1 },      -- UTF-8 encoded surrogate
    { '"\244\144\128\128"', "invalid UTF-8", 1 },  -- > U+10FFFF
    { '"\226\130"', "invalid UTF-8", 1 },          -- truncated sequence
    { '{"k\255":1}', "invalid UTF-8", 3 },         -- in a key
    { '"\\n\255"', "invalid UTF-8", 3 },           -- in an escaped string
  }
  for _, c in ipairs(bad) do
    it("rejects " .. string.format("%q", c[1]):gsub("\n", "n") .. " (" .. c[2] .. ")", function()
      derr(c[1], c[2], c[3] or nil)
    end)
  end

  it("limits nesting depth cleanly (10 000 deep is an error, not a crash)", function()
    local deep = string.rep("[", 10000) .. string.rep("]", 10000)
    derr(deep, "nesting deeper than max_depth (1000)", 1000)
    local deepobj = string.rep('{"a":', 10000) .. "1" .. string.rep("}", 10000)
    derr(deepobj, "max_depth", nil)
    -- exactly 1000 levels is fine
    local ok = decode(string.rep("[", 1000) .. string.rep("]", 1000))
    assert.equal(core.array_mt, getmetatable(ok))
    -- the argument moves the limit
    derr("[[[1]]]", "max_depth (2)", 2, 2)
    assert.equal(1, decode("[[[1]]]", 3)[1][1][1])
    assert.equal(5, decode("5", 0))
    derr("[]", "max_depth (0)", 0, 0)
    -- a large explicit limit is bounded by the depth cap (4096)
    derr(deep, "nesting deeper than the depth cap (4096)", 4096, 20000)
  end)

  it("maps every key to its own value in large documents (key cache)", function()
    -- >= 4 KiB of text enables the decoder's key cache; 600 distinct keys
    -- (many sharing length, prefix and suffix) force slot collisions.
    local parts = {}
    for row = 1, 3 do
      local fields = {}
      for i = 1, 600 do
        fields[#fields + 1] = string.format('"total_%03d_cnt":%d', i, row * 1000 + i)
      end
      fields[#fields + 1] = '"k\\u00e9":' .. row -- escaped key, not cached
      parts[#parts + 1] = "{" .. table.concat(fields, ",") .. "}"
    end
    local t = assert(decode("[" .. table.concat(parts, ",") .. "]"))
    for row = 1, 3 do
      for i = 1, 600 do
        assert.equal(row * 1000 + i, t[row][string.format("total_%03d_cnt", i)])
      end
      assert.equal(row, t[row]["k\195\169"])
    end
    -- a bad key after the cache has seen its valid prefix is still rejected
    local big = string.rep('{"abc":1},', 500) -- > 4 KiB: cache on
    derr("[" .. big .. '{"abc\255":1}]', "invalid UTF-8", #big + 6)
  end)

  it("serves a page's recurring keys from the key cache, even after unique keys filled it", function()
    -- The field names of a KeyAPI influencer row: the 1-row call decodes
    -- them on every call, and every key hashed again costs a string.
    local names = {}
    for w in ([[avatar avg_30d_price category contact_email ec_score first_crawl_dt gender
      influencer_video_duration_level influencer_video_publish_hour influencer_video_publish_week
      interaction_rate language most_category_product most_views_video nick_name off_mark
      per_video_product_views_avg_7d_cnt region sales_flag seller_id show_case_flag signature
      total_comments_cnt total_digg_1d_cnt total_digg_30d_cnt total_digg_7d_cnt total_digg_90d_cnt
      total_digg_cnt total_followers_1d_cnt total_followers_30d_cnt total_followers_7d_cnt
      total_followers_90d_cnt total_followers_cnt total_following_cnt total_likes_cnt total_live_cnt
      total_live_sale_gmv_30d_amt total_post_video_cnt total_product_30d_cnt total_product_cnt
      total_sale_cnt total_sale_gmv_30d_amt total_sale_gmv_amt total_shares_cnt
      total_video_product_30d_cnt total_video_sale_30d_cnt total_video_sale_gmv_30d_amt
      total_views_cnt unique_id user_id]]):gmatch("%S+") do names[#names + 1] = w end
    local fields = {}
    for i, k in ipairs(names) do fields[i] = string.format('"%s":%d', k, i) end
    local page = '{"code":0,"message":"success","data":[{' .. table.concat(fields, ",")
      .. '}],"requestId":"r-1"}'
    local keys = #names + 4
    local function unique(from) -- keys seen once, such as ids used as keys
      local t = {}
      for i = 1, 1200 do t[i] = string.format('"id_%d":%d', from + 7 * i, i) end
      return "{" .. table.concat(t, ",") .. "}"
    end
    -- First every set full of keys that never come back (the page must get
    -- in over them), then a flood of new ones (the page must stay).
    for round, from in ipairs{ 138586341, 238586341 } do
      assert(decode(unique(from)))
      local hits, misses
      for _ = 1, 3 do
        local v = assert(decode(page))
        assert.equal(#names, v.data[1][names[#names]])
        hits, misses = core._json_key_cache()
        assert.equal(keys, hits + misses)
      end
      -- Before: recurring keys sharing a set kept each other out for good
      -- (16 of these 54 on every decode; then 4, when three shared a set).
      assert.is_true(misses <= 1,
        ("round %d: %d of %d keys still missed on the third decode"):format(round, misses, keys))
    end
    assert(decode("[1]"))
    assert.same({ 0, 0 }, { core._json_key_cache() }) -- counts are the last decode's
  end)

  it("keeps two of three keys that recur in one key-cache set (one miss a round, not three)", function()
    local by_set, trio = {}, nil
    for i = 1, 5000 do
      local k = "field_" .. i
      local set = core._json_key_cache(k)
      by_set[set] = by_set[set] or {}
      table.insert(by_set[set], k)
      if #by_set[set] == 3 then trio = by_set[set] break end
    end
    assert.is_not_nil(trio)
    assert.is_nil(core._json_key_cache(string.rep("k", 41))) -- too long to be cached
    local doc = ('{"%s":1,"%s":2,"%s":3}'):format(trio[1], trio[2], trio[3])
    local fill = {}
    for i = 1, 2400 do fill[i] = ('"u_%d":%d'):format(i, i) end
    assert(decode("{" .. table.concat(fill, ",") .. "}")) -- every set full of keys seen once
    local misses = {}
    for round = 1, 5 do
      assert.same({ a = 1 }, { a = decode(doc)[trio[1]] })
      misses[round] = select(2, core._json_key_cache())
    end
    -- Before: the three evicted each other in turn, 3 misses every round.
    assert.same({ 1, 1, 1 }, { misses[3], misses[4], misses[5] })
  end)

  it("accepts only space, tab, CR and LF as whitespace (a form feed is an error)", function()
    for _, text in ipairs{ "[\f]", "\f[1]", "[1,\f2]", "{\"a\":\f1}", "\"a\fb\"" } do
      local v, err = decode(text)
      assert.is_nil(v, text)
      assert.matches("form feed", err)
    end
    assert.matches("at byte 1$", select(2, decode("[\f]")))
    assert.same({ 1, 2 }, decode(" \t\r\n[1,\r\n\t 2] "))
    assert.equal("a\fb", decode('["a\\fb"]')[1])  -- the escape \f is fine
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() decode() end)
    assert.has_error(function() decode({}) end)
    assert.has_error(function() decode("1", -1) end)
  end)

  it("leaves the caller's stack alone after many errors and successes", function()
    for i = 1, 200 do
      assert.is_nil((decode('[1,{"a":"\\ud800"}]')))
      assert.is_nil((decode(string.rep("[", 2000))))
      assert.equal(i, decode("[" .. i .. "]")[1])
    end
    collectgarbage("collect")
    local a, b, c = decode("[1]"), decode("{}"), decode("2")
    assert.equal(1, a[1]); assert.same({}, b); assert.equal(2, c)
  end)
end)

describe("json_decode numbers on LuaJIT/5.1 (2^53) #jit", function()
  it("gives doubles, exact below 2^53 and rounded above", function()
    if HAS_INT then return end -- the int64 block below covers 5.3+
    assert.equal(9007199254740992, decode("9007199254740992"))
    assert.equal(9007199254740992, decode("9007199254740993")) -- documented rounding
    assert.equal(2^63, decode("9223372036854775807"))
    assert.equal(-2^63, decode("-9223372036854775808"))
    assert.equal(1, decode("1.0"))
  end)
end)

if HAS_INT then
  describe("json_decode integers (int64, Lua 5.3+)", function()
    -- { input, expected value, expected math.type }
    local cases = {
      { "9007199254740993", 9007199254740993, "integer" },
      { "9223372036854775807", math.maxinteger, "integer" },
      { "-9223372036854775808", math.mininteger, "integer" },
      { "1234567890123456789", 1234567890123456789, "integer" },
      { "0", 0, "integer" },
      { "-0", 0, "integer" },
      { "183", 183, "integer" },
      { "9223372036854775808", 9223372036854775808.0, "float" },   -- beyond int64
      { "-9223372036854775809", -9223372036854775809.0, "float" },
      { "123456789012345678901234", 1.23456789012345678901234e23, "float" },
      { "1.0", 1.0, "float" },
      { "1e2", 100.0, "float" },
      { "-0.0", -0.0, "float" },
      { "183.0", 183.0, "float" },
      { "2.5E+3", 2500.0, "float" },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. " -> " .. c[3], function()
        local v = decode(c[1])
        assert.equal(c[3], math.type(v))
        assert.equal(c[2], v)
        if c[3] == "integer" then assert.equal(c[1]:gsub("^%-0$", "0"), string.format("%d", v)) end
      end)
    end

    it("keeps integers integers inside a page", function()
      local t = decode('{"data":[{"total_followers_cnt":183,"user_id_num":7234567890123456789,"ec_score":2.62}]}')
      local r = t.data[1]
      assert.equal("integer", math.type(r.total_followers_cnt))
      assert.equal(7234567890123456789, r.user_id_num)
      assert.equal("integer", math.type(r.user_id_num))
      assert.equal("float", math.type(r.ec_score))
    end)
  end)

  describe("json_encode integers (int64, Lua 5.3+)", function()
    it("writes integers exactly", function()
      assert.equal("9223372036854775807", encode(math.maxinteger))
      assert.equal("-9223372036854775808", encode(math.mininteger))
      assert.equal("9007199254740993", encode(9007199254740993))
      assert.equal("[183,-1,0]", encode({ 183, -1, 0 }))
      -- integral floats beyond 2^53 stay floats in shortest form
      assert.equal("1e+17", encode(1e17))
      assert.equal(1e17, decode(encode(1e17)))
      assert.equal("float", math.type(decode(encode(1e17))))
    end)

    it("round-trips int64 ids", function()
      local ids = { math.maxinteger, math.mininteger, 9007199254740993, 1686041011364000000 }
      local back = decode(encode(ids))
      for i, v in ipairs(ids) do
        assert.equal(v, back[i])
        assert.equal("integer", math.type(back[i]))
      end
    end)
  end)
end

describe("json_encode #jit", function()
  it("encodes scalars and null", function()
    assert.equal("true", encode(true))
    assert.equal("false", encode(false))
    assert.equal("null", encode(nil))
    assert.equal("null", encode(core.null))
    assert.equal("null", encode(cjson.null))
    assert.equal('{"a":null}', encode({ a = cjson.null }))
    assert.equal('"abc"', encode("abc"))
  end)

  -- { number, expected text }
  local numbers = {
    { 0, "0" }, { -7, "-7" }, { 183.0, "183" }, { -0.0, "0" }, { 2^53, "9007199254740992" },
    { -2^53, "-9007199254740992" }, { 2.5, "2.5" }, { -1.25, "-1.25" }, { 0.1, "0.1" },
    { 2.62, "2.62" }, { 0.1 + 0.2, "0.30000000000000004" }, { 1 / 3, "0.3333333333333333" },
    { 1e300, "1e+300" }, { 1.5e-7, "1.5e-7" }, { 123456.789, "123456.789" },
    -- shortest round-trip digits (double-conversion ToShortest)
    { 5e-324, "5e-324" }, { 1.7976931348623157e308, "1.7976931348623157e+308" },
    { 2.2250738585072014e-308, "2.2250738585072014e-308" }, { 0.000001, "0.000001" },
    { 1e-7, "1e-7" }, { 999999999999999.9, "999999999999999.9" },
    -- from 10^15 up the exponent form: a float beyond 2^53 reads back as a float
    { 2^53 + 2, "9.007199254740994e+15" }, { 1e17, "1e+17" }, { -1.5e16, "-1.5e+16" }, { 1.5e15 + 0.5, "1.5000000000000005e+15" },
  }
  for _, c in ipairs(numbers) do
    it("writes " .. c[2], function()
      assert.equal(c[2], encode(c[1]))
      assert.equal(c[1], decode(encode(c[1])))
      if HAS_INT and math.type(c[1]) == "float" and c[1] ~= math.floor(c[1]) then
        assert.equal("float", math.type(decode(encode(c[1]))))
      end
    end)
  end

  it("writes floats beyond 2^53 so they read back as floats (5.3+)", function()
    if not HAS_INT then return end
    for _, x in ipairs({ 2^53 + 2, 2^60, 1e17, -2^63, 1e300 }) do
      assert.equal("float", math.type(decode(encode(x))), encode(x))
    end
  end)

  it("rejects NaN and infinities", function()
    eerr(0 / 0, "NaN or infinity")
    eerr(math.huge, "NaN or infinity")
    eerr({ x = -math.huge }, "NaN or infinity")
  end)

  it("escapes strings per RFC 8259 and leaves '/' and UTF-8 alone", function()
    assert.equal('"\\u0000"', encode("\0"))
    assert.equal('"a\\"b\\\\c/d"', encode('a"b\\c/d'))
    assert.equal('"\\b\\f\\n\\r\\t\\u0001\\u001f\127"', encode("\b\f\n\r\t\1\31\127"))
    assert.equal('"\u{e9}\u{1F600}"', encode("\u{e9}\u{1F600}"))
    local all = {}
    for i = 0, 127 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    assert.equal(all, decode(encode(all)))
  end)

  it("rejects invalid UTF-8 in strings and keys", function()
    eerr("\255", "invalid UTF-8")
    eerr("ok\237\160\128", "invalid UTF-8")
    local msg = eerr({ ["k\192\175"] = 1 }, "invalid UTF-8")
    assert.matches("at .k??", msg, 1, true) -- the path shows printable ASCII only
    assert.is_nil(msg:find("[\128-\255]"))
    eerr({ "fine", "bad\128" }, "invalid UTF-8")
  end)

  it("encodes tables: sorted keys, sequences as arrays, {} and []", function()
    assert.equal('{"a":1,"b":[1,2,3],"c":{"d":"e"},"z":false}',
      encode({ z = false, c = { d = "e" }, b = { 1, 2, 3 }, a = 1 }))
    assert.equal('{"B":1,"a":2,"aa":3,"b":4}', encode({ b = 4, aa = 3, a = 2, B = 1 }))
    assert.equal("{}", encode({}))
    assert.equal("[]", encode(setmetatable({}, core.array_mt)))
    assert.equal("[1,2]", encode(setmetatable({ 1, 2 }, core.array_mt)))
    assert.equal('[[],{}]', encode({ decode("[]"), decode("{}") }))
    assert.equal("[]", encode(decode("[]")))
    assert.equal("{}", encode(decode("{}")))
    assert.equal('{"a":[],"b":{}}', encode(decode('{"b":{},"a":[]}')))
  end)

  it("encodes large objects and arrays (more keys than a C function's stack slots)", function()
    local t, n = {}, 20000
    for i = 1, n do t[string.format("k%05d", i)] = i end
    local s = assert(encode(t))
    assert.equal('{"k00001":1,"k00002":2,', s:sub(1, 23))
    local back = decode(s)
    assert.equal(n, back.k20000)
    local a = {}
    for i = 1, n do a[i] = { i } end
    assert.equal(n, decode(assert(encode(a)))[n][1])
  end)

  it("rejects mixed, sparse and oddly keyed tables, naming the problem", function()
    eerr({ 1, 2, x = 3 }, "mixes string and integer keys")
    eerr({ [1] = 1, [3] = 3 }, "sparse array")
    eerr({ [0] = 1 }, "not a positive integer")
    eerr({ [-1] = 1 }, "not a positive integer")
    eerr({ [1.5] = 1 }, "not a positive integer")
    eerr({ [true] = 1 }, "key of type boolean")
    eerr(setmetatable({ a = 1 }, core.array_mt), "array_mt")
  end)

  it("rejects functions, userdata and threads with a path", function()
    local msg = eerr({ data = { { name = print } } }, "cannot encode a function")
    assert.matches("at .data[1].name", msg, 1, true)
    eerr(coroutine.create(function() end), "cannot encode a thread")
    eerr(io.stdout, "cannot encode a userdata")
  end)

  it("names a cycle as such at any max_depth (issue 11 row 1)", function()
    local t = {}
    t.self = t
    assert.matches("at .self$", eerr(t, "cycle: a table contains itself"))
    eerr(t, "cycle", 100000)
    eerr(t, "cycle", 2147483646)
    local a = {}
    a[1] = a
    eerr(a, "cycle")
    -- a longer loop, found before the depth limit is reached
    local x, y = { n = 1 }, { n = 2 }
    x.next, y.next = y, x
    assert.matches("at %[1%]%.next%.next$", eerr({ x }, "cycle", 1000000))
    -- a table seen twice side by side is no cycle
    local shared = { 1 }
    assert.equal('{"a":[1],"b":[1]}', encode({ a = shared, b = shared }))
  end)

  it("caps the depth below what the C stack holds, whatever max_depth (issue 11 row 1)", function()
    -- 50 000 levels with max_depth up to INT_MAX used to overflow the C stack
    local deep = {}
    local cur = deep
    for _ = 1, 50000 do cur[1] = {}; cur = cur[1] end
    eerr(deep, "nesting deeper than the depth cap (4096)", 2147483646)
    eerr(deep, "nesting deeper than the depth cap (4096)", 100000)
    eerr(deep, "nesting deeper than max_depth (1000)")
    derr(string.rep("[", 50000) .. string.rep("]", 50000),
      "nesting deeper than the depth cap (4096)", 4096, 100000)
    -- the cap itself is reachable both ways
    local ok = {}
    cur = ok
    for _ = 1, 4095 do cur[1] = {}; cur = cur[1] end
    local s = assert(encode(ok, 4096))
    assert.equal(8192, #s)
    assert.is_table(decode(s, 100000))
  end)

  it("catches deep nesting with the depth limit", function()
    local deep = {}
    local cur = deep
    for _ = 1, 10 do cur[1] = {}; cur = cur[1] end
    eerr(deep, "max_depth (5)", 5) -- via the argument
    assert.is_string(encode(deep, 11))
    assert.has_error(function() encode({}, -1) end)
    assert.has_error(function() encode() end)
  end)
end)

describe("json module registration #jit", function()
  it("survives a second require (luaopen runs again) with the same array_mt and null", function()
    local saved = package.loaded["creatorapi.core"]
    package.loaded["creatorapi.core"] = nil
    local again = require "creatorapi.core"
    package.loaded["creatorapi.core"] = saved
    assert.equal(core.array_mt, again.array_mt)
    assert.equal(core.null, again.null)
    assert.equal(core.array_mt, getmetatable(again.json_decode("[1]")))
    assert.equal("[]", core.json_encode(again.json_decode("[]")))
    assert.equal("[]", again.json_encode(core.json_decode("[]")))
  end)
end)

describe("json round trip #jit", function()
  it("round-trips a KeyAPI page", function()
    local page = keyapi_page(50)
    local text = assert(encode(page))
    local back = assert(decode(text))
    assert.same(page, back)
    assert.equal(text, encode(back))
    assert.equal(core.array_mt, getmetatable(back.data))
    assert.equal(core.null, back.data[7].seller_id)
    assert.equal(2.62, back.data[1].ec_score)
    assert.equal(20250816, back.data[50].first_crawl_dt)
    if HAS_INT then
      assert.equal("integer", math.type(back.data[1].first_crawl_dt))
      assert.equal("integer", math.type(back.code))
      assert.equal("float", math.type(back.data[1].ec_score))
    end
    -- cjson reads what we write, and we read what cjson writes
    assert.same(back.data[3].nick_name, cjson.decode(text).data[3].nick_name)
    local via = assert(decode(cjson.encode(cjson.decode(text))))
    assert.equal(back.data[9].total_followers_cnt, via.data[9].total_followers_cnt)
    assert.equal(back.data[9].signature, via.data[9].signature)
  end)

  it("decodes the seed row and keeps its empty string containers as strings", function()
    local row = decode([[{"avatar":"https://p16-sign-va.tiktokcdn.com/x.jpeg?dr=10399&x-signature=jL3CBE%3D",
      "avg_30d_price":0,"ec_score":2.62,"first_crawl_dt":20250816,"influencer_video_duration_level":"{}",
      "most_category_product":"[]","seller_id":null,"total_followers_cnt":183,"user_id":"1000038"}]])
    assert.equal("{}", row.influencer_video_duration_level)
    assert.equal("[]", row.most_category_product)
    assert.equal("1000038", row.user_id)
    assert.equal(183, row.total_followers_cnt)
    assert.equal(core.null, row.seller_id)
  end)
end)

-- Number text must not follow LC_NUMERIC (mpx/lua-cjson #70, lloyd/yajl #4).
-- The check runs as a chunk, in this process when a decimal-comma locale is
-- installed, else in a child process with a locale generated by localedef
-- under LOCPATH (no root, no network). If neither is possible the test is
-- reported as pending with the reason, never silently passed.
-- LuaJIT formats numbers itself (locale-blind), so ask C's snprintf via ffi there.
local C_HALF = [==[
local function c_half()
  if jit then
    local ffi = require "ffi"
    pcall(ffi.cdef, "int snprintf(char *s, size_t n, const char *fmt, ...);")
    local buf = ffi.new("char[16]")
    ffi.C.snprintf(buf, 16, "%.1f", ffi.new("double", 0.5))
    return ffi.string(buf)
  end
  return string.format("%.1f", 0.5)
end
]==]
local c_half = assert((loadstring or load)(C_HALF .. "return c_half"))()

local LOCALE_CHECK = C_HALF .. [==[
local core = require "creatorapi.core"
local name = ...
assert(os.setlocale(name, "all"), "setlocale failed: " .. name)
assert(c_half() == "0,5", "locale " .. name .. " has no decimal comma")
local function eq(a, b) if a ~= b then error(tostring(a) .. " ~= " .. tostring(b), 2) end end
eq(core.json_decode("2.62"), 262 / 100)
eq(core.json_decode("0.1"), 1 / 10)
eq(core.json_decode("1.5e-7"), 15 / 1e8)
eq(core.json_decode("1." .. string.rep("0", 100) .. "1"), 1)       -- slow path (strtod)
eq(core.json_decode("2.2250738585072011e-308"), 2.2250738585072011e-308)
eq(core.json_decode("[0.30000000000000004]")[1], 0.1 + 0.2)
eq(core.json_encode(2.5), "2.5")
eq(core.json_encode(0.1 + 0.2), "0.30000000000000004")
eq(core.json_encode({ x = 1 / 3 }), '{"x":0.3333333333333333}')
eq(core.json_encode(1.5e-7), "1.5e-7")
os.setlocale("C", "all")
return "OK"
]==]

local COMMA_LOCALES = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8",
  "ru_RU.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8", "de_DE", "fr_FR" }

local function installed_comma_locale()
  local old = os.setlocale(nil, "all")
  for _, name in ipairs(COMMA_LOCALES) do
    if os.setlocale(name, "numeric") and c_half() == "0,5" then
      os.setlocale(old, "all")
      return name
    end
  end
  os.setlocale(old, "all")
  return nil
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

describe("json under a decimal-comma locale #jit", function()
  it("reads and writes '.' whatever LC_NUMERIC says", function()
    local name = installed_comma_locale()
    if name then
      local chunk = assert((loadstring or load)(LOCALE_CHECK))
      local ok, res = pcall(chunk, name)
      os.setlocale("C", "all")
      assert(ok, res)
      assert.equal("OK", res)
      return
    end
    -- Generate de_DE.UTF-8 into a private directory and run the check there.
    local dir = os.tmpname()
    os.remove(dir)
    local gen = os.execute("mkdir -p " .. shell_quote(dir) .. " && LD_PRELOAD= localedef -i de_DE -f UTF-8 "
      .. shell_quote(dir .. "/de_DE.UTF-8") .. " >/dev/null 2>&1")
    if not (gen == true or gen == 0) then
      os.execute("rm -rf " .. shell_quote(dir))
      pending("no decimal-comma locale installed and localedef could not generate one "
        .. "(install locales or locales-all): locale independence NOT tested")
      return
    end
    local interp = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local script = dir .. "/check.lua"
    local f = assert(io.open(script, "w"))
    f:write("package.cpath = " .. string.format("%q", package.cpath) .. "\n")
    f:write("package.path = " .. string.format("%q", package.path) .. "\n")
    f:write("local ok, res = pcall(function(...)\n" .. LOCALE_CHECK .. "\nend, 'de_DE.UTF-8')\n")
    f:write("io.write(ok and res or ('FAIL ' .. tostring(res)))\n")
    f:close()
    local p = assert(io.popen("LOCPATH=" .. shell_quote(dir) .. " " .. interp .. " " .. shell_quote(script) .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    os.execute("rm -rf " .. shell_quote(dir))
    assert.equal("OK", out)
  end)
end)
