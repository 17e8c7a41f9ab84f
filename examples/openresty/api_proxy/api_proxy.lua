--- An OpenResty endpoint that answers with a page of KeyAPI creators, fetched
--- through the SDK. Inside content/access/rewrite/timer handlers the SDK uses
--- ngx_lua cosockets (transport "cosocket"): a call waits without blocking
--- the worker, so one worker serves many slow upstream calls at once.
--
--   location = /creators {
--     content_by_lua_block { require("api_proxy").handle() }
--   }
--
-- nginx.conf needs (see nginx.conf.in here):
--   env KEYAPI_API_KEY; env KEYAPI_BASE_URL;      -- os.getenv in workers
--   lua_shared_dict creatorapi 1m;                -- shared rate limit + credits
--   lua_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;   -- https
--   resolver 1.1.1.1;                             -- host names (not /etc/hosts)
local creatorapi = require "creatorapi"

local M = {}

local ka -- one client per worker, made on first use (not in init: no cosockets there)

local function client()
  if not ka then
    ka = creatorapi.keyapi{
      api_key = assert(os.getenv("KEYAPI_API_KEY"), "KEYAPI_API_KEY is not set (env KEYAPI_API_KEY; in nginx.conf)"),
      base_url = os.getenv("KEYAPI_BASE_URL"),
      timeout = 10,
      -- one budget of requests for all workers of this nginx
      rate_limit = { requests = tonumber(os.getenv("KEYAPI_RATE") or "50"), per = 1 },
      shared_dict = "creatorapi",
    }
  end
  return ka
end

local function reply(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(creatorapi.json.encode(body))
end

--- GET /creators?region=US&page=1&size=10
function M.handle()
  local args = ngx.req.get_uri_args()
  local res, err = client():influencer_list{
    region = args.region or "US",
    page_num = tonumber(args.page) or 1,
    page_size = tonumber(args.size) or 10,
  }
  if not res then
    -- err never contains the API key; kind/message are safe to show
    return reply(err.kind == "validation" and 400 or 502, { error = err.kind, message = err.message })
  end
  local rows = {}
  for i, c in ipairs(res.data) do
    rows[i] = { unique_id = c.unique_id, nickname = c.nickname, followers = c.total_followers_cnt }
  end
  return reply(200, { creators = rows, worker = ngx.worker.pid() })
end

return M
