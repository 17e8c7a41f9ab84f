--- Commands that work without an API: `creatorapi mock` (start the bundled
--- mock and print the environment lines for it) and `creatorapi webhook
--- verify` (check a delivery's signature offline).
local core = require "creatorapi.core"
local exits = require "creatorapi.cli.exits"
local runner = require "creatorapi.cli.runner"

local M = {}

-- The mock's documented demo credentials (docs/mock.md): not secrets.
M.DEMO = {
  cv_key = "cv_live_demo_key_0001", cv_identity = "demo@creatorapi.test", keyapi_key = "kapi_demo_key_0001",
}

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- The mock binary: $CREATORAPI_MOCK_BIN, the checkout's build/, or creatorapi-mock on $PATH.
function M.mock_bin(root)
  local env = os.getenv("CREATORAPI_MOCK_BIN")
  if env and env ~= "" then return env end
  if root and exists(root .. "/build/creatorapi-mock") then return root .. "/build/creatorapi-mock" end
  return "creatorapi-mock"
end

--- The environment lines that point the SDK and the CLI at a mock at `url`.
function M.env_lines(url)
  return {
    "export CREATIVAULT_BASE_URL=" .. url,
    "export CREATIVAULT_API_KEY=" .. M.DEMO.cv_key,
    "export CREATIVAULT_USER_IDENTITY=" .. M.DEMO.cv_identity,
    "export KEYAPI_API_BASE_URL=" .. url,
    "export KEYAPI_TOKEN=" .. M.DEMO.keyapi_key,
  }
end

function M.add_mock(parser, root)
  local cmd = parser:command("mock", "start the bundled mock API and print the environment lines for it")
  cmd:option("--port", "TCP port (0 = any free port)"):default("12111"):argname("<n>")
  cmd:option("--host", "address to bind"):default("127.0.0.1"):argname("<addr>")
  cmd:argument("mock_flags", "more creatorapi-mock flags after --, e.g. -- --time-scale 60 --quiet")
    :args("*")
  cmd:epilog("Runs until interrupted (Ctrl-C) or until the mock is stopped (kill PID).\n" ..
    "Paste the export lines into another shell, or: creatorapi mock > mock.env & sleep 1; . ./mock.env")
  cmd:action(function(args)
    args._run = function()
      local parts = { quote(M.mock_bin(root)), "--port", quote(args.port), "--host", quote(args.host) }
      for _, f in ipairs(args.mock_flags or {}) do parts[#parts + 1] = quote(f) end
      local p = io.popen("echo $$; exec " .. table.concat(parts, " "), "r")
      local pid = p:read("*l")
      local first = p:read("*l")
      local url = first and first:match("^listening on (%S+)")
      if not url then
        p:close()
        io.stderr:write("creatorapi: the mock did not start (", M.mock_bin(root), ")\n")
        return 1
      end
      io.stdout:write("# creatorapi-mock listening on ", url, " (pid ", tostring(pid), ")\n")
      io.stdout:write(table.concat(M.env_lines(url), "\n"), "\n")
      io.stdout:flush()
      for line in p:lines() do io.stdout:write(line, "\n"); io.stdout:flush() end
      local ok, _, code = p:close()
      if type(ok) == "number" then return ok == 0 and 0 or 1 end
      return code == 0 and 0 or (ok and 0 or 1)
    end
  end)
end

local function read_all(path)
  if path == nil or path == "-" then return io.stdin:read("*a") end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

function M.add_webhook(parser)
  local wh = parser:command("webhook", "webhook tools")
  local cmd = wh:command("verify", "verify a delivery's X-Webhook-Signature and print the event")
  cmd:argument("body", "file with the raw request body (- or absent: stdin)"):args("?")
  cmd:option("--secret", "the webhook secret (default $CREATIVAULT_WEBHOOK_SECRET)"):argname("<s>")
  cmd:option("--signature", "the X-Webhook-Signature header value"):argname("<hex>")
  cmd:action(function(args)
    args._run = function()
      local body, err = read_all(args.body)
      if not body then return runner.fail("cannot read " .. tostring(args.body) .. ": " .. tostring(err)) end
      local secret = args.secret or os.getenv("CREATIVAULT_WEBHOOK_SECRET")
      local event, verr = require("creatorapi.webhook").verify{ body = body, signature = args.signature,
        secret = secret }
      if not event then return runner.fail(verr) end
      io.stdout:write(core.json_encode(event), "\n")
      return exits.OK
    end
  end)
end

return M
