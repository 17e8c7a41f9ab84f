#!/bin/sh
# Runs the README's install lines as written, on a clean copy of the tracked
# files, with a scratch $HOME (so `--local` installs into it):
# * every package of the README's apt-get line is installed and is in
#   .ci/deps.sh (so a fresh CI machine has them);
# * the shell block after `<!-- install:rock -->` runs line by line in one
#   shell, and the rock it installs loads.
set -eu
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

block() {   # the first ```sh block after the marker $1, continuation lines joined
  awk -v m="<!-- $1 -->" '
    $0 == m { found = 1; next }
    found && /^```sh/ { inblock = 1; next }
    inblock && /^```/ { exit }
    inblock { print }' README.md | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'
}

apt=$(block install:apt)
[ -n "$apt" ] || { echo "README: no install:apt block"; exit 1; }
for p in $(echo "$apt" | sed 's/.*apt-get install -y//'); do
  grep -q -- "$p" .ci/deps.sh || { echo "README apt line: $p is not in .ci/deps.sh"; exit 1; }
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "README apt line: $p is not installed"; exit 1; }
done

# Every header the rockspec's external_dependencies name comes from a package
# of that line (so the line is enough for `luarocks make`, not just installed).
# So does every header the mock needs (mock/rock/probe.c; Lua's from lua5.4/).
for h in $(sed -n 's/.*header = "\([^"]*\)".*/\1/p' creatorapi-scm-1.rockspec) \
         $(sed -n 's/^#include <\(.*\)>$/\1/p' mock/rock/probe.c | sed 's@^\(lua\.h\|lauxlib\.h\)$@lua5.4/\1@'); do
  f=
  for c in /usr/include/"$h" /usr/include/x86_64-linux-gnu/"$h" /usr/include/*/"$h"; do
    [ -f "$c" ] && { f=$c; break; }
  done
  [ -n "$f" ] || { echo "header $h (rockspec or mock): not found under /usr/include"; exit 1; }
  pkg=$(dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
  echo " $(echo "$apt" | sed 's/.*apt-get install -y//') " | grep -q " $pkg " \
    || { echo "header $h (rockspec or mock) comes from $pkg, which the README apt line lacks"; exit 1; }
done

rock=$(block install:rock)
[ -n "$rock" ] || { echo "README: no install:rock block"; exit 1; }
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$work"
mkdir "$work/home"
echo "README install lines, in a clean tree with HOME=$work/home:"
echo "$rock" | sed 's/^/  $ /'
out=$(cd "$work" && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 HOME="$work/home" \
  sh -eu -c "$rock" 2>&1) \
  || { echo "$out"; exit 1; }
echo "$out" | tail -n 3
version=$(echo "$out" | tail -n 1)
[ "$version" = "$(sed -n 's/^#define CRA_VERSION "\(.*\)"/\1/p' "$root/src/version.h")" ] \
  || { echo "the installed rock printed '$version', not the version"; exit 1; }
echo "$out" | grep -qx "creatorapi $version" || { echo "the installed creatorapi command did not print its version"; exit 1; }
[ -f "$work/home/.luarocks/lib/lua/5.4/creatorapi/core.so" ] || { echo "no 5.4 core.so under ~/.luarocks"; exit 1; }

# The README's one command for the mock, from the installed rock, with the
# environment of the README's eval line.
mock=$(block install:mock)
[ "$mock" = "creatorapi mock" ] || { echo "README: the install:mock block is not 'creatorapi mock': $mock"; exit 1; }
(cd "$work" && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 HOME="$work/home" \
  sh -eu -c 'eval "$(luarocks --lua-version 5.4 path)"; sh "$1/.ci/installed_mock.sh" "$HOME/.luarocks"' sh "$root")
echo "README install lines work"
