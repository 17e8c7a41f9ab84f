-- NaN and ±inf in numeric options (issue 11 row 10): every one is refused
-- before anything is sent or waited for. Before, NaN passed the `< 0` checks:
-- wait_task's `failures >= NaN` never held (an endless poll loop on a dead
-- host, each round spending limiter tokens and sleeping up to 60 s: the
-- "hang"), download retried forever, and a NaN sleep raised a raw error.
-- The client points at a closed port (127.0.0.1:9): a check that lets a
-- value through shows up as a network error or as the guard below.
local creatorapi = require "creatorapi"

local NAN, INF = 0 / 0, math.huge
local BAD = { { "NaN", NAN }, { "inf", INF }, { "-inf", -INF } }
local DEAD = "http://127.0.0.1:9"

-- A sleep that fails the test instead of letting an endless loop hang it.
local function guard()
  local n = 0
  return function()
    n = n + 1
    if n > 3 then error("endless loop: slept " .. n .. " times", 0) end
  end
end

local function client(extra)
  local o = { base_url = DEAD, api_key = "cv_live_x_0001", user_identity = "a@b.c",
              max_retries = 0, rate_limit = false }
  for k, v in pairs(extra or {}) do o[k] = v end
  return creatorapi.creativault(o)
end

describe("non-finite numeric options #jit", function()
  local cv
  setup(function() cv = client() end)
  teardown(function() cv:close() end)

  for _, opt in ipairs({ "interval", "max_interval", "factor", "jitter", "timeout", "max_poll_failures" }) do
    for _, b in ipairs(BAD) do
      it("wait_task refuses opts." .. opt .. " = " .. b[1], function()
        local st, err = cv:wait_task("t-1", { [opt] = b[2], sleep = guard() })
        assert.is_nil(st)
        assert.equal("validation", err.kind, tostring(err))
        assert.equal("opts." .. opt, err.field)
        assert.equal(0, err.attempts)
        assert.equal(0, cv:stats().requests)
      end)
    end
  end

  for _, b in ipairs({ BAD[1], BAD[2], BAD[3], { "0.5", 0.5 }, { "0", 0 } }) do
    it("download refuses opts.max_attempts = " .. b[1], function()
      local c = client()
      c._loop.sleep = guard()
      local r, err = c:download({ file_url = DEAD .. "/f.bin" }, os.tmpname(), { max_attempts = b[2] })
      c:close()
      assert.is_nil(r)
      assert.equal("validation", err.kind, tostring(err))
      assert.equal("opts.max_attempts", err.field)
    end)
  end

  for _, b in ipairs(BAD) do
    for _, opt in ipairs({ "timeout", "connect_timeout" }) do
      it("download refuses opts." .. opt .. " = " .. b[1], function()
        local c = client()
        c._loop.sleep = guard()
        local r, err = c:download({ file_url = DEAD .. "/f.bin" }, os.tmpname(), { [opt] = b[2], max_attempts = 1 })
        c:close()
        assert.is_nil(r)
        assert.equal("validation", err.kind, tostring(err))
      end)
      it("a call refuses call option " .. opt .. " = " .. b[1], function()
        local res, err = cv:search_tiktok({ keyword = "a" }, { [opt] = b[2] })
        assert.is_nil(res)
        assert.equal("validation", err.kind, tostring(err))
        assert.equal(0, err.attempts)
      end)
    end
  end

  local CLIENT_NUMBERS = { "timeout", "connect_timeout", "max_body", "max_depth", "max_retries",
    "retry_base", "retry_cap", "max_retry_after", "low_speed_limit", "low_speed_time", "max_credits" }
  for _, opt in ipairs(CLIENT_NUMBERS) do
    for _, b in ipairs(BAD) do
      it("a client refuses option " .. opt .. " = " .. b[1], function()
        local ok, msg = pcall(client, { [opt] = b[2] })
        assert.is_false(ok)
        assert.truthy(tostring(msg):find(opt, 1, true), tostring(msg))
      end)
    end
  end

  for _, b in ipairs(BAD) do
    it("a client refuses rate_limit and qps = " .. b[1], function()
      assert.is_false((pcall(client, { rate_limit = { requests = b[2], per = 1 } })))
      assert.is_false((pcall(client, { rate_limit = { requests = 1, per = b[2] } })))
      assert.is_false((pcall(creatorapi.keyapi, { base_url = DEAD, api_key = "k_0001", qps = b[2] })))
    end)
  end
end)
