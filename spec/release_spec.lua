-- Release hygiene: the versioned rockspec, creatorapi.VERSION, the CHANGELOG
-- and the LICENSE agree, and the release rockspec builds what scm-1 builds.
local creatorapi = require "creatorapi"

local function load_rockspec(name)
  local env = {}
  local chunk
  if setfenv then
    chunk = assert(loadfile(name))
    setfenv(chunk, env)
  else
    chunk = assert(loadfile(name, "t", env))
  end
  chunk()
  return env
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function release_rockspecs()
  local p = assert(io.popen("ls creatorapi-*.rockspec"))
  local out = {}
  for l in p:lines() do
    if not l:find("%-scm%-") then out[#out + 1] = l end
  end
  p:close()
  return out
end

describe("release #jit", function()
  local names = release_rockspecs()

  it("has exactly one versioned rockspec, for creatorapi.VERSION", function()
    assert.equal(1, #names)
    local rs = load_rockspec(names[1])
    assert.equal("creatorapi-" .. rs.version .. ".rockspec", names[1])
    assert.equal(creatorapi.VERSION .. "-1", rs.version)
    assert.equal("v" .. creatorapi.VERSION, rs.source.tag)
    assert.matches("^%d+%.%d+%.%d+$", creatorapi.VERSION)
  end)

  it("builds the same modules, flags and dependencies as scm-1", function()
    local rel, scm = load_rockspec(names[1]), load_rockspec("creatorapi-scm-1.rockspec")
    assert.same(scm.build, rel.build)
    assert.same(scm.dependencies, rel.dependencies)
    assert.same(scm.external_dependencies, rel.external_dependencies)
    assert.same(scm.description, rel.description)
    assert.equal(scm.source.url, rel.source.url)
  end)

  it("has a CHANGELOG entry for the version and an MIT LICENSE", function()
    local log = read("CHANGELOG.md")
    assert.truthy(log:find("## [" .. creatorapi.VERSION .. "]", 1, true), "no CHANGELOG entry for " .. creatorapi.VERSION)
    local rs = load_rockspec(names[1])
    assert.equal("MIT", rs.description.license)
    local lic = read("LICENSE")
    assert.truthy(lic:find("^MIT License"))
    assert.truthy(lic:find("Permission is hereby granted, free of charge", 1, true))
  end)
end)
