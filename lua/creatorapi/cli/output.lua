--- Output formats of the command line: table, csv, json, jsonl.
--
-- A writer takes rows one at a time (`w:row(t)`) and writes them as they
-- come, so a long export holds one page in memory. The table format buffers
-- its first `TABLE_SAMPLE` rows to size the columns, then streams with those
-- widths (a longer value later widens only its own line).
--
-- Cells: `--fields a,b.c` chooses columns (dotted paths reach into objects).
-- Without it, csv/table use the endpoint's preferred columns (table: those
-- only; csv: those first, then every other key of the first row, sorted).
-- Nested values are written as compact JSON; JSON null is an empty cell.
local core = require "creatorapi.core"
local text = require "creatorapi.text"

local M = {}

M.FORMATS = { "table", "csv", "json", "jsonl" }
M.TABLE_SAMPLE = 50
M.MAX_CELL = 40          -- table cells longer than this (in display columns) are cut with "…"

local null = core.null
local mtype = math.type

local function is_array(v)
  return type(v) == "table" and (getmetatable(v) == core.array_mt or (next(v) ~= nil and #v > 0 and next(v, #v) == nil))
end
M.is_array = is_array

local function is_integral(v)
  if mtype then return mtype(v) == "integer" or (v == math.floor(v) and v > -2^63 and v < 2^63) end
  return v == math.floor(v) and v > -2^53 and v < 2^53
end

--- Number text as the JSON codec writes it (exact integers, shortest floats).
local function number_text(v)
  return (core.json_encode(v))
end

--- 1234567 → "1,234,567"; 1234.5 → "1,234.5" (sign and fraction kept).
function M.thousands(v)
  local s = number_text(v)
  local sign, int, rest = s:match("^(%-?)(%d+)(.*)$")
  if not int or rest:find("[eE]") then return s end
  int = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. int .. rest
end

--- Display width of a string (creatorapi.text: the C library's wcwidth).
M.width = text.width

-- A table cell: control characters replaced (a cell stays on its line), cut
-- to MAX_CELL columns with "…".
local function table_cell(v)
  return (text.truncate(text.clean(M.cell(v, true)), M.MAX_CELL))
end

--- The value at a dotted path ("seed.username") of a row.
function M.pick(row, path)
  local v = row
  for part in path:gmatch("[^.]+") do
    if type(v) ~= "table" or v == null then return nil end
    local key = tonumber(part) and is_array(v) and tonumber(part) or part
    v = v[key]
  end
  return v
end

--- Cell text of a value (raw: csv; pretty: table, with thousands separators).
function M.cell(v, pretty)
  if v == nil or v == null then return "" end
  local t = type(v)
  if t == "number" then
    if pretty and (is_integral(v) or math.abs(v) >= 1000) then return M.thousands(v) end
    return number_text(v)
  elseif t == "boolean" then return tostring(v)
  elseif t == "table" then return (core.json_encode(v)) or "?"
  end
  return tostring(v)
end

local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

-- Columns for a row: --fields, else the preferred ones present (table) or all (csv).
local function choose_columns(self, row)
  if self.fields then return self.fields end
  local cols, seen = {}, {}
  for _, c in ipairs(self.columns or {}) do
    if type(row) == "table" and row[c] ~= nil then cols[#cols + 1] = c; seen[c] = true end
  end
  if self.format == "table" and #cols > 0 then return cols end
  local rest = {}
  if type(row) == "table" then
    for k, v in pairs(row) do
      if type(k) == "string" and not seen[k] and (self.format == "csv" or type(v) ~= "table") then
        rest[#rest + 1] = k
      end
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do cols[#cols + 1] = k end
  if self.format == "table" and #cols > 8 then
    for i = #cols, 9, -1 do cols[i] = nil end
  end
  return cols
end

local Writer = {}
Writer.__index = Writer

--- new{ format=, fields={...}|nil, columns={...}|nil, out=file, single=bool, before_write=fn, sample=n }
--  `sample`: rows the table format reads before sizing its columns (default TABLE_SAMPLE).
--  `single`: the result is one object (json writes it bare, not in an array).
function M.new(opts)
  return setmetatable({
    format = opts.format or "jsonl", fields = opts.fields, columns = opts.columns,
    out = opts.out or io.stdout, single = opts.single, before = opts.before_write,
    n = 0, buffer = {}, cols = nil, widths = nil, align = nil, sample = opts.sample or M.TABLE_SAMPLE,
  }, Writer)
end

function Writer:write(...)
  if self.before then self.before() end
  self.out:write(...)
end

local function project(self, row)
  if not self.fields or type(row) ~= "table" then return row end
  local out = {}
  for _, f in ipairs(self.fields) do
    local v = M.pick(row, f)
    if v == nil then v = null end
    out[f] = v
  end
  return out
end

-- Table: sizes the columns from the buffered rows and writes them with the
-- header; cells are padded to display columns (text.row), numbers on the right.
local function table_flush(self)
  local rows = self.buffer
  self.buffer = {}
  if not self.cols then
    self.cols = choose_columns(self, rows[1])
    self.widths, self.align = {}, {}
    for i, c in ipairs(self.cols) do
      local w, numeric = M.width(text.clean(c)), true
      for _, r in ipairs(rows) do
        local v = M.pick(r, c)
        if v ~= nil and v ~= null and type(v) ~= "number" then numeric = false end
        local cw = M.width(table_cell(v))
        if cw > w then w = cw end
      end
      self.widths[i], self.align[i] = w, numeric and "right" or nil
    end
    self:write(text.row(self.cols, self.widths, { truncate = false }), "\n")
  end
  for _, r in ipairs(rows) do
    local line = {}
    for i, c in ipairs(self.cols) do line[i] = table_cell(M.pick(r, c)) end
    self:write(text.row(line, self.widths, { align = self.align, truncate = false }), "\n")
  end
end

--- Writes one row (an object, or any JSON value for json/jsonl).
function Writer:row(row)
  self.n = self.n + 1
  local f = self.format
  if f == "jsonl" then
    self:write(core.json_encode(project(self, row)), "\n")
  elseif f == "json" then
    local encoded = core.json_encode(project(self, row))
    if self.single then self:write(encoded, "\n")
    else self:write(self.n == 1 and "[\n" or ",\n", encoded) end
  elseif f == "csv" then
    if not self.cols then
      self.cols = choose_columns(self, row)
      local head = {}
      for i, c in ipairs(self.cols) do head[i] = csv_field(c) end
      self:write(table.concat(head, ","), "\n")
    end
    local line = {}
    for i, c in ipairs(self.cols) do line[i] = csv_field(M.cell(M.pick(row, c), false)) end
    self:write(table.concat(line, ","), "\n")
  else
    self.buffer[#self.buffer + 1] = row
    if self.cols or #self.buffer >= self.sample then table_flush(self) end
  end
  if f ~= "table" then self.out:flush() end
end

--- Ends the output (closes the JSON array; flushes the table's buffer).
function Writer:finish()
  if self.format == "json" and not self.single and self.n > 0 then
    self:write("\n]\n")
  elseif self.format == "json" and not self.single then
    self:write("[]\n")
  elseif self.format == "csv" and self.n == 0 and self.fields then
    local head = {}
    for i, c in ipairs(self.fields) do head[i] = csv_field(c) end
    self:write(table.concat(head, ","), "\n")
  elseif self.format == "table" then
    if #self.buffer > 0 then table_flush(self) end
    if self.n == 0 then io.stderr:write("(no rows)\n") end
  end
  self.out:flush()
end

--- Splits "a,b,c" into a list (nil for nil).
function M.split_fields(s)
  if not s then return nil end
  local out = {}
  for f in s:gmatch("[^,]+") do
    f = f:gsub("^%s+", ""):gsub("%s+$", "")
    if f ~= "" then out[#out + 1] = f end
  end
  return #out > 0 and out or nil
end

--- The rows of a response's data: an array, an object's `items`, or the object itself.
--  Returns list, single (true when data is one object).
function M.rows_of(data)
  if is_array(data) or (type(data) == "table" and next(data) == nil and getmetatable(data) == core.array_mt) then
    return data, false
  end
  if type(data) == "table" and data ~= null and type(data.items) == "table" then
    return data.items, false
  end
  return { data }, true
end

return M
