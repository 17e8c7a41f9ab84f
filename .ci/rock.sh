#!/bin/sh
# Builds and installs the rock offline into scratch trees for Lua 5.1, 5.3
# and 5.4, lints both rockspecs, loads the installed module with each
# interpreter (and the 5.1 build with LuaJIT), starts the installed mock with
# `creatorapi mock` from outside the checkout, runs the JSON and Lua-layer
# specs on 5.1 and 5.3 against the installed rock, then checks the README's
# install lines as written (.ci/readme_install.sh).
set -eu
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
spec=creatorapi-scm-1.rockspec
luarocks lint "$spec"
for r in creatorapi-*.rockspec; do luarocks lint "$r"; done
check='local c = require "creatorapi"; assert(c.json.decode("[183]")[1] == 183); assert(require("creatorapi.core")._VERSION == c.VERSION); print("installed rock loads on " .. (jit and jit.version or _VERSION) .. ": creatorapi " .. c.VERSION)'
for v in 5.1 5.3 5.4; do
  luarocks --lua-version="$v" make --tree "$tree/$v" --deps-mode none "$spec" >"$tree/build-$v.log" 2>&1 \
    || { cat "$tree/build-$v.log"; exit 1; }
  LUA_PATH="$tree/$v/share/lua/$v/?.lua;$tree/$v/share/lua/$v/?/init.lua" \
  LUA_CPATH="$tree/$v/lib/lua/$v/?.so" \
    "lua$v" -e "$check"
done
LUA_PATH="$tree/5.1/share/lua/5.1/?.lua;$tree/5.1/share/lua/5.1/?/init.lua" \
LUA_CPATH="$tree/5.1/lib/lua/5.1/?.so" \
  luajit -e "$check"
# The installed command (build.install.bin) runs from the tree, outside the checkout.
(cd / && LUA_PATH="$tree/5.4/share/lua/5.4/?.lua;$tree/5.4/share/lua/5.4/?/init.lua;;" \
  LUA_CPATH="$tree/5.4/lib/lua/5.4/?.so;;" "$tree/5.4/bin/creatorapi" --version)
# Every rock installs the mock (built against Lua 5.4 whatever the rock's Lua),
# and `creatorapi mock` starts it from the tree, outside the checkout.
for v in 5.1 5.3 5.4; do
  head -c 4 "$tree/$v/bin/creatorapi-mock" | grep -q ELF \
    || { echo "the $v rock installed no mock binary:"; grep -i -A3 "warning" "$tree/build-$v.log"; exit 1; }
done
LUA_PATH="$tree/5.4/share/lua/5.4/?.lua;$tree/5.4/share/lua/5.4/?/init.lua;;" \
LUA_CPATH="$tree/5.4/lib/lua/5.4/?.so;;" PATH="$tree/5.4/bin:$PATH" \
  sh .ci/installed_mock.sh "$tree/5.4"

# The specs that need no host loop (JSON codec, validation, paging, budget,
# cost, unknown names, credentials, display width), on the installed 5.1 and 5.3 rocks. The
# mock is the one `make` built.
export CREATORAPI_MOCK_BIN="${CREATORAPI_MOCK_BIN:-$PWD/build/creatorapi-mock}"
[ -x "$CREATORAPI_MOCK_BIN" ] || make mock
for v in 5.1 5.3; do
  echo "specs on Lua $v (installed rock)"
  LUA_PATH="$tree/$v/share/lua/$v/?.lua;$tree/$v/share/lua/$v/?/init.lua;$PWD/spec/?.lua;;" \
  LUA_CPATH="$tree/$v/lib/lua/$v/?.so;;" \
    "lua$v" /usr/bin/busted -o plainTerminal spec/json_spec.lua spec/validate_spec.lua \
      spec/paging_spec.lua spec/cost_spec.lua spec/max_items_spec.lua spec/budget_spec.lua \
      spec/unknown_params_spec.lua spec/credentials_spec.lua spec/release_spec.lua \
      spec/daily_quota_spec.lua spec/display_width_spec.lua
done

sh .ci/readme_install.sh
