--- Running one API command: the client from flags and environment, output
--- and progress, `--dry-run` (the exact request, nothing sent), and the
--- credits line on stderr afterwards.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"
local validate = require "creatorapi.validate"
local exits = require "creatorapi.cli.exits"
local output = require "creatorapi.cli.output"
local params = require "creatorapi.cli.params"
local progress = require "creatorapi.cli.progress"

local M = {}

local cost = require "creatorapi.cost"

--- Prints an error as one line on stderr and returns its exit code.
function M.fail(err)
  if type(err) == "string" then
    io.stderr:write("creatorapi: ", err, "\n")
    return exits.USAGE
  end
  local text = tostring(err)
  if err.kind == "validation" and err.field and err.status == nil then
    text = text .. " (option " .. params.flag(err.field) .. "; see --help)"
  end
  io.stderr:write(text, "\n")
  return exits.for_error(err)
end

--- The client for a provider from --api-key/--base-url/... or the SDK's
--- environment variables. A missing key is an `auth` error (one line, exit 4).
function M.client(prov, args, need_identity, keyless)
  local key = args.api_key or os.getenv(prov.key_env)
  if key == "" then key = nil end
  if not key and not args.dry_run and not keyless then
    return nil, errors.new("auth", string.format("no %s API key: set $%s or pass --api-key",
      prov.title, prov.key_env))
  end
  local identity = args.user_identity or (prov.identity_env and os.getenv(prov.identity_env))
  if identity == "" then identity = nil end
  if need_identity and not identity and not args.dry_run then
    return nil, errors.new("auth", string.format("no %s user identity: set $%s or pass --user-identity",
      prov.title, prov.identity_env))
  end
  local opts = { api_key = key, base_url = args.base_url, max_credits = args.max_credits,
    timeout = args.timeout }
  if prov.identity_env then opts.user_identity = identity end
  local ok, c = pcall(require("creatorapi")[prov.name], opts)
  if not ok then
    return nil, errors.new("validation", "cannot create the " .. prov.title .. " client: " ..
      tostring(c):gsub("^[^:]*:%d+: ", ""), { field = "base_url" })
  end
  return c
end

--- The output and progress settings of a run.
function M.env(args)
  local bar = progress.new(not args.quiet and (args.progress or progress.isatty(2)))
  local tty_out = progress.isatty(1)
  local fmt = args.format or (tty_out and "table" or "jsonl")
  local env = { args = args, bar = bar, format = fmt, fields = output.split_fields(args.fields) }
  function env.writer(columns, single)
    return output.new{ format = fmt, fields = env.fields, columns = columns, single = single,
      -- the bar is erased before rows reach the same terminal; a pipe or file needs nothing
      before_write = tty_out and function() bar:clear() end or nil }
  end
  return env
end

--- Writes every row of a response's data.
function M.write_data(env, data, columns)
  local rows, single = output.rows_of(data)
  local w = env.writer(columns, single)
  for _, r in ipairs(rows) do w:row(r) end
  w:finish()
end

--- Streams an iterator's rows as they arrive; → nil | err (raised by the iterator).
function M.stream(env, iter, columns, limit)
  local w = env.writer(columns, false)
  local n = 0
  local ok, err = pcall(function()
    for row in iter do
      n = n + 1
      w:row(row)
      env.bar:set(limit and string.format("%s rows %d/%d", progress.bar(n / limit), n, limit)
        or string.format("rows %d", n), n == limit)
    end
  end)
  env.bar:clear()
  if not ok then
    if type(err) ~= "table" then error(err, 0) end
    if env.dry and err == env.dry then return err end
    w:finish()
    return err
  end
  w:finish()
  return nil
end

-- Dry run: the client's send records the request instead of sending it.
local function capture(client, env)
  env.dry = setmetatable({}, { __tostring = function() return "dry run" end })
  client._send = function(_, req)
    env.captured = env.captured or req
    return nil, env.dry
  end
end

local redact = require("creatorapi.client").redact_secrets

