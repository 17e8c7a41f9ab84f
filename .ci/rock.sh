#!/bin/sh
# Builds and installs the rock offline into a scratch tree, lints the
# rockspec, and loads the installed module with Lua 5.4.
set -eu
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
spec=$(ls creatorapi-*.rockspec | head -n 1)
luarocks lint "$spec"
luarocks --lua-version=5.4 make --tree "$tree" --deps-mode none "$spec"
LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua" \
LUA_CPATH="$tree/lib/lua/5.4/?.so" \
  lua5.4 -e 'local c = require "creatorapi"; assert(c.json.decode("[183]")[1] == 183); print("installed rock loads: creatorapi " .. c.VERSION)'
# The installed command (build.install.bin) runs from the tree, outside the checkout.
(cd / && LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$tree/lib/lua/5.4/?.so;;" "$tree/bin/creatorapi" --version)
