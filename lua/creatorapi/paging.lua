--- Lazy pagination over page/size endpoints.
--
--   for creator in cv:each_creator("tiktok", { country_code = "US" }, { max_items = 500 }) do … end
--
-- Rules (docs/api.md, "Pagination"):
-- * `size` is the size of ONE page; `max_items` and `max_pages` cap the TOTAL.
-- * Nothing is requested before the first row is asked for, and no page is
--   fetched that the loop will not reach: every page costs credits.
-- * The loop stops on a short or empty page, at `max_items` / `max_pages`, and
--   at the API's page cap. A `total` in the response is advisory only.
-- * Where the API bills per returned row, the last request is trimmed so that
--   no more rows are bought than `max_items` asks for (the page size is then a
--   divisor of the rows already read, so page boundaries still line up).
-- * An error is raised as the error object itself, with `err.resume` (the page
--   to start from) and `err.resume_size` (its page size): pass them back as
--   `{ start_page = err.resume, size = err.resume_size }` to continue without
--   paying again for the pages already read. `collect` does not raise.
-- * `prefetch = N` (APIs billed per request only, never per-row search):
--   while a page is read, up to N following pages are already requested
--   (creatorapi.async tasks), within max_items / max_pages / the page cap.
--   Off by default: a `break` or a short page wastes the pages in flight.
local M = {}

-- Largest page size s <= limit that divides `offset` (so page offset/s + 1 starts
-- exactly at `offset`). With offset 0 any size fits.
local function aligned_size(offset, limit)
  if offset == 0 then return limit end
  for s = limit, 1, -1 do
    if offset % s == 0 then return s end
  end
  return 1
end
M.aligned_size = aligned_size

-- Largest page size s <= limit that starts exactly at `offset` on a page the
-- API serves (page <= cap); nil when there is none.
local function fit(offset, limit, cap)
  for s = limit, 1, -1 do
    if offset % s == 0 and (not cap or math.floor(offset / s) + 1 <= cap) then return s end
  end
  return nil
end
M.fit = fit

