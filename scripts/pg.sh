#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on a loopback port, for tests and trials.
#   scripts/pg.sh start DIR    initdb + start; prints the database URI
#                              (also in DIR/uri); the cluster lives in a fresh
#                              folder under /tmp named in DIR/cluster
#   scripts/pg.sh stop DIR     stop the cluster started for DIR and delete it
#   scripts/pg.sh pause DIR    stop the server, keep the cluster (an outage)
#   scripts/pg.sh resume DIR   start it again on the same port
# It listens on 127.0.0.1 only, trusts local connections (role and database
# 'openfota'), keeps its socket inside the cluster folder and runs with
# fsync=off: for tests, never for data you keep. As root, the PostgreSQL
# programs run as the 'postgres' user. Needs Debian's postgresql package
# (scripts/bootstrap.sh installs it).
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

BIN=""
for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -Vr); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then BIN=$d; break; fi
done
[ -n "$BIN" ] || die "PostgreSQL is not installed (Debian package 'postgresql'; run scripts/bootstrap.sh)"
PSQL=$(command -v psql || echo "$BIN/psql")

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_start() { # CLUSTER PORT -> 0 when it accepts connections
  as_pg "$BIN/pg_ctl" -D "$1/data" -l "$1/postgres.log" -w -t 60 -o "-p $2" start >/dev/null 2>&1
}

cmd=${1:-}
dir=${2:-}
case "$cmd" in
  start)
    [ -n "$dir" ] || die "usage: pg.sh start DIR"
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    [ ! -s "$dir/cluster" ] || "$0" stop "$dir" || true
    cl=$(mktemp -d /tmp/openfota-pg.XXXXXX)
    chmod 755 "$cl"
    [ "$(id -u)" != 0 ] || chown postgres: "$cl"
    echo "$cl" > "$dir/cluster"
    as_pg "$BIN/initdb" -D "$cl/data" -U openfota --auth=trust -E UTF8 --no-locale -N >"$cl/initdb.log" 2>&1 ||
      die "initdb failed; see $cl/initdb.log"
    for attempt in 1 2 3 4 5; do
      port=$(free_port)
      cat > "$cl/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cl'
fsync = off
full_page_writes = off
max_connections = 200
shared_buffers = 16MB
CONF
      [ "$(id -u)" != 0 ] || chown postgres: "$cl/data/postgresql.auto.conf"
      if pg_start "$cl" "$port"; then
        "$PSQL" -q -X -h 127.0.0.1 -p "$port" -U openfota -d postgres -c "CREATE DATABASE openfota" >/dev/null ||
          die "cannot create the database; see $cl/postgres.log"
        echo "$port" > "$dir/port"
        echo "postgresql://openfota@127.0.0.1:$port/openfota" > "$dir/uri"
        cat "$dir/uri"
        exit 0
      fi
    done
    die "PostgreSQL did not start; see $cl/postgres.log"
    ;;
  stop)
    [ -n "$dir" ] || die "usage: pg.sh stop DIR"
    cl=$(cat "$dir/cluster" 2>/dev/null || true)
    [ -n "$cl" ] || exit 0
    if [ -d "$cl/data" ]; then
      as_pg "$BIN/pg_ctl" -D "$cl/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$cl" in /tmp/openfota-pg.*) rm -rf "$cl" ;; esac
    rm -f "$dir/cluster" "$dir/uri" "$dir/port"
    ;;
  pause)
    [ -n "$dir" ] || die "usage: pg.sh pause DIR"
    cl=$(cat "$dir/cluster")
    as_pg "$BIN/pg_ctl" -D "$cl/data" -m fast -w stop >/dev/null
    ;;
  resume)
    [ -n "$dir" ] || die "usage: pg.sh resume DIR"
    cl=$(cat "$dir/cluster")
    pg_start "$cl" "$(cat "$dir/port")" || die "PostgreSQL did not start again; see $cl/postgres.log"
    ;;
  *)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
