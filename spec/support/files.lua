--- Small file helpers shared by the specs: readfile(path) → contents | nil,
--- writefile(path, s).
local M = {}

function M.readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

return M