-- Page sizes that start a page exactly at each offset of [from, last]:
-- divs[o] = the divisors of o up to max_size whose page is <= cap, largest first.
local function page_sizes(from, last, max_size, cap)
  local divs = {}
  for o = from, last do divs[o] = {} end
  for sz = max_size, 1, -1 do
    local o = math.ceil(from / sz) * sz
    if o == 0 then o = sz end
    while o <= last do
      if not cap or o / sz + 1 <= cap then local d = divs[o]; d[#d + 1] = sz end
      o = o + sz
    end
  end
  if from == 0 then
    local d = {}
    for sz = max_size, 1, -1 do d[#d + 1] = sz end
    divs[0] = d
  end
  return divs
end

-- Fewest pages from `from` to exactly `to` (page sizes from `divs`, the page
-- at offset o at most lim(o) rows) → list of sizes | nil. Among the shortest
-- plans, the one with the largest pages first.
local function plan_exact(from, to, divs, lim)
  local reach = { [to] = 0 }
  for o = to - 1, from, -1 do
    local best, top = nil, math.min(lim(o), to - o)
    for _, sz in ipairs(divs[o]) do
      if sz <= top then
        local r = reach[o + sz]
        if r and (not best or r + 1 < best) then best = r + 1 end
      end
    end
    reach[o] = best
  end
  if not reach[from] then return nil end
  local sizes, o = {}, from
  while o < to do
    local top = math.min(lim(o), to - o)
    for _, sz in ipairs(divs[o]) do
      if sz <= top and reach[o + sz] == reach[o] - 1 then
        sizes[#sizes + 1] = sz
        o = o + sz
        break
      end
    end
  end
  return sizes
end

--- plan(from, count, max_size, cap, lim) → sizes: the pages that buy exactly
--  `count` rows from offset `from` (or, where no page layout ends exactly
--  there, the fewest rows more), each page aligned, at most lim(offset) rows
--  (default: max_size) and on a page <= cap. nil when no plan fits.
function M.plan(from, count, max_size, cap, lim)
  lim = lim or function() return max_size end
  local divs = page_sizes(from, from + count + max_size, max_size, cap)
  for extra = 0, max_size do
    local sizes = plan_exact(from, from + count + extra, divs, lim)
    if sizes then return sizes end
  end
  return nil
end

local OPTION_KEYS = { max_items = true, max_pages = true, start_page = true, size = true,
  prefetch = true, unknown_params = true }
M.OPTION_KEYS = OPTION_KEYS

local function check_opts(opts, where)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(string.format("%s: opts must be a table, got %s", where, type(opts)), 3)
  end
  require("creatorapi.validate").check_keys(where, opts, OPTION_KEYS, 3)
  for _, k in ipairs({ "max_items", "max_pages", "start_page", "size", "prefetch" }) do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v ~= math.floor(v)) then
      error(string.format("%s: opts.%s must be a positive integer", where, k), 3)
    end
  end
  return opts
end

--- Makes an iterator.
--  spec = {
--    fetch = function(page, size) → rows, res | nil, err   -- one request
--    max_size = largest page size the API allows,
--    page_cap = last page the API serves (nil: none),
--    per_row_billing = true when each returned row costs credits,
--    first_size = where rows are billed and no `size` is given: the first
--      page's size; each later page is at most as large as all rows so far,
--    afford = function() → rows the budget still allows (nil: no limit),
--    where = name for error messages,
--  }
function M.iterator(spec, opts)
  opts = check_opts(opts, spec.where)
  local size = opts.size or spec.max_size
  if size > spec.max_size then
    error(string.format("%s: opts.size must be <= %d", spec.where, spec.max_size), 3)
  end
  local max_items = opts.max_items
  local max_pages = opts.max_pages
  local cap = spec.page_cap
  local start = ((opts.start_page or 1) - 1) * size
  local offset = start          -- rows before the next request
  local rows, pos = nil, 0      -- current page and position in it
  local delivered, pages = 0, 0
  local done = false
  local prefetch = opts.prefetch
  if prefetch and spec.per_row_billing then
    error(string.format("%s: opts.prefetch is refused where every returned row is billed", spec.where), 3)
  end
  local first_page = opts.start_page or 1
  local ahead = {}              -- page → async handle (prefetch)

  -- The largest page at offset o: `size`, or growing from first_size.
  local growing = spec.per_row_billing and spec.first_size and not opts.size
  local function lim(o)
    if growing then return math.min(size, math.max(spec.first_size, o - start)) end
    return size
  end
  -- Where rows are billed and max_items is known, the pages are planned so
  -- that exactly max_items rows are bought, also near the page cap.
  local plan, step = nil, 0
  if spec.per_row_billing and max_items and (not cap or start + max_items <= cap * spec.max_size) then
    plan = M.plan(start, max_items, size, cap, lim)
  end

  -- Would the loop ever ask for page q (prefetch; pages of `size` from first_page)?
  local function reachable(q)
    if cap and q > cap then return false end
    if max_pages and q - first_page + 1 > max_pages then return false end
    if max_items and (q - first_page) * size >= max_items then return false end
    return true
  end

  local function fetch_ahead(page, this_size)
    local async = require "creatorapi.async"
    local h = ahead[page]
    ahead[page] = nil
    if not h then h = async(function() return spec.fetch(page, this_size) end) end
    for q = page + 1, page + prefetch do
      if not ahead[q] and reachable(q) then
        ahead[q] = async(function() return spec.fetch(q, size) end)
      end
    end
    return h:wait()
  end

  -- The size of the next page, or nil when the API serves no further page.
  local function next_size()
    local limit = lim(offset)
    if max_items and spec.per_row_billing then limit = math.min(limit, max_items - delivered) end
    local want
    if plan then
      step = step + 1
      want = plan[step]
    else
      want = fit(offset, limit, cap)
      if not want and cap and offset % size == 0 and math.floor(offset / size) + 1 <= cap then
        want = size   -- trimming would pass the cap: a whole page (no plan fits)
      end
    end
    local afford = want and spec.afford and spec.afford()
    if afford and afford < want then
      -- the budget allows fewer rows: a smaller page, or the call is refused
      plan = nil
      want = afford > 0 and fit(offset, afford, cap) or want
    end
    return want
  end

  local function fetch_next()
    if max_items and max_items - delivered <= 0 then return false end
    if max_pages and pages >= max_pages then return false end
    local this_size = next_size()
    if not this_size then return false end
    local page = math.floor(offset / this_size) + 1
    local got, err
    if prefetch and this_size == size then got, err = fetch_ahead(page, this_size)
    else got, err = spec.fetch(page, this_size) end
    if not got then
      if type(err) == "table" then
        err.resume = page
        err.resume_size = this_size
        err.rows_delivered = delivered
      end
      error(err, 0)
    end
    pages = pages + 1
    offset = offset + #got
    rows, pos = got, 0
    if #got < this_size then done = true end   -- short or empty page: nothing after it
    return #got > 0
  end

  return function()
    if max_items and delivered >= max_items then return nil end
    if rows == nil or pos >= #rows then
      if done or not fetch_next() then
        rows = nil
        done = true
        return nil
      end
    end
    pos = pos + 1
    delivered = delivered + 1
    return rows[pos], delivered
  end
end

--- A copy of `params` with the paging fields set (the caller's table is not touched).
function M.with_page(params, page_key, page, size_key, size)
  local p = {}
  for k, v in pairs(params or {}) do p[k] = v end
  p[page_key], p[size_key] = page, size
  return p
end

--- collect(iterator) → rows, err: runs an iterator to the end without raising.
--  On failure it returns the rows gathered so far and the error (with `resume`).
function M.collect(iter)
  local rows = {}
  local ok, err = pcall(function()
    for row in iter do rows[#rows + 1] = row end
  end)
  if ok then return rows end
  if type(err) ~= "table" then error(err, 0) end   -- a programming error: re-raise it
  return rows, err
end

return M
