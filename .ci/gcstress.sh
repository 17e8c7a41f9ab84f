#!/usr/bin/env bash
# GC-stress run: the whole Lua 5.4 suite with spec/support/gc_stress.lua as
# busted helper (collector pause 0, two full collections after every test),
# against the normal build. Prints busted's summary line and exits non-zero
# on any failure.
#   bash .ci/gcstress.sh                     Lua 5.4, incremental mode
#   GC_STRESS_MODE=generational bash .ci/gcstress.sh
#   GCSTRESS_JIT=1 bash .ci/gcstress.sh      also LuaJIT (--tags=jit)
#   bash .ci/gcstress.sh --exclude-tags=slow extra busted arguments
set -u
cd "$(dirname "$0")/.." || exit 1
R=$(pwd)
LUA=${LUA:-lua5.4}
LUAJIT=${LUAJIT:-luajit}
BUSTED=${BUSTED:-/usr/bin/busted}

make --no-print-directory -s all || exit 1

# The same search paths the Makefile exports.
export LUA_PATH_5_4="$R/lua/?.lua;$R/lua/?/init.lua;$R/spec/?.lua;;"
export LUA_CPATH_5_4="$R/build/5.4/?.so;;"
export LUA_PATH="$R/lua/?.lua;$R/lua/?/init.lua;$R/spec/?.lua;;"
export LUA_CPATH="$R/build/jit/?.so;;"
export CREATORAPI_MOCK_BIN="$R/build/creatorapi-mock"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
run() {
  local name=$1; shift
  echo "::: gcstress $name: $*"
  "$@" 2>&1 | tee -a "$log"
  local r=${PIPESTATUS[0]}
  [ "$r" -ne 0 ] && rc=1
  return 0
}

run lua5.4 "$LUA" "$BUSTED" --helper=spec/support/gc_stress.lua "$@" spec
if [ "${GCSTRESS_JIT:-0}" = 1 ]; then
  run luajit "$LUAJIT" "$BUSTED" --helper=spec/support/gc_stress.lua --tags=jit "$@" spec
fi

# busted's own summary line is already in the output above (once per run, for
# .ci/run to add up); repeat it here without the " / " so it is not counted twice.
echo "::: gcstress summary"
summary=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'successes? / [0-9]+ failures? / [0-9]+ errors?')
if [ -n "$summary" ]; then
  printf '%s\n' "$summary" | sed 's# / #, #g; s/^/gcstress: /'
else
  echo "gcstress: no busted summary (the run died?)"
  rc=1
fi
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -q '^gc_stress: ' \
  || { echo "gcstress: the helper did not load"; rc=1; }
exit $rc
