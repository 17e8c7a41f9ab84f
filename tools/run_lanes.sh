#!/bin/sh
# Runs several spec runs side by side, at most JOBS at a time, and prints each
# run's output whole, in the order given, as soon as it and every run before
# it have finished (so the output reads as if they ran one after another).
#   sh tools/run_lanes.sh JOBS 'name|command' 'name|command' ...
# Exits non-zero when any run did; the last lines name the runs that failed.
# JOBS=1 runs them one after another. The suites mostly wait on sockets and
# timers, so two runs on two cores take little more than the longest one.
set -u
jobs=${1:?usage: run_lanes.sh JOBS 'name|command' ...}
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

i=0
for run in "$@"; do
  i=$((i + 1))
  printf '%s\n' "$run" > "$dir/$i.run"
done
total=$i

# One worker per slot takes the next run number from a lock-protected counter.
echo 0 > "$dir/next"
worker() {
  while :; do
    n=$(
      flock 9
      n=$(($(cat "$dir/next") + 1))
      echo "$n" > "$dir/next"
      echo "$n"
    ) 9>"$dir/lock"
    [ "$n" -le "$total" ] || return 0
    cmd=$(sed 's/^[^|]*|//' "$dir/$n.run")
    sh -c "$cmd" > "$dir/$n.log" 2>&1
    echo $? > "$dir/$n.rc"
  done
}
w=0
while [ "$w" -lt "$jobs" ]; do
  worker &
  w=$((w + 1))
done

failed=
i=1
while [ "$i" -le "$total" ]; do
  while [ ! -f "$dir/$i.rc" ]; do sleep 1; done
  name=$(sed 's/|.*//' "$dir/$i.run")
  rc=$(cat "$dir/$i.rc")
  echo "::: $name"
  cat "$dir/$i.log"
  echo "::: $name exited $rc"
  [ "$rc" -eq 0 ] || failed="$failed $name;"
  i=$((i + 1))
done
wait
if [ -n "$failed" ]; then
  echo "failed runs:$failed"
  exit 1
fi
