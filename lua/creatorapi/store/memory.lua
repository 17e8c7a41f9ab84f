--- The in-process store: a Lua table with expiry times (one process only).
--- Same cache interface as creatorapi.store.redis: get(key), set(key, value, ttl).
local core = require "creatorapi.core"

local M = {}

local S = {}
S.__index = S
S.kind = "memory"

function S:get(key)
  local e = self.items[key]
  if not e then return nil end
  if e.expires <= core.monotonic() then
    self.items[key] = nil
    return nil
  end
  return e.value
end

function S:set(key, value, ttl)
  self.items[key] = { value = value, expires = core.monotonic() + ttl }
  self.n = self.n + 1
  if self.n % 256 == 0 then -- sweep expired entries now and then
    local now = core.monotonic()
    for k, e in pairs(self.items) do
      if e.expires <= now then self.items[k] = nil end
    end
  end
  return true
end

function S:close() end

function S:__tostring() return "creatorapi.store.memory" end

--- new() → store
function M.new()
  return setmetatable({ items = {}, n = 0 }, S)
end

return M
