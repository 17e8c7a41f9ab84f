--- The helper commands built on the SDK's workflows: `cv task wait`,
--- `cv collect` (submit → wait → export → download), `cv download`,
--- `cv webhook-verify`, and the escape hatches `cv call` / `keyapi get`.
local errors = require "creatorapi.errors"
local endpoints = require "creatorapi.cli.endpoints"
local params = require "creatorapi.cli.params"
local progress = require "creatorapi.cli.progress"
local runner = require "creatorapi.cli.runner"

local M = {}

local unpack = table.unpack or unpack
local CV = endpoints.PROVIDERS.cv
local STATUS_COLUMNS = endpoints.HINTS.creativault.task_status.columns

local function common(cmd, prov)
  cmd:group("Output and connection", unpack(endpoints.add_common(cmd, prov, false)))
end

local function wait_options(cmd)
  return {
    cmd:option("--interval", "seconds before the first status poll (default 2; grows x1.5 per poll)")
      :argname("<s>"):convert(tonumber),
    cmd:option("--max-interval", "longest pause between polls (default 60)"):argname("<s>"):convert(tonumber),
    cmd:option("--wait-timeout", "give up waiting after this many seconds (default 7200; 0 = never)")
      :argname("<s>"):convert(tonumber),
  }
end

local function wait_opts(args, env, task_id)
  local t = args.wait_timeout
  if t == 0 then t = false end
  return { interval = args.interval, max_interval = args.max_interval, timeout = t,
    on_progress = progress.task(env.bar, task_id) }
end

-- A finished status that is not "completed" is a task_failed error.
local function ended_badly(st, task_id)
  if st.status == "completed" then return nil end
  return errors.new("task_failed", string.format("task %s ended %s", task_id, tostring(st.status)),
    { task_id = task_id, retryable = false })
end

local function note(env, text)
  if not env.args.quiet then
    env.bar:clear()
    io.stderr:write("creatorapi: ", text, "\n")
  end
end

--- `cv task wait TASK_ID`: polls with backoff, progress bar on stderr, prints the final status.
function M.add_task_wait(task_cmd)
  local cmd = task_cmd:command("wait", "wait for a collection task to finish (polls task status with backoff)")
  cmd:argument("task_id", "the task id from task submit"):target("a_task_id")
  cmd:group("Waiting", unpack(wait_options(cmd)))
  common(cmd, CV)
  cmd:action(function(args)
    args._run = function()
      return runner.execute(CV, args, { identity = true }, function(cv, env)
        env.endpoint, env.cost_params = "task_status", { task_id = args.a_task_id }
        local st, err = cv:wait_task(args.a_task_id, wait_opts(args, env, args.a_task_id))
        if not st then return err end
        runner.write_data(env, st, STATUS_COLUMNS)
        return ended_badly(st, args.a_task_id)
      end)
    end
  end)
end

-- The parameters of both submit endpoints, for `cv collect`.
local function collect_spec()
  local E = require("creatorapi.creativault").Client.ENDPOINTS
  local spec = {}
  for k, v in pairs(E.submit_task.params) do spec[k] = v end
  for k, v in pairs(E.submit_keyword_task.params) do spec[k] = v end
  local tt = {}
  for k, v in pairs(spec.task_type) do tt[k] = v end
  tt.required, tt.default = nil, nil
  tt.note = "default LINK_BATCH when every value is a URL, FILE_UPLOAD otherwise"
  spec.task_type, spec.values = tt, { type = "string_array", min = 1, max = 500 }
  spec.keywords = { type = "string_array", min = 1, max = 10 }
  return spec
end

local function download(cv, env, ref, path)
  local label = "download " .. path
  return cv:download(ref, path, { on_progress = progress.download(env.bar, label) })
end

--- The task type `cv collect` uses without --task-type: LINK_BATCH when every
--- value is a profile URL, FILE_UPLOAD (a list of usernames) otherwise.
function M.default_task_type(values)
  if type(values) ~= "table" or #values == 0 then return "LINK_BATCH" end
  for _, v in ipairs(values) do
    if type(v) ~= "string" or not v:match("^[Hh][Tt][Tt][Pp][Ss]?://") then return "FILE_UPLOAD" end
  end
  return "LINK_BATCH"
end

