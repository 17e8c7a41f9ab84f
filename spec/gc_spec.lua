-- Client lifetimes and the garbage collector (style anchors §2 item 16,
-- §3 item 6): weak-table checks that closed and dropped clients — the C
-- userdata from creatorapi.core and the Lua wrappers from creatorapi — are
-- collected, that results and errors do not keep a client alive, that a
-- client dropped mid-use is collected and releases its sockets, that __gc
-- after close() is harmless, and that lua_close with live clients is clean
-- (a child interpreter, under valgrind when it is installed).
-- Network errors come from 127.0.0.1:9 (discard port, nothing listens: the
-- connection is refused at once). Most blocks are tagged #jit; the <close>
-- test needs Lua 5.4 syntax.
local core = require "creatorapi.core"
local make_core_client = require "support.core_client"
local creatorapi = require "creatorapi"

local CLOSED = "http://127.0.0.1:9"
local is_jit = rawget(_G, "jit") ~= nil

local function full_gc()
  -- the first cycle runs finalisers, the next ones free what they released
  for _ = 1, 3 do collectgarbage() end
end

-- Calls make() in a frame of its own and keeps what it returns only in a
-- weak table, so nothing on this function's stack anchors it. Returns the
-- weak table and the number of objects.
local function weakly(make)
  local w = setmetatable({}, { __mode = "v" })
  local n = 0
  local function fill()
    local objs = { make() }
    for i = 1, #objs do
      n = n + 1
      w[n] = objs[i]
    end
  end
  fill()
  full_gc()
  return w, n
end

