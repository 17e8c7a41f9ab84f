-- creatorapi.core helpers without a network: encode_query (src/query.c),
-- hmac_sha256 / sha256 / constant_time_equal (src/hmac.c), sleep / monotonic
-- (src/util.c), error tables (src/error.c), module fields (src/core.c).
local core = require "creatorapi.core"

local HAS_INT = math.type ~= nil

describe("core.encode_query #jit", function()
  local q = core.encode_query

  it("sorts keys and joins with &", function()
    assert.equal("a=1&b=2&c=3", q { c = 3, a = 1, b = 2 })
    assert.equal("", q {})
    -- byte order: upper case before lower case, shorter prefix first
    assert.equal("B=1&a=2&ab=3", q { ab = 3, a = 2, B = 1 })
  end)

  it("sorts as many keys as it is given (a few in C, more through a Lua array)", function()
    for _, n in ipairs({ 1, 31, 32, 33, 200 }) do
      local t, want = {}, {}
      for i = 1, n do t[string.format("k%03d", i)] = n - i end
      for i = 1, n do want[i] = string.format("k%03d=%d", i, n - i) end
      assert.equal(table.concat(want, "&"), q(t))
    end
    -- a key that is not a string: a validation error on both paths
    local s, err = q { a = 1, [2] = "x" }
    assert.is_nil(s)
    assert.equal("validation", err.kind)
    local big = { [true] = 1 }
    for i = 1, 40 do big["k" .. i] = i end
    s, err = q(big)
    assert.is_nil(s)
    assert.equal("validation", err.kind)
  end)

  it("keeps RFC 3986 unreserved characters and percent-encodes the rest", function()
    assert.equal("k=AZaz09-._~", q { k = "AZaz09-._~" })
    assert.equal("k=a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25i%2Cj", q { k = "a b+c&d=e/f?g#h%i,j" })
    assert.equal("k=%C3%A9%E4%B8%AD", q { k = "é中" })
    assert.equal("k=%00%0D%0A", q { k = "\0\r\n" })
    assert.equal("a%20key=1", q { ["a key"] = 1 })
  end)

  it("writes booleans, integers and integral floats without .0", function()
    assert.equal("f=false&t=true", q { t = true, f = false })
    assert.equal("n=183", q { n = 183.0 })
    assert.equal("n=183", q { n = 183 })
    assert.equal("n=-42", q { n = -42.0 })
    assert.equal("n=0", q { n = 0.0 })
    assert.equal("n=1e%2B20", q { n = 1e20 }) -- beyond 2^63: float form
  end)

  if HAS_INT then
    it("keeps 64-bit integers exact (5.3+)", function()
      assert.equal("n=9007199254740993", q { n = 9007199254740993 })
      assert.equal("n=-9223372036854775808", q { n = math.mininteger })
    end)
  end

  it("writes other floats as the shortest round-trip form with '.'", function()
    assert.equal("x=0.1", q { x = 0.1 })
    assert.equal("x=1.5", q { x = 1.5 })
    assert.equal("x=0.30000000000000004", q { x = 0.1 + 0.2 })
    assert.equal("x=-2.5e-07", q { x = -2.5e-7 })
    assert.equal("x=1e%2B300", q { x = 1e300 })
    for _, v in ipairs({ 0.1, 1 / 3, 2 / 3, 1e-300, 123456.789, 5e-324 }) do
      local s = q { x = v }:match("^x=(.*)$"):gsub("%%2B", "+")
      assert.equal(v, tonumber(s))
    end
  end)

  it("uses '.' whatever LC_NUMERIC says", function()
    local check = [[
      local core = require "creatorapi.core"
      local name = assert(os.setlocale("de_DE.UTF-8", "numeric"), "locale not available")
      -- (LuaJIT formats numbers itself, so only PUC Lua shows the comma)
      assert(jit or tostring(1.5) == "1,5", "locale has no decimal comma: " .. tostring(1.5))
      local s = core.encode_query { x = 1.5, y = 0.25, z = 183.0 }
      assert(s == "x=1.5&y=0.25&z=183", s)
    ]]
    if os.setlocale("de_DE.UTF-8", "numeric") then
      local ok, err = pcall(assert(load(check)))
      os.setlocale("C", "numeric")
      assert(ok, err)
      return
    end
    -- No comma locale installed: build one with localedef into a temp dir and
    -- run the check in a child interpreter with LOCPATH pointing at it.
    local dir = os.tmpname()
    os.remove(dir)
    local built = os.execute("mkdir -p " .. dir .. " && localedef -i de_DE -f UTF-8 " .. dir ..
      "/de_DE.UTF-8 >/dev/null 2>&1")
    if not (built == true or built == 0) then
      os.execute("rm -rf " .. dir)
      pending("no de_DE locale and localedef failed")
      return
    end
    local interp = jit and "luajit" or "lua5.4"
    local cpath_var = jit and "LUA_CPATH" or "LUA_CPATH_5_4"
    local script = dir .. "/check.lua"
    local f = assert(io.open(script, "w"))
    f:write(check)
    f:close()
    local ok = os.execute(string.format("LOCPATH=%s %s='%s' %s %s", dir, cpath_var, package.cpath, interp, script))
    os.execute("rm -rf " .. dir)
    assert.is_true(ok == true or ok == 0, "encode_query under de_DE.UTF-8 failed")
  end)

  it("drops creatorapi.null and empty arrays, joins arrays with ','", function()
    assert.equal("a=1", q { a = 1, b = core.null })
    assert.equal("a=1", q { a = 1, e = {} })
    assert.equal("ids=1,2,3", q { ids = { 1, 2, 3 } })
    assert.equal("tags=a%2Cb,c%20d,true,1.5,7", q { tags = { "a,b", "c d", true, 1.5, 7.0 } })
  end)

  it("returns nil and a validation error naming the key for other types", function()
    local cases = {
      { { f = print }, "f" }, { { t = { a = 1 } }, "t" }, { { t = { 1, { 2 } } }, "t" },
      { { t = { 1, nil, 3 } }, "t" }, { { n = 0 / 0 }, "n" }, { { n = math.huge }, "n" },
      { { u = io.stdout }, "u" }, { { arr = { 1, core.null } }, "arr" },
    }
    for i, case in ipairs(cases) do
      local s, err = q(case[1])
      assert.is_nil(s, "case " .. i)
      assert.equal(core.error_mt, getmetatable(err))
      assert.equal("validation", err.kind)
      assert.equal(case[2], err.field, "case " .. i)
      assert.matches("'" .. case[2] .. "'", err.message, 1, true)
      assert.is_false(err.retryable)
    end
    local s, err = q { [1] = "x" }
    assert.is_nil(s)
    assert.equal("validation", err.kind)
    assert.has_error(function() q("a=1") end)
  end)
end)