-- Worst-case credits of the command (set by the command), else of the captured call alone.
local function worst_case(env)
  if env.worst then return env.worst[1], env.worst[2] end
  if not env.endpoint then return nil, "cost unknown" end
  return cost.worst_case(env.provider, env.endpoint, env.cost_params or {})
end

-- The API's page cap and largest page, for the worst case of --all.
local ALL_ROWS = { creativault = 200 * 100, keyapi = 10000 * 10 }

--- The most a whole command can cost: one call, or every page of an iteration.
--  → credits, detail, per_unit (credits per row for per-row billing, per request for KeyAPI) | nil, detail
function M.command_cost(prov, name, p, iterate, limit)
  if not iterate then return cost.worst_case(prov.name, name, p) end
  if prov.name == "keyapi" then
    local per, d = cost.worst_case(prov.name, name, p)
    if not per then return nil, d end
    local size = tonumber(p.page_size) or 10
    local requests = math.ceil((limit or ALL_ROWS.keyapi) / size)
    return requests * per, string.format("%s: up to %d requests x %d credit%s = %d credits", name, requests,
      per, per == 1 and "" or "s", requests * per), per
  end
  local one_row = {}
  for k, v in pairs(p) do one_row[k] = v end
  one_row.size = 1
  local per, d = cost.worst_case(prov.name, name, one_row)
  if not per or per == 0 then return per, d, per end
  local rows = limit or ALL_ROWS.creativault
  return rows * per, string.format("%s: up to %d rows x %d credits = %d credits", name, rows, per, rows * per), per
end

-- --max-credits before anything is sent: a single call whose worst case is
-- over the budget is refused; an iteration is cut to what the budget buys
-- (rows for per-row search, requests for KeyAPI). → true, limit, max_pages | nil, err
local function apply_budget(spec, args, credits, per, iterate)
  local max = args.max_credits
  if not max or not credits or credits <= max then return true, args.limit, nil end
  local function refuse(what)
    return nil, errors.new("budget", string.format("%s; --max-credits is %s: nothing was sent", what,
      output.thousands(max)), { max_credits = max })
  end
  if not iterate or not per or per == 0 then
    return refuse(string.format("this call may cost up to %s credits", output.thousands(credits)))
  end
  local units = math.floor(max / per)
  if units < 1 then return refuse(string.format("one %s costs %d credits",
    spec.prov.name == "keyapi" and "request" or "row", per)) end
  if spec.prov.name == "keyapi" then return true, args.limit, units end
  if not args.quiet then
    io.stderr:write(string.format("creatorapi: --max-credits %s buys %d rows at %d credits a row: stopping there\n",
      output.thousands(max), units, per))
  end
  return true, units, nil
end

