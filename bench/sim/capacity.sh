#!/bin/sh
# bench/sim/capacity.sh — how many simulated devices one `openfota sim`
# process holds, and at what memory and check rate. Loopback only.
#
#   bench/sim/capacity.sh [OPENFOTA_BINARY]        (default: build/openfota)
#
# 1. Concurrent downloads: N agent devices, --concurrency N, against a
#    scripted server that drips an 8 KiB package in 1 KiB pieces every 0.5 s,
#    so every device holds an open connection, a head buffer and a SHA-256
#    state at the same time (peak_connections shows how many did).
# 2. Idle fleet: 100,000 libfota2 devices (1,000 connections) answered
#    "already latest": memory per device that is not connected, and checks/s.
# 3. Against the real server (when `openfota serve` runs): 20,000 libfota2
#    checks answered code 27 (one and two loops), 5,000 devices upgrading an
#    8 KiB package, and 10,000 agent devices downloading a 256 KiB package at
#    once over 16 KiB/s links.
# Prints one line per run: devices, connections, peak RSS, elapsed, checks/s.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/openfota}
FAKE=$ROOT/tests/integration/sim_fake_server.py
TMP=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

start_fake() { # name args... ; sets PORT
  name=$1; shift
  python3 "$FAKE" --port-file "$TMP/$name.json" "$@" &
  PIDS="$PIDS $!"
  i=0; while [ ! -s "$TMP/$name.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  PORT=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["port"])' "$TMP/$name.json")
}

report() { # label json-line
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.loads(sys.argv[2])
print("%-28s devices %7d  peak connections %6d  peak RSS %7.1f MiB  %6.1f s  %8.0f checks/s  upgraded %d failed %d"
      % (sys.argv[1], d["devices"], d["peak_connections"], d["peak_rss_kb"] / 1024.0,
         d["elapsed_s"], d["checks_per_s"], d["upgraded"], d["failed"]))
PY
}

head -c 8192 /dev/urandom > "$TMP/pkg8k.bin"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); open-file limit $(ulimit -n)"

start_fake drip --mode drip --package "$TMP/pkg8k.bin" --latest 2012.001.001 --drip-chunk 1024 --drip-interval 0.5
for n in 1000 5000 10000 19000; do
  out=$("$BIN" sim --url "http://127.0.0.1:$PORT/api/site/firmware_upgrade?" --project-key KEY \
        --firmware FW --version 2012.001.000 --devices $n --concurrency $n --profile agent \
        --timeout 120s --no-progress --quiet --json --expect any | tail -n 1)
  report "concurrent downloads" "$out"
done

start_fake latest --latest 2012.001.000
out=$("$BIN" sim --url "http://127.0.0.1:$PORT/api/site/firmware_upgrade?" --project-key KEY \
      --firmware FW --version 2012.001.000 --devices 100000 --concurrency 1000 \
      --no-progress --quiet --json --expect any | tail -n 1)
report "idle fleet (scripted server)" "$out"

# The real server, when it runs.
DATA=$TMP/serve
mkdir -p "$DATA"
if "$BIN" serve --listen 127.0.0.1:0 --data "$DATA" >"$TMP/serve.log" 2>&1 &
then
  PIDS="$PIDS $!"
  i=0; while [ ! -s "$DATA/serve.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
if [ -s "$DATA/serve.json" ]; then
  URL=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["url"].rstrip("/"))' "$DATA/serve.json")
  TOKEN=$(cat "$DATA/admin.token")
  KEY=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d '{"name":"bench"}' "$URL/admin/v1/projects" | python3 -c 'import json,sys;print(json.load(sys.stdin)["key"])')
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
       --data-binary @"$TMP/pkg8k.bin" \
       "$URL/admin/v1/projects/$KEY/packages?firmware=FW&version=2012.001.001&filename=app.bin" >/dev/null
  for t in 1 2; do
    out=$("$BIN" sim --url "$URL/api/site/firmware_upgrade?" --project-key "$KEY" --firmware FW \
          --version 2012.001.001 --devices 20000 --concurrency 256 --threads $t \
          --no-progress --quiet --json --expect any | tail -n 1)
    report "real server, 27s, $t loop(s)" "$out"
  done
  out=$("$BIN" sim --url "$URL/api/site/firmware_upgrade?" --project-key "$KEY" --firmware FW \
        --version 2012.001.000 --devices 5000 --concurrency 256 --seed 99 \
        --no-progress --quiet --json --expect any | tail -n 1)
  report "real server, 8 KiB upgrade" "$out"
  # 10,000 agent devices downloading 256 KiB at once over 16 KiB/s links
  head -c 262144 /dev/urandom > "$TMP/pkg256k.bin"
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
       --data-binary @"$TMP/pkg256k.bin" \
       "$URL/admin/v1/projects/$KEY/packages?firmware=FW2&version=2012.001.001&filename=app.bin" >/dev/null
  out=$("$BIN" sim --url "$URL/api/site/firmware_upgrade?" --project-key "$KEY" --firmware FW2 \
        --version 2012.001.000 --devices 10000 --concurrency 10000 --profile agent \
        --slow-rate 1 --slow-bps 16384 --timeout 120s --seed 7 \
        --no-progress --quiet --json --expect any | tail -n 1)
  report "real server, 10k slow dl" "$out"
else
  echo "real server: not available (openfota serve did not start); see $TMP/serve.log"
  tail -n 5 "$TMP/serve.log" 2>/dev/null || true
fi
