-- Pagination iterators: lazy, never buying a page the loop will not reach,
-- stopping on short pages and caps, resumable after an error.
local paging = require "creatorapi.paging"
local creatorapi = require "creatorapi"
local errors = require "creatorapi.errors"

-- A fake paged source of `total` rows that records every request.
local function source(total, fail_on_page)
  local calls = {}
  return {
    calls = calls,
    fetch = function(page, size)
      calls[#calls + 1] = { page = page, size = size }
      if page == fail_on_page then
        return nil, errors.new("server", "boom", { status = 500 })
      end
      local rows = {}
      for i = (page - 1) * size + 1, math.min(page * size, total) do rows[#rows + 1] = i end
      return rows
    end,
  }
end

local function iter(src, spec, opts)
  spec.fetch = src.fetch
  spec.where = "test"
  return paging.iterator(spec, opts)
end

local function drain(it)
  local out = {}
  for r in it do out[#out + 1] = r end
  return out
end

describe("paging.iterator #jit", function()
  it("is lazy: no request before the first row", function()
    local src = source(1000)
    local it = iter(src, { max_size = 100 })
    assert.equal(0, #src.calls)
    assert.equal(1, it())
    assert.equal(1, #src.calls)
  end)

  it("uses the largest page size and stops on a short page", function()
    local src = source(250)
    local rows = drain(iter(src, { max_size = 100 }))
    assert.equal(250, #rows)
    assert.same({ { page = 1, size = 100 }, { page = 2, size = 100 }, { page = 3, size = 100 } }, src.calls)
  end)

  it("stops on an empty page", function()
    local src = source(200)
    assert.equal(200, #drain(iter(src, { max_size = 100 })))
    assert.equal(3, #src.calls)
    assert.same({ page = 3, size = 100 }, src.calls[3])
  end)

  it("treats size as one page and max_items as the total", function()
    local src = source(1000)
    local rows = drain(iter(src, { max_size = 100 }, { size = 20, max_items = 50 }))
    assert.equal(50, #rows)
    for i = 1, 50 do assert.equal(i, rows[i]) end
    -- without per-row billing: whole pages of 20
    assert.same({ { page = 1, size = 20 }, { page = 2, size = 20 }, { page = 3, size = 20 } }, src.calls)
  end)

  it("buys no more rows than max_items where rows are billed", function()
    local src = source(1000)
    local rows = drain(iter(src, { max_size = 100, per_row_billing = true }, { max_items = 150 }))
    assert.equal(150, #rows)
    for i = 1, 150 do assert.equal(i, rows[i]) end
    local bought = 0
    for _, c in ipairs(src.calls) do bought = bought + c.size end
    assert.equal(150, bought)
    assert.same({ page = 1, size = 100 }, src.calls[1])
    assert.same({ page = 3, size = 50 }, src.calls[2])   -- rows 101..150
  end)

  it("trims odd remainders with aligned pages", function()
    local src = source(1000)
    local rows = drain(iter(src, { max_size = 100, per_row_billing = true }, { max_items = 137 }))
    assert.equal(137, #rows)
    for i = 1, 137 do assert.equal(i, rows[i]) end
    local bought = 0
    for _, c in ipairs(src.calls) do bought = bought + c.size end
    assert.equal(137, bought)
  end)

  it("honours max_pages and the API's page cap", function()
    local src = source(100000)
    assert.equal(30, #drain(iter(src, { max_size = 10 }, { max_pages = 3 })))
    assert.equal(3, #src.calls)
    local capped = source(100000)
    assert.equal(50, #drain(iter(capped, { max_size = 10, page_cap = 5 })))
    assert.equal(5, #capped.calls)
  end)

  it("raises the error object with resume info, and start_page resumes", function()
    local src = source(1000, 3)
    local seen = {}
    local ok, err = pcall(function()
      for r in iter(src, { max_size = 100 }) do seen[#seen + 1] = r end
    end)
    assert.is_false(ok)
    assert.is_true(errors.is_error(err))
    assert.equal("server", err.kind)
    assert.equal(3, err.resume)
    assert.equal(100, err.resume_size)
    assert.equal(200, #seen)
    local again = source(1000)
    local rest = drain(iter(again, { max_size = 100 }, { start_page = err.resume, size = err.resume_size }))
    assert.equal(201, rest[1])
    assert.equal(800, #rest)
    assert.same({ page = 3, size = 100 }, again.calls[1])
  end)

  it("collect returns the rows so far and the error instead of raising", function()
    local rows, err = creatorapi.collect(iter(source(1000, 2), { max_size = 100 }))
    assert.equal(100, #rows)
    assert.equal("server", err.kind)
    assert.equal(2, err.resume)
    local all, none = creatorapi.collect(iter(source(30), { max_size = 100 }))
    assert.equal(30, #all)
    assert.is_nil(none)
  end)

  it("raises on bad options (a programming error)", function()
    assert.has_error(function() iter(source(1), { max_size = 10 }, { max_items = 0 }) end)
    assert.has_error(function() iter(source(1), { max_size = 10 }, { size = 11 }) end)
    assert.has_error(function() iter(source(1), { max_size = 10 }, "all") end)
  end)
end)
