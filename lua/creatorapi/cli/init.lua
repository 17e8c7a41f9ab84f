--- The `creatorapi` command: every endpoint of the SDK from the shell.
--
--   creatorapi cv search tiktok --country-code US --followers-cnt-gte 10000 --limit 300 --format csv
--   creatorapi keyapi influencer-list --region GB
--   creatorapi cv collect --platform tiktok --values creator_demo,jane.doe --export xlsx -o out.xlsx
--
-- main(argv, { root = checkout dir }) → exit code. Parsing: lua-argparse.
-- Commands: creatorapi.cli.endpoints (generated from the endpoint tables),
-- creatorapi.cli.workflows (task wait, collect, download, call/get),
-- creatorapi.cli.local_tools (mock, webhook verify). docs/cli.md has the
-- exit codes.
local argparse = require "argparse"
local creatorapi = require "creatorapi"
local endpoints = require "creatorapi.cli.endpoints"
local exits = require "creatorapi.cli.exits"
local local_tools = require "creatorapi.cli.local_tools"
local runner = require "creatorapi.cli.runner"
local workflows = require "creatorapi.cli.workflows"

local M = {}

--- The parser (exposed for the specs' --help checks).
function M.parser(root, bin_dir)
  local p = argparse("creatorapi", "CreatiVault and KeyAPI from the shell (creatorapi " ..
    creatorapi.VERSION .. ").")
    :epilog("Every API command takes --help. Credentials: $CREATIVAULT_API_KEY, $CREATIVAULT_USER_IDENTITY, " ..
      "$KEYAPI_TOKEN (or --api-key); base URLs: $CREATIVAULT_BASE_URL, $KEYAPI_API_BASE_URL (or --base-url). " ..
      "Exit codes: docs/cli.md.")
  p:flag("--version", "print the version and exit"):action(function()
    io.stdout:write("creatorapi ", creatorapi.VERSION, "\n")
    os.exit(0)
  end)
  local cv = p:command("cv", "CreatiVault Open API (search, lookalike, collection tasks, files)")
  local groups = endpoints.add(cv, "cv", require("creatorapi.creativault"), runner.run_endpoint)
  workflows.add_task_wait(groups.task)
  workflows.add_collect(cv)
  workflows.add_download(cv)
  workflows.add_webhook_verify(cv)
  workflows.add_raw(cv, endpoints.PROVIDERS.cv)
  local ka = p:command("keyapi", "KeyAPI TikTok analytics (1 credit per request)")
  endpoints.add(ka, "keyapi", require("creatorapi.keyapi"), runner.run_endpoint)
  workflows.add_raw(ka, endpoints.PROVIDERS.keyapi)
  local_tools.add_mock(p, root, bin_dir)
  local_tools.add_webhook(p)
  return p
end

local function usage_error(msg)
  io.stderr:write(msg, "\n")
  if not msg:find("Usage:", 1, true) then io.stderr:write("(see creatorapi --help)\n") end
  return exits.USAGE
end

--- Runs the command line `argv` (a list of strings); returns the exit code.
function M.main(argv, opts)
  opts = opts or {}
  local parser = M.parser(opts.root, opts.bin_dir)
  local args_list = {}
  for i = 1, #argv do args_list[i] = argv[i] end
  local ok, args = parser:pparse(args_list)
  if not ok then return usage_error("creatorapi: " .. tostring(args)) end
  if not args._run then return usage_error(parser:get_usage()) end
  local done, code = xpcall(args._run, debug.traceback)
  if not done then
    -- A bug in the CLI or the SDK (a programming error raised): one line, or the trace when asked.
    local msg = tostring(code)
    if os.getenv("CREATORAPI_DEBUG") then io.stderr:write(msg, "\n")
    else io.stderr:write("creatorapi: internal error: ", (msg:match("^[^\n]*")), " (CREATORAPI_DEBUG=1 for the trace)\n") end
    return exits.INTERNAL
  end
  return code or exits.OK
end

return M
