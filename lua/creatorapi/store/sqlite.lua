--- A file-backed store (SQLite through core.sqlite_store) for the cache on a
--- single machine without Redis: every process that opens the same file
--- shares the entries. Blocking file I/O (not for OpenResty handlers).
--- Same cache interface as creatorapi.store.redis: get(key), set(key, value, ttl).
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"

local M = {}

local S = {}
S.__index = S
S.kind = "sqlite"

local function unavailable(msg)
  return nil, errors.new("store_unavailable", msg, { retryable = false })
end

local function db(self)
  if not self.db then
    local d, err = core.sqlite_store(self.path)
    if not d then return unavailable(err) end
    self.db = d
  end
  return self.db
end

function S:get(key)
  local d, err = db(self)
  if not d then return nil, err end
  local v, msg = d:get(key)
  if msg then return unavailable(msg) end
  return v
end

function S:set(key, value, ttl)
  local d, err = db(self)
  if not d then return nil, err end
  local ok, msg = d:set(key, value, ttl)
  if not ok then return unavailable(msg) end
  return true
end

function S:close()
  if self.db then self.db:close(); self.db = nil end
end

function S:__tostring() return string.format("creatorapi.store.sqlite (%s)", self.path) end

--- new{ path = "/var/cache/creatorapi.sqlite" } → store (the file is opened on first use)
function M.new(opts)
  if type(opts) ~= "table" or type(opts.path) ~= "string" or opts.path == "" then
    error("creatorapi.store.sqlite: path must be a file name", 2)
  end
  return setmetatable({ path = opts.path }, S)
end

return M
