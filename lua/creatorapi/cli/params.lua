--- Command-line options generated from an endpoint's parameter table
--- (the same `params` rules creatorapi.validate checks), and the conversion of
--- what the shell gives (strings) into the values the SDK validates.
--
-- One option per parameter: `followers_cnt_gte` → `--followers-cnt-gte <int>`.
-- Values are converted only as far as the shell cannot say it (a string that
-- spells an integer becomes an integer); anything else is passed on as typed,
-- so the SDK's own validation message reports the mistake.
local core = require "creatorapi.core"

local M = {}

--- Option name of a parameter.
function M.flag(name)
  return "--" .. name:gsub("_", "-")
end

-- Placeholder shown in usage lines, per rule type.
local ARGNAME = {
  integer = "<int>", number = "<num>", string = "<text>", boolean = "<bool>",
  list = "<a,b,...>", date = "<YYYY-MM-DD>", string_array = "<item,...>",
}

local TYPE_TEXT = {
  integer = "integer", number = "number", string = "text", boolean = "true/false (bare flag = true)",
  list = "comma-separated list", date = "date YYYY-MM-DD",
  string_array = "list: comma-separated, repeatable, or @FILE (one item a line)",
}

local function value_text(v)
  return type(v) == "string" and v or tostring(v)
end

--- One line describing a rule: type, enum, range, required, default.
function M.describe(rule)
  local parts = { TYPE_TEXT[rule.type] or rule.type }
  if rule.enum then
    local vals = {}
    for i, e in ipairs(rule.enum) do vals[i] = value_text(e) end
    parts[#parts + 1] = "one of " .. table.concat(vals, ", ")
    if rule.map then
      local aliases = {}
      for k, v in pairs(rule.map) do aliases[#aliases + 1] = value_text(k) .. "=" .. value_text(v) end
      table.sort(aliases)
      parts[#parts + 1] = "also " .. table.concat(aliases, ", ")
    end
  end
  if rule.min or rule.max then
    local unit = rule.type == "string_array" and " items" or ""
    if rule.min and rule.max then
      parts[#parts + 1] = string.format("%s..%s%s", value_text(rule.min), value_text(rule.max), unit)
    elseif rule.min then
      parts[#parts + 1] = string.format(">= %s%s", value_text(rule.min), unit)
    else
      parts[#parts + 1] = string.format("<= %s%s", value_text(rule.max), unit)
    end
  end
  if rule.nonempty then parts[#parts + 1] = "non-empty" end
  if rule.required then parts[#parts + 1] = "required" end
  if rule.default ~= nil then parts[#parts + 1] = "default " .. value_text(rule.default) end
  if rule.note then parts[#parts + 1] = rule.note end
  return table.concat(parts, "; ")
end

--- Sorted parameter names of a spec.
function M.names(spec)
  local out = {}
  for k in pairs(spec or {}) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- Adds one option per parameter to an argparse command.
--  skip[name] = true leaves a parameter out (it is filled another way);
--  rename[name] = "flag-name" spells its option differently.
--  Returns the list of argparse option objects (for a help group).
function M.add_options(cmd, spec, skip, rename)
  local opts = {}
  for _, name in ipairs(M.names(spec)) do
    if not (skip and skip[name]) then
      local rule = spec[name]
      local flag = rename and rename[name] and ("--" .. rename[name]) or M.flag(name)
      local o = cmd:option(flag, M.describe(rule)):target("p_" .. name)
        :argname(ARGNAME[rule.type] or "<value>")
      if rule.type == "boolean" then o:args("?") end
      if rule.type == "string_array" then o:count("*") end
      opts[#opts + 1] = o
    end
  end
  return opts
end

local function to_integer(s)
  local n = tonumber(s)
  if math.tointeger then return math.tointeger(n) or n end
  return n
end

local BOOL = { ["true"] = true, yes = true, ["1"] = true, on = true,
               ["false"] = false, no = false, ["0"] = false, off = false }

local function read_lines(path)
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local out = {}
  for line in f:lines() do
    line = line:gsub("\r$", ""):gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

--- Converts what the shell gave for one parameter. Returns value | nil, message.
--  `raw` is a string, or for booleans argparse's list (empty = bare flag),
--  or for string arrays a list of occurrences.
function M.convert(rule, raw)
  local t = rule and rule.type
  if t == "boolean" then
    if type(raw) == "table" then raw = raw[1] end
    if raw == nil then return true end
    local b = BOOL[raw:lower()]
    if b == nil then return raw end       -- the SDK says "expected a boolean"
    return b
  elseif t == "string_array" then
    local items = setmetatable({}, core.array_mt)
    for _, occ in ipairs(type(raw) == "table" and raw or { raw }) do
      if occ:sub(1, 1) == "@" then
        local lines, err = read_lines(occ:sub(2))
        if not lines then return nil, "cannot read " .. occ:sub(2) .. ": " .. tostring(err) end
        for _, l in ipairs(lines) do items[#items + 1] = l end
      else
        for item in occ:gmatch("[^,]+") do
          item = item:gsub("^%s+", ""):gsub("%s+$", "")
          if item ~= "" then items[#items + 1] = item end
        end
      end
    end
    return items
  elseif t == "integer" then
    if raw:match("^%s*%-?%d+%s*$") then return to_integer(raw) end
    return raw
  elseif t == "number" then
    return tonumber(raw) or raw
  end
  return raw
end

--- A `--param k=v` value without a rule: JSON when it parses as JSON
--  (numbers, true/false, null, arrays, objects), a string otherwise.
function M.guess(raw)
  local v = core.json_decode(raw)
  if v ~= nil then return v end
  return raw
end

--- Builds the parameter table of one call.
--  args: argparse result; spec: the endpoint's params;
--  extra: { data = JSON text, param = { "k=v", ... }, positional = { name = value } }.
--  Returns params | nil, message (a usage mistake).
function M.collect(args, spec, extra)
  spec = spec or {}
  local params = {}
  if extra.data then
    local v, err = core.json_decode(extra.data)
    if type(v) ~= "table" or v == core.null or getmetatable(v) == core.array_mt then
      return nil, "--data must be a JSON object" .. (err and (": " .. err) or "")
    end
    for k, x in pairs(v) do params[k] = x end
  end
  for _, kv in ipairs(extra.param or {}) do
    local k, raw = kv:match("^([^=]+)=(.*)$")
    if not k then return nil, "--param expects NAME=VALUE, got " .. string.format("%q", kv) end
    k = k:gsub("%-", "_")
    local v, err
    if spec[k] then v, err = M.convert(spec[k], raw) else v = M.guess(raw) end
    if err then return nil, err end
    params[k] = v
  end
  for name, v in pairs(extra.positional or {}) do params[name] = v end
  for name, rule in pairs(spec) do
    local raw = args["p_" .. name]
    if raw ~= nil and not (type(raw) == "table" and #raw == 0 and rule.type == "string_array") then
      local v, err = M.convert(rule, raw)
      if err then return nil, err end
      params[name] = v
    end
  end
  return params
end

return M
