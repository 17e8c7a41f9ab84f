-- Minimal writers for exports: a stored (uncompressed) ZIP, an XLSX
-- workbook (one sheet, inline strings, bold coloured header, column widths),
-- CSV (UTF-8 with BOM) and an HTML table.
-- luacheck: read globals host
local X = {}

local function u16(n) return string.pack("<I2", n & 0xFFFF) end
local function u32(n) return string.pack("<I4", n & 0xFFFFFFFF) end

-- files: { {name, data}, ... } -> zip bytes (method 0 = stored)
function X.zip(files)
  local out, central, offset = {}, {}, 0
  local dos_time, dos_date = 0, (2026 - 1980) << 9 | 1 << 5 | 1
  for _, f in ipairs(files) do
    local name, data = f[1], f[2]
    local crc = host.crc32(data)
    local header = "PK\3\4" .. u16(20) .. u16(0x0800) .. u16(0) .. u16(dos_time) .. u16(dos_date) ..
      u32(crc) .. u32(#data) .. u32(#data) .. u16(#name) .. u16(0) .. name
    out[#out + 1] = header
    out[#out + 1] = data
    central[#central + 1] = "PK\1\2" .. u16(20) .. u16(20) .. u16(0x0800) .. u16(0) .. u16(dos_time) ..
      u16(dos_date) .. u32(crc) .. u32(#data) .. u32(#data) .. u16(#name) .. u16(0) .. u16(0) ..
      u16(0) .. u16(0) .. u32(0) .. u32(offset) .. name
    offset = offset + #header + #data
  end
  local cd = table.concat(central)
  out[#out + 1] = cd
  out[#out + 1] = "PK\5\6" .. u16(0) .. u16(0) .. u16(#files) .. u16(#files) .. u32(#cd) ..
    u32(offset) .. u16(0)
  return table.concat(out)
end

local function xml_escape(s)
  s = tostring(s):gsub("[%z\1-\8\11\12\14-\31]", "")
  return (s:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end
X.xml_escape = xml_escape

local function col_name(i)
  local s = ""
  while i > 0 do
    local r = (i - 1) % 26
    s = string.char(65 + r) .. s
    i = (i - 1) // 26
  end
  return s
end

local function cell(ref, v, style)
  local st = style and (' s="' .. style .. '"') or ""
  if type(v) == "number" then
    return string.format('<c r="%s"%s><v>%s</v></c>', ref, st, require("json").number(v))
  elseif type(v) == "boolean" then
    return string.format('<c r="%s"%s t="b"><v>%d</v></c>', ref, st, v and 1 or 0)
  elseif v == nil then
    return ""
  end
  return string.format('<c r="%s"%s t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>',
    ref, st, xml_escape(v))
end

-- header: list of column names; rows: list of lists (nil = empty cell)
function X.xlsx(header, rows, sheet_name)
  local widths = {}
  for c, h in ipairs(header) do widths[c] = math.max(8, utf8.len(tostring(h)) or #h) end
  local sheet_rows = {}
  local cells = {}
  for c, h in ipairs(header) do cells[#cells + 1] = cell(col_name(c) .. "1", h, 1) end
  sheet_rows[1] = '<row r="1">' .. table.concat(cells) .. "</row>"
  for r, row in ipairs(rows) do
    cells = {}
    for c = 1, #header do
      local v = row[c]
      if v ~= nil then
        local len = utf8.len(tostring(v)) or #tostring(v)
        if len > widths[c] then widths[c] = math.min(60, len) end
      end
      cells[#cells + 1] = cell(col_name(c) .. (r + 1), v)
    end
    sheet_rows[#sheet_rows + 1] = string.format('<row r="%d">%s</row>', r + 1, table.concat(cells))
  end
  local cols = {}
  for c, w in ipairs(widths) do
    cols[c] = string.format('<col min="%d" max="%d" width="%d" customWidth="1"/>', c, c, w + 2)
  end
  local sheet = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' ..
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" ' ..
    'state="frozen"/></sheetView></sheetViews>' ..
    "<cols>" .. table.concat(cols) .. "</cols>" ..
    "<sheetData>" .. table.concat(sheet_rows) .. "</sheetData></worksheet>"
  local files = {
    { "[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' ..
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' ..
      '<Default Extension="xml" ContentType="application/xml"/>' ..
      '<Override PartName="/xl/workbook.xml" ' ..
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' ..
      '<Override PartName="/xl/worksheets/sheet1.xml" ' ..
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' ..
      '<Override PartName="/xl/styles.xml" ' ..
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' ..
      "</Types>" },
    { "_rels/.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' ..
      '<Relationship Id="rId1" ' ..
      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' ..
      'Target="xl/workbook.xml"/></Relationships>' },
    { "xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' ..
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' ..
      '<sheets><sheet name="' .. xml_escape(sheet_name or "Sheet1") .. '" sheetId="1" r:id="rId1"/></sheets>' ..
      "</workbook>" },
    { "xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' ..
      '<Relationship Id="rId1" ' ..
      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" ' ..
      'Target="worksheets/sheet1.xml"/>' ..
      '<Relationship Id="rId2" ' ..
      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" ' ..
      'Target="styles.xml"/></Relationships>' },
    { "xl/styles.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' ..
      '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' ..
      '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>' ..
      '<font><b/><sz val="11"/><color rgb="FFFFFFFF"/><name val="Calibri"/></font></fonts>' ..
      '<fills count="3"><fill><patternFill patternType="none"/></fill>' ..
      '<fill><patternFill patternType="gray125"/></fill>' ..
      '<fill><patternFill patternType="solid"><fgColor rgb="FF4F81BD"/><bgColor indexed="64"/></patternFill></fill>' ..
      "</fills>" ..
      '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' ..
      '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' ..
      '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' ..
      '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>' ..
      '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' ..
      "</styleSheet>" },
    { "xl/worksheets/sheet1.xml", sheet },
  }
  return X.zip(files)
end

local function csv_field(v)
  if v == nil then return "" end
  if type(v) == "boolean" then v = v and "true" or "false" end
  if type(v) == "number" then v = require("json").number(v) end
  v = tostring(v)
  if v:find('[,"\r\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

function X.csv(header, rows)
  local lines = {}
  local h = {}
  for i, x in ipairs(header) do h[i] = csv_field(x) end
  lines[1] = table.concat(h, ",")
  for _, row in ipairs(rows) do
    local f = {}
    for c = 1, #header do f[c] = csv_field(row[c]) end
    lines[#lines + 1] = table.concat(f, ",")
  end
  return "\239\187\191" .. table.concat(lines, "\r\n") .. "\r\n"
end

function X.html(header, rows, title)
  local out = { "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>",
    xml_escape(title or "export"), "</title><style>table{border-collapse:collapse;font-family:sans-serif}",
    "th{background:#4f81bd;color:#fff}td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>",
    "<table>\n<thead><tr>" }
  for _, h in ipairs(header) do out[#out + 1] = "<th>" .. xml_escape(h) .. "</th>" end
  out[#out + 1] = "</tr></thead>\n<tbody>\n"
  for _, row in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for c = 1, #header do
      local v = row[c]
      if type(v) == "number" then v = require("json").number(v) end
      out[#out + 1] = "<td>" .. (v == nil and "" or xml_escape(tostring(v))) .. "</td>"
    end
    out[#out + 1] = "</tr>\n"
  end
  out[#out + 1] = "</tbody></table></body></html>\n"
  return table.concat(out)
end

return X
