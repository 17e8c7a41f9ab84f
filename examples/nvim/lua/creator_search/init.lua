-- luacheck: globals vim
--- Example plugin: KeyAPI influencer search on Neovim's loop.
-- The request runs in a task of creatorapi.async, which in Neovim lives on
-- the editor's libuv loop (the luv transport): the editor keeps running while
-- it is in flight, and the callback runs where vim.api may be called.
-- API key: $KEYAPI_TOKEN (never shown or logged); base URL: $KEYAPI_API_BASE_URL.
local M = { opts = {} }

function M.setup(opts) M.opts = opts or {} end

local function client()
  if M.ka then return M.ka end
  local creatorapi = require "creatorapi"
  local o = { timeout = 30 }
  for k, v in pairs(M.opts) do o[k] = v end
  -- transport "luv": a call outside creatorapi.async raises instead of
  -- freezing the editor
  o.transport = o.transport or "luv"
  M.ka = creatorapi.keyapi(o)
  return M.ka
end

local function show(region, lines)
  local name = "creator-search://" .. region
  local buf = vim.fn.bufnr(name)
  if buf < 0 then
    buf = vim.api.nvim_create_buf(true, true)
    vim.api.nvim_buf_set_name(buf, name)
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_set_current_buf(buf)
  M.last = { region = region, buf = buf, lines = lines }
end

local function rows_to_lines(region, res)
  local lines = { "KeyAPI influencers, region " .. region }
  for i, row in ipairs(res.data or {}) do
    lines[#lines + 1] = string.format("%2d. @%-24s %10s followers", i,
      tostring(row.unique_id), tostring(row.total_followers_cnt))
  end
  return lines
end

--- search(region): starts the request and returns at once.
function M.search(region)
  require("creatorapi").async(function()
    return client():influencer_list{ region = region, page_num = 1, page_size = 10,
      influencer_sort_field_v2 = 2, sort_type = 1 }
  end, function(ok, res, err)
    if ok and res then show(region, rows_to_lines(region, res))
    else show(region, { "CreatorSearch failed: " .. tostring(ok and err or res) }) end
  end)
end

return M
