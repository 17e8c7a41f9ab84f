--- Display widths measured outside the SDK, for specs of table output:
--- coreutils' `wc -L` (GNU wc, wcwidth of the locale) under C.UTF-8.
local M = {}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The display width of each string in `ls` (none may hold a newline).
function M.widths(ls)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(ls, "\n"), "\n")
  f:close()
  local p = assert(io.popen("while IFS= read -r l; do printf '%s\\n' \"$l\" | LC_ALL=C.UTF-8 wc -L; done < "
    .. q(path)))
  local out = {}
  for n in p:lines() do out[#out + 1] = tonumber(n) end
  p:close()
  os.remove(path)
  assert(#out == #ls, "wc -L measured " .. #out .. " of " .. #ls .. " lines")
  return out
end

return M
