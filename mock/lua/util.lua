-- luacheck: read globals host MOCK_CONFIG
-- Small helpers shared by the handlers.
local U = {}

function U.urldecode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function U.urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- "a=1&b=2" -> { a = "1", b = "2" } (last value wins), plus the ordered pair list
function U.parse_query(q)
  local t, pairs_ = {}, {}
  if not q or q == "" then return t, pairs_ end
  for part in q:gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=(.*)$")
    if not k then k, v = part, "" end
    k, v = U.urldecode(k), U.urldecode(v)
    t[k] = v
    pairs_[#pairs_ + 1] = { k, v }
  end
  return t, pairs_
end

-- header lookup, case-insensitive; req.headers is { {name, value}, ... }
function U.header(req, name)
  name = name:lower()
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == name then return h[2] end
  end
  return nil
end

function U.trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

function U.split(s, sep)
  local t = {}
  for item in (s .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do
    item = U.trim(item)
    if item ~= "" then t[#t + 1] = item end
  end
  return t
end

-- ISO 8601 UTC "2026-03-15T10:45:00Z" (fmt "z") or "+00:00" form (fmt "offset")
function U.iso(t, form)
  local s = os.date("!%Y-%m-%dT%H:%M:%S", math.floor(t))
  if form == "offset" then return s .. "+00:00" end
  return s .. "Z"
end

function U.ymd(t)
  return os.date("!%Y-%m-%d", math.floor(t))
end

-- days since 1970-01-01 for a civil date (proleptic Gregorian)
function U.days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

function U.valid_date(s)
  if type(s) ~= "string" then return false end
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not y then return false end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 then return false end
  local leap = y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
  local mdays = { 31, leap and 29 or 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
  return d <= mdays[m]
end

function U.uuid4()
  local h = host.random_hex(16)
  local v = tonumber(h:sub(17, 17), 16) & 3 | 8
  return string.format("%s-%s-4%s-%x%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16),
    v, h:sub(18, 20), h:sub(21, 32))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function U.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for k = 1, 4 do
      local idx = (n >> (6 * (4 - k))) & 63
      q[k] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3], q[4] = "=", "="
    elseif not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

function U.is_integral(v)
  return type(v) == "number" and v == math.floor(v) and v > -2^63 and v < 2^63
end

return U
