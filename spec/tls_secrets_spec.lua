-- HTTPS against the mock with a CA made at test time, and credentials that
-- never show up in errors, tostring, logs or stats.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

local function sh(cmd)
  local out, code = require("support.shell").sh(cmd)
  assert(code == 0, cmd .. "\n" .. out)
  return out
end

-- A throw-away CA and a server certificate for 127.0.0.1 signed by it.
local function make_pki(dir)
  sh(("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=spec-ca"
    .. " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1"
    .. " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
    .. " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1"
    .. " -extfile ext.cnf"):format(dir))
end

describe("TLS against the HTTPS mock", function()
  local dir, m

  setup(function()
    dir = sh("mktemp -d"):match("^(%S+)")
    make_pki(dir)
    m = mock.start{ "--tls-cert", dir .. "/server.pem", "--tls-key", dir .. "/server.key" }
  end)
  teardown(function()
    if m then m:stop() end
    os.execute("rm -rf '" .. dir .. "'")
  end)

  local function client(extra)
    local o = { base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    for k, v in pairs(extra or {}) do o[k] = v end
    return creatorapi.creativault(o)
  end

  it("serves https", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", m.url)
  end)

  it("verifies the server with ca_file", function()
    local cv = client{ ca_file = dir .. "/ca.pem" }
    local res, err = cv:search_tiktok{ size = 2, service_level = "S1" }
    assert.is_nil(err)
    assert.equal(2, #res.data)
    cv:close()
  end)

  it("fails with a tls error, never retried, without the CA", function()
    local cv = client()
    local res, err = cv:search_tiktok{ size = 2 }
    assert.is_nil(res)
    assert.equal("tls", err.kind)
    assert.is_false(err.retryable)
    assert.is_number(err.curl_code)
    cv:close()
  end)

  it("skips verification only when insecure = true is spelled out, and says so in the log", function()
    local lines = {}
    local cv = client{ insecure = true, logger = function(level, msg) lines[#lines + 1] = level .. " " .. msg end }
    assert(cv:search_tiktok{ size = 1, service_level = "S1" })
    assert.truthy(table.concat(lines, "\n"):find("TLS verification is OFF", 1, true))
    cv:close()
  end)
end)

describe("credentials stay secret #jit", function()
  local m
  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  local KEY = "cv_live_expired_0001"
  local KAPI = "kapi_nocredit_0001"

  it("appear in no error, tostring, log line or stats", function()
    local lines = {}
    local logger = function(level, msg) lines[#lines + 1] = level .. " " .. msg end
    local cv = creatorapi.creativault{ base_url = m.url, api_key = KEY, user_identity = DEMO.cv_identity,
      logger = logger }
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = KAPI, logger = logger }
    local texts = { tostring(cv), tostring(ka) }
    local _, e1 = cv:search_tiktok{ size = 1 }
    local _, e2 = ka:influencer_list{ region = "US" }
    local _, e3 = cv:search_tiktok{ size = 1000 }
    local bad = creatorapi.creativault{ base_url = "http://127.0.0.1:9", api_key = KEY, user_identity = "a@b.c",
      logger = logger }
    local _, e4 = bad:search_tiktok{ size = 1 }
    -- a server that echoes the key back in the request id, the message and an HTML page
    m:curl("POST", "/_mock/faults", creatorapi.json.encode{ faults = {
      { kind = "status", status = 401, path = "/openapi/v1/creators/tiktok/search",
        body = { success = false, data = creatorapi.null, error = { code = 40101, message = "bad key " .. KEY },
                 meta = { request_id = "req_" .. KEY } } },
      { kind = "status", status = 502, path = "/openapi/v1/creators/tiktok/search",
        body = "<html>upstream saw X-API-Key: " .. KEY .. "</html>", headers = { ["X-Request-Id"] = KEY } },
    } })
    local _, e5 = cv:search_tiktok({ size = 1 }, { max_retries = 0 })
    local _, e6 = cv:search_tiktok({ size = 1 }, { max_retries = 0 })
    assert.equal(40101, e5.code)
    assert.equal(502, e6.status)
    for _, e in ipairs({ e1, e2, e3, e4, e5, e6 }) do
      texts[#texts + 1] = tostring(e)
      for _, v in pairs(e) do texts[#texts + 1] = tostring(v) end
    end
    for _, c in ipairs({ cv, ka, bad }) do
      for k, v in pairs(c:stats()) do texts[#texts + 1] = tostring(k) .. "=" .. tostring(v) end
    end
    for _, l in ipairs(lines) do texts[#texts + 1] = l end
    assert.is_true(#lines >= 3)
    local all = table.concat(texts, "\n")
    assert.is_nil(all:find(KEY, 1, true), all)
    assert.is_nil(all:find(KAPI, 1, true), all)
    assert.equal("auth", e1.kind)
    assert.equal("credits", e2.kind)
    cv:close(); ka:close(); bad:close()
  end)
end)
