--- Declarative parameter checking, run before any request is sent.
--
-- A parameter spec is a table `{ name = rule, ... }`; a rule has
--   type     "integer" | "number" | "string" | "boolean" | "list" | "date" | "string_array"
--   required true when the API refuses the call without it
--   min/max  numeric range (integer, number) or item count (string_array)
--   enum     allowed values (strings, compared exactly)
--   default  value used when the caller leaves it out (only where the SDK must send it)
-- A name the spec does not declare is refused (kind "validation", with the
-- closest declared names as suggestions): the APIs silently ignore fields they
-- do not know, so a misspelled filter would be billed and not applied. The
-- `unknown` mode of `check` ("error" | "warn" | "pass") relaxes this for
-- parameters a newer API knows and the SDK does not yet.
local errors = require "creatorapi.errors"
local core = require "creatorapi.core"

local M = {}

local null = core.null
local floor = math.floor
local mtype = math.type

local function is_integral(v)
  if type(v) ~= "number" then return false end
  if mtype then return mtype(v) == "integer" or (v == floor(v) and v > -2^63 and v < 2^63) end
  return v == floor(v) and v > -2^53 and v < 2^53
end

local function to_integer(v)
  if mtype and mtype(v) == "float" then return math.tointeger(v) end
  return v
end

local function describe(v)
  if v == null then return "null" end
  return type(v)
end

local function enum_text(enum)
  local out = {}
  for i, e in ipairs(enum) do out[i] = type(e) == "string" and string.format("%q", e) or tostring(e) end
  return table.concat(out, ", ")
end

-- Edit distance (Levenshtein, with adjacent transpositions counted as one edit).
local function distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cb = b:byte(j)
      local d = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb and 0 or 1))
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == cb then
        d = math.min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end
M.distance = distance

