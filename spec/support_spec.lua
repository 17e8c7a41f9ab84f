-- The specs' own helpers, where a mistake would show up only as a rare flake.
local peer = require "support.peer"
local socket = require "socket"

describe("spec support: peer.free_port", function()
  -- The kernel picks bind(0) ports at random and reuses released ones: over a
  -- few thousand calls plain bind-and-close repeats hundreds of ports, and one
  -- repeat was enough for nginx to get its plain and TLS ports equal in CI.
  it("never hands out the same port twice in one process", function()
    local seen, n = {}, 0
    for _ = 1, 1000 do
      local p = peer.free_port()
      assert.is_nil(seen[p], "port " .. p .. " handed out twice")
      seen[p] = true
      n = n + 1
    end
    assert.equal(1000, n)
  end)

  it("hands out a port nothing listens on", function()
    local p = peer.free_port()
    local s = assert(socket.bind("127.0.0.1", p))
    s:close()
  end)
end)
