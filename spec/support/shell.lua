--- Runs a shell command for a spec → its output (stdout and stderr) and exit code.
local M = {}

function M.sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("exit=(%d+)%s*$"))
end

return M
