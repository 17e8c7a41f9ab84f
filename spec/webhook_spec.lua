-- Webhook signature verification (HMAC-SHA256 over the payload, hex).
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"

local webhook = creatorapi.webhook
local SECRET = "whsec_test_secret"
local EVENT = { event = "collection.completed", task_id = "task_20260315_abc123", task_type = "LINK_BATCH",
  status = "completed", total = 2, completed = 2, failed = 0, timestamp = "2026-03-15T10:45:00Z" }

local COMPACT = '{"completed":2,"event":"collection.completed","failed":0,"status":"completed",'
  .. '"task_id":"task_20260315_abc123","task_type":"LINK_BATCH","timestamp":"2026-03-15T10:45:00Z","total":2}'
local PYTHON = '{"completed": 2, "event": "collection.completed", "failed": 0, "status": "completed", '
  .. '"task_id": "task_20260315_abc123", "task_type": "LINK_BATCH", "timestamp": "2026-03-15T10:45:00Z", "total": 2}'

-- Deliveries in these tests were signed "now": 10 s after their timestamp.
local NOW = webhook.parse_timestamp(EVENT.timestamp) + 10
local function verify(args)
  if args.now == nil then args.now = NOW end
  return webhook.verify(args)
end

describe("webhook #jit", function()
  it("serialises canonically with sorted keys, compact and Python-style", function()
    assert.equal(COMPACT, webhook.canonical(EVENT, "compact"))
    assert.equal(PYTHON, webhook.canonical(EVENT, "python"))
    assert.equal('{"n": "caf\\u00e9 \\ud83d\\ude00"}', webhook.canonical({ n = "café 😀" }, "python"))
    assert.equal('{"n":"café 😀"}', webhook.canonical({ n = "café 😀" }, "compact"))
  end)

  it("sign() signs the compact canonical form with HMAC-SHA256 hex", function()
    local sig, body = webhook.sign(EVENT, SECRET)
    assert.equal(COMPACT, body)
    assert.equal(core.hmac_sha256(SECRET, COMPACT), sig)
    assert.matches("^%x+$", sig)
    assert.equal(64, #sig)
  end)

  it("accepts the raw body, the compact and the Python canonical forms", function()
    -- a body as some other serialiser wrote it (key order, spacing differ)
    local raw = '{ "event":"collection.completed", "task_id":"task_20260315_abc123", "task_type":"LINK_BATCH",'
      .. ' "status":"completed", "total":2, "completed":2, "failed":0, "timestamp":"2026-03-15T10:45:00Z" }'
    for _, signed in ipairs({ raw, COMPACT, PYTHON }) do
      local ev, err = verify{ body = raw, signature = core.hmac_sha256(SECRET, signed), secret = SECRET }
      assert.is_nil(err)
      assert.equal("collection.completed", ev.event)
      assert.equal(2, ev.total)
    end
  end)

  it("accepts a sha256= prefix, upper-case hex and a headers table", function()
    local sig = core.hmac_sha256(SECRET, COMPACT)
    assert.truthy(verify{ body = COMPACT, signature = "sha256=" .. sig, secret = SECRET })
    assert.truthy(verify{ body = COMPACT, signature = sig:upper(), secret = SECRET })
    assert.truthy(verify{ body = COMPACT, headers = { ["x-webhook-signature"] = sig }, secret = SECRET })
  end)

  it("supports secret rotation", function()
    local sig = core.hmac_sha256("new-secret", COMPACT)
    assert.truthy(verify{ body = COMPACT, signature = sig, secrets = { "old-secret", "new-secret" } })
  end)

  local function reason(args)
    local ev, err = verify(args)
    assert.is_nil(ev)
    assert.equal("signature", err.kind)
    assert.is_false(err.retryable)
    return err.reason, err
  end

  it("rejects tampered bodies, wrong secrets and bad headers with precise reasons", function()
    local sig = core.hmac_sha256(SECRET, COMPACT)
    local tampered = COMPACT:gsub('"completed":2', '"completed":3')
    assert.equal("no_match", reason{ body = tampered, signature = sig, secret = SECRET })
    assert.equal("no_match", reason{ body = COMPACT, signature = sig, secret = "wrong" })
    assert.equal("missing_signature", reason{ body = COMPACT, secret = SECRET })
    assert.equal("missing_signature", reason{ body = COMPACT, headers = {}, secret = SECRET })
    assert.equal("malformed_signature", reason{ body = COMPACT, signature = "abc", secret = SECRET })
    assert.equal("malformed_signature", reason{ body = COMPACT, signature = sig:sub(1, 63) .. "g", secret = SECRET })
    assert.equal("missing_secret", reason{ body = COMPACT, signature = sig })
    assert.equal("missing_body", reason{ body = EVENT, signature = sig, secret = SECRET })
    local _, err = verify{ body = COMPACT, signature = sig, secret = "wrong" }
    assert.is_nil(tostring(err):find("wrong", 1, true))
  end)

  it("refuses a correctly signed body that is not JSON", function()
    local body = "not json"
    assert.equal("invalid_json", reason{ body = body, signature = core.hmac_sha256(SECRET, body), secret = SECRET })
  end)

  it("checks the signed timestamp against the tolerance (300 s by default)", function()
    local sig = core.hmac_sha256(SECRET, COMPACT)
    local ts = webhook.parse_timestamp(EVENT.timestamp)
    assert.equal(1773571500, ts)
    assert.truthy(verify{ body = COMPACT, signature = sig, secret = SECRET, now = ts + 300 })
    assert.truthy(verify{ body = COMPACT, signature = sig, secret = SECRET, now = ts - 300 })
    local r, err = reason{ body = COMPACT, signature = sig, secret = SECRET, now = ts + 301 }
    assert.equal("stale_timestamp", r)
    assert.truthy(tostring(err):find("tolerance", 1, true))
    assert.equal("stale_timestamp", reason{ body = COMPACT, signature = sig, secret = SECRET, now = ts - 301 })
    assert.equal("stale_timestamp", reason{ body = COMPACT, signature = sig, secret = SECRET, now = ts + 61,
      tolerance = 60 })
    -- a captured delivery replayed a day later
    assert.equal("stale_timestamp", reason{ body = COMPACT, signature = sig, secret = SECRET, now = ts + 86400 })
    -- the default clock is os.time(): the 2026-03-15 example is long stale
    assert.equal("stale_timestamp", select(2, webhook.verify{ body = COMPACT, signature = sig, secret = SECRET }).reason)
    assert.truthy(webhook.verify{ body = COMPACT, signature = sig, secret = SECRET, tolerance = false })
  end)

  it("refuses a signed delivery without a usable timestamp unless tolerance = false", function()
    for _, body in ipairs({ '{"event":"collection.completed"}', '{"timestamp":"yesterday"}',
                            '{"timestamp":"2026-13-01T00:00:00Z"}', '{"timestamp":null}' }) do
      local sig = core.hmac_sha256(SECRET, body)
      assert.equal("missing_timestamp", reason{ body = body, signature = sig, secret = SECRET })
      assert.truthy(webhook.verify{ body = body, signature = sig, secret = SECRET, tolerance = false })
    end
    assert.has_error(function() webhook.verify{ body = COMPACT, signature = "x", secret = SECRET, tolerance = 0 / 0 } end)
    assert.has_error(function() webhook.verify{ body = COMPACT, signature = "x", secret = SECRET, tolerance = math.huge } end)
  end)

  it("parses ISO 8601 timestamps with offsets and fractions, independent of the time zone", function()
    local z = webhook.parse_timestamp("2026-03-15T10:45:00Z")
    assert.equal(z, webhook.parse_timestamp("2026-03-15T18:45:00+08:00"))
    assert.equal(z, webhook.parse_timestamp("2026-03-15T05:45:00-0500"))
    assert.equal(z + 0.25, webhook.parse_timestamp("2026-03-15T10:45:00.25Z"))
    assert.equal(0, webhook.parse_timestamp("1970-01-01T00:00:00+00:00"))
    assert.is_nil(webhook.parse_timestamp("2026-03-15"))
    assert.is_nil(webhook.parse_timestamp("2026-03-15T10:45:00"))   -- no zone: ambiguous
  end)

  it("refuses an oversized body before hashing or decoding it", function()
    local big = '{"x":"' .. string.rep("a", 70000) .. '"}'
    local decode = core.json_decode
    local decoded = 0
    core.json_decode = function(...) decoded = decoded + 1; return decode(...) end
    local ok, r = pcall(reason, { body = big, signature = core.hmac_sha256(SECRET, big), secret = SECRET })
    core.json_decode = decode
    assert.is_true(ok, r)
    assert.equal("body_too_large", r)
    assert.equal(0, decoded)
    assert.truthy(verify{ body = COMPACT, signature = core.hmac_sha256(SECRET, COMPACT), secret = SECRET,
      max_body = #COMPACT })
  end)

  it("compares the raw bytes first and re-serialises only when they do not match", function()
    local canonical = webhook.canonical
    local calls = 0
    webhook.canonical = function(...) calls = calls + 1; return canonical(...) end
    local ok, ev = pcall(verify, { body = COMPACT, signature = core.hmac_sha256(SECRET, COMPACT), secret = SECRET })
    local ok2, ev2 = pcall(verify, { body = COMPACT, signature = core.hmac_sha256(SECRET, PYTHON), secret = SECRET })
    local ok3, r3 = pcall(reason, { body = COMPACT, signature = string.rep("0", 64), secret = SECRET })
    webhook.canonical = canonical
    assert.is_true(ok and ok2 and ok3)
    assert.is_table(ev)
    assert.is_table(ev2)
    assert.equal("no_match", r3)
    assert.equal(4, calls)        -- only the two deliveries whose raw bytes did not match
    -- a missing header stops before any work at all
    assert.equal("missing_signature", reason{ body = string.rep("[", 60000), secret = SECRET })
  end)

  it("sorts keys bytewise whatever the locale", function()
    local old = os.setlocale(nil, "collate")
    local set = os.setlocale("en_US.UTF-8", "collate") or os.setlocale("C.UTF-8", "collate")
    local ok, out = pcall(webhook.canonical, { a = 1, B = 2, _ = 3, ["é"] = 4, Z = 5 }, "compact")
    os.setlocale(old, "collate")
    assert.is_true(ok, out)
    assert.equal('{"B":2,"Z":5,"_":3,"a":1,"é":4}', out, "collate locale: " .. tostring(set))
    assert.is_true(webhook.byte_less("B", "a"))
    assert.is_true(webhook.byte_less("ab", "abc"))
    assert.is_false(webhook.byte_less("abc", "abc"))
  end)

  it("refuses values JSON cannot carry instead of printing nan or raising", function()
    for _, v in ipairs({ 0 / 0, math.huge, -math.huge }) do
      local text, err = webhook.canonical({ x = v }, "compact")
      assert.is_nil(text)
      assert.truthy(err:find("NaN", 1, true))
      assert.is_nil((webhook.sign({ x = v }, SECRET)))
    end
    for _, style in ipairs({ "python", "compact" }) do
      local text, err = webhook.canonical("\255\254", style)
      assert.is_nil(text)
      assert.truthy(err:find("UTF-8", 1, true))
      assert.is_nil((webhook.canonical({ ["\192\128"] = 1 }, style)))           -- overlong
      assert.is_nil((webhook.canonical({ k = "\237\160\128" }, style)))        -- surrogate
    end
    local cyc = {}
    cyc.self = cyc
    assert.is_nil((webhook.canonical(cyc, "compact")))
    assert.is_nil((webhook.canonical({ f = print }, "compact")))
    assert.equal('{"2":"b"}', webhook.canonical({ [2] = "b" }, "compact"))   -- numeric keys keep their values
  end)
end)
