#!/usr/bin/env bash
# Fleet benchmarks (not tests): 10,000 devices connected to the TCP push
# listener (memory per connection, time to connect), then fleet-wide pushes at
# several rate caps (is the cap held at scale; how fast can it go); then the
# cost of the check-path calls (rollout decision + check outcome) with a
# rollout over 100,000 devices.
#
#   bench/fleet/run.sh [N] [RATES...]     default: 10000 devices, 50 500 2000 100000
#
# Builds bench/fleet/push_bench.c and check_bench.c against build/fleet/libof_fleet.a
# ($OPENFOTA_BUILD overrides the build folder). Loopback only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${OPENFOTA_BUILD:-$repo/build}
lib=$build/fleet/libof_fleet.a
[ -f "$lib" ] || { echo "bench/fleet: $lib not built (run make)"; exit 1; }
n=${1:-10000}; shift || true
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(50 500 2000 100000)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cc -O2 -std=c11 -D_GNU_SOURCE -I"$repo/fleet/include" "$repo/bench/fleet/push_bench.c" "$lib" \
  $(pkg-config --cflags --libs jansson libcurl libmosquitto) -lpthread -lm -o "$work/push_bench"
cc -O2 -std=c11 -D_GNU_SOURCE -I"$repo/fleet/include" "$repo/bench/fleet/check_bench.c" "$lib" \
  $(pkg-config --cflags --libs jansson libcurl libmosquitto) -lpthread -lm -o "$work/check_bench"
echo "## fleet benchmarks ($(date -u +%F), $(nproc) cores)"
"$work/push_bench" "$n" "${rates[@]}"
"$work/check_bench" 100000 1000000
