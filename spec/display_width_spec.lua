-- core.display_width / core.truncate_width (src/display_width.c: mbrtowc +
-- wcwidth under a private C.UTF-8 locale) and creatorapi.text on top of them.
local core = require "creatorapi.core"
local creatorapi = require "creatorapi"
local text = require "creatorapi.text"

local width, truncate = core.display_width, core.truncate_width

describe("display width #jit", function()
  it("runs wcwidth under a UTF-8 locale of its own", function()
    assert.equal("C.UTF-8", core.display_width_locale)   -- Debian 12 glibc has C.UTF-8
    assert.equal(core.display_width_locale, text.locale)
  end)

  it("counts ASCII one column a byte", function()
    assert.equal(0, width(""))
    assert.equal(5, width("hello"))
    assert.equal(11, width("@creator_01"))
  end)

  it("counts é as one column, precomposed or with a combining accent", function()
    assert.equal(1, width("\195\169"))            -- U+00E9
    assert.equal(1, width("e\204\129"))           -- e + U+0301 COMBINING ACUTE ACCENT
    assert.equal(6, width("Ib\195\161\195\177ez"))  -- Ibáñez
  end)

  it("counts East Asian wide characters and emoji as two columns", function()
    assert.equal(4, width("中文"))
    assert.equal(4, width("ゆき"))
    assert.equal(2, width("😀"))                  -- U+1F600 (glibc 2.36)
    assert.equal(6, width("みお🌸"))
    assert.equal(7, width("Luna ✨"))             -- U+2728 is wide
    assert.equal(2, width("\227\128\128"))        -- U+3000 IDEOGRAPHIC SPACE
  end)

  it("counts Thai tone marks as zero columns", function()
    assert.equal(5, width("น้องฟ้า"))             -- 7 code points, 2 combining
  end)

  it("measures emoji sequences code point by code point (the documented limits)", function()
    assert.equal(6, width("👩\226\128\141👩\226\128\141👧"))  -- ZWJ family: 2+0+2+0+2 (terminals: often 2)
    assert.equal(4, width("👍🏻"))                 -- skin tone modifier counts 2 (terminals: 2)
    assert.equal(2, width("🇺🇸"))                 -- two regional indicators, 1 each
    assert.equal(1, width("❤\239\184\143"))       -- U+2764 + VS16: 1 (many terminals draw 2)
  end)

  it("counts each byte of invalid UTF-8 as one column, without failing", function()
    assert.equal(1, width("\255"))
    assert.equal(3, width("a\128b"))               -- stray continuation byte
    assert.equal(2, width("\228\184"))             -- 中 cut short: 2 bytes
    assert.equal(2, width("\192\128"))             -- overlong NUL
    assert.equal(3, width("\237\160\128"))         -- UTF-16 surrogate U+D800
    assert.equal(4, width("\244\144\128\128"))     -- past U+10FFFF
    assert.equal(6, width("\252\132\128\128\128\128"))  -- a 6-byte (31-bit) form
    assert.equal(5, width("\228\184中\255"))        -- 2 + 2 + 1
  end)

  it("counts control characters, embedded NUL included, as zero columns", function()
    assert.equal(2, width("a\0b"))
    assert.equal(0, width("\t\n\r\27\127"))
    assert.equal(1, width("\194\133x"))            -- U+0085 (C1 control) + x
    assert.equal(4, width("中\0文"))
  end)

  it("measures long strings whole", function()
    assert.equal(1000000, width(string.rep("a", 1000000)))
    assert.equal(200000, width(string.rep("中", 100000)))
    assert.equal(300000, width(string.rep("\255😀", 100000)))
  end)

  it("raises on a non-string argument (a programming error)", function()
    for _, v in ipairs{ 42, true, {}, print } do
      assert.has_error(function() width(v) end)
      assert.has_error(function() truncate(v, 3) end)
      assert.has_error(function() text.pad(v, 3) end)
      assert.has_error(function() text.clean(v) end)
    end
    assert.has_error(function() width() end)
    assert.is_false(pcall(width, nil))
    local ok, err = pcall(width, 42)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("string expected", 1, true), err)
    assert.has_error(function() truncate("abc", -1) end)
    assert.has_error(function() truncate("abc") end)
  end)

  it("leaves the process locale as it found it", function()
    local before = os.setlocale(nil, "ctype")
    width("中文😀")
    assert.equal(before, os.setlocale(nil, "ctype"))
    assert.truthy(os.setlocale("C", "ctype"))
    assert.equal(4, width("中文"))                 -- the C locale of the process does not matter
    os.setlocale(before, "ctype")
  end)
