#!/usr/bin/env bash
# A private mosquitto broker on a loopback port, for tests and `make run`.
#   scripts/mosquitto.sh start DIR [PORT]   start it; config, log and pid in DIR;
#                                           prints HOST:PORT (also in DIR/address)
#   scripts/mosquitto.sh stop DIR           stop the broker started in DIR
#   scripts/mosquitto.sh run [PORT]         run in the foreground (Ctrl-C stops it)
# PORT 0 or absent: a free port is chosen. The broker listens on 127.0.0.1
# only, allows anonymous clients and keeps sessions in memory (persistent
# sessions survive client reconnects while the broker runs).
set -euo pipefail

die() { echo "mosquitto.sh: $*" >&2; exit 1; }

MOSQ=$(command -v mosquitto || true)
[ -n "$MOSQ" ] || [ ! -x /usr/sbin/mosquitto ] || MOSQ=/usr/sbin/mosquitto
[ -n "$MOSQ" ] || die "mosquitto is not installed (Debian package 'mosquitto'; run scripts/bootstrap.sh)"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

write_conf() { # DIR PORT
  cat > "$1/mosquitto.conf" <<CONF
listener $2 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 100000
user $(id -un)
log_dest file $1/mosquitto.log
log_type error
log_type warning
log_type notice
CONF
}

wait_listening() { # PORT PID
  for _ in $(seq 1 100); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" 2>/dev/null; then
      return 0
    fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

cmd=${1:-}
case "$cmd" in
  start)
    dir=${2:-}; [ -n "$dir" ] || die "usage: mosquitto.sh start DIR [PORT]"
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    want=${3:-0}
    for attempt in 1 2 3 4 5; do
      port=$want; [ "$port" != 0 ] || port=$(free_port)
      write_conf "$dir" "$port"
      "$MOSQ" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
      pid=$!
      echo "$pid" > "$dir/mosquitto.pid.launcher"
      if wait_listening "$port" "$pid"; then
        echo "127.0.0.1:$port" > "$dir/address"
        echo "127.0.0.1:$port"
        exit 0
      fi
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      [ "$want" = 0 ] || break
    done
    die "the broker did not start; see $dir/mosquitto.log and $dir/mosquitto.out"
    ;;
  stop)
    dir=${2:-}; [ -n "$dir" ] || die "usage: mosquitto.sh stop DIR"
    pid=$(cat "$dir/mosquitto.pid.launcher" 2>/dev/null || true)
    [ -n "$pid" ] || exit 0
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/mosquitto.pid.launcher" "$dir/address"
    ;;
  run)
    want=${2:-0}; port=$want; [ "$port" != 0 ] || port=$(free_port)
    dir=$(mktemp -d /tmp/openfota-mosquitto.XXXXXX)
    trap 'rm -rf "$dir"' EXIT
    write_conf "$dir" "$port"
    echo "mosquitto on 127.0.0.1:$port (Ctrl-C stops it)"
    "$MOSQ" -c "$dir/mosquitto.conf"
    ;;
  *)
    sed -n '2,9p' "$0" >&2
    exit 2
    ;;
esac
