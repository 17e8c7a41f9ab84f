#!/usr/bin/env bash
# CI fuzzing step: builds the libFuzzer targets (fuzz/fuzz.mk) and runs each
# for a short budget (`make fuzz-ci`, 20 s per target; FUZZ_SECONDS=N to
# change). Prints "fuzz <target>: <N> executions, <status>" per target and
# fails when a target crashed, leaked, broke an invariant or did not build.
# Crash inputs are left in build-fuzz/artifacts/ (replay: build-fuzz/fuzz_<t> <file>).
set -u
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -n "${FUZZ_SECONDS:-}" ]; then
  make --no-print-directory fuzz FUZZ_SECONDS="$FUZZ_SECONDS" 2>&1 | tee "$log"
else
  make --no-print-directory fuzz-ci 2>&1 | tee "$log"
fi
rc=${PIPESTATUS[0]}
echo "::: fuzz summary"
grep '^fuzz [a-z_]*: ' "$log" || echo "fuzz: no target ran"
if [ "$rc" -ne 0 ] || grep -q '^fuzz [a-z_]*: .*CRASH' "$log" || ! grep -q '^fuzz [a-z_]*: ' "$log"; then
  echo "fuzz: FAILED (make exit $rc)"
  exit 1
fi
echo "fuzz: all targets ok"
