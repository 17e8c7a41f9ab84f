--- Find creators similar to a seed creator, across platforms.
--
--   examples/run-with-mock.sh lua5.4 examples/lookalike.lua [username] [target_platform]
local creatorapi = require "creatorapi"

local seed = arg[1] or "creator_demo"
local target = arg[2] or "tiktok"

local cv = creatorapi.creativault{}
local res, err = cv:lookalike{ username = seed, platform = "tiktok", target_platform = target,
  target_region = "US", limit = 10, follower_min = 10000 }
if not res then
  io.stderr:write("lookalike failed: ", tostring(err), "\n")
  os.exit(err.kind == "not_found" and 2 or 1)
end

print(string.format("creators like @%s on %s:", seed, target))
for i, c in ipairs(res.data.items) do
  print(string.format("%2d. %-24s %10s followers  match %6.2f", i, "@" .. tostring(c.username),
    tostring(c.followers_count), c.match_score))
end
print(string.format("%d credits spent", res.meta.credits_consumed or 0))
cv:close()
