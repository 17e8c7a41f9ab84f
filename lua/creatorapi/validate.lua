--- Declarative parameter checking, run before any request is sent.
--
-- A parameter spec is a table `{ name = rule, ... }`; a rule has
--   type     "integer" | "number" | "string" | "boolean" | "list" | "date" | "string_array"
--   required true when the API refuses the call without it
--   min/max  numeric range (integer, number) or item count (string_array)
--   enum     allowed values (strings, compared exactly)
--   default  value used when the caller leaves it out (only where the SDK must send it)
-- Unknown parameter names pass through untouched: the APIs ignore fields they
-- do not know, and a newer API may know them.
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

local checkers = {}

function checkers.integer(name, v, rule)
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

--- Checks `params` against `spec`. Returns a new table ready to send, or
--- `nil, err` (kind "validation", `err.field` names the parameter).
function M.check(spec, params, where)
  if params == nil then params = {} end
  if type(params) ~= "table" then
    error(string.format("%s: params must be a table, got %s", where or "?", type(params)), 3)
  end
  local out = {}
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
    elseif v ~= null then
      out[k] = v -- unknown name: passed through, the API ignores it
    end
  end
  local missing
  for name, rule in pairs(spec) do
    if out[name] == nil then
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
