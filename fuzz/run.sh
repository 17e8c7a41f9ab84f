#!/bin/sh
# fuzz/run.sh TARGET... — runs each built libFuzzer target (fuzz/fuzz.mk)
# for FUZZ_SECONDS, merging nothing back into the repository.
# Prints per target: "fuzz <target>: <N> executions, <status>".
# Exit status: 1 when any target crashed (or did not run), else 0.
set -u
B=${FUZZ_BUILD:-build-fuzz}
SECS=${FUZZ_SECONDS:-60}
fail=0
summary=""
for t in "$@"; do
  bin="$B/fuzz_$t"
  work="$B/corpus/$t"
  log="$B/logs/$t.log"
  mkdir -p "$work" "$B/artifacts" "$B/logs" "fuzz/corpus/$t"
  dict=""
  [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
  opts=""
  [ -f "fuzz/$t.options" ] && opts=$(cat "fuzz/$t.options")
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$SECS" -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$B/artifacts/$t-" $dict $opts ${FUZZ_ARGS:-} \
    "$work" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # a crash stops before the final stats; take the last progress line
    execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  if [ "$rc" -eq 0 ]; then
    status=ok
  else
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    status="CRASH (exit $rc${art:+, input $art}; log $log)"
    fail=1
    echo "---- last lines of $log ----"
    grep -v '^#[0-9]' "$log" | tail -n 40
  fi
  line="fuzz $t: ${execs:-0} executions, $status"
  echo "$line"
  summary="$summary$line
"
done
exit $fail
