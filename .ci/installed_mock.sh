#!/bin/sh
# The mock as a user of the installed rock starts it: `creatorapi mock --port 0`
# from /, outside the checkout, with PATH / LUA_PATH / LUA_CPATH already
# pointing at the tree $1 (and no $CREATORAPI_MOCK_BIN). Checks that the mock
# that runs is the tree's, that it answers (/_mock/stats, then one CLI call
# against it with the printed export lines), and stops it.
#   sh .ci/installed_mock.sh TREE
set -eu
tree=$(cd "$1" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd /
env -u CREATORAPI_MOCK_BIN -u CREATORAPI_MOCK_LUA_DIR creatorapi mock --port 0 -- --quiet >"$out" 2>&1 &
cli=$!
i=0
until grep -q '^export KEYAPI_TOKEN=' "$out"; do
  if ! kill -0 "$cli" 2>/dev/null || [ "$i" -ge 100 ]; then
    echo "creatorapi mock did not start:"; cat "$out"; kill "$cli" 2>/dev/null || true; exit 1
  fi
  i=$((i + 1)); sleep 0.1
done
pid=$(sed -n 's/^# creatorapi-mock listening on .* (pid \([0-9]*\))$/\1/p' "$out")
url=$(sed -n 's/^export CREATIVAULT_BASE_URL=//p' "$out")
stop() { kill "$pid" 2>/dev/null || true; wait "$cli" 2>/dev/null || true; }
exe=$(readlink -f "/proc/$pid/exe")
case "$exe" in
  "$tree"/*) ;;
  *) echo "creatorapi mock ran $exe, not the mock installed in $tree"; stop; exit 1 ;;
esac
curl -fsS "$url/_mock/stats" | grep -q '"requests":0' || { echo "the mock at $url does not answer /_mock/stats"; stop; exit 1; }
# shellcheck disable=SC1090
rows=$(. "$out" && creatorapi keyapi influencer-list --region US --format json 2>&1) \
  || { echo "a CLI call against the installed mock failed: $rows"; stop; exit 1; }
curl -fsS "$url/_mock/stats" | grep -q '"requests":1,' || { echo "the CLI call did not reach the mock"; stop; exit 1; }
stop
echo "creatorapi mock (installed in $tree) started from /, answered, and stopped"