--- `cv collect …`: submit (values or keywords) → [--wait] → [--export FMT -o FILE].
function M.add_collect(cv_cmd)
  local cmd = cv_cmd:command("collect",
    "submit a collection task, then optionally wait for it, export it and download the file")
  local spec = collect_spec()
  cmd:group("Task parameters (task submit / task keyword-submit)", unpack(params.add_options(cmd, spec)))
  local w = wait_options(cmd)
  w[#w + 1] = cmd:flag("--wait", "wait for the task to finish, then print its rows (unless --export)")
  w[#w + 1] = cmd:option("--limit", "with --wait: print at most N rows"):argname("<n>"):convert(tonumber)
  w[#w + 1] = cmd:option("--export", "export the finished task (implies --wait)"):choices({ "xlsx", "csv", "html" })
  w[#w + 1] = cmd:option("-o --output", "file to download the export to (default: the export's file name)")
    :argname("<path>")
  cmd:group("Waiting and export", unpack(w))
  common(cmd, CV)
  cmd:action(function(args)
    args._run = function()
      local p, msg = params.collect(args, spec, { data = args.data, param = args.param })
      if not p then return runner.fail(msg) end
      if args.limit and (args.limit < 1 or args.limit ~= math.floor(args.limit)) then
        return runner.fail("--limit must be a positive integer")
      end
      return runner.execute(CV, args, { identity = true }, function(cv, env)
        local submit = "submit_task"
        if p.keywords ~= nil then submit = "submit_keyword_task"
        elseif p.task_type == nil then p.task_type = M.default_task_type(p.values) end
        env.endpoint, env.cost_params = submit, p
        local sub, err = cv[submit](cv, p)
        if not sub then return err end
        local task_id = sub.data.task_id
        if not (args.wait or args.export) then
          runner.write_data(env, sub.data, { "task_id", "status", "total_count", "message" })
          return nil
        end
        note(env, "submitted task " .. tostring(task_id))
        local st, werr = cv:wait_task(task_id, wait_opts(args, env, task_id))
        if not st then return werr end
        local bad = ended_badly(st, task_id)
        if bad then return bad end
        if not args.export then
          return runner.stream(env, cv:each_task_row(task_id, { max_items = args.limit }),
            endpoints.HINTS.creativault.task_data.columns, args.limit)
        end
        local ex, xerr = cv:export_task{ task_id = task_id, format = args.export }
        if not ex then return xerr end
        local file, derr = download(cv, env, ex.data, args.output or ex.data.file_name)
        if not file then return derr end
        runner.write_data(env, { task_id = task_id, status = st.status, rows = ex.data.row_count,
          file_id = file.file_id, path = file.path, bytes = file.bytes, sha256 = file.sha256 },
          { "task_id", "status", "rows", "path", "bytes", "sha256" })
        return nil
      end)
    end
  end)
end

--- `cv download FILE_ID -o PATH` (or --file-name NAME).
function M.add_download(cv_cmd)
  local cmd = cv_cmd:command("download", "download a file by file_id (or --file-name) to -o PATH")
  cmd:argument("file_id", "file_id from task export or download-url"):args("?"):target("a_file_id")
  cmd:option("--file-name", "the file's name instead of its id (the newest file of that name)"):argname("<name>")
  cmd:option("-o --output", "where to write it (default: the file's name)"):argname("<path>")
  common(cmd, CV)
  cmd:action(function(args)
    args._run = function()
      return runner.execute(CV, args, {}, function(cv, env)
        local ref = { file_id = args.a_file_id, file_name = args.file_name }
        env.endpoint, env.cost_params = "download_url", ref
        local path = args.output
        if not path then
          local res, err = cv:download_url(ref)
          if not res then return err end
          ref, path = res.data, res.data.file_name
        end
        local file, err = download(cv, env, ref, path)
        if not file then return err end
        runner.write_data(env, file, { "path", "bytes", "sha256", "file_id", "file_name" })
        return nil
      end)
    end
  end)
end

--- `cv webhook-verify [--challenge S]`: the API's public connectivity check.
function M.add_webhook_verify(cv_cmd)
  local cmd = cv_cmd:command("webhook-verify",
    "POST /openapi/v1/webhook/verify: the API echoes the challenge (no credentials sent)")
  cmd:option("--challenge", "text to echo (default empty)"):argname("<text>")
  common(cmd, CV)
  cmd:action(function(args)
    args._run = function()
      return runner.execute(CV, args, { keyless = true },
        function(cv, env)
          env.endpoint, env.cost_params = "verify_webhook", { challenge = args.challenge }
          local res, err = cv:verify_webhook(args.challenge)
          if not res then return err end
          runner.write_data(env, res.data, { "challenge", "timestamp" })
          return nil
        end)
    end
  end)
end

--- `cv call PATH` and `keyapi get PATH`: endpoints the SDK does not know yet.
function M.add_raw(parent, prov)
  local word = prov == CV and "call" or "get"
  local cmd = parent:command(word, prov == CV
    and "POST any /openapi/v1 PATH with --data/--param as the JSON body (never retried; counted as billed)"
    or "GET any KeyAPI PATH with --param as the query (1 credit)")
  cmd:argument("path", prov == CV and "path below /openapi/v1, e.g. /creators/nl-search" or "path, e.g. /v1/tiktok/…")
    :target("a_path")
  if prov == CV then
    cmd:option("--auth", "credentials to send (default full)"):choices({ "full", "key", "none" })
  end
  common(cmd, prov)
  cmd:action(function(args)
    args._run = function()
      local p, msg = params.collect(args, {}, { data = args.data, param = args.param })
      if not p then return runner.fail(msg) end
      if args.a_path:sub(1, 1) ~= "/" then return runner.fail("PATH must start with /") end
      local auth = args.auth or "full"
      return runner.execute(prov, args, { billed = true, identity = prov == CV and auth == "full" },
        function(client, env)
          local res, err
          if prov == CV then res, err = client:call(args.a_path, p, { auth = auth })
          else res, err = client:get(args.a_path, p) end
          if not res then return err end
          runner.write_data(env, res.data)
          return nil
        end)
    end
  end)
end

return M
