--- The low-level client the core specs exercise: a core.context and the
--- request loop with the curl transport, as lua/creatorapi/client.lua builds
--- them, minus the provider layer (endpoint tables, accounting, budget).
--
--   local core_client = require "support.core_client"
--   local c = core_client{ base_url = m.url, dialect = "keyapi", api_key = … }
--   c:request(req) / c:batch(reqs) / c:download(opts) / c:transport_stats() / c:close()
local core = require "creatorapi.core"
local request_loop = require "creatorapi.request_loop"

local C = {}
C.__index = C

local function new(cfg)
  local lim = require("creatorapi.client").make_limiter("core_client", cfg.rate_limit, cfg, cfg.dialect)
  local ctx_cfg = {}
  for k, v in pairs(cfg) do if k ~= "rate_limit" and k ~= "transport" then ctx_cfg[k] = v end end
  local loop = request_loop.new(core.context(ctx_cfg), { limiter = lim, transport = cfg.transport })
  return setmetatable({ loop = loop }, C)
end

function C:request(req) return self.loop:request(req) end
function C:batch(reqs) return self.loop:batch(reqs) end
function C:download(opts) return self.loop:download(opts) end
function C:transport_stats() return self.loop:stats() end
function C:close() self.loop:close() end
C.__close = C.close
C.__tostring = function(self) return tostring(self.loop.ctx) end

return new
