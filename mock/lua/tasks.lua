-- Collection tasks: submit, keyword-submit, status, data; progress in mock
-- time; webhook scheduling. Exports and files live in files.lua.
-- luacheck: read globals host
local json = require "json"
local S = require "state"
local D = require "dataset"
local U = require "util"
local CV = require "cv"
local R = require "render"
local V = CV.V

local T = {}

local PLATFORMS = { "tiktok", "youtube", "instagram" }
T.TASK_TTL = 7 * 86400 -- tasks expire after 7 days (mock time)

-- durations in mock seconds
function T.duration(kind, n)
  if kind == "KEYWORD" then return 300 + 60 * n end
  return 120 + 3 * n
end

-- columns per platform for tasks/data and exports
T.COLUMNS = {
  tiktok = { "source_value", "uid", "username", "nickname", "profile_url", "country_code", "followers_count",
    "likes_count", "video_count", "avg_views", "engagement_rate", "email", "bio", "last_video_publish_date" },
  youtube = { "source_value", "uid", "username", "nickname", "channel_url", "country_code", "followers_count",
    "video_count", "view_count", "avg_views", "engagement_rate", "email", "bio", "last_video_publish_time" },
  instagram = { "source_value", "uid", "username", "nickname", "profile_url", "country_code", "followers_count",
    "video_count", "avg_views", "engagement_rate", "email", "bio", "last_video_publish_time" },
}

---------------------------------------------------------------------------
-- value checks: a LINK_BATCH value must be a profile URL of the platform, a
-- FILE_UPLOAD value a plausible username. Anything else fails collection.
local USERNAME = "^@?[%w%._]+$"

local function username_from(platform, task_type, v)
  if type(v) ~= "string" then return nil end
  v = U.trim(v)
  if task_type == "FILE_UPLOAD" then
    local u = v:gsub("^@", "")
    if #u >= 2 and #u <= 30 and v:match(USERNAME) then return u end
    return nil
  end
  local name
  if platform == "tiktok" then
    name = v:match("^https?://[%w%.]*tiktok%.com/@([%w%._]+)/?$")
  elseif platform == "youtube" then
    name = v:match("^https?://[%w%.]*youtube%.com/@([%w%._%-]+)/?$")
      or v:match("^https?://[%w%.]*youtube%.com/channel/(UC[%w%-_]+)/?$")
  else
    name = v:match("^https?://[%w%.]*instagram%.com/([%w%._]+)/?$")
  end
  if name and #name >= 2 and #name <= 30 then return name end
  return nil
end
T.username_from = username_from

