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

-- --tolerance: seconds a delivery's signed timestamp may be off, or "false".
local function tolerance_option(cmd)
  cmd:option("--tolerance", "seconds the signed timestamp may differ from the clock (default 300; false: no check)")
    :argname("<s>")
    :convert(function(v)
      if v == "false" then return false end
      local n = tonumber(v)
      if not n or n ~= n or n < 0 or n == math.huge then return nil, "--tolerance must be seconds >= 0 or false" end
      return n
    end)
end

--- The mock binary: $CREATORAPI_MOCK_BIN, the checkout's build/, the one
--- installed with the rock next to this command (`bin_dir`), or creatorapi-mock on $PATH.
function M.mock_bin(root, bin_dir)
  local env = os.getenv("CREATORAPI_MOCK_BIN")
  if env and env ~= "" then return env end
  if root and exists(root .. "/build/creatorapi-mock") then return root .. "/build/creatorapi-mock" end
  if bin_dir and exists(bin_dir .. "/creatorapi-mock") then return bin_dir .. "/creatorapi-mock" end
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

function M.add_mock(parser, root, bin_dir)
  local cmd = parser:command("mock", "start the bundled mock API and print the environment lines for it")
  cmd:option("--port", "TCP port (0 = any free port)"):default("12111"):argname("<n>")
  cmd:option("--host", "address to bind"):default("127.0.0.1"):argname("<addr>")
  cmd:argument("mock_flags", "more creatorapi-mock flags after --, e.g. -- --time-scale 60 --quiet")
    :args("*")
  cmd:epilog("Runs until interrupted (Ctrl-C) or until the mock is stopped (kill PID).\n" ..
    "Paste the export lines into another shell, or: creatorapi mock > mock.env & sleep 1; . ./mock.env")
  cmd:action(function(args)
    args._run = function()
      local parts = { quote(M.mock_bin(root, bin_dir)), "--port", quote(args.port), "--host", quote(args.host) }
      for _, f in ipairs(args.mock_flags or {}) do parts[#parts + 1] = quote(f) end
      local p = io.popen("echo $$; exec " .. table.concat(parts, " "), "r")
      local pid = p:read("*l")
      local first = p:read("*l")
      local url = first and first:match("^listening on (%S+)")
      if not url then
        p:close()
        io.stderr:write("creatorapi: the mock did not start (", M.mock_bin(root, bin_dir), ")\n")
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

local function add_listen(wh)
  local cmd = wh:command("listen", "receive webhook deliveries, verify each signature, print the events")
  cmd:option("--port", "TCP port (0 = any free port)"):default("8787"):argname("<n>"):convert(tonumber)
  cmd:option("--host", "address to bind"):default("127.0.0.1"):argname("<addr>")
  cmd:option("--secret", "webhook secret (default $CREATIVAULT_WEBHOOK_SECRET); repeat for rotation")
    :count("*"):argname("<s>")
  cmd:option("--forward-to", "also POST each verified delivery, byte for byte, to this http:// URL")
    :argname("<url>")
  cmd:option("--max-events", "stop after N verified events"):argname("<n>"):convert(tonumber)
  tolerance_option(cmd)
  cmd:option("--format", "event output: jsonl (default when piped) or table"):choices({ "jsonl", "json", "table", "csv" })
  cmd:epilog("The listening URL goes to stderr first. Answers 200 to verified deliveries (with --forward-to: the " ..
    "target's status), 401 to bad signatures, so the sender retries.")
  cmd:action(function(args)
    args._run = function()
      local secrets = args.secret or {}
      if #secrets == 0 and os.getenv("CREATIVAULT_WEBHOOK_SECRET") then secrets = { os.getenv("CREATIVAULT_WEBHOOK_SECRET") } end
      if #secrets == 0 then return runner.fail("webhook listen needs --secret (or $CREATIVAULT_WEBHOOK_SECRET)") end
      if args.forward_to and not args.forward_to:match("^http://") then
        return runner.fail("--forward-to takes an http:// URL (LuaSocket has no TLS)")
      end
      local env = runner.env(args)
      local w = env.writer({ "event", "task_id", "status", "total", "completed", "failed", "timestamp" }, false)
      w.sample = 1
      return require("creatorapi.cli.listen").run{
        host = args.host, port = args.port, secrets = secrets, forward_to = args.forward_to,
        tolerance = args.tolerance,
        max_events = args.max_events,
        on_ready = function(url)
          io.stderr:write("creatorapi: listening for webhooks on ", url, " (Ctrl-C to stop)\n")
          io.stderr:flush()
        end,
        on_event = function(event) w:row(event) end,
        log = function(line) io.stderr:write(line, "\n"); io.stderr:flush() end,
      }
    end
  end)
end

function M.add_webhook(parser)
  local wh = parser:command("webhook", "webhook tools")
  add_listen(wh)
  local cmd = wh:command("verify", "verify a delivery's X-Webhook-Signature and print the event")
  cmd:argument("body", "file with the raw request body (- or absent: stdin)"):args("?")
  cmd:option("--secret", "the webhook secret (default $CREATIVAULT_WEBHOOK_SECRET)"):argname("<s>")
  cmd:option("--signature", "the X-Webhook-Signature header value"):argname("<hex>")
  tolerance_option(cmd)
  cmd:action(function(args)
    args._run = function()
      local body, err = read_all(args.body)
      if not body then return runner.fail("cannot read " .. tostring(args.body) .. ": " .. tostring(err)) end
      local secret = args.secret or os.getenv("CREATIVAULT_WEBHOOK_SECRET")
      local event, verr = require("creatorapi.webhook").verify{ body = body, signature = args.signature,
        secret = secret, tolerance = args.tolerance }
      if not event then return runner.fail(verr) end
      io.stdout:write(core.json_encode(event), "\n")
      return exits.OK
    end
  end)
end

return M