end)

describe("truncate_width #jit", function()
  it("keeps the longest prefix that fits, never half a wide character", function()
    assert.same({ "中", 2 }, { truncate("中文abc", 3) })
    assert.same({ "中文a", 5 }, { truncate("中文abc", 5) })
    assert.same({ "", 0 }, { truncate("中文", 1) })
    assert.same({ "abc", 3 }, { truncate("abc", 10) })
    assert.same({ "", 0 }, { truncate("abc", 0) })
  end)

  it("keeps a combining mark with its letter", function()
    assert.same({ "ae\204\129", 2 }, { truncate("ae\204\129x", 2) })
    assert.same({ "น้", 1 }, { truncate("น้องฟ้า", 1) })
  end)

  it("cuts only between whole UTF-8 sequences, also in invalid text", function()
    -- the units a cut may fall between: characters (a combining accent stays
    -- with its letter) and each byte of an invalid sequence
    local units = { "a", "中", "\255", "é", "😀", "\228", "\184", "b", "e\204\129",
      "\248", "\136", "\128", "\128", "\128" }        -- a 5-byte form past U+10FFFF: 5 bytes
    local s, cuts, at = table.concat(units), { [0] = true }, 0
    for _, u in ipairs(units) do at = at + #u; cuts[at] = true end
    local total = width(s)
    assert.equal(1 + 2 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 5, total)
    for w = 0, total + 1 do
      local head, hw = truncate(s, w)
      assert.truthy(hw <= w)
      assert.equal(hw, width(head))
      assert.equal(head, s:sub(1, #head))       -- a prefix
      assert.truthy(cuts[#head], ("cut inside a sequence at width %d (%d bytes)"):format(w, #head))
      assert.equal(total, hw + width(s:sub(#head + 1)))
      if w >= total then assert.equal(s, head) end
    end
  end)
end)

describe("creatorapi.text #jit", function()
  it("is public as creatorapi.text", function()
    assert.equal(text, creatorapi.text)
    assert.equal(width, creatorapi.text.width)
  end)

  it("truncate adds a tail within the width", function()
    assert.same({ "Dear 中…", 8 }, { text.truncate("Dear 中文 friend", 8) })
    assert.same({ "ゆき🌸", 6 }, { text.truncate("ゆき🌸", 6) })
    assert.same({ "ゆ…", 3 }, { text.truncate("ゆき🌸", 4) })   -- き would cross 4 with the tail
    assert.same({ "ab..", 4 }, { text.truncate("abcdef", 4, "..") })
    assert.same({ "a", 1 }, { text.truncate("abc", 1, "..") })  -- no room for the tail
  end)

  it("pad pads to display columns, left or right", function()
    assert.equal("みお🌸    ", text.pad("みお🌸", 10))
    assert.equal("    みお🌸", text.pad("みお🌸", 10, "right"))
    assert.equal("中文", text.pad("中文", 3))           -- wider: as is
  end)

  it("clean replaces control characters by spaces", function()
    assert.equal("a b c d e", text.clean("a\tb\nc\0d\194\133e"))
    assert.equal("é中", text.clean("é中"))
  end)

  it("row lines up cells of any script", function()
    local widths = { 3, 10, 8 }
    local opts = { align = { [3] = "right" } }
    local a = text.row({ "1", "みお🌸", "1,234" }, widths, opts)
    local b = text.row({ "12", "Ella\nDubois", "18,659,748,000" }, widths, opts)
    assert.equal("1    みお🌸         1,234", a)
    assert.equal(width(a), width(b))
    assert.equal("12   Ella Dubo…  18,659,…", b)
    assert.equal("x", text.row({ "x", "" }, { 3, 4 }))       -- trailing spaces dropped
    assert.equal("abcdef  x", text.row({ "abcdef", "x" }, { 3, 1 }, { truncate = false }))
  end)
end)
