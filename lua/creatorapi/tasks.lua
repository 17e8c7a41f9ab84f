--- Collection-task helpers: wait for a task with backoff, and the
--- submit → wait → rows workflows.
--
-- Polling defaults follow the vendor (the vendor: poll about every
-- 60 s): first poll after `interval` = 2 s, then ×1.5 per poll, capped at
-- `max_interval` = 60 s, ±20 % jitter; the default deadline is 2 h and only
-- `timeout = false` removes it. When the deadline passes the task keeps
-- running on the server: `wait` returns a `timeout` error carrying the last
-- status, and the caller may wait again.
local core = require "creatorapi.core"
local errors = require "creatorapi.errors"
local shape = require "creatorapi.shape"

local M = {}

M.TERMINAL = { completed = true, failed = true, timeout = true }

M.DEFAULTS = {
  interval = 2, max_interval = 60, factor = 1.5, jitter = 0.2,
  timeout = 7200, max_poll_failures = 5,
}

-- The backend may send numbers as strings ("50.0"); compare them as numbers.
local function num(v)
  return tonumber(v) or v
end

local function fingerprint(st)
  return table.concat({ tostring(st.status), tostring(num(st.progress)), tostring(num(st.total)),
    tostring(num(st.completed)), tostring(num(st.failed)) }, "|")
end

local function finite(v)
  return v == v and v > -math.huge and v < math.huge
end

M.OPTION_KEYS = { interval = true, max_interval = true, factor = true, jitter = true, timeout = true,
  on_progress = true, sleep = true, clock = true, max_poll_failures = true }

-- Unknown keys and wrong types are programming errors (raise); a negative,
-- NaN or infinite number is a `validation` error (nothing is sent, no wait starts).
local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error("wait_task: opts must be a table", 3) end
  require("creatorapi.validate").check_keys("wait_task", opts, M.OPTION_KEYS, 3)
  for _, k in ipairs({ "interval", "max_interval", "factor", "jitter", "max_poll_failures" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "number" then
      error("wait_task: opts." .. k .. " must be a non-negative number", 3)
    end
    if opts[k] ~= nil and not (finite(opts[k]) and opts[k] >= 0) then
      return nil, errors.validation("opts." .. k, "must be a finite non-negative number, got " .. tostring(opts[k]))
    end
  end
  if opts.timeout ~= nil and opts.timeout ~= false then
    if type(opts.timeout) ~= "number" then
      error("wait_task: opts.timeout must be a number of seconds or false", 3)
    end
    if not (finite(opts.timeout) and opts.timeout >= 0) then
      return nil, errors.validation("opts.timeout",
        "must be a finite number of seconds or false (no deadline), got " .. tostring(opts.timeout))
    end
  end
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    error("wait_task: opts.on_progress must be a function", 3)
  end
  return opts
end

--- wait(client, task_id [, opts]) → final status table | nil, err
--  opts: interval, max_interval, factor, jitter, timeout (seconds | false),
--        on_progress(status), sleep(seconds), clock() (for tests).
function M.wait(client, task_id, opts)
  local verr
  opts, verr = check_opts(opts)
  if not opts then
    verr.task_id, verr.attempts = task_id, 0
    return nil, verr
  end
  local D = M.DEFAULTS
  local interval = opts.interval or D.interval
  local max_interval = opts.max_interval or D.max_interval
  local factor = opts.factor or D.factor
  local jitter = opts.jitter or D.jitter
  local timeout = opts.timeout
  if timeout == nil then timeout = D.timeout end
  local sleep = opts.sleep or (client._loop and function(s) return client._loop:sleep(s) end) or core.sleep
  local clock = opts.clock or core.monotonic
  local deadline = timeout and clock() + timeout
  local last, last_fp, failures, polls = nil, nil, 0, 0

  while true do
    local res, err = client:task_status{ task_id = task_id }
    polls = polls + 1
    if res then
      failures = 0
      local st = res.data
      local ok, e = shape.field(client, res, "task_status", "status", shape.is_string, "a non-empty string")
      if not ok then
        e.task_id, e.last_status = task_id, last
        return nil, e
      end
      local fp = fingerprint(st)
      if fp ~= last_fp then
        last_fp = fp
        if opts.on_progress then opts.on_progress(st) end
      end
      last = st
      if M.TERMINAL[st.status] then return st end
    else
      failures = failures + 1
      if not err.retryable or failures >= (opts.max_poll_failures or D.max_poll_failures) then
        err.task_id = task_id
        err.last_status = last
        return nil, err
      end
    end
    local delay = interval * (1 + jitter * (2 * math.random() - 1))
    if deadline then
      local left = deadline - clock()
      if left <= 0 then
        return nil, errors.new("timeout", string.format(
          "task %s is still %s after %s s of waiting (it keeps running on the server)",
          tostring(task_id), last and tostring(last.status) or "unknown", tostring(timeout)),
          { task_id = task_id, last_status = last, polls = polls, retryable = false })
      end
      if delay > left then delay = left end
    end
    if sleep(delay) == "interrupted" then
      return nil, errors.new("aborted", string.format("interrupted (SIGINT) while waiting for task %s",
        tostring(task_id)), { task_id = task_id, last_status = last, polls = polls })
    end
    interval = math.min(interval * factor, max_interval)
  end
end

--- The submit → wait → rows workflow shared by collect_profiles and collect_keywords.
--  Returns rows, final_status | nil, err (err.task_id is set once a task exists).
function M.collect(client, submit, params, opts)
  opts = opts or {}
  local sub, err = submit(client, params)
  if not sub then return nil, err end
  local task_id, serr = shape.field(client, sub, client.submit_task == submit and "submit_task"
    or "submit_keyword_task", "task_id", shape.is_string, "a non-empty string")
  if not task_id then return nil, serr end
  local st, werr = M.wait(client, task_id, opts.wait)
  if not st then return nil, werr end
  if st.status ~= "completed" then
    return nil, errors.new("task_failed", string.format("task %s ended %s", task_id, tostring(st.status)),
      { task_id = task_id, last_status = st, retryable = false })
  end
  local rows, rerr = require("creatorapi.paging").collect(client:each_task_row(task_id, opts.rows))
  if rerr then
    rerr.task_id = task_id
    return nil, rerr
  end
  return rows, st
end

return M
