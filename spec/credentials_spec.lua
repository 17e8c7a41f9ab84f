-- Missing credentials fail fast, in English: no API key (or, for CreatiVault,
-- no identity) is an `auth` error on the first call that needs it, naming the
-- option and the environment variable, with nothing sent. Vendor errors keep
-- the vendor's text in err.vendor_message and get an English err.message.
local creatorapi = require "creatorapi"
local mock = require "support.mock"

local DEMO = mock.DEMO

describe("credentials and vendor messages (mock API) #jit", function()
  local m

  setup(function() m = mock.start() end)
  teardown(function() if m then m:stop() end end)

  local function sent() return m:get_json("/_mock/stats").requests end

  it("refuses a CreatiVault call without a key or an identity, naming the option and the variable", function()
    local n = sent()
    local cases = {
      { { user_identity = DEMO.cv_identity }, "api_key", "CREATIVAULT_API_KEY" },
      { { api_key = DEMO.cv_key }, "user_identity", "CREATIVAULT_USER_IDENTITY" },
      { { api_key = "", user_identity = DEMO.cv_identity }, "api_key", "CREATIVAULT_API_KEY" },
    }
    for _, c in ipairs(cases) do
      c[1].base_url = m.url
      local cv = creatorapi.creativault(c[1])
      local res, err = cv:search_tiktok{ size = 1 }
      assert.is_nil(res)
      assert.equal("auth", err.kind)
      assert.equal(c[2], err.field)
      assert.is_false(err.retryable)
      assert.is_nil(err.status)
      assert.matches(c[2] .. " = ", err.message, 1, true)
      assert.matches("$" .. c[3], err.message, 1, true)
      assert.matches("nothing was sent", tostring(err), 1, true)
      cv:close()
    end
    assert.equal(n, sent())
  end)

  it("needs only the key where the endpoint takes only the key, and nothing for the public check", function()
    local cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key }
    local _, err = cv:download_url{ file_id = "nope" }
    assert.is_not_equal("auth", err.kind)             -- sent: the API answers (not found)
    assert.is_not_nil(err.status)
    local anon = creatorapi.creativault{ base_url = m.url }
    assert(anon:verify_webhook("ping"))
    anon:close()
    cv:close()
  end)

  it("refuses a KeyAPI call without a key, naming $KEYAPI_TOKEN", function()
    local n = sent()
    local ka = creatorapi.keyapi{ base_url = m.url }
    local res, err = ka:influencer_list{ region = "US" }
    assert.is_nil(res)
    assert.equal("auth", err.kind)
    assert.matches("$KEYAPI_TOKEN", err.message, 1, true)
    local _, err2 = ka:get("/v1/tiktok/influencer/detail/analytics", { unique_id = "x" })
    assert.equal("auth", err2.kind)
    assert.equal(n, sent())
    ka:close()
  end)

  it("puts the vendor's text in vendor_message and an English message for documented codes", function()
    -- a blank identity header set by the caller is sent; the API answers 40104 in Chinese
    local cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key }
    local _, err = cv:search_tiktok({ size = 1 }, { headers = { ["X-User-Identity"] = " " } })
    assert.equal(40104, err.code)
    assert.equal("auth", err.kind)
    assert.equal("缺少 X-User-Identity Header", err.vendor_message)
    assert.equal("the X-User-Identity header (user_identity) is missing", err.message)
    assert.matches("40104", tostring(err), 1, true)
    cv:close()
    local cases = {
      { "cv_live_expired_0001", 40102, "API Key 已过期", "the API key has expired" },
      { "cv_live_revoked_0001", 40103, "API Key 已吊销", "the API key has been revoked" },
      { "cv_live_nocredit_0001", 40201, "积分余额不足", "insufficient credits" },
      { "cv_live_quota_0001", 42902, "每日配额已用尽，请明日重试或升级套餐", "daily request quota" },
      { "cv_live_nosuchkey_0001", 40101, "API Key 无效", "authentication failed" },
    }
    for _, c in ipairs(cases) do
      local k = creatorapi.creativault{ base_url = m.url, api_key = c[1], user_identity = DEMO.cv_identity }
      local _, e = k:search_tiktok{ size = 1 }
      assert.equal(c[2], e.code)
      assert.equal(c[3], e.vendor_message)
      assert.matches(c[4], e.message, 1, true)
      assert.is_nil(e.message:find("[\128-\255]"), e.message)    -- plain English
      k:close()
    end
    -- 40001 keeps the vendor's detail after the English text
    local v = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    local _, e = v:call("/creators/tiktok/search", { size = 0 })
    assert.equal(40001, e.code)
    assert.equal("the API rejected a parameter: " .. e.vendor_message, e.message)
    v:close()
    local ka = creatorapi.keyapi{ base_url = m.url, api_key = "kapi_nocredit_0001" }
    local _, ke = ka:influencer_list{ region = "US" }
    assert.equal(402, ke.code)
    assert.equal("apiKey quota is not enough", ke.vendor_message)
    assert.matches("insufficient balance or credits", ke.message, 1, true)
    ka:close()
  end)
end)
