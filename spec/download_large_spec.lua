-- A 200 MB download streams to disk: memory stays flat, the bytes and the
-- SHA-256 are right, and the .part file is renamed at the end.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local socket = require "socket"

local SIZE = 200 * 1024 * 1024

local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

local function rss_kb()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

describe("large download #slow", function()
  local dir, pid, url

  setup(function()
    dir = sh("mktemp -d"):match("^(%S+)")
    sh(string.format("mkdir -p %s/srv && truncate -s %d %s/srv/big.bin && printf 'end' >> %s/srv/big.bin",
      dir, SIZE, dir, dir))
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    pid = tonumber(sh(string.format("python3 -m http.server %d --bind 127.0.0.1 --directory %s/srv "
      .. ">/dev/null 2>&1 & echo $!", port, dir)))
    url = string.format("http://127.0.0.1:%d/big.bin", port)
    for _ = 1, 200 do
      if sh("curl -s -I -o /dev/null -w '%{http_code}' " .. url) == "200" then break end
      core.sleep(0.05)
    end
  end)

  teardown(function()
    if pid then os.execute("kill " .. pid) end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("keeps memory flat for 200 MB and checks the result", function()
    local cv = creatorapi.creativault{ base_url = "http://127.0.0.1:9", api_key = "k", user_identity = "a@b.c" }
    collectgarbage()
    local rss0, heap0 = rss_kb(), collectgarbage("count")
    local calls = 0
    local out, err = cv:download({ file_url = url, file_name = "big.bin" }, dir .. "/big.bin",
      { on_progress = function() calls = calls + 1 end })
    assert.is_nil(err, tostring(err))
    assert.equal(SIZE + 3, out.bytes)
    local want = sh("sha256sum " .. dir .. "/srv/big.bin"):match("^(%x+)")
    assert.equal(want, out.sha256)
    assert.is_nil(io.open(dir .. "/big.bin.part"))
    collectgarbage()
    local rss1, heap1 = rss_kb(), collectgarbage("count")
    print(string.format("\n200 MB download: RSS %d -> %d KB, Lua heap %.0f -> %.0f KB, %d progress calls",
      rss0, rss1, heap0, heap1, calls))
    if not os.getenv("CREATORAPI_SANITIZER") then
      assert.is_true(rss1 - rss0 < 32 * 1024, "RSS grew by more than 32 MB")
    end
    assert.is_true(heap1 - heap0 < 1024, "Lua heap grew by more than 1 MB")
    cv:close()
  end)
end)
