#!/bin/sh
# Starts the bundled mock API on a free 127.0.0.1 port, points the SDK at it
# through the environment, runs a Lua script, and stops the mock.
#   usage: examples/run-with-mock.sh LUA SCRIPT [ARGS...]
# Credentials are the mock's documented demo keys (docs/mock.md), not secrets.
set -eu
bin=${CREATORAPI_MOCK_BIN:-build/creatorapi-mock}
lua=$1; shift
out=$(mktemp)
"$bin" --port 0 ${CREATORAPI_MOCK_ARGS:-} >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"' EXIT INT TERM
i=0
until grep -q '^listening on ' "$out"; do
  i=$((i + 1))
  if [ "$i" -gt 200 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "creatorapi-mock did not start:" >&2; cat "$out" >&2; exit 1
  fi
  sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$out" | head -n 1)
echo "mock API listening on $url (pid $pid)"
export CREATIVAULT_BASE_URL="$url" CREATIVAULT_API_KEY=cv_live_demo_key_0001 \
  CREATIVAULT_USER_IDENTITY=demo@creatorapi.test \
  KEYAPI_API_BASE_URL="$url" KEYAPI_TOKEN=kapi_demo_key_0001 CREATORAPI_MOCK_URL="$url"
"$lua" "$@"
