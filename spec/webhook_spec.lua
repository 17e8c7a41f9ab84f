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
      local ev, err = webhook.verify{ body = raw, signature = core.hmac_sha256(SECRET, signed), secret = SECRET }
      assert.is_nil(err)
      assert.equal("collection.completed", ev.event)
      assert.equal(2, ev.total)
    end
  end)

  it("accepts a sha256= prefix, upper-case hex and a headers table", function()
    local sig = core.hmac_sha256(SECRET, COMPACT)
    assert.truthy(webhook.verify{ body = COMPACT, signature = "sha256=" .. sig, secret = SECRET })
    assert.truthy(webhook.verify{ body = COMPACT, signature = sig:upper(), secret = SECRET })
    assert.truthy(webhook.verify{ body = COMPACT, headers = { ["x-webhook-signature"] = sig }, secret = SECRET })
  end)

  it("supports secret rotation", function()
    local sig = core.hmac_sha256("new-secret", COMPACT)
    assert.truthy(webhook.verify{ body = COMPACT, signature = sig, secrets = { "old-secret", "new-secret" } })
  end)

  local function reason(args)
    local ev, err = webhook.verify(args)
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
    local _, err = webhook.verify{ body = COMPACT, signature = sig, secret = "wrong" }
    assert.is_nil(tostring(err):find("wrong", 1, true))
  end)

  it("refuses a correctly signed body that is not JSON", function()
    local body = "not json"
    assert.equal("invalid_json", reason{ body = body, signature = core.hmac_sha256(SECRET, body), secret = SECRET })
  end)
end)
