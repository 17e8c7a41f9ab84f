--- Runs the real `bin/creatorapi` command for specs, against a mock started
--- with support.mock, and reads back what it wrote.
--
--   local cli = require "support.cli"
--   local r = cli.run(m, { "cv", "search", "tiktok", "--limit", "5" })
--   r.code, r.out, r.err
local mock = require "support.mock"

local M = {}

-- The interpreter the suite runs under: LuaJIT for the #jit run, an
-- instrumented one under make asan, else Lua 5.4.
M.LUA = os.getenv("CREATORAPI_LUA") or (jit and "luajit" or "lua5.4")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = q

local function slurp(path)
  local f = io.open(path, "rb")
  local s = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(path)
  return s
end

--- The environment a user gets from `creatorapi mock`: demo keys, mock URLs.
function M.env_for(m)
  return {
    CREATIVAULT_BASE_URL = m.url, CREATIVAULT_API_KEY = mock.DEMO.cv_key,
    CREATIVAULT_USER_IDENTITY = mock.DEMO.cv_identity,
    KEYAPI_API_BASE_URL = m.url, KEYAPI_TOKEN = mock.DEMO.keyapi_key,
  }
end

--- The shell command line for a run (env: overrides; false unsets a variable).
function M.command(m, argv, env)
  local vars = m and M.env_for(m) or {}
  for k, v in pairs(env or {}) do vars[k] = v end
  local parts = { "env" }
  local names = {}
  for k in pairs(vars) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do        -- env: every -u before the assignments
    if vars[k] == false then parts[#parts + 1] = "-u " .. k end
  end
  for _, k in ipairs(names) do
    if vars[k] ~= false then parts[#parts + 1] = k .. "=" .. q(vars[k]) end
  end
  parts[#parts + 1] = M.LUA
  parts[#parts + 1] = "bin/creatorapi"
  for _, a in ipairs(argv) do parts[#parts + 1] = q(a) end
  return table.concat(parts, " ")
end

local function exit_code(ok, how, code)
  if type(ok) == "number" then          -- Lua 5.1 / LuaJIT: the raw wait status
    return ok >= 256 and math.floor(ok / 256) or ok
  end
  if how == "signal" then return 128 + code end
  return code
end

--- Runs the command; → { code, out, err }. stdin is /dev/null unless opts.stdin.
function M.run(m, argv, env, opts)
  opts = opts or {}
  local out, err = os.tmpname(), os.tmpname()
  local cmd = M.command(m, argv, env) .. " >" .. q(out) .. " 2>" .. q(err) ..
    " <" .. q(opts.stdin or "/dev/null")
  local code = exit_code(os.execute(cmd))
  return { code = code, out = slurp(out), err = slurp(err), cmd = cmd }
end

--- Runs the command under a pseudo-terminal (util-linux `script`); stdout and
--- stderr both go to the terminal. → { code, tty = what the terminal received }.
function M.run_tty(m, argv, env, redirect)
  local log = os.tmpname()
  local inner = M.command(m, argv, env) .. (redirect or "")
  local cmd = "script -qefc " .. q(inner) .. " " .. q(log) .. " >/dev/null 2>&1 </dev/null"
  local code = exit_code(os.execute(cmd))
  local text = slurp(log)
  -- drop script's own header and footer lines
  text = text:gsub("^Script started[^\n]*\n", ""):gsub("\n?Script done[^\n]*\n?$", "")
  return { code = code, tty = text }
end

--- A CSV reader (RFC 4180: quoted fields, doubled quotes, commas and newlines
--- inside quotes; CRLF or LF line ends). → list of rows (lists of strings).
function M.parse_csv(text)
  local rows, row, field = {}, {}, {}
  local i, n, quoted = 1, #text, false
  if text:sub(1, 3) == "\239\187\191" then i = 4 end   -- UTF-8 BOM
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' then
        if text:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1
        else quoted = false end
      else field[#field + 1] = c end
    elseif c == '"' then
      assert(#field == 0, "quote inside an unquoted field at byte " .. i)
      quoted = true
    elseif c == "," then
      row[#row + 1] = table.concat(field); field = {}
    elseif c == "\n" or c == "\r" then
      if c == "\r" and text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    else field[#field + 1] = c end
    i = i + 1
  end
  assert(not quoted, "unterminated quoted field")
  if #field > 0 or #row > 0 then row[#row + 1] = table.concat(field); rows[#rows + 1] = row end
  return rows
end

--- CSV text → list of { header = value } records.
function M.csv_records(text)
  local rows = M.parse_csv(text)
  local head, out = rows[1] or {}, {}
  for r = 2, #rows do
    local rec = {}
    for c, name in ipairs(head) do rec[name] = rows[r][c] end
    out[#out + 1] = rec
  end
  return out, head
end

--- The mock's recorded requests since the last clear (decoded bodies; headers by lower-case name).
function M.requests(m, path)
  local t = m:get_json("/_mock/requests?limit=1000" .. (path and ("&path=" .. path) or ""))
  local json = require "creatorapi.core"
  for _, r in ipairs(t.requests) do
    local h = {}
    for _, pair in ipairs(r.headers) do h[pair[1]:lower()] = pair[2] end
    r.headers = h
    if type(r.body) == "string" and r.body ~= "" then r.json = json.json_decode(r.body) end
  end
  return t.requests
end

function M.clear(m)
  m:curl("DELETE", "/_mock/requests")
end

--- Query string → table.
function M.query(s)
  local t = {}
  for k, v in (s or ""):gmatch("([^&=]+)=([^&]*)") do
    t[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return t
end

--- JSON text → value (asserting that it is JSON); JSON lines → list of values.
function M.decode(s)
  local v, err = require("creatorapi").json.decode(s)
  assert(v ~= nil, "not JSON: " .. tostring(err) .. "\n" .. s)
  return v
end

function M.jsonl(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = M.decode(l) end
  return out
end

--- Credits the mock has charged a key so far.
function M.charged(m, key)
  local st = m:get_json("/_mock/stats")
  return (st.credits_consumed or {})[key or mock.DEMO.cv_key] or 0
end

return M
