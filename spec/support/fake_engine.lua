--- A socket-mode stand-in for core.curl_engine (the uv-side tests run before
--- the lead's engine lands). p.delay (s): completes by timer; p.pipe: the
--- transfer waits on the read end of a real pipe (fd interest "in"); the test
--- writes to p.pipe_w. Completed raw: { status = 200, body = p.body or "ok" }.
local uv = require("creatorapi.async.luv").uv()
local M = {}

function M.new()
  local eng = { transfers = {}, next_id = 0, socks = {}, tmo = nil,
    removed = {}, adds = 0 }
  local T = eng.transfers

  local function retime()
    local best
    for _, t in pairs(T) do
      if t.deadline then
        local ms = math.max(0, (t.deadline - uv.hrtime()) / 1e6)
        best = best and math.min(best, ms) or ms
      end
    end
    eng.tmo = best and math.ceil(best) or -1
  end

  function eng:add(_ctx, p)
    if p.fail then error("fake: cannot add") end
    self.next_id, self.adds = self.next_id + 1, self.adds + 1
    local id = self.next_id
    local t = { id = id, p = p }
    if p.pipe then
      local fds = assert(uv.pipe({ nonblock = true }, { nonblock = true }))
      t.fd, p.pipe_w = fds.read, fds.write
      self.socks[#self.socks + 1] = { fd = t.fd, what = "in" }
    else
      t.deadline = uv.hrtime() + (p.delay or 0) * 1e9
    end
    T[id] = t
    retime()
    return id
  end

  local function close(t)
    T[t.id] = nil
    if t.fd then
      eng.socks[#eng.socks + 1] = { fd = t.fd, what = "remove" }
      uv.fs_close(t.fd); uv.fs_close(t.p.pipe_w)
    end
  end

  function eng:remove(id)
    if T[id] then self.removed[#self.removed + 1] = id; close(T[id]) end
    retime()
  end

  function eng:timeout_action()
    local done, now = {}, uv.hrtime()
    for id, t in pairs(T) do
      if t.deadline and t.deadline <= now then
        close(t)
        done[#done + 1] = { id = id, raw = { status = 200, body = t.p.body or "ok" } }
      end
    end
    retime()
    return done
  end

  function eng:socket_action(fd, r, w)
    self.last_action = { fd = fd, r = r, w = w }
    local done = {}
    for id, t in pairs(T) do
      if t.fd == fd and r then
        local data = uv.fs_read(fd, 16, -1)
        close(t)
        done[#done + 1] = { id = id, raw = { status = 200, body = data } }
      end
    end
    retime()
    return done
  end

  function eng:take_interest()
    local s, tmo = self.socks, self.tmo
    self.socks, self.tmo = {}, nil
    return s, tmo
  end

  function eng:count()
    local n = 0
    for _ in pairs(T) do n = n + 1 end
    return n
  end
  return eng
end

return M