-- A collected row: the dataset creator if known, else a deterministic stub
local function row_for(platform, uname)
  local ds = D.get(platform, S.seed)
  local r = ds.by_username[uname:lower()]
  if not r and platform == "youtube" and uname:match("^UC") then
    for _, x in ipairs(ds.rows) do if x.uid == uname then r = x; break end end
  end
  if r then return r end
  -- not in the database: collected live; synthesise from a hash of the name
  local h = 0
  for k = 1, #uname do h = (h * 31 + uname:byte(k)) & 0x7fffffff end
  local base = ds.rows[1 + h % #ds.rows]
  local fake = setmetatable({ username = uname, nickname = uname, i = base.i }, { __index = base })
  return fake
end

local function item_for(platform, r, source)
  local o = json.obj()
  local level = R.BY_PLATFORM[platform](r, "S2", nil)
  for _, c in ipairs(T.COLUMNS[platform]) do
    if c == "source_value" then json.set(o, c, source)
    elseif c == "profile_url" or c == "channel_url" then json.set(o, c, R.profile_url(r))
    else json.set(o, c, json.get(level, c)) end
  end
  -- the stub keeps the requested username
  json.set(o, "username", r.username)
  return o
end

---------------------------------------------------------------------------
local function new_task_id()
  local id
  repeat
    id = "task_" .. os.date("!%Y%m%d", math.floor(S.now())) .. "_" .. host.random_hex(3)
  until not S.tasks[id]
  return id
end

-- Outcome of every value is fixed at submit time; progress reveals it.
local function plan(task)
  local outcomes = {}
  local marker_timeout, marker_fail = false, false
  if task.task_type == "KEYWORD" then
    local ds = D.get(task.platform, S.seed)
    for i, kw in ipairs(task.values) do
      local k = kw:lower()
      local hits = {}
      for _, r in ipairs(ds.rows) do
        if r.search:find(k, 1, true) then
          hits[#hits + 1] = r
          if #hits >= 20 then break end
        end
      end
      if kw:find("__timeout__", 1, true) then marker_timeout = true end
      if kw:find("__fail__", 1, true) then marker_fail = true end
      outcomes[i] = { ok = #hits > 0, rows = hits, source = kw }
    end
  else
    for i, v in ipairs(task.values) do
      if v:find("__timeout__", 1, true) then marker_timeout = true end
      if v:find("__fail__", 1, true) then marker_fail = true end
      local u = username_from(task.platform, task.task_type, v)
      outcomes[i] = { ok = u ~= nil and not v:find("__", 1, true), source = v,
        rows = u and { row_for(task.platform, u) } or {} }
      if outcomes[i].ok == false then outcomes[i].rows = {} end
    end
  end
  task.outcomes = outcomes
  task.final = marker_fail and "failed" or (marker_timeout and "timeout" or nil)
end

-- Recomputes status/progress from the mock clock. Returns true on the
-- transition to a terminal state.
function T.update(task, now)
  if task.status ~= "processing" then return false end
  local elapsed = now - task.created
  local frac = math.min(1, math.max(0, elapsed / task.duration))
  local n = #task.outcomes
  local done = math.floor(n * frac)
  if task.final == "timeout" then done = math.min(done, n // 2) end
  task.processed = done
  local ok, bad = 0, 0
  for i = 1, done do
    if task.outcomes[i].ok then ok = ok + 1 else bad = bad + 1 end
  end
  task.completed, task.failed = ok, bad
  task.progress = math.floor(1000 * done / math.max(1, n)) / 10
  if elapsed >= task.duration then
    if task.final == "timeout" then
      task.status = "timeout"
    elseif task.final == "failed" or ok == 0 then
      task.status = "failed"
      task.completed, task.failed = 0, n
      task.processed = n
      task.progress = 100.0
    else
      task.status = "completed"
      task.progress = 100.0
    end
    task.finished = task.created + task.duration
    return true
  end
  return false
end

function T.items(task)
  local items = {}
  for i = 1, task.processed or 0 do
    local o = task.outcomes[i]
    if o.ok then
      for _, r in ipairs(o.rows) do items[#items + 1] = { r, o.source } end
    end
  end
  return items
end

function T.render_item(task, e)
  return item_for(task.platform, e[1], e[2])
end

---------------------------------------------------------------------------
-- webhooks
local EVENTS = { completed = "collection.completed", timeout = "collection.timeout" }
local RETRY_DELAYS = { 10, 30, 90 }

local function retry_delay(n)
  return RETRY_DELAYS[n] or RETRY_DELAYS[#RETRY_DELAYS] * 3 ^ (n - #RETRY_DELAYS)
end

-- payload bytes: compact JSON with keys sorted (documented in docs/mock.md)
function T.webhook_payload(task)
  return json.encode_sorted({
    event = EVENTS[task.status],
    task_id = task.id,
    task_type = task.task_type,
    status = task.status,
    total = task.total,
    completed = task.completed,
    failed = task.failed,
    timestamp = U.iso(task.finished),
  })
end

local function schedule_webhook(task)
  if not task.webhook_url or not EVENTS[task.status] then return end
  local body = T.webhook_payload(task)
  local id = #S.delivery_order + 1
  local d = {
    id = id, task_id = task.id, url = task.webhook_url, event = EVENTS[task.status],
    body = body, signature = host.hmac_sha256(S.webhook_secret, body),
    state = "pending", next_at = S.now(), attempts = {},
  }
  S.deliveries[id] = d
  S.delivery_order[#S.delivery_order + 1] = id
end

function T.tick()
  local now = S.now()
  for _, id in ipairs(S.task_order) do
    local task = S.tasks[id]
    if task and task.status == "processing" and T.update(task, now) then
      schedule_webhook(task)
    end
  end
  local jobs
  for _, id in ipairs(S.delivery_order) do
    local d = S.deliveries[id]
    if d and d.state == "pending" and d.next_at <= now then
      d.state = "in_flight"
      d.started = now
      jobs = jobs or {}
      jobs[#jobs + 1] = {
        id = d.id, url = d.url, body = d.body,
        timeout_ms = math.max(50, math.floor(10000 / S.time_scale)),
        headers = { "Content-Type: application/json", "X-Webhook-Signature: " .. d.signature },
      }
    end
  end
  return jobs
end

function T.delivery_done(id, status, err, elapsed)
  local d = S.deliveries[id]
  if not d or d.state ~= "in_flight" then return end -- reset in between
  local n = #d.attempts + 1
  d.attempts[n] = { attempt = n, at = U.iso(d.started), status = status ~= 0 and status or nil,
    error = err, duration = math.floor(elapsed * 1000) / 1000 }
  if status > 0 and status < 400 then
    d.state = "delivered"
  elseif n > S.webhook_retries then
    d.state = "failed"
    io.stderr:write(string.format("creatorapi-mock: webhook %s for %s failed after %d attempts\n",
      d.event, d.task_id, n))
  else
    d.state = "pending"
    d.next_at = S.now() + retry_delay(n)
  end
end

function T.deliveries_json()
  local out = json.arr({})
  for _, id in ipairs(S.delivery_order) do
    local d = S.deliveries[id]
    local attempts = json.arr({})
    for i, a in ipairs(d.attempts) do
      attempts[i] = json.obj("attempt", a.attempt, "at", a.at, "status", a.status, "error", a.error,
        "duration", a.duration)
    end
    out[#out + 1] = json.obj("id", d.id, "task_id", d.task_id, "event", d.event, "url", d.url,
      "payload", d.body, "signature", d.signature, "state", d.state,
      "next_attempt_at", d.state == "pending" and U.iso(d.next_at) or nil, "attempts", attempts)
  end
  return json.obj("deliveries", out, "count", #out)
end

---------------------------------------------------------------------------
-- handlers
local function check_webhook_url(ctx, body)
  local url, err = V.string(body, "webhook_url", 2048)
  if err then return nil, CV.invalid(ctx, err) end
  if not url then return nil end
  if url:match("^https://[%w%-%.]+[:/]?") then return url end
  if S.allow_insecure_webhooks and url:match("^http://[%w%-%.%[%]:]+") then return url end
  return nil, CV.invalid(ctx, "webhook_url 必须是 HTTPS 地址")
end

local function common(ctx, body)
  local platform, err = V.enum(body, "platform", PLATFORMS, true)
  if err then return nil, CV.invalid(ctx, err) end
  if not platform then return nil, CV.invalid(ctx, "platform 为必填项") end
  local name
  name, err = V.string(body, "task_name", 200)
  if err then return nil, CV.invalid(ctx, err) end
  for _, f in ipairs({ "start_time", "end_time" }) do
    local _, e = V.int(body, f, 0)
    if e then return nil, CV.invalid(ctx, e) end
  end
  local url, bad = check_webhook_url(ctx, body)
  if bad then return nil, bad end
  return { platform = platform, task_name = name, webhook_url = url }
end

local function string_list(ctx, body, name, min, max, maxlen)
  local v = body[name]
  if v == nil or v == json.null then return nil, CV.invalid(ctx, name .. " 为必填项") end
  if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then
    return nil, CV.invalid(ctx, name .. " 必须是字符串数组")
  end
  if #v < min or #v > max then
    return nil, CV.invalid(ctx, string.format("%s 数量必须在 %d 到 %d 之间", name, min, max))
  end
  local out = {}
  for i, x in ipairs(v) do
    if type(x) ~= "string" then return nil, CV.invalid(ctx, string.format("%s[%d] 必须是字符串", name, i - 1)) end
    if maxlen and (x == "" or #x > maxlen) then
      return nil, CV.invalid(ctx, string.format("%s[%d] 长度必须在 1 到 %d 之间", name, i - 1, maxlen))
    end
    out[i] = x
  end
  return out
end

local function create(ctx, c, task_type, values)
  local now = S.now()
  local task = {
    id = new_task_id(), key = ctx.key, identity = ctx.identity, task_type = task_type,
    platform = c.platform, values = values, task_name = c.task_name, webhook_url = c.webhook_url,
    created = now, duration = T.duration(task_type, #values), status = "processing",
    total = #values, completed = 0, failed = 0, progress = 0.0, processed = 0,
  }
  plan(task)
  S.tasks[task.id] = task
  S.task_order[#S.task_order + 1] = task.id
  return CV.ok(ctx, json.obj("task_id", task.id, "status", "submitted", "message", "任务提交成功",
    "total_count", #values))
end

function T.submit(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local tt, err = V.enum(body, "task_type", { "LINK_BATCH", "FILE_UPLOAD" })
  if err then return CV.invalid(ctx, err) end
  if not tt then return CV.invalid(ctx, "task_type 为必填项") end
  local c, bad2 = common(ctx, body)
  if not c then return bad2 end
  local values, bad3 = string_list(ctx, body, "values", 1, 500)
  if not values then return bad3 end
  return create(ctx, c, tt, values)
end

function T.keyword_submit(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local c, bad2 = common(ctx, body)
  if not c then return bad2 end
  local kws, bad3 = string_list(ctx, body, "keywords", 1, 10, 100)
  if not kws then return bad3 end
  return create(ctx, c, "KEYWORD", kws)
end

-- task lookup for the caller's tenant (the API key); nil, response otherwise
function T.lookup(ctx, body)
  local id, err = V.string(body, "task_id", 200)
  if err then return nil, CV.invalid(ctx, err) end
  if not id then return nil, CV.invalid(ctx, "task_id 为必填项") end
  local task = S.tasks[id]
  if not task or task.key ~= ctx.key or S.now() - task.created > T.TASK_TTL then
    return nil, CV.fail(ctx, 404, 40401, "Task not found")
  end
  -- A poll may see the task finish before the background tick does: the
  -- transition must schedule its webhook either way, or the delivery is lost.
  if T.update(task, S.now()) then schedule_webhook(task) end
  return task
end

function T.status(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local task, bad2 = T.lookup(ctx, body)
  if not task then return bad2 end
  return CV.ok(ctx, json.obj(
    "task_id", task.id,
    "status", task.status,
    "total", task.total,
    "completed", task.completed,
    "failed", task.failed,
    "progress", task.progress,
    "task_type", task.task_type,
    "platform", task.platform,
    "task_name", task.task_name,
    "created_at", U.iso(task.created),
    "finished_at", task.finished and U.iso(task.finished) or nil))
end

function T.data(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local page, err = V.int(body, "page", 1)
  if err then return CV.invalid(ctx, err) end
  local size
  size, err = V.int(body, "size", 1, 100)
  if err then return CV.invalid(ctx, err) end
  local task, bad2 = T.lookup(ctx, body)
  if not task then return bad2 end
  page, size = page or 1, size or 20
  local all = T.items(task)
  local items = json.arr({})
  for k = (page - 1) * size + 1, math.min(#all, page * size) do
    items[#items + 1] = T.render_item(task, all[k])
  end
  local cols = json.arr({ table.unpack(T.COLUMNS[task.platform]) })
  local meta = CV.meta(ctx)
  json.set(meta, "page", page)
  json.set(meta, "size", size)
  json.set(meta, "total", #all)
  return CV.ok(ctx, json.obj("columns_config", cols, "items", items, "total", #all, "page", page,
    "size", size), meta)
end

return T
