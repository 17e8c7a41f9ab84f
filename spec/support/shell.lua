--- Runs a shell command for a spec → its output (stdout and stderr) and exit code.
--- (spec/examples_spec.lua, scaling_spec.lua and tls_secrets_spec.lua still
--- carry their own copy of this helper.)
local M = {}

function M.sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  return out, tonumber(out:match("exit=(%d+)%s*$"))
end

return M
