-- Real headless Neovim (0.7, LuaJIT) driving the luv transport on vim.loop.
-- The core for LuaJIT must be built (make corejit). Fake engine until the
-- lead's core.curl_engine exists; then the same checks on the real engine.
local root = os.getenv("PWD")

local function nvim_checks(engine, extra_env, script)
  local outf = os.tmpname()
  local cmd = string.format(
    "CREATORAPI_ROOT=%q NVIM_CHECKS_OUT=%q NVIM_CHECKS_ENGINE=%s %s " ..
    "timeout 60 nvim --headless -u NONE -i NONE -n -c 'luafile %s/spec/support/%s' </dev/null >/dev/null 2>&1",
    root, outf, engine, extra_env or "", root, script or "nvim_checks.lua")
  os.execute(cmd)
  local res, f = {}, io.open(outf)
  for line in f:lines() do
    local name, st, detail = line:match("^(%S+) (%S+) ?(.*)$")
    res[name] = { ok = st == "ok", detail = detail }
  end
  f:close(); os.remove(outf)
  return res
end

-- Off CI a machine without Neovim skips these; CI installs it (.ci/deps.sh),
-- so there a missing nvim is an error, not a skip.
local function has_nvim()
  local ok = os.execute("command -v nvim >/dev/null 2>&1")
  ok = ok == true or ok == 0
  if not ok and os.getenv("CI") then error("nvim not installed, but CI must run the Neovim checks") end
  return ok
end

describe("Neovim host (fake engine)", function()
  if not has_nvim() then pending("nvim not installed"); return end
  local res = nvim_checks("fake")
  for _, name in ipairs({ "ticks", "concurrent8", "schedule", "api_after_send" }) do
    it(name, function()
      assert.is_not_nil(res[name], "check did not run: " .. name)
      assert.is_true(res[name].ok, res[name].detail)
    end)
  end
end)

describe("Neovim host (real engine + mock)", function()
  if not has_nvim() then pending("nvim not installed"); return end
  local mock = require "support.mock"
  local m = mock.start{ "--quiet" }
  local res = nvim_checks("real", string.format("CREATORAPI_MOCK_URL=%q KEYAPI_TOKEN=%q",
    m.url, mock.DEMO.keyapi_key))
  m:stop()
  for _, name in ipairs({ "ticks", "concurrent8", "schedule", "api_after_send" }) do
    it(name, function()
      assert.is_not_nil(res[name], "check did not run: " .. name)
      assert.is_true(res[name].ok, res[name].detail)
    end)
  end
end)

describe("Neovim example :CreatorSearch (examples/nvim)", function()
  if not has_nvim() then pending("nvim not installed"); return end
  local mock = require "support.mock"
  local m = mock.start{ "--quiet" }
  local res = nvim_checks("real", string.format("KEYAPI_API_BASE_URL=%q KEYAPI_TOKEN=%q",
    m.url, mock.DEMO.keyapi_key), "nvim_example.lua")
  m:stop()
  it("shows one page of influencers in a scratch buffer", function()
    assert.is_not_nil(res.example, "the example did not run")
    assert.is_true(res.example.ok, res.example.detail)
  end)
  it("reports the loop's missed ticks while the request is in flight", function()
    assert.is_not_nil(res.example_ticks)
    print("example " .. res.example_ticks.detail)
  end)
end)

describe("Neovim: the clients on transport luv (iterator, wait_task)", function()
  if not has_nvim() then pending("nvim not installed"); return end
  local mock = require "support.mock"
  local m = mock.start{ "--quiet", "--time-scale", "600" }
  local res = nvim_checks("real", string.format("CREATORAPI_MOCK_URL=%q", m.url),
    "nvim_client_checks.lua")
  m:stop()
  for _, name in ipairs({ "iterator", "wait_task", "async_all" }) do
    local r = res[name]
    it(name .. " does not freeze vim.loop", function()
      assert.is_not_nil(r, "check did not run: " .. name)
      assert.is_true(r.ok, r.detail)
    end)
  end
end)
