-- Deterministic PRNG: SplitMix64 on Lua 5.4 64-bit integers (wrapping
-- arithmetic, logical shifts). Independent of math.random's algorithm.
local P = {}

local GOLDEN = 0x9E3779B97F4A7C15

local function mix(z)
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return z ~ (z >> 31)
end
P.mix = mix

-- Stateless hash of (seed, a, b) -> 64-bit integer
function P.hash(seed, a, b)
  return mix(mix(seed * GOLDEN + a) + (b or 0) * 0x632BE59BD9B4E019)
end

-- Stateless uniform [0,1) from (seed, a, b)
function P.unit(seed, a, b)
  return (P.hash(seed, a, b) >> 11) * (1.0 / 9007199254740992.0)
end

local Gen = {}
Gen.__index = Gen

function P.new(seed)
  return setmetatable({ s = mix(seed) }, Gen)
end

function Gen:next64()
  local s = self.s + GOLDEN
  self.s = s
  return mix(s)
end

-- uniform float in [0, 1)
function Gen:float()
  local z = self.s + GOLDEN
  self.s = z
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return ((z ~ (z >> 31)) >> 11) * 1.1102230246251565e-16
end

-- uniform integer in [a, b]
function Gen:int(a, b)
  local span = b - a + 1
  return a + math.floor(self:float() * span)
end

function Gen:chance(p)
  return self:float() < p
end

function Gen:pick(list)
  return list[1 + math.floor(self:float() * #list)]
end

-- weights: { {value, weight}, ... } with precomputed .total
function P.weighted(list)
  local total, cum = 0, {}
  for i, e in ipairs(list) do total = total + e[2]; cum[i] = total end
  list.total, list.cum = total, cum
  return list
end

function Gen:wpick(list)
  local r = self:float() * list.total
  local cum = list.cum
  local lo, hi = 1, #cum
  while lo < hi do
    local mid = (lo + hi) // 2
    if cum[mid] > r then hi = mid else lo = mid + 1 end
  end
  return list[lo][1]
end

-- standard normal (Box-Muller)
function Gen:normal()
  local u1 = self:float()
  if u1 < 1e-300 then u1 = 1e-300 end
  local u2 = self:float()
  return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

function Gen:lognormal(median, sigma)
  return median * math.exp(sigma * self:normal())
end

return P