describe("core HMAC and hashing #jit", function()
  it("computes RFC 4231 HMAC-SHA256 vectors", function()
    assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      core.hmac_sha256(string.rep("\11", 20), "Hi There"))
    assert.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      core.hmac_sha256("Jefe", "what do ya want for nothing?"))
    -- key longer than the block size (131 bytes), test case 6
    assert.equal("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      core.hmac_sha256(string.rep("\170", 131), "Test Using Larger Than Block-Size Key - Hash Key First"))
    assert.equal("b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", core.hmac_sha256("", ""))
  end)

  it("handles binary data with NUL bytes", function()
    local a = core.hmac_sha256("k\0ey", "m\0sg")
    assert.not_equal(a, core.hmac_sha256("k", "m"))
    assert.matches("^[0-9a-f]+$", a)
    assert.equal(64, #a)
  end)

  it("computes SHA-256", function()
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256(""))
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256("abc"))
    assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      core.sha256(string.rep("a", 1000000)))
  end)

  it("compares in constant time and returns booleans", function()
    assert.is_true(core.constant_time_equal("", ""))
    assert.is_true(core.constant_time_equal("abc", "abc"))
    assert.is_false(core.constant_time_equal("abc", "abd"))
    assert.is_false(core.constant_time_equal("abc", "ab"))
    assert.is_false(core.constant_time_equal("a\0b", "a\0c"))
    assert.has_error(function() core.constant_time_equal("a", nil) end)
  end)
end)

