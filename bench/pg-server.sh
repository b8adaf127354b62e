#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the benchmarks (default settings, fsync
# on), on a free loopback port, as the `postgres` user when run as root.
#
#   uri=$(bench/pg-server.sh start DIR)   # prints postgresql://convtrace@127.0.0.1:PORT/bench
#   bench/pg-server.sh stop DIR           # stops it and removes DIR
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd=$1 dir=$2
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_server "$bin/initdb" -D "$dir/data" -A trust -U convtrace -E UTF8 --locale=C >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=40" start >/dev/null
    "$bin/psql" -q -h 127.0.0.1 -p "$port" -U convtrace -d postgres -c "CREATE DATABASE bench" >/dev/null
    echo "postgresql://convtrace@127.0.0.1:$port/bench"
    ;;
  stop)
    as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
esac
