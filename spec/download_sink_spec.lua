-- core.download_sink: the download file rules as a Lua object (what the
-- cosocket transport feeds), and http_response:take_body for streaming.
-- The curl engine goes through the same C code (spec/core_download_spec.lua).
local core = require "creatorapi.core"
local files = require "support.files"

local readfile, writefile = files.readfile, files.writefile


describe("core.download_sink #jit", function()
  local tmp
  before_each(function()
    tmp = os.tmpname()
    os.remove(tmp)
  end)
  after_each(function() os.remove(tmp) end)

  it("writes a 200 body into the file and reports its fields", function()
    local sink = core.download_sink{ file = tmp }
    assert.is_true(sink:write(200, 10, nil, "hello "))
    assert.is_true(sink:write(200, 10, nil, "sink"))
    sink:finish(true, 200, 10)
    local raw = sink:fields({})
    sink:close()
    sink:close() -- idempotent
    assert.equal("hello sink", readfile(tmp))
    assert.same({ written = 10, start = 0, expected = 10 }, raw)
    assert.has_error(function() sink:write(200, nil, nil, "x") end)
  end)

  it("appends a 206 at the offset, refuses a 206 that starts elsewhere", function()
    writefile(tmp, "abcdeXXXX")
    local sink = core.download_sink{ file = tmp, offset = 5 }
    assert.is_true(sink:write(206, 3, "bytes 5-7/8", "fgh"))
    sink:finish(true, 206, 3, "bytes 5-7/8")
    local raw = sink:fields({})
    sink:close()
    assert.equal("abcdefgh", readfile(tmp))
    assert.same({ written = 3, start = 5, expected = 8, resumed = true }, raw)
    local bad = core.download_sink{ file = tmp, offset = 5 }
    assert.is_false(bad:write(206, 3, "bytes 0-2/8", "abc"))
    assert.is_true(bad:fields({}).bad_range)
    bad:close()
    assert.equal("abcdefgh", readfile(tmp))
  end)

  it("keeps an error page out of the file (excerpt only) and enforces max_bytes", function()
    writefile(tmp, "keep me")
    local sink = core.download_sink{ file = tmp }
    assert.is_true(sink:write(404, nil, nil, string.rep("e", 2000)))
    sink:finish(true, 404)
    local raw = sink:fields({})
    sink:close()
    assert.is_true(raw.http_error)
    assert.equal(800, #raw.excerpt)
    assert.equal("keep me", readfile(tmp))
    local capped = core.download_sink{ file = tmp, max_bytes = 4 }
    assert.is_false(capped:write(200, nil, nil, "12345"))
    assert.is_true(capped:fields({}).over_max)
    capped:close()
  end)

  it("treats 416 bytes */<offset> as complete, and an empty 200 truncates", function()
    writefile(tmp, "12345")
    local sink = core.download_sink{ file = tmp, offset = 5 }
    sink:finish(true, 416, 0, "bytes */5")
    local raw = sink:fields({})
    sink:close()
    assert.is_true(raw.complete)
    assert.equal("12345", readfile(tmp))
    local empty = core.download_sink{ file = tmp }
    empty:finish(true, 200, 0)
    empty:close()
    assert.equal("", readfile(tmp))
  end)

  it("writes into a part file's descriptor", function()
    local part = assert(core.part_file(tmp))
    local sink = core.download_sink{ part = part, file = part:name() }
    part = nil -- luacheck: ignore
    collectgarbage()
    assert.is_true(sink:write(200, 3, nil, "abc"))
    sink:finish(true, 200, 3)
    assert.equal(3, sink:fields({}).written)
    sink:close()
  end)

  it("reports an I/O error for an unwritable path", function()
    local sink = core.download_sink{ file = "/nonexistent-dir/x" }
    assert.is_false(sink:write(200, nil, nil, "abc"))
    local raw = sink:fields({})
    sink:close()
    assert.is_true(raw.io_error)
    assert.is_string(raw.io_message)
  end)

  it("frees an unfinished sink when collected", function()
    for _ = 1, 50 do
      local s = core.download_sink{ file = tmp }
      s:write(200, nil, nil, "x")
    end
    collectgarbage()
    collectgarbage()
  end)
end)

describe("http_response:take_body #jit", function()
  it("hands out the body as it arrives, then forgets it", function()
    local p = core.http_response(1e15)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"))
    assert.equal("hello", p:take_body())
    assert.equal("", p:take_body())
    assert.equal("done", p:feed(" body"))
    assert.equal(" body", p:take_body())
    assert.equal("", p:body())
  end)
end)
