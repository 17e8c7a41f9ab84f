-- The OpenResty webhook receiver (examples/openresty) under a real nginx with
-- ngx_lua and the LuaJIT build of the C core, receiving the mock's signed
-- webhook deliveries.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local SECRET = "whsec_spec_openresty"

local nginx = require "support.nginx"
local free_port, sh, read = nginx.free_port, nginx.sh, nginx.read

describe("OpenResty webhook receiver", function()
  local m, cv, port, prefix, url

  setup(function()
    m = mock.start{ "--time-scale", "200", "--allow-insecure-webhooks", "--webhook-secret", SECRET }
    cv = creatorapi.creativault{ base_url = m.url, api_key = mock.DEMO.cv_key, user_identity = mock.DEMO.cv_identity }
    port = free_port()
    prefix = sh("mktemp -d"):gsub("%s+$", "")
    -- The mock's clock runs 200x: its timestamps run ahead of nginx's by
    -- minutes, so the receiver's replay window is widened to a day here.
    os.execute(string.format("CREATIVAULT_WEBHOOK_SECRET=%s CREATIVAULT_WEBHOOK_TOLERANCE=86400 "
      .. "sh examples/openresty/run.sh %d %s >%s/run.log 2>&1 &", SECRET, port, prefix, prefix))
    url = string.format("http://127.0.0.1:%d/webhooks/creativault", port)
    local ready = false
    for _ = 1, 400 do
      if sh("curl -s -o /dev/null -w '%{http_code}' -X GET " .. url) == "405" then ready = true break end
      core.sleep(0.05)
    end
    assert(ready, "nginx did not start:\n" .. read(prefix .. "/run.log") .. read(prefix .. "/error.log"))
  end)

  teardown(function()
    local pid = read(prefix .. "/nginx.pid"):match("%d+")
    if pid then os.execute("kill " .. pid) end
    if cv then cv:close() end
    if m then m:stop() end
    core.sleep(0.2)
    os.execute("rm -rf '" .. prefix .. "'")
  end)

  it("accepts the mock's signed delivery, acknowledges duplicates, and runs the handler", function()
    local sub = assert(cv:call("/collection/tasks/submit", { task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "jane.doe" }, webhook_url = url }))
    local task_id = sub.data.task_id
    assert.equal("completed", assert(cv:wait_task(task_id, { interval = 0.05, max_interval = 0.2 })).status)
    local delivery, hooks
    for _ = 1, 600 do
      hooks = m:get_json("/_mock/webhooks")
      for _, d in ipairs(hooks.deliveries) do
        if d.task_id == task_id and d.state == "delivered" then delivery = d end
      end
      if delivery then break end
      core.sleep(0.05)
    end
    assert.is_table(delivery, "no delivered webhook; deliveries: " .. creatorapi.json.encode(hooks)
      .. "\nnginx log:\n" .. read(prefix .. "/error.log"))
    assert.equal(200, delivery.attempts[#delivery.attempts].status)
    for _ = 1, 40 do
      if read(prefix .. "/error.log"):find("task=" .. task_id, 1, true) then break end
      core.sleep(0.05)
    end
    assert.truthy(read(prefix .. "/error.log"):find("creativault webhook: collection.completed task=" .. task_id, 1, true))

    -- the same delivery again (the vendor retries): acknowledged, not processed twice
    local body = delivery.payload
    local again = sh(string.format("curl -s -H 'Content-Type: application/json' -H 'X-Webhook-Signature: %s' "
      .. "--data-binary '%s' %s", delivery.signature, body, url))
    assert.equal(true, creatorapi.json.decode(again).duplicate)
  end)

  it("rejects a forged or unsigned delivery with 401", function()
    local body = '{"event":"collection.completed","task_id":"task_forged","status":"completed","timestamp":"'
      .. os.date("!%Y-%m-%dT%H:%M:%SZ") .. '"}'
    local forged = creatorapi.webhook.sign(body, "not-the-secret")
    local code = sh(string.format("curl -s -o /dev/null -w '%%{http_code}' -H 'X-Webhook-Signature: %s' "
      .. "--data-binary '%s' %s", forged, body, url))
    assert.equal("401", code)
    code = sh(string.format("curl -s -o /dev/null -w '%%{http_code}' --data-binary '%s' %s", body, url))
    assert.equal("401", code)
    local good = creatorapi.webhook.sign(body, SECRET)
    code = sh(string.format("curl -s -o /dev/null -w '%%{http_code}' -H 'X-Webhook-Signature: sha256=%s' "
      .. "--data-binary '%s' %s", good, body, url))
    assert.equal("200", code)
    -- a correctly signed delivery captured two days ago and replayed: refused
    local old = '{"event":"collection.completed","task_id":"task_replayed","status":"completed","timestamp":"'
      .. os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 2 * 86400) .. '"}'
    code = sh(string.format("curl -s -o /dev/null -w '%%{http_code}' -H 'X-Webhook-Signature: %s' "
      .. "--data-binary '%s' %s", creatorapi.webhook.sign(old, SECRET), old, url))
    assert.equal("401", code)
  end)
end)