--- Prints the captured request: method, URL, headers (credentials redacted), body, cost.
function M.print_dry(client, env)
  local req = env.captured
  local p, err = client._loop.ctx:prepare(req)
  if not p then return M.fail(err) end
  local secrets = {}
  local key = client._opts.api_key
  if key and #key >= 4 then secrets[1] = key end
  local headers = {}
  for i, h in ipairs(p.headers) do
    local name = h:match("^([^:]+):")
    local lname = name and name:lower()
    if lname == "x-api-key" then h = name .. ": [REDACTED]"
    elseif lname == "authorization" then h = name .. ": " .. (h:match("^[^:]+:%s*(%a+)%s") or "") .. " [REDACTED]" end
    headers[i] = redact(h, secrets)
  end
  headers[#headers + 1] = "User-Agent: " .. tostring(p.user_agent)
  local credits, detail = worst_case(env)
  local url, body = redact(p.url, secrets), p.body and redact(p.body, secrets)
  if env.format == "json" or env.format == "jsonl" then
    io.stdout:write(core.json_encode({ method = p.method, url = url,
      headers = setmetatable(headers, core.array_mt), body = body or core.null,
      worst_case_credits = credits or core.null, cost_detail = detail or core.null }), "\n")
  else
    io.stdout:write(p.method, " ", url, "\n", table.concat(headers, "\n"), "\n")
    if body then io.stdout:write("\n", body, "\n") end
    local amount = credits and (output.thousands(credits) .. (credits == 1 and " credit" or " credits"))
    io.stdout:write("\n# worst-case cost: ", amount or "unknown",
      detail and (" (" .. (type(detail) == "table" and core.json_encode(detail) or tostring(detail)) .. ")") or "",
      "\n# dry run: nothing was sent\n")
  end
  return exits.OK
end

--- The credits line after a billed command (stderr).
function M.summary(client, env)
  if env.args.quiet or not env.billed then return end
  local st = client:stats()
  if st.requests == 0 then return end
  local left
  if st.credits_remaining == nil then left = "balance not reported"
  elseif st.credits_remaining == -1 then left = "unlimited balance"
  else left = output.thousands(st.credits_remaining) .. " left" end
  io.stderr:write(string.format("creatorapi: %s credit%s spent, %s, request id %s\n",
    output.thousands(st.credits_consumed), st.credits_consumed == 1 and "" or "s", left,
    tostring(st.last_request_id or "-")))
end

--- Runs `body(client, env) → nil | err` for a provider with the common
--- options handled. Returns the exit code.
function M.execute(prov, args, opts, body)
  local client, err = M.client(prov, args, opts.identity, opts.keyless)
  if not client then return M.fail(err) end
  local env = M.env(args)
  env.provider, env.billed = prov.name, opts.billed
  if args.dry_run then capture(client, env) end
  local ok, res = pcall(body, client, env)
  env.bar:clear()
  if not ok then
    if type(res) ~= "table" then error(res, 0) end
    err = res
  else
    err = res
  end
  if env.captured then
    local code = M.print_dry(client, env)
    client:close()
    return code
  end
  if not err or client:stats().credits_consumed > 0 then M.summary(client, env) end
  client:close()
  if err then return M.fail(err) end
  return exits.OK
end

--- An endpoint command (spec from creatorapi.cli.endpoints).
function M.run_endpoint(spec, args)
  local positional = {}
  for _, name in ipairs(spec.positional) do positional[name] = args["a_" .. name] end
  local p, msg = params.collect(args, spec.ep.params, { data = args.data, param = args.param,
    positional = positional })
  if not p then return M.fail(msg) end
  local paging = spec.paging
  local iterate = paging and (args.limit or args.all)
  if args.limit and (args.limit < 1 or args.limit ~= math.floor(args.limit)) then
    return M.fail("--limit must be a positive integer")
  end
  if paging and args.page then
    if args.page < 1 or args.page ~= math.floor(args.page) then return M.fail("--page must be a positive integer") end
    if not iterate then p[paging.page] = args.page end
  end
  local billed = spec.prov.name == "keyapi" or spec.ep.billed
  local identity = spec.prov.identity_env and (spec.ep.auth or "full") == "full"
  local credits, detail, per = M.command_cost(spec.prov, spec.name, p, iterate, args.limit)
  local limit, max_pages = args.limit, nil
  if not args.dry_run then
    local ok, l, mp = apply_budget(spec, args, credits, per, iterate)
    if not ok then return M.fail(l) end
    limit, max_pages = l, mp
  end
  return M.execute(spec.prov, args, { billed = billed, identity = identity }, function(client, env)
    env.endpoint, env.cost_params, env.worst = spec.name, p, { credits, detail }
    if not iterate then
      local res, err = client[spec.name](client, p)
      if not res then return err end
      M.write_data(env, res.data, spec.columns)
      return nil
    end
    -- Checked here so that a wrong size gets the SDK's message, not the iterator's.
    local _, verr = validate.check(spec.ep.params, p, spec.name)
    if verr then return verr end
    local size = p[paging.size]
    p[paging.page], p[paging.size] = nil, nil
    local iter = paging.iterate(client, p, { max_items = limit, max_pages = max_pages,
      start_page = args.page, size = size })
    return M.stream(env, iter, spec.columns, limit)
  end)
end

return M
