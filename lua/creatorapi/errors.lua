--- Error values shared by the C core and the Lua layer.
--
-- Every failure the caller cannot prevent (I/O, HTTP status, API envelope,
-- invalid user data) is returned as `nil, err`; `err` is a table with the
-- metatable `core.error_mt`, whose `__tostring` never prints credentials.
-- Only programming errors (wrong argument types, a closed client) raise.
local core = require "creatorapi.core"

local M = {}

M.mt = core.error_mt

--- Kinds that are worth retrying as they are.
M.RETRYABLE = {
  network = true, timeout = true, rate_limited = true, server = true,
}

--- Builds an error table. `fields` may add status, code, request_id, field, …
function M.new(kind, message, fields)
  local e = {}
  if fields then
    for k, v in pairs(fields) do e[k] = v end
  end
  e.kind = kind
  e.message = message
  if e.retryable == nil then e.retryable = M.RETRYABLE[kind] or false end
  return core.new_error(e)
end

--- A validation error about one parameter: nothing was sent, nothing was spent.
function M.validation(field, message)
  return M.new("validation", field .. ": " .. message, { field = field })
end

--- True when `v` is an error value built by this module or the C core.
--- The message of an `aborted` error for a value a user callback raised
--- (on_progress): strings and numbers as they are, other values by type.
function M.raised_message(err, callback)
  if type(err) == "string" or type(err) == "number" then return tostring(err) end
  return (callback or "on_progress") .. " raised a " .. type(err) .. " value"
end

function M.is_error(v)
  return type(v) == "table" and getmetatable(v) == M.mt
end

return M
