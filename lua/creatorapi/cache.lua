--- The paid-answer cache (opt-in: `cache = { store = …, ttl = … }` on a client).
--
-- A search, lookalike or KeyAPI page bought within `ttl` seconds is answered
-- from the store at zero credits (`res.cached = true`). Entries are keyed by
-- provider, endpoint, the canonical parameters and a hash of the key's
-- identity (base URL + API key, SHA-256; never the key itself):
--
--   <prefix>cache:<provider>:<identity hash>:<sha256(method path \n canonical params)>
--
-- The entry repeats the identity hash, endpoint and parameter hash, and is
-- checked on every read: a corrupt, foreign (another key's) or old-format
-- entry is a miss, never an error. Only endpoints the provider marks
-- cacheable take part (never task submit/status/data, exports, downloads or
-- the raw `request` escape hatch), and only successful answers are stored.
--
-- Store unavailable: a miss (the call goes to the API) with on_unavailable =
-- "miss" (the default), or `nil, err` (kind store_unavailable, nothing sent)
-- with "fail".
local core = require "creatorapi.core"

local M = {}

local C = {}
C.__index = C

local FORMAT = 1

-- Canonical JSON: object keys sorted, arrays in order, scalars as core.json_encode writes them.
local function canonical(v, out)
  if type(v) ~= "table" then
    out[#out + 1] = assert(core.json_encode(v))
    return
  end
  local n = #v
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  if getmetatable(v) == core.array_mt or (n > 0 and #keys == n) then
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      canonical(v[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  out[#out + 1] = "{"
  for i, k in ipairs(keys) do
    if i > 1 then out[#out + 1] = "," end
    out[#out + 1] = assert(core.json_encode(tostring(k)))
    out[#out + 1] = ":"
    canonical(v[k], out)
  end
  out[#out + 1] = "}"
end

--- canonical(req) → string: the request's endpoint and parameters in one canonical form.
function M.canonical(req)
  local out = { req.method, " ", req.path, "\n" }
  if req.query then out[#out + 1] = core.encode_query(req.query) end
  if req.body then canonical(req.body, out) end
  return table.concat(out)
end

--- identity(base_url, api_key) → 32 hex chars (a hash; the key is never stored).
function M.identity(base_url, api_key)
  return core.sha256("creatorapi-cache\0" .. tostring(base_url) .. "\0" .. tostring(api_key or "")):sub(1, 32)
end

--- new{ store =, ttl =, on_unavailable =, provider =, identity = } → cache
function M.new(o)
  return setmetatable({
    store = o.store, ttl = o.ttl, provider = o.provider, id = o.identity,
    on_unavailable = o.on_unavailable or "miss",
    hits = 0, misses = 0, rejected = 0, credits_saved = 0, unavailable = 0,
  }, C)
end

function C:key(req)
  local q = core.sha256(M.canonical(req))
  return string.format("cache:%s:%s:%s", self.provider, self.id, q), q
end

-- The decoded entry when it is well-formed and belongs to this key and request.
local function valid(self, text, q, path)
  if type(text) ~= "string" then return nil end
  local e = core.json_decode(text)
  if type(e) ~= "table" or e.v ~= FORMAT or e.id ~= self.id or e.q ~= q
    or e.p ~= self.provider or e.e ~= path then return nil end
  local r = e.res
  if type(r) ~= "table" or type(r.status) ~= "number" or type(r.meta) ~= "table"
    or r.data == nil then return nil end
  return r
end

--- lookup(req) → res (cached) | nil | nil, err (store unavailable, on_unavailable = "fail")
function C:lookup(req)
  local key, q = self:key(req)
  local text, err = self.store:get(key)
  if err then
    self.unavailable = self.unavailable + 1
    if self.on_unavailable == "fail" then return nil, err end
    return nil
  end
  if text == nil then
    self.misses = self.misses + 1
    return nil
  end
  local r = valid(self, text, q, req.path)
  if not r then
    self.rejected, self.misses = self.rejected + 1, self.misses + 1
    return nil
  end
  self.hits = self.hits + 1
  return { status = r.status, data = r.data, meta = r.meta, headers = {}, attempts = 0, cached = true }
end

--- save(req, res): stores a successful answer (a failed write is ignored: the answer is already paid).
function C:save(req, res)
  local key, q = self:key(req)
  local text = core.json_encode({ v = FORMAT, id = self.id, q = q, p = self.provider, e = req.path,
    res = { status = res.status, data = res.data, meta = res.meta } })
  if text then self.store:set(key, text, self.ttl) end
end

return M
