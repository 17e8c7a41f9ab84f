-- cv:download and the file system (issue 11 rows 2, 3, 6): the path is
-- checked before anything is touched; the temporary file is created
-- O_EXCL|O_NOFOLLOW under a fresh name before the request, so a symlink
-- planted at the old predictable `.part` name is never written through; two
-- downloads to one path never share a file and each result describes the
-- bytes on disk.
local creatorapi = require "creatorapi"
local core = require "creatorapi.core"
local mock = require "support.mock"

local DEMO = mock.DEMO

local sh = mock.sh

local read_file = require("support.files").readfile

local write_file = require("support.files").writefile

local function is_symlink(path)
  return os.execute("test -L '" .. path .. "'") == true or os.execute("test -L '" .. path .. "'") == 0
end

describe("download and the file system (mock API) #jit", function()
  local m, cv, dir, file, content

  setup(function()
    m = mock.start{ "--time-scale", "200" }
    cv = creatorapi.creativault{ base_url = m.url, api_key = DEMO.cv_key, user_identity = DEMO.cv_identity }
    dir = sh("mktemp -d"):match("%S+")
    local sub = assert(cv:submit_task{ task_type = "FILE_UPLOAD", platform = "tiktok",
      values = { "creator_demo", "jane.doe" } })
    assert(cv:wait_task(sub.data.task_id, { interval = 0.05, max_interval = 0.2 }))
    file = assert(cv:export_task{ task_id = sub.data.task_id, format = "csv" }).data
    content = assert(read_file(assert(cv:download(file, dir .. "/ref.csv")).path))
  end)
  teardown(function()
    if cv then cv:close() end
    if m then m:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)
  before_each(function() m:curl("DELETE", "/_mock/faults") end)

  -- The file host answers the next n downloads `delay` seconds late.
  local function slow_file(delay, n)
    local path = file.file_url:match("^https?://[^/]+(/[^?]*)")
    local out = m:curl("POST", "/_mock/faults",
      string.format('{"kind":"delay","delay":%s,"path":%q,"count":%d}', delay, path, n or 1))
    assert.is_nil(out:find('"error"'), out)
  end

  local function part_files()
    return sh("ls -A '" .. dir .. "' | grep '\\.part$' || true")
  end

  it("a path with NUL is refused before any file is touched", function()
    local victim = dir .. "/victim"
    write_file(victim, "keep me")
    write_file(victim .. ".part", "keep me too")
    local r, err = cv:download(file, victim .. "\0tail")
    assert.is_nil(r)
    assert.equal("validation", err.kind)
    assert.equal("path", err.field)
    assert.equal("keep me", read_file(victim))
    assert.equal("keep me too", read_file(victim .. ".part"))
    os.remove(victim)
    os.remove(victim .. ".part")
  end)

  it("a symlink planted at <path>.part during the request is never followed", function()
    local victim, target = dir .. "/victim.txt", dir .. "/target.csv"
    write_file(victim, "precious")
    slow_file(1.5)
    -- Planted while the request waits for its first byte (the old code opened
    -- <path>.part only then, through the link, and renamed the link onto path).
    os.execute(string.format("(sleep 0.3; ln -s '%s' '%s.part') >/dev/null 2>&1 &", victim, target))
    local r = assert(cv:download(file, target))
    assert.equal("precious", read_file(victim))
    assert.is_false(is_symlink(target))
    assert.equal(content, read_file(target))
    assert.equal(core.sha256_file(target), r.sha256)
    assert.is_true(is_symlink(target .. ".part"))   -- the planted link, untouched
    os.remove(target .. ".part")
    os.remove(victim)
    os.remove(target)
  end)

  it("two downloads to one path at once both complete, each describing the file on disk", function()
    local target = dir .. "/both.csv"
    slow_file(0.5, 2)
    local out = creatorapi.async.all{
      function() return cv:download(file, target) end,
      function() return cv:download(file, target) end,
    }
    local a, b = out[1][1], out[2][1]
    assert.is_table(a, tostring(out[1][2]))
    assert.is_table(b, tostring(out[2][2]))
    local disk = core.sha256_file(target)
    assert.equal(disk, a.sha256)
    assert.equal(disk, b.sha256)
    assert.equal(#content, a.bytes)
    assert.equal(#content, b.bytes)
    assert.equal(content, read_file(target))
    assert.equal("", part_files())
    os.remove(target)
  end)

  it("a failed download leaves neither the target nor a temporary file", function()
    local target = dir .. "/gone.csv"
    local r, err = cv:download({ file_url = m.url .. "/_files/00ff?expires=1&sig=00" }, target)
    assert.is_nil(r)
    assert.is_table(err)
    assert.is_nil(read_file(target))
    assert.equal("", part_files())
  end)

  it("a directory that does not exist is an io error naming the path", function()
    local r, err = cv:download(file, dir .. "/no/such/dir/x.csv")
    assert.is_nil(r)
    assert.equal("io", err.kind)
    assert.truthy(tostring(err):find("no/such/dir", 1, true))
  end)

  it("the temporary file is unique and exclusive (core.part_file)", function()
    local target = dir .. "/t.bin"
    local a = assert(core.part_file(target))
    local b = assert(core.part_file(target))
    assert.are_not.equal(a:name(), b:name())
    assert.truthy(a:name():find(target, 1, true) == 1)
    assert.equal(0, a:size())
    assert.is_true(a:commit(target))
    b:discard()
    assert.is_nil(read_file(b:name() or "/nonexistent"))
    assert.equal("", read_file(target))
    assert.equal("", part_files())
    os.remove(target)
  end)
end)