local function survivors(w, n)
  local names = {}
  for i = 1, n do
    if w[i] ~= nil then names[#names + 1] = tostring(w[i]) end
  end
  return names
end

local function core_client(extra)
  local cfg = { base_url = CLOSED, dialect = "creativault", api_key = "cv_live_gc_test_key",
                user_identity = "gc@example.com", connect_timeout = 5, timeout = 10,
                max_retries = 0 }
  for k, v in pairs(extra or {}) do cfg[k] = v end
  return make_core_client(cfg)
end

local function get(c)
  return c:request{ method = "GET", path = "/openapi/v1/nothing", query = { a = 1 } }
end

-- Open descriptors of this process (Linux), or nil elsewhere.
local function fd_count()
  local p = io.popen("ls /proc/" .. (io.open("/proc/self/stat") and "self" or "x") .. "/fd 2>/dev/null | wc -l")
  if not p then return nil end
  local n = tonumber(p:read("*a"))
  p:close()
  return n and n > 0 and n or nil
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

describe("client lifetimes and GC #jit", function()
  it("collects a closed and dropped core client", function()
    local w, n = weakly(function()
      local c = core_client()
      c:close()
      return c
    end)
    assert.same({}, survivors(w, n))
  end)

  it("collects core clients that were dropped without close() (__gc frees them)", function()
    local w, n = weakly(function()
      return core_client(), core_client{ dialect = "keyapi" }, core_client{ proxy = "" }
    end)
    assert.same({}, survivors(w, n))
  end)

  it("collects dropped creativault and keyapi clients, closed or not", function()
    local w, n = weakly(function()
      local cv1 = creatorapi.creativault{ base_url = CLOSED, api_key = "k_cv_0001", user_identity = "a@b.c" }
      local cv2 = creatorapi.creativault{ base_url = CLOSED, api_key = "k_cv_0002", user_identity = "a@b.c" }
      local ka1 = creatorapi.keyapi{ base_url = CLOSED, api_key = "k_ka_0001" }
      local ka2 = creatorapi.keyapi{ base_url = CLOSED, api_key = "k_ka_0002" }
      cv1:close()
      ka1:close()
      -- the wrapper tables and the C clients inside them
      return cv1, cv2, ka1, ka2, cv1._loop.ctx, cv2._loop.ctx, ka1._loop.ctx, ka2._loop.ctx
    end)
    assert.same({}, survivors(w, n))
  end)

  it("does not keep a client alive through the errors it returned", function()
    local kept = {}
    local w, n = weakly(function()
      local c = core_client()
      local res, err = get(c)
      assert.is_nil(res)
      assert.equal("network", err.kind)
      kept[#kept + 1] = err
      local out = c:batch{ { method = "GET", path = "/a" }, { method = "POST", path = "/b", body = { x = 1 } },
                           { method = "GET", path = "bad path" } }
      for _, slot in ipairs(out) do kept[#kept + 1] = slot.err end
      kept[#kept + 1] = out

      local cv = creatorapi.creativault{ base_url = CLOSED, api_key = "k_cv_0003", user_identity = "a@b.c",
                                         max_retries = 0 }
      local r2, e2 = cv:verify_webhook("gc")
      assert.is_nil(r2)
      assert.equal("network", e2.kind)
      kept[#kept + 1] = e2
      local ka = creatorapi.keyapi{ base_url = CLOSED, api_key = "k_ka_0003", max_retries = 0 }
      local r3, e3 = ka:influencer_list{ region = "US" }
      assert.is_nil(r3)
      kept[#kept + 1] = e3
      kept[#kept + 1] = select(2, ka:influencer_list{ region = 42 }) -- a validation error
      return c, cv, ka, cv._loop.ctx, ka._loop.ctx
    end)
    assert.same({}, survivors(w, n))
    -- the errors themselves are intact and printable
    assert.is_true(#kept >= 7)
    for _, e in ipairs(kept) do
      if getmetatable(e) == core.error_mt then
        assert.matches("^creatorapi: ", tostring(e))
        assert.is_nil(tostring(e):find("k_cv_000", 1, true))
      end
    end
  end)

  it("collects a client dropped mid-use, after network errors, and releases its sockets", function()
    local before = fd_count()
    local w, n = weakly(function()
      local list = {}
      for i = 1, 20 do
        -- with fast retries, so the backoff path runs too
        local c = core_client{ max_retries = 2, retry_base = 0.001, retry_cap = 0.002 }
        for _ = 1, 2 do
          local _, err = get(c)
          assert.equal("network", err.kind)
        end
        c:batch{ { method = "GET", path = "/x" }, { method = "GET", path = "/y" } }
        if i % 2 == 0 then list[#list + 1] = c end -- half dropped on the floor
      end
      return table.unpack and table.unpack(list) or unpack(list) -- luacheck: ignore 113
    end)
    assert.same({}, survivors(w, n))
    local after = fd_count()
    if before and after then
      -- multi handles, wakeup pipes and refused sockets are all closed again
      assert.is_true(after <= before + 2, ("descriptors: %d before, %d after"):format(before, after))
    end
  end)

  it("collects a client held by an abandoned coroutine", function()
    local w, n = weakly(function()
      local c = core_client()
      local co = coroutine.create(function()
        local cc = c
        local _, err = get(cc)
        coroutine.yield(err)
        get(cc) -- never resumed
      end)
      local ok, err = coroutine.resume(co)
      assert.is_true(ok)
      assert.equal("network", err.kind)
      return c, co
    end)
    assert.same({}, survivors(w, n))
  end)

  it("collects a wrapper whose logger closes over the wrapper itself", function()
    local w, n = weakly(function()
      local cv
      cv = creatorapi.creativault{ base_url = CLOSED, api_key = "k_cv_0004", user_identity = "a@b.c",
                                   max_retries = 0, logger = function() return cv end }
      cv:verify_webhook("gc")
      return cv, cv._loop.ctx
    end)
    assert.same({}, survivors(w, n))
  end)

  it("makes close() idempotent and __gc after close() harmless (context and engine)", function()
    local c = core_client()
    get(c)
    local ctx, eng = c.loop.ctx, c.loop.curl.eng
    assert.is_userdata(eng)
    for _, obj in ipairs{ ctx, eng } do
      local mt = getmetatable(obj)
      assert.is_function(mt.__gc)
      if _VERSION == "Lua 5.4" then assert.is_function(mt.__close) end
    end
    c:close()
    c:close()
    for _, obj in ipairs{ ctx, eng } do
      local mt = getmetatable(obj)
      mt.__gc(obj)            -- what the collector will do again later
      mt.__gc(obj)
      obj:close()
    end
    assert.matches("closed", tostring(ctx))
    assert.has_error(function() get(c) end)
    assert.has_error(function() c:batch{} end)
    assert.has_error(function() ctx:prepare{ method = "GET", path = "/x" } end)
    assert.has_error(function() eng:perform(0) end)
    -- a never-used context and engine too, and then let the collector finalise all
    local fresh, feng = core.context{ base_url = CLOSED, dialect = "keyapi" }, core.curl_engine{}
    getmetatable(fresh).__gc(fresh)
    getmetatable(feng).__gc(feng)
    assert.matches("closed", tostring(fresh))
    local w = setmetatable({ c, fresh, ctx, eng, feng }, { __mode = "v" })
    c, fresh, ctx, eng, feng = nil, nil, nil, nil, nil -- luacheck: ignore 311
    full_gc()
    for i = 1, 5 do assert.is_nil(w[i]) end
  end)

  it("survives many short-lived clients under repeated collections", function()
    local w, n = weakly(function()
      local out = {}
      for i = 1, 200 do
        local c = core_client{ dialect = i % 2 == 0 and "keyapi" or "creativault" }
        if i % 3 == 0 then c:close() end
        if i % 50 == 0 then collectgarbage() end
        out[#out + 1] = c
      end
      return table.unpack and table.unpack(out) or unpack(out) -- luacheck: ignore 113
    end)
    assert.same({}, survivors(w, n))
  end)
end)

describe("results and the mock API #jit", function()
  local mock = require "support.mock"
  local m

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  it("does not keep a client alive through its results", function()
    local kept = {}
    local w, n = weakly(function()
      local c = make_core_client{ base_url = m.url, dialect = "creativault" }
      local res, err = c:request{ method = "POST", path = "/openapi/v1/webhook/verify",
                                  body = { challenge = "gc" }, auth = "none" }
      assert.is_nil(err)
      assert.equal(200, res.status)
      kept[#kept + 1] = res
      local out = c:batch{ { method = "POST", path = "/openapi/v1/webhook/verify", body = { challenge = "a" },
                             auth = "none" },
                           { method = "POST", path = "/openapi/v1/webhook/verify", body = { challenge = "b" },
                             auth = "none" } }
      kept[#kept + 1] = out

      local cv = creatorapi.creativault{ base_url = m.url, api_key = mock.DEMO.cv_key,
                                         user_identity = mock.DEMO.cv_identity }
      local r2 = assert(cv:verify_webhook("gc2"))
      kept[#kept + 1] = r2
      local r3 = cv:search_tiktok{ keyword = "beauty", size = 5 }
      kept[#kept + 1] = r3
      local ka = creatorapi.keyapi{ base_url = m.url, api_key = mock.DEMO.keyapi_key }
      kept[#kept + 1] = ka:influencer_list{ region = "US" }
      return c, cv, ka, cv._loop.ctx, ka._loop.ctx
    end)
    assert.same({}, survivors(w, n))
    assert.equal(200, kept[1].status)
    assert.equal(2, #kept[2])
    full_gc()
    -- results stay readable after their client is gone
    assert.is_table(kept[1].headers)
    assert.is_table(kept[3].meta)
  end)
end)

describe("lua_close with live clients #jit", function()
  -- The suite's own interpreter: build-asan/asan-lua under `make asan`
  -- (CREATORAPI_LUA), else lua5.4 or luajit. The script goes through a file:
  -- asan-lua has no -e.
  local interp = os.getenv("CREATORAPI_LUA") or (is_jit and "luajit" or "lua5.4")
  local script = [[
    local core = require "creatorapi.core"
    local creatorapi = require "creatorapi"
    local keep = {}
    for i = 1, 5 do
      -- a context and an engine with a transfer still in flight, and one done
      local ctx = core.context{ base_url = "http://127.0.0.1:9", dialect = i % 2 == 0 and "keyapi" or "creativault",
                                api_key = "k_live_000" .. i, connect_timeout = 5, max_retries = 0 }
      local eng = core.curl_engine{}
      local p = assert(ctx:prepare{ method = "GET", path = "/x" })
      assert(eng:add(ctx, p))
      local done = {}
      while #done == 0 do done = eng:perform(0.1) end
      local _, err = ctx:parse(p, done[1].raw)
      assert(eng:add(ctx, p))
      keep[#keep + 1] = ctx
      keep[#keep + 1] = eng
      keep[#keep + 1] = err
    end
    keep[#keep + 1] = creatorapi.creativault{ base_url = "http://127.0.0.1:9", api_key = "k1_abcdef",
                                               user_identity = "a@b.c" }
    keep[#keep + 1] = creatorapi.keyapi{ base_url = "http://127.0.0.1:9", api_key = "k2_abcdef" }
    local closed = core.context{ base_url = "http://127.0.0.1:9", dialect = "keyapi" }
    closed:close()
    keep[#keep + 1] = closed
    KEEP_GLOBAL = keep -- still referenced when the interpreter calls lua_close
    io.write("ok\n")
  ]]

  local function run(prefix)
    local file, out = os.tmpname(), os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(script)
    f:close()
    local cmd = ("%s%s %s >%s 2>&1"):format(prefix, shell_quote(interp), shell_quote(file), shell_quote(out))
    local ok, _, code = os.execute(cmd)
    if type(ok) == "number" then code = ok; ok = ok == 0 end -- LuaJIT without 5.2 compat
    f = io.open(out)
    local text = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(file)
    os.remove(out)
    return ok, code, text
  end

  local function have_valgrind()
    local ok = os.execute("command -v valgrind >/dev/null 2>&1")
    return ok == true or ok == 0
  end

  it("exits 0 when the state is closed with clients still open", function()
    local ok, code, text = run("")
    assert.is_true(ok, ("exit status %s:\n%s"):format(tostring(code), text))
    assert.equal("ok\n", text)
  end)

  it("is clean under valgrind (when installed; not for a sanitizer build)", function()
    if os.getenv("CREATORAPI_SANITIZER") or not have_valgrind() then
      pending("valgrind not installed, or the suite runs under a sanitizer")
      return
    end
    local ok, code, text = run("valgrind --quiet --error-exitcode=99 --leak-check=full "
      .. "--errors-for-leak-kinds=definite ")
    assert.is_true(ok, ("valgrind exit status %s:\n%s"):format(tostring(code), text))
    assert.equal("ok\n", text)
  end)
end)

if _VERSION == "Lua 5.4" then
  describe("to-be-closed clients (Lua 5.4)", function()
    -- `hold` keeps the client reachable until the test has looked at it;
    -- then only the weak table refers to it.
    local function release(hold)
      local w = setmetatable({ hold[1] }, { __mode = "v" })
      hold[1] = nil
      full_gc()
      return w
    end

    it("closes a <close> client at scope exit and collects it afterwards", function()
      local chunk = assert(load([[
        local make_core_client, url, hold = ...
        do
          local c <close> = make_core_client{ base_url = url, dialect = "creativault", max_retries = 0 }
          hold[1] = c
          c:request{ method = "GET", path = "/x" }
        end
      ]]))
      local hold = {}
      chunk(make_core_client, CLOSED, hold)
      assert.matches("closed", tostring(hold[1]))
      assert.is_nil(release(hold)[1])
    end)

    it("closes a <close> client when the scope is left by an error", function()
      local chunk = assert(load([[
        local make_core_client, url, hold = ...
        local c <close> = make_core_client{ base_url = url, dialect = "keyapi", max_retries = 0 }
        hold[1] = c
        error("boom")
      ]]))
      local hold = {}
      local ok, err = pcall(chunk, make_core_client, CLOSED, hold)
      assert.is_false(ok)
      assert.matches("boom", err)
      assert.matches("closed", tostring(hold[1]))
      assert.is_nil(release(hold)[1])
    end)
  end)
end
