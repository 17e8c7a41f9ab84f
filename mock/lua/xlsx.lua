-- Export writers: XLSX (one sheet, bold coloured frozen header, column
-- widths; libxlsxwriter through host.xlsx), CSV (UTF-8 with BOM) and an
-- HTML table.
-- luacheck: read globals host
local X = {}

local function xml_escape(s)
  s = tostring(s):gsub("[%z\1-\8\11\12\14-\31]", "")
  return (s:gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end
X.xml_escape = xml_escape

-- header: list of column names; rows: list of lists (nil = empty cell).
-- Written by Debian's libxlsxwriter in the C host (mock/xlsx.c).
function X.xlsx(header, rows, sheet_name)
  return assert(host.xlsx(header, rows, sheet_name or "Sheet1"))
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