--- suggest(name, candidates [, max]) → list of the closest candidate names
--  (at most `max`, default 3; closest first). `candidates` is a list of
--  names or a table keyed by name. A candidate qualifies when its edit
--  distance to `name` (case and "-"/"_" ignored) is small for the name's
--  length, or when one name starts with the other.
function M.suggest(name, candidates, max)
  name = tostring(name)
  local function norm(s) return (s:lower():gsub("%-", "_")) end
  local want = norm(name)
  local names = {}
  if candidates[1] ~= nil then
    for _, c in ipairs(candidates) do names[#names + 1] = tostring(c) end
  else
    for c in pairs(candidates) do names[#names + 1] = tostring(c) end
  end
  local limit = math.max(1, math.floor(#want / 4))
  local scored = {}
  for _, c in ipairs(names) do
    local nc = norm(c)
    local d = distance(want, nc)
    local squeezed = want:gsub("_", "") == nc:gsub("_", "")
    if squeezed then d = math.min(d, 1) end
    local prefix = #want >= 3 and (nc:sub(1, #want) == want or want:sub(1, #nc) == nc)
    if c ~= name and (d <= limit or prefix) then
      scored[#scored + 1] = { name = c, d = prefix and math.min(d, limit) or d }
    end
  end
  table.sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    return x.name < y.name
  end)
  local out = {}
  for i = 1, math.min(#scored, max or 3) do
    if scored[i].d > scored[1].d + 1 then break end   -- much farther than the best: noise
    out[i] = scored[i].name
  end
  return out
end

--- did_you_mean(name, candidates) → "did you mean `a` or `b`?" or nil.
function M.did_you_mean(name, candidates)
  local s = M.suggest(name, candidates)
  if #s == 0 then return nil end
  for i, v in ipairs(s) do s[i] = "`" .. v .. "`" end
  local text = s[1]
  if #s > 1 then text = table.concat(s, ", ", 1, #s - 1) .. " or " .. s[#s] end
  return "did you mean " .. text .. "?"
end

--- The modes `unknown_params` takes.
M.UNKNOWN_MODES = { error = true, warn = true, pass = true }

local function unknown_error(name, spec, where)
  local hint = M.did_you_mean(name, spec)
  local err = errors.validation(name, string.format("unknown parameter%s%s; nothing was sent " ..
    "(unknown_params = \"pass\" sends it anyway)", where and (" for " .. where) or "",
    hint and (" (" .. hint .. ")") or ""))
  err.suggestions = M.suggest(name, spec)
  return err
end

--- check_keys(where, opts, allowed, level): raises on a key of `opts` that is
--  not in `allowed` (a set), naming the closest allowed keys. For option
--  tables of helpers and iterators, where an unknown key is a programming error.
function M.check_keys(where, opts, allowed, level)
  for k in pairs(opts) do
    if not allowed[k] then
      local hint = type(k) == "string" and M.did_you_mean(k, allowed)
      error(string.format("%s: unknown option %q%s", where, tostring(k),
        hint and (" (" .. hint .. ")") or ""), (level or 2) + 1)
    end
  end
end

local checkers = {}

function checkers.integer(name, v, rule)
  -- The usual case first: a Lua 5.3+ integer within the bounds.
  if mtype and mtype(v) == "integer" then
    local lo, hi = rule.min, rule.max
    if (lo == nil or v >= lo) and (hi == nil or v <= hi) then return v end
  end
  if type(v) == "string" and v:match("^%-?%d+$") then v = tonumber(v) end
  if not is_integral(v) then
    return nil, errors.validation(name, "expected an integer, got " .. describe(v))
  end
  v = to_integer(v)
  if rule.min and v < rule.min then
    return nil, errors.validation(name, string.format("must be >= %d (got %d)", rule.min, v))
  end
  if rule.max and v > rule.max then
    return nil, errors.validation(name, string.format("must be <= %d (got %d)", rule.max, v))
  end
  return v
end

function checkers.number(name, v, rule)
  if type(v) == "string" then v = tonumber(v) or v end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    return nil, errors.validation(name, "expected a finite number, got " .. describe(v))
  end
  if rule.min and v < rule.min then
    return nil, errors.validation(name, string.format("must be >= %s (got %s)", rule.min, v))
  end
  if rule.max and v > rule.max then
    return nil, errors.validation(name, string.format("must be <= %s (got %s)", rule.max, v))
  end
  return v
end

function checkers.string(name, v, rule)
  if type(v) ~= "string" then
    return nil, errors.validation(name, "expected a string, got " .. describe(v))
  end
  if rule.nonempty and v == "" then
    return nil, errors.validation(name, "must not be empty")
  end
  if rule.pattern and not v:match(rule.pattern) then
    return nil, errors.validation(name, rule.pattern_text or ("must match " .. rule.pattern))
  end
  return v
end

function checkers.date(name, v, rule)
  if type(v) ~= "string" or not v:match("^%d%d%d%d%-%d%d%-%d%d$") then
    return nil, errors.validation(name, "expected a date as \"YYYY-MM-DD\", got " ..
      (type(v) == "string" and string.format("%q", v) or describe(v)))
  end
  return v
end

function checkers.boolean(name, v, rule)
  if type(v) ~= "boolean" then
    return nil, errors.validation(name, "expected a boolean, got " .. describe(v))
  end
  return v
end

-- A comma list: the API takes "US,CA"; callers may pass {"US", "CA"}.
function checkers.list(name, v, rule)
  if type(v) == "table" and v ~= null then
    local parts = {}
    for i = 1, #v do
      if type(v[i]) ~= "string" and type(v[i]) ~= "number" then
        return nil, errors.validation(name, string.format("item %d: expected a string, got %s", i, describe(v[i])))
      end
      parts[i] = tostring(v[i])
    end
    if #parts == 0 then return nil, errors.validation(name, "must not be an empty list") end
    return table.concat(parts, ",")
  end
  if type(v) == "number" and is_integral(v) then return tostring(to_integer(v)) end
  if type(v) ~= "string" then
    return nil, errors.validation(name, "expected a string or a list of strings, got " .. describe(v))
  end
  return v
end

-- A JSON array of strings with an item-count range.
function checkers.string_array(name, v, rule)
  if type(v) ~= "table" or v == null then
    return nil, errors.validation(name, "expected a list of strings, got " .. describe(v))
  end
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      return nil, errors.validation(name, "expected a list (sequence) of strings")
    end
  end
  if rule.min and n < rule.min then
    return nil, errors.validation(name, string.format("needs at least %d item(s), got %d", rule.min, n))
  end
  if rule.max and n > rule.max then
    return nil, errors.validation(name, string.format("takes at most %d items, got %d", rule.max, n))
  end
  local out = setmetatable({}, core.array_mt)
  for i = 1, n do
    if type(v[i]) ~= "string" or v[i] == "" then
      return nil, errors.validation(name, string.format("item %d: expected a non-empty string, got %s",
        i, type(v[i]) == "string" and "\"\"" or describe(v[i])))
    end
    out[i] = v[i]
  end
  return out
end

-- spec → the names that have a default or are required, listed once per
-- spec (specs are built at load time and never change): a call walks these
-- few, not every declared parameter.
local musts_of = setmetatable({}, { __mode = "k" })
local function musts(spec)
  local list = musts_of[spec]
  if list then return list end
  list = {}
  for name, rule in pairs(spec) do
    if rule.default ~= nil or rule.required then list[#list + 1] = name end
  end
  musts_of[spec] = list
  return list
end

--- Checks `params` against `spec`. Returns a new table ready to send, or
--- `nil, err` (kind "validation", `err.field` names the parameter).
--- `unknown` ("error" default | "warn" | "pass") decides what an undeclared
--- name does; with "warn", `warn(message)` is called and the name is sent.
function M.check(spec, params, where, unknown, warn)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    error(string.format("%s: params must be a table, got %s", where or "?", type(params)), 3)
  end
  -- Four hash slots from the start (the nil fields size the constructor):
  -- a call's few parameters then go in without the table rehashing at 1, 2, 4.
  local out = { _1 = nil, _2 = nil, _3 = nil, _4 = nil }
  for k, v in pairs(params) do
    if type(k) ~= "string" then
      return nil, errors.validation(tostring(k), "parameter names must be strings")
    end
    local rule = spec[k]
    if rule and v ~= null then
      local cv, err = checkers[rule.type](k, v, rule)
      if err then return nil, err end
      if rule.map and rule.map[cv] ~= nil then cv = rule.map[cv] end
      if rule.enum then
        local ok = false
        for _, e in ipairs(rule.enum) do
          if cv == e then ok = true break end
        end
        if not ok then
          return nil, errors.validation(k, string.format("must be one of %s (got %s)",
            enum_text(rule.enum), type(cv) == "string" and string.format("%q", cv) or tostring(cv)))
        end
      end
      if rule.check then
        local msg = rule.check(cv, params)
        if msg then return nil, errors.validation(k, msg) end
      end
      out[k] = cv
    elseif not rule then
      if unknown == nil or unknown == "error" then return nil, unknown_error(k, spec, where) end
      if unknown == "warn" and warn then warn(tostring(unknown_error(k, spec, where).message)) end
      if v ~= null then out[k] = v end -- sent as given: a newer API may know it
    end
  end
  local missing
  for _, name in ipairs(musts(spec)) do
    if out[name] == nil then
      local rule = spec[name]
      if rule.default ~= nil then
        out[name] = rule.default
      elseif rule.required then
        missing = missing or {}
        missing[#missing + 1] = name
      end
    end
  end
  if missing then
    table.sort(missing)
    return nil, errors.validation(missing[1], "is required")
  end
  return out
end

return M
