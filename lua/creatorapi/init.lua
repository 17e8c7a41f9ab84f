--- creatorapi: Lua access to creator / influencer data APIs.
--
--   local creatorapi = require "creatorapi"
--   local cv = creatorapi.creativault{ api_key = ..., user_identity = ... }
--   local ka = creatorapi.keyapi{ api_key = ... }
--
-- Failures return `nil, err` (see creatorapi.errors); only programming errors raise.
local core = require "creatorapi.core"

local M = {
  _NAME = "creatorapi",
  VERSION = core._VERSION,
  _VERSION = core._VERSION,
  --- JSON null: the same light userdata as lua-cjson's `cjson.null`.
  null = core.null,
  errors = require "creatorapi.errors",
  webhook = require "creatorapi.webhook",
  --- Terminal columns of UTF-8 text (wcwidth): width, truncate, pad, row.
  text = require "creatorapi.text",
}

--- Concurrency on the current host's loop (see creatorapi.async), loaded on
--- first use: a script that never uses it does not carry it in its heap.
setmetatable(M, { __index = function(t, k)
  if k == "async" then
    rawset(t, "async", require "creatorapi.async")
    return rawget(t, "async")
  end
end })

--- JSON codec of the C core: integers stay integers, arrays keep their type.
M.json = {
  decode = core.json_decode,
  encode = core.json_encode,
  null = core.null,
  array_mt = core.array_mt,
}

--- collect(iterator) → rows, err: drains a pagination iterator without raising.
M.collect = require("creatorapi.paging").collect

--- Creates a CreatiVault Open API client (see creatorapi.creativault).
function M.creativault(opts)
  return require("creatorapi.creativault").new(opts)
end

--- Creates a KeyAPI client (see creatorapi.keyapi).
function M.keyapi(opts)
  return require("creatorapi.keyapi").new(opts)
end

return M
