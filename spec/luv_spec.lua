-- The luv transport and host driver (issue 7). Runs under lua5.4 and luajit
-- with Debian's lua-luv. The "fake engine" block tests the uv-side logic
-- (polls, timer, fd reuse, abandon) against spec/support/fake_engine.lua;
-- the "real engine" block needs core.curl_engine (lead's engine) + the mock.
local uv = require "luv"
local host = require "creatorapi.async.luv"
local luvt = require "creatorapi.transport.luv"
local fake = require "support.fake_engine"

local CTX = { config = function() return { max_body = 1e6 } end }

local function run(fn) return host.run(fn) end

describe("luv transport on a fake engine #jit", function()
  local eng
  before_each(function()
    luvt._reset(function() eng = fake.new(); return eng end)
  end)
  after_each(function() luvt._reset(nil) end)

  it("send outside a coroutine is a clear error", function()
    local t = luvt.new(CTX)
    assert.is_false(t:available())
    assert.has_error(function() t:send({}) end)
  end)

  it("runs 8 concurrent sends in about one delay", function()
    local t = luvt.new(CTX)
    local got, t0 = {}, uv.hrtime()
    local tasks = {}
    for i = 1, 8 do
      tasks[i] = host.spawn(function()
        assert.is_true(t:available())
        got[i] = t:send({ delay = 0.2, body = "b" .. i }).body
      end)
    end
    host.run_until(function()
      for i = 1, 8 do if not tasks[i].done then return false end end
      return true
    end, 5)
    local el = (uv.hrtime() - t0) / 1e9
    for i = 1, 8 do assert.equal("b" .. i, got[i]); assert.is_true(tasks[i].ok) end
    assert.is_true(el >= 0.19 and el < 0.45, "elapsed " .. el)
    assert.equal(0, eng:count())
  end)

  it("waits on real fds: poll interest, remove, fd reuse gets a new handle", function()
    local t = luvt.new(CTX)
    local made, real_new_poll = {}, uv.new_poll
    uv.new_poll = function(fd)
      local hd = real_new_poll(fd)
      made[#made + 1] = { fd = fd, handle = hd }
      return hd
    end
    local ok, body = pcall(run, function()
      local out = {}
      for i = 1, 3 do
        local p = { pipe = true }
        local w = uv.new_timer()
        w:start(20, 0, function() w:close(); uv.fs_write(p.pipe_w, "x" .. i, -1) end)
        out[i] = t:send(p).body
        assert(next(luvt._state().polls) == nil, "poll handle left after remove")
      end
      return table.concat(out, ",")
    end)
    uv.new_poll = real_new_poll
    assert.is_true(ok, body)
    assert.equal("x1,x2,x3", body)
    assert.equal(3, #made)                        -- one new handle per transfer
    assert.equal(made[1].fd, made[3].fd)          -- the fd number was reused
    assert.are_not.equal(made[1].handle, made[3].handle)
    assert.is_true(made[1].handle:is_closing())
  end)

  it("a poll error is passed on as readable + writable", function()
    local t = luvt.new(CTX)
    local cbs, real_new_poll = {}, uv.new_poll
    uv.new_poll = function(fd)
      local hd = real_new_poll(fd)
      return setmetatable({}, { __index = function(_, k)
        if k == "start" then
          return function(_, ev, cb) cbs[#cbs + 1] = cb; return hd:start(ev, cb) end
        end
        return function(_, ...) return hd[k](hd, ...) end
      end })
    end
    local ok, body = pcall(run, function()
      local p = { pipe = true }
      local w = uv.new_timer()
      w:start(10, 0, function()
        w:close()
        uv.fs_write(p.pipe_w, "e", -1)
        cbs[1]("EBADF: simulated", nil)  -- what luv passes on a poll error
      end)
      return t:send(p).body
    end)
    uv.new_poll = real_new_poll
    assert.is_true(ok, body)
    assert.equal("e", body)
    assert.same({ r = true, w = true }, { r = eng.last_action.r, w = eng.last_action.w })
  end)

  it("an engine that cannot add returns a failure raw, never raises", function()
    local t = luvt.new(CTX)
    local raw = run(function() return t:send({ fail = true }) end)
    assert.equal("network", raw.kind)
    assert.is_false(raw.sent)
    assert.matches("cannot add", raw.message)
  end)

  it("sleep yields to the loop: a 10 ms timer keeps ticking", function()
    local t = luvt.new(CTX)
    local ticks, tick = 0, uv.new_timer()
    tick:start(10, 10, function() ticks = ticks + 1 end)
    local t0 = uv.hrtime()
    run(function() t:sleep(0.3) end)
    tick:stop(); tick:close()
    local el = (uv.hrtime() - t0) / 1e9
    assert.is_true(el >= 0.25, "slept " .. el) -- uv timers round to ms and start from the cached loop time
    assert.is_true(ticks >= 25, "ticks " .. ticks)
  end)

  it("an abandoned coroutine frees its transfer", function()
    local t = luvt.new(CTX)
    local co = coroutine.create(function() t:send({ delay = 10 }) end)
    assert.is_true(coroutine.resume(co))
    assert.equal(1, eng:count())
    co = nil -- luacheck: ignore 311
    collectgarbage(); collectgarbage()
    -- the next engine entry performs the queued remove
    run(function() t:send({ delay = 0.01 }) end)
    assert.equal(0, eng:count())
    assert.equal(1, #eng.removed)
  end)

  it("an error in a resumed coroutine does not escape into the uv loop", function()
    local t = luvt.new(CTX)
    local res
    host.spawn(function() t:send({ delay = 0.01 }); error("boom") end,
      function(ok, err) res = { ok, err } end)
    host.run_until(function() return res ~= nil end, 2)
    assert.is_false(res[1])
    assert.matches("boom", res[2])
  end)
end)
