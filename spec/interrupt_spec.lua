-- Ctrl-C (issue 11 row 8): a SIGINT during a blocking sleep or call ends it
-- at once with the host's usual interrupt (lua.c: "interrupted!"), not when
-- the wait would have ended (30 s here); the client stays usable. The child
-- runs under `timeout 10`: a wait that ignores the signal is killed and the
-- expected lines are missing.
local mock = require "support.mock"

local sh = mock.sh

describe("SIGINT during a blocking wait", function()
  local m
  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  local function run(what)
    local out = os.tmpname()
    local lua = os.getenv("CREATORAPI_LUA") or "lua5.4"
    local cmd = string.format([[
      timeout 10 %s spec/support/interrupt_child.lua %s %s >%s 2>&1 &
      pid=$!
      i=0; while [ $i -lt 200 ] && ! grep -q ready %s; do sleep 0.05; i=$((i+1)); done
      sleep 0.4
      pkill -INT -P $pid 2>/dev/null || true
      wait $pid 2>/dev/null; cat %s]], lua, what, m.url, out, out, out)
    local text = sh(cmd)
    os.remove(out)
    return text
  end

  it("ends core.sleep(30) with the host's interrupt; other calls still work", function()
    local text = run("sleep")
    assert.truthy(text:find("interrupted false", 1, true), text)
    assert.truthy(text:find("interrupted!", 1, true), text)
    assert.truthy(text:find("usable 404", 1, true), text)
  end)

  it("ends a call the server answers 30 s late; the client stays usable", function()
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":30,"path":"/openapi/v1/collection/tasks/status"}')
    local text = run("call")
    assert.truthy(text:find("interrupted false", 1, true), text)
    assert.truthy(text:find("interrupted!", 1, true), text)
    assert.truthy(text:find("usable 404", 1, true), text)
  end)

  -- Where the host's handler does not raise (here: lua.c's hook does not reach
  -- a coroutine), the SDK itself ends the wait: core.sleep returns
  -- "interrupted", a call returns an `aborted` error.
  it("ends core.sleep early with \"interrupted\" where the host does not raise", function()
    local text = run("sleep_co")
    assert.truthy(text:find("result true interrupted", 1, true), text)
    assert.truthy(text:find("usable 404", 1, true), text)
  end)

  it("ends a call with an aborted error where the host does not raise; the client stays usable", function()
    m:curl("POST", "/_mock/faults", '{"kind":"delay","delay":30,"path":"/openapi/v1/collection/tasks/status"}')
    local text = run("call_co")
    assert.truthy(text:find("result true nil aborted", 1, true), text)
    assert.truthy(text:find("usable 404", 1, true), text)
  end)
end)
