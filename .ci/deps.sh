#!/bin/sh
# Checks the Debian packages that building, testing and the demo need.
# As root, installs the missing ones with apt-get; otherwise prints the exact
# apt-get line and fails.
set -eu
PKGS="gcc make pkg-config curl openssl ca-certificates lua5.4 liblua5.4-dev lua5.1 liblua5.1-0-dev lua5.3 liblua5.3-dev \
libcurl4-openssl-dev libyajl-dev libssl-dev libmicrohttpd-dev libhttp-parser-dev lua-cjson lua-socket \
lua-busted lua-check luarocks valgrind cppcheck luajit2 libluajit2-5.1-dev locales-all clang libclang-rt-14-dev nginx libnginx-mod-http-lua python3 \
lua-luv lua-luv-dev libuv1-dev neovim lua-argparse libhiredis-dev redis-server libsqlite3-dev \
g++ libsimdjson-dev libdouble-conversion-dev libxlsxwriter-dev"

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "missing Debian packages; run:"
  echo "  sudo apt-get install -y$missing"
  exit 1
fi
