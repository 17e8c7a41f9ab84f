-- bench/json_bench.lua — core.json_decode / json_encode vs lua-cjson and vs
-- the yajl decoder (the decoder before simdjson, still in the core for error
-- messages: core._json_decode_yajl), on the documents of bench/json_docs.lua.
--
-- Usage (from the repo root, after `make core54 corejit`):
--   LUA_CPATH='build/5.4/?.so;;' lua5.4 bench/json_bench.lua [rounds]
--   LUA_CPATH='build/jit/?.so;;' luajit bench/json_bench.lua [rounds]
-- All libraries run on the same text / the same Lua value in the same run
-- (best of several rounds taken round-robin, os.clock CPU time); ratio = other's time / ours,
-- so > 1 means creatorapi is faster. Goals (issue 12): decode >= 1.5x cjson,
-- encode >= 1.2x cjson on every kind. No assertions: this is a report.
package.path = "bench/?.lua;" .. package.path
local core = require "creatorapi.core"
local ok_cjson, cjson = pcall(require, "cjson")

local ROUNDS = tonumber(arg and arg[1]) or 5
local docs = require("json_docs")(core.json_encode, core.null)

-- Calibrates f's inner loop to ~30 ms → n.
local function calibrate(f, a)
  local n = 1
  while true do
    local t0 = os.clock()
    for _ = 1, n do f(a) end
    if os.clock() - t0 > 0.03 then return n end
    n = n * 2
  end
end

-- Best time per call of each {f, a} in `runs`, measured round-robin (one
-- round of each, ROUNDS times), so a machine that slows down for a moment
-- (another process, frequency scaling) slows every contender alike.
local function best_of(runs)
  local n, b = {}, {}
  for i, r in ipairs(runs) do n[i], b[i] = calibrate(r[1], r[2]), math.huge end
  for _ = 1, ROUNDS do
    for i, r in ipairs(runs) do
      local f, a = r[1], r[2]
      collectgarbage("collect")
      local t0 = os.clock()
      for _ = 1, n[i] do f(a) end
      local t = (os.clock() - t0) / n[i]
      if t < b[i] then b[i] = t end
    end
  end
  return (table.unpack or unpack)(b, 1, #runs)
end

local function mark(r, goal) return r >= goal and "ok  " or "LOW " end

print(string.format("%s; ratio = other / creatorapi CPU time (>1: creatorapi faster)",
  _VERSION .. (jit and (" " .. jit.version) or "")))
if not ok_cjson then print("cjson not installed: ratios vs cjson skipped") end
print(string.format("%-9s %8s | %9s %9s %9s | %13s %13s | %9s %9s | %13s",
  "document", "bytes", "dec us", "yajl us", "cjson us", "vs cjson", "vs yajl", "enc us", "cjson us", "vs cjson"))
local low = 0
for _, d in ipairs(docs) do
  local text = d.text
  local value = assert(core.json_decode(text))
  local t_dec, t_yajl, t_cdec = best_of{ { core.json_decode, text }, { core._json_decode_yajl, text },
    { ok_cjson and cjson.decode or function() end, text } }
  local t_enc, t_cenc = best_of{ { core.json_encode, value },
    { ok_cjson and cjson.encode or function() end, value } }
  if not ok_cjson then t_cdec, t_cenc = 0 / 0, 0 / 0 end
  local rd, re = t_cdec / t_dec, t_cenc / t_enc
  if ok_cjson and (rd < 1.5 or re < 1.2) then low = low + 1 end
  print(string.format("%-9s %8d | %9.1f %9.1f %9.1f | %s%6.2fx %s%6.2fx | %9.1f %9.1f | %s%6.2fx",
    d.name, #text, t_dec * 1e6, t_yajl * 1e6, t_cdec * 1e6, mark(rd, 1.5), rd, "    ", t_yajl / t_dec,
    t_enc * 1e6, t_cenc * 1e6, mark(re, 1.2), re))
end
print(string.format("goals (decode >= 1.5x, encode >= 1.2x cjson): %s",
  not ok_cjson and "not measured" or low == 0 and "all met" or (low .. " document(s) below")))
