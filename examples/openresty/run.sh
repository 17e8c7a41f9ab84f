#!/bin/sh
# Starts nginx with an example server on 127.0.0.1:PORT in a scratch prefix.
#   usage: examples/openresty/run.sh PORT PREFIX_DIR [CONF_TEMPLATE [WORKERS]]
# CONF_TEMPLATE defaults to the webhook receiver (examples/openresty/nginx.conf.in).
# Needs Debian's nginx + libnginx-mod-http-lua (or OpenResty's nginx on PATH)
# and the C core built for LuaJIT (make corejit). Stop it with: kill $(cat PREFIX_DIR/nginx.pid)
set -eu
port=$1
prefix=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
conf=${3:-$root/examples/openresty/nginx.conf.in}
workers=${4:-1}
mkdir -p "$prefix"
modules=""
for m in /usr/lib/nginx/modules/ndk_http_module.so /usr/lib/nginx/modules/ngx_http_lua_module.so; do
  [ -f "$m" ] && modules="$modules load_module $m;"
done
# As root, keep the worker as root too so it can use the scratch prefix.
[ "$(id -u)" = 0 ] && modules="$modules user root;"
sed -e "s#@PREFIX@#$prefix#g" -e "s#@ROOT@#$root#g" -e "s#@PORT@#$port#g" -e "s#@MODULES@#$modules#" \
  -e "s#@WORKERS@#$workers#g" "$conf" > "$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf"
