#!/bin/sh
# Starts nginx with the KeyAPI proxy on 127.0.0.1:PORT in a scratch prefix.
#   usage: KEYAPI_API_KEY=... [KEYAPI_BASE_URL=http://127.0.0.1:12111] \
#          examples/openresty/api_proxy/run.sh PORT PREFIX_DIR [WORKERS]
# Stop it with: kill $(cat PREFIX_DIR/nginx.pid)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec sh "$here/../run.sh" "$1" "$2" "$here/nginx.conf.in" "${3:-1}"
