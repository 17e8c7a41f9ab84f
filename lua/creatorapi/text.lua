--- creatorapi.text: UTF-8 text laid out in terminal columns, for tables.
--
--   local text = require("creatorapi").text
--   text.width("ゆき🌸")                 --> 6
--   text.truncate("Dear 中文 friend", 8) --> "Dear 中…", 8
--   text.row({ "1", "ゆき🌸", "1,234" }, { 3, 10, 8 }, { align = { [3] = "right" } })
--
-- Widths come from the C library's wcwidth (creatorapi.core.display_width,
-- see docs/api.md "Text width" for the rules and the limits with emoji
-- sequences). Every function raises on a non-string text (a programming
-- error), like the rest of the core's argument checks.
local core = require "creatorapi.core"

local M = {}

local display_width, truncate_width = core.display_width, core.truncate_width

--- The locale wcwidth runs under ("C.UTF-8"), or false (one column per code point).
M.locale = core.display_width_locale

--- Terminal columns of s.
---@param s string
---@return integer
M.width = display_width

--- s cut to at most `width` columns, ending in `tail` ("…" by default) when
--- cut; never splits a UTF-8 sequence or a wide character, and keeps a
--- combining mark with its letter. Returns the text and its columns.
---@param s string
---@param width integer
---@param tail? string
---@return string, integer
function M.truncate(s, width, tail)
  local w = display_width(s)
  if w <= width then return s, w end
  tail = tail or "…"
  local tw = display_width(tail)
  if tw > width then return truncate_width(s, width) end
  local head, hw = truncate_width(s, width - tw)
  return head .. tail, hw + tw
end

--- s padded with spaces to `width` columns: on the right (align "left", the
--- default) or on the left (align "right"). Wider text is returned as is.
---@param s string
---@param width integer
---@param align? "left"|"right"
---@return string
function M.pad(s, width, align)
  local n = width - display_width(s)
  if n <= 0 then return s end
  if align == "right" then return string.rep(" ", n) .. s end
  return s .. string.rep(" ", n)
end

-- C0 controls (tab, newline, NUL…) and DEL, by byte value (%c would follow
-- the process locale); C1 controls (U+0080..U+009F) as UTF-8. "%z" is NUL on
-- 5.1/LuaJIT, whose patterns cannot hold a "\0".
local CONTROL = "[%z\1-\31\127]"
local C1 = "\194[\128-\159]"

--- s with every control character (tab, newline, NUL, DEL, C1) replaced by
--- one space, so a cell stays on its line.
---@param s string
---@return string
function M.clean(s)
  if type(s) ~= "string" then error("bad argument #1 to 'clean' (string expected, got " .. type(s) .. ")", 2) end
  return (s:gsub(CONTROL, " "):gsub(C1, " "))
end

--- One table line: cell i truncated to widths[i] columns (with opts.tail;
--- opts.truncate = false leaves a wider cell whole, shifting only its own
--- line) and padded to it (opts.align[i] = "right" for numbers), joined by
--- opts.sep (two spaces by default), trailing spaces dropped. Cells are
--- cleaned of control characters.
---@param cells string[]
---@param widths integer[]
---@param opts? { align?: table<integer, "left"|"right">, sep?: string, tail?: string, truncate?: boolean }
---@return string
function M.row(cells, widths, opts)
  opts = opts or {}
  local align = opts.align or {}
  local out = {}
  for i, w in ipairs(widths) do
    local s = M.clean(cells[i] or "")
    if opts.truncate ~= false then s = M.truncate(s, w, opts.tail) end
    out[i] = M.pad(s, w, align[i])
  end
  return (table.concat(out, opts.sep or "  "):gsub(" +$", ""))
end

return M
