-- tasks/export, files/download-url and the signed file URLs the mock serves
-- itself: GET /_files/<file_id>?expires=<unix>&sig=<hex>.
-- luacheck: read globals host
local json = require "json"
local S = require "state"
local U = require "util"
local CV = require "cv"
local Tasks = require "tasks"
local X = require "xlsx"
local V = CV.V

local F = {}

local MIME = {
  xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  csv = "text/csv; charset=utf-8",
  html = "text/html; charset=utf-8",
}

-- private temp dir, removed when the Lua state closes
local dir
local function tmpdir()
  if dir then return dir end
  local d, err = host.mkdtemp()
  if not d then error("cannot create temp dir: " .. tostring(err)) end
  dir = d
  F._cleanup = setmetatable({}, { __gc = function()
    for _, f in pairs(S.files or {}) do os.remove(f.path) end
    for _, f in ipairs(F.all_paths or {}) do os.remove(f) end
    os.remove(dir)
  end })
  return dir
end
F.all_paths = {}

-- signing key for file URLs (independent of the webhook secret, per run)
local url_key = host.random_hex(32)

function F.sign(file_id, expires)
  return host.hmac_sha256(url_key, file_id .. ":" .. tostring(expires))
end

function F.signed_url(f)
  local expires = math.floor(host.now() + S.file_url_ttl)
  local url = string.format("%s/_files/%s?expires=%d&sig=%s", S.cfg.base_url or "", f.id, expires,
    F.sign(f.id, expires))
  -- the vendor's file_expire_at is "+00:00" form
  return url, U.iso(expires, "offset")
end

local function safe_name(s)
  s = s:gsub("[/\\%c:*?\"<>|]", "_")
  if s == "" then s = "export" end
  return s
end

local function build(task, format)
  local items = Tasks.items(task)
  local header = Tasks.COLUMNS[task.platform]
  local rows = {}
  for i, e in ipairs(items) do
    local o = Tasks.render_item(task, e)
    local row = {}
    for c, col in ipairs(header) do row[c] = json.get(o, col) end
    rows[i] = row
  end
  local title = task.task_name or task.id
  if format == "xlsx" then return X.xlsx(header, rows, "creators"), #rows
  elseif format == "csv" then return X.csv(header, rows), #rows end
  return X.html(header, rows, title), #rows
end

function F.export(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local fmt, err = V.string(body, "format", 20)
  if err then return CV.invalid(ctx, err) end
  if not fmt then return CV.invalid(ctx, "format 为必填项") end
  fmt = fmt:lower()
  if fmt == "feishu_doc" then return CV.fail(ctx, 400, 40001, "Format not yet supported") end
  if not MIME[fmt] then return CV.invalid(ctx, "format 必须是以下值之一: xlsx, csv, html, feishu_doc") end
  local task, bad2 = Tasks.lookup(ctx, body)
  if not task then return bad2 end
  if task.status ~= "completed" then
    return CV.fail(ctx, 404, 40401, "Task not completed")
  end
  task.exports = task.exports or {}
  local f = task.exports[fmt]
  if not f then
    local data, n = build(task, fmt)
    if n == 0 then return CV.fail(ctx, 404, 40401, "No data available for export") end
    local id = host.random_hex(16)
    local name = string.format("%s_%s.%s", safe_name(task.task_name or task.id),
      os.date("!%Y%m%d%H%M%S", math.floor(S.now())), fmt)
    local path = tmpdir() .. "/" .. id .. "." .. fmt
    local fh = assert(io.open(path, "wb"))
    fh:write(data)
    fh:close()
    f = { id = id, name = name, path = path, format = fmt, size = #data, rows = n, key = ctx.key,
      created = S.now(), seq = #F.all_paths + 1 }
    F.all_paths[#F.all_paths + 1] = path
    S.files[id] = f
    task.exports[fmt] = f
  end
  local url, expire_at = F.signed_url(f)
  return CV.ok(ctx, json.obj("file_id", f.id, "file_name", f.name, "file_url", url,
    "file_expire_at", expire_at, "format", f.format, "row_count", f.rows))
end

function F.download_url(ctx)
  local body, bad = CV.body(ctx)
  if not body then return bad end
  local id, err = V.string(body, "file_id", 64)
  if err then return CV.invalid(ctx, err) end
  local name
  name, err = V.string(body, "file_name", 500)
  if err then return CV.invalid(ctx, err) end
  if not id and not name then return CV.invalid(ctx, "file_id 或 file_name 至少提供一个") end
  local f
  if id then
    f = S.files[id]
  else
    for _, x in pairs(S.files) do
      if x.name == name and x.key == ctx.key and (not f or x.seq > f.seq) then f = x end
    end
  end
  if not f or f.key ~= ctx.key then return CV.fail(ctx, 404, 40401, "File not found") end
  local url, expire_at = F.signed_url(f)
  return CV.ok(ctx, json.obj("file_id", f.id, "file_name", f.name, "file_url", url,
    "file_expire_at", expire_at))
end

local function plain(status, text, headers)
  local h = headers or {}
  h[#h + 1] = { "Content-Type", "application/json; charset=utf-8" }
  return { status = status, headers = h, body = json.encode(json.obj("error", text)) }
end

-- GET|HEAD /_files/<id>?expires=&sig=   (Range: bytes=a-b | a- | -n)
function F.serve(ctx)
  if ctx.req.method ~= "GET" and ctx.req.method ~= "HEAD" then
    return plain(405, "method not allowed", { { "Allow", "GET, HEAD" } })
  end
  local id = ctx.path:match("^/_files/(%x+)$")
  local expires = tonumber(ctx.args.expires or "")
  local sig = ctx.args.sig or ""
  if not id or not expires or F.sign(id, math.tointeger(expires) or expires) ~= sig then
    return plain(403, "SignatureDoesNotMatch")
  end
  if host.now() > expires then return plain(403, "Request has expired") end
  local f = S.files[id]
  if not f then return plain(404, "NoSuchKey") end
  local fh = io.open(f.path, "rb")
  if not fh then return plain(404, "NoSuchKey") end
  local data = fh:read("a")
  fh:close()
  local size = #data
  local headers = {
    { "Content-Type", MIME[f.format] },
    { "Content-Disposition", string.format("attachment; filename=\"%s\"; filename*=UTF-8''%s",
      f.name:gsub("[^%w%._%-]", "_"), U.urlencode(f.name)) },
    { "Accept-Ranges", "bytes" },
    { "ETag", '"' .. host.sha256(data):sub(1, 32) .. '"' },
  }
  local range = U.header(ctx.req, "Range")
  if range then
    local a, b = range:match("^%s*bytes=(%d*)%-(%d*)%s*$")
    local first, last
    if a and a ~= "" then
      first = tonumber(a)
      last = (b ~= "" and math.min(tonumber(b), size - 1)) or size - 1
    elseif a and b ~= "" then
      local n = tonumber(b)
      first, last = math.max(0, size - n), size - 1
      if n == 0 then first = size end
    end
    if not first or first >= size or last < first then
      headers[#headers + 1] = { "Content-Range", "bytes */" .. size }
      return { status = 416, headers = headers, body = "" }
    end
    headers[#headers + 1] = { "Content-Range", string.format("bytes %d-%d/%d", first, last, size) }
    return { status = 206, headers = headers, body = data:sub(first + 1, last + 1) }
  end
  return { status = 200, headers = headers, body = data }
end

return F