describe("core errors #jit", function()
  it("new_error sets error_mt and fills retryable from the kind", function()
    local t = { kind = "server", message = "x" }
    local e = core.new_error(t)
    assert.equal(t, e)
    assert.equal(core.error_mt, getmetatable(e))
    assert.is_true(e.retryable)
    assert.is_false(core.new_error({ kind = "quota" }).retryable)
    assert.is_false(core.new_error({ kind = "tls" }).retryable)
    assert.is_true(core.new_error({ kind = "timeout" }).retryable)
    assert.is_false(core.new_error({ kind = "network", retryable = false }).retryable)
    -- the transport's own kinds are never retryable as they are
    for _, kind in ipairs({ "unknown_outcome", "aborted", "io" }) do
      assert.is_false(core.new_error({ kind = kind }).retryable, kind)
    end
  end)

  it("prints kind, status, code, request id, message and retry delay", function()
    assert.equal("creatorapi: rate_limited (HTTP 429, code 42901, request_id req_x): slow (retry after 60 s)",
      tostring(core.new_error { kind = "rate_limited", status = 429, code = 42901, request_id = "req_x",
        message = "slow", retry_after = 60 }))
    assert.equal("creatorapi: timeout (curl 28): Operation timed out",
      tostring(core.new_error { kind = "timeout", curl_code = 28, message = "Operation timed out" }))
    assert.equal("creatorapi: validation: bad", tostring(core.new_error { kind = "validation", message = "bad" }))
    assert.equal("creatorapi: error", tostring(core.new_error {}))
    -- odd field types never make __tostring raise
    assert.is_string(tostring(core.new_error { kind = {}, status = {}, message = true }))
  end)

  it("never prints fields other than the documented ones", function()
    local e = core.new_error { kind = "auth", message = "m", api_key = "cv_live_SECRET",
      headers = { ["x-api-key"] = "cv_live_SECRET" }, url = "https://h/?key=cv_live_SECRET",
      body_excerpt = "cv_live_SECRET?", field = "x" }
    assert.is_nil(tostring(e):find("SECRET", 1, true))
  end)
end)

describe("core module #jit", function()
  it("exposes version, curl version, null and the documented functions", function()
    assert.equal("0.1.0", core._VERSION)
    assert.matches("^%d+%.%d+%.%d+", core.curl_version)
    assert.equal("userdata", type(core.null))
    for _, name in ipairs({ "context", "curl_engine", "limiter", "http_response",
                            "encode_query", "hmac_sha256", "sha256", "constant_time_equal",
                            "sleep", "monotonic", "new_error", "json_encode", "json_decode" }) do
      assert.is_function(core[name], name)
    end
    assert.is_table(core.error_mt)
  end)

  it("sleeps and measures time monotonically", function()
    local t0 = core.monotonic()
    core.sleep(0.05)
    local dt = core.monotonic() - t0
    assert.is_true(dt >= 0.049 and dt < 1, tostring(dt))
    core.sleep(0)
    assert.has_error(function() core.sleep(-1) end)
    assert.has_error(function() core.sleep("x") end)
  end)

  it("can be required again in the same process", function()
    package.loaded["creatorapi.core"] = nil
    local again = require "creatorapi.core"
    assert.not_equal(core, again)
    assert.equal(core.error_mt, again.error_mt)
    assert.equal(core.null, again.null)
    package.loaded["creatorapi.core"] = core
  end)
end)

describe("ctx:parse header blocks #jit", function()
  local ctx = core.context{ base_url = "http://127.0.0.1:1", dialect = "keyapi", api_key = "kapi_spec_key_0001" }
  local p = assert(ctx:prepare{ method = "GET", path = "/h" })
  local body = '{"code":0,"message":"success","data":[],"requestId":"r1"}'

  local function headers(block)
    return assert(ctx:parse(p, { status = 200, headers = block, body = body })).headers
  end

  it("lower-cases names, joins repeated ones, and holds as many as the answer has", function()
    local h = headers("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Type: application/json\r\nx-a:  2 \r\n\r\n")
    assert.same({ ["x-a"] = "1, 2", ["content-type"] = "application/json" }, h)
    assert.same({}, headers("HTTP/1.1 200 OK\r\n\r\n"))
    assert.same({}, headers("HTTP/1.1 200 OK"))
    local lines, want = { "HTTP/1.1 200 OK" }, {}
    for i = 1, 40 do
      lines[#lines + 1] = "X-H" .. i .. ": v" .. i
      want["x-h" .. i] = "v" .. i
    end
    assert.same(want, headers(table.concat(lines, "\r\n") .. "\r\n\r\n"))
    assert.same(want, headers(table.concat(lines, "\n")))   -- bare LF, no final newline
  end)
end)
