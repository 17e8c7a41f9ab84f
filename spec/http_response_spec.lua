-- core.http_response: the HTTP/1.1 answer parser (libhttp-parser) the
-- cosocket transport feeds with the bytes it reads.
local core = require "creatorapi.core"

local function feed_all(p, s, step)
  local r, kind, msg
  if not step then return p:feed(s) end
  for i = 1, #s, step do
    r, kind, msg = p:feed(s:sub(i, i + step - 1))
    if r ~= "more" then return r, kind, msg end
  end
  return r, kind, msg
end

describe("core.http_response #jit", function()
  local simple = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
    .. "X-A: 1\r\nx-a: 2\r\n\r\n{\"ok\":true}"

  it("parses a Content-Length answer, headers lower-cased, repeats joined", function()
    local p = core.http_response(1024)
    assert.equal("done", p:feed(simple))
    assert.equal(200, p:status())
    local h = p:headers()
    assert.equal("application/json", h["content-type"])
    assert.equal("1, 2", h["x-a"])
    assert.equal('{"ok":true}', p:body())
    assert.is_true(p:keep_alive())
    assert.is_false(p:too_big())
  end)

  it("gives the same result fed one byte at a time", function()
    local p = core.http_response(1024)
    assert.equal("done", feed_all(p, simple, 1))
    assert.equal('{"ok":true}', p:body())
    assert.equal("1, 2", p:headers()["x-a"])
  end)

  it("decodes chunked bodies, also byte by byte", function()
    local chunked = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "5\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-X: y\r\n\r\n"
    for _, step in ipairs{ false, 1, 3, 7 } do
      local p = core.http_response(1024)
      assert.equal("done", feed_all(p, chunked, step or nil))
      assert.equal(201, p:status())
      assert.equal("hello world", p:body())
      assert.is_true(p:keep_alive())
    end
  end)

  it("reads a close-delimited body until feed_eof", function()
    local p = core.http_response(1024)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc"))
    assert.equal("more", p:feed("def"))
    assert.equal("done", p:feed_eof())
    assert.equal("abcdef", p:body())
    assert.is_false(p:keep_alive())
  end)

  it("reports an answer cut short as protocol", function()
    local p = core.http_response(1024)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    local r, kind, msg = p:feed_eof()
    assert.is_nil(r)
    assert.equal("protocol", kind)
    assert.matches("closed", msg)
  end)

  it("honours Connection: close and HTTP/1.0 for keep-alive", function()
    local p = core.http_response(1024)
    assert.equal("done", p:feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
    assert.is_false(p:keep_alive())
    p = core.http_response(1024)
    assert.equal("done", p:feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
    assert.is_false(p:keep_alive())
    p = core.http_response(1024)
    assert.equal("done", p:feed("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"))
    assert.is_true(p:keep_alive())
  end)

  it("does not reuse a connection with bytes after the answer", function()
    local p = core.http_response(1024)
    assert.equal("done", p:feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n"))
    assert.equal("a", p:body())
    assert.is_false(p:keep_alive())
  end)

  it("skips an interim 100 Continue", function()
    local p = core.http_response(1024)
    assert.equal("done", p:feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-B: c\r\n\r\n"))
    assert.equal(204, p:status())
    assert.equal("c", p:headers()["x-b"])
    assert.equal("", p:body())
  end)

  it("rejects bad input as protocol, and stays failed", function()
    for _, bad in ipairs{ "XTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" } do
      local p = core.http_response(1024)
      local r, kind, msg = p:feed(bad)
      assert.is_nil(r, bad)
      assert.equal("protocol", kind)
      assert.matches("malformed HTTP answer", msg)
      assert.is_nil((p:feed("more bytes")))
    end
  end)

  it("caps the body at max_body, by Content-Length and while streaming", function()
    local p = core.http_response(10)
    local r, kind, msg = p:feed("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    assert.is_nil(r)
    assert.equal("protocol", kind)
    assert.matches("max_body", msg)
    assert.is_true(p:too_big())
    assert.equal(200, p:status())
    p = core.http_response(10)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n"))
    r = p:feed("8\r\n12345678\r\n")
    assert.is_nil(r)
    assert.is_true(p:too_big())
    p = core.http_response(10)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\n\r\n0123456789"))
    assert.is_nil((p:feed("x")))
    assert.is_true(p:too_big())
  end)

  it("caps header bytes at 1 MiB", function()
    local p = core.http_response(10)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\n"))
    local line = "X-Pad: " .. string.rep("a", 1000) .. "\r\n"
    local r, kind, msg
    for _ = 1, 1100 do
      r, kind, msg = p:feed(line)
      if r ~= "more" then break end
    end
    assert.is_nil(r)
    assert.equal("protocol", kind)
    assert.matches("headers larger", msg)
    assert.is_false(p:too_big())
  end)

  it("has no status before the header block is complete", function()
    local p = core.http_response(10)
    assert.equal("more", p:feed("HTTP/1.1 200 OK\r\nA: b\r\n"))
    assert.is_nil(p:status())
  end)
end)

describe("core.http_request #jit", function()
  local req = "POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Webhook-Signature: ab12\r\n"
    .. "Content-Length: 11\r\n\r\n{\"ok\":true}"

  it("parses a request byte by byte: method, target, headers, body", function()
    local q = core.http_request(1024)
    assert.equal("done", feed_all(q, req, 1))
    assert.equal("POST", q:method())
    assert.equal("/hook?x=1", q:url())
    assert.equal("ab12", q:headers()["x-webhook-signature"])
    assert.equal('{"ok":true}', q:body())
  end)

  it("a chunked request body is de-chunked", function()
    local q = core.http_request(1024)
    assert.equal("done", q:feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"))
    assert.equal("abcde", q:body())
  end)

  it("refuses a body over max_body from Content-Length, and garbage, as protocol errors", function()
    local q = core.http_request(4)
    local r, kind, msg = q:feed("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
    assert.is_nil(r)
    assert.equal("protocol", kind)
    assert.equal("request body larger than max_body (4 bytes)", msg)
    assert.is_true(q:too_big())
    local r2, _, msg2 = core.http_request():feed("NOT HTTP AT ALL\r\n\r\n")
    assert.is_nil(r2)
    assert.truthy(msg2:find("^malformed HTTP request"), msg2)
  end)

  it("answers have no method and an empty target", function()
    local p = core.http_response()
    assert.equal("done", p:feed("HTTP/1.1 204 No Content\r\n\r\n"))
    assert.is_nil(p:method())
    assert.equal("", p:url())
  end)
end)
