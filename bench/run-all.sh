#!/usr/bin/env bash
# Runs every benchmark in bench/ one after the other and prints their reports.
# Benchmarks are not tests: they measure, they do not pass or fail. Figures go
# into docs/BENCHMARKS.md by hand, with the command and the machine.
#   bench/run-all.sh [server|delta|device|sim|fleet|console ...]   (default: all)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$root/build/openfota
out=$root/build/bench-reports
mkdir -p "$out"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)   commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)"

run() {
  local name=$1; shift
  echo; echo "## $name  ($*)"
  if "$@" 2>&1 | tee "$out/$name.md"; then :; else echo "bench: $name ended with an error (see above)"; fi
}

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(server delta device sim fleet console)
for w in "${want[@]}"; do
  case $w in
    server) run server "$here/http/run.sh" "$bin" ;;
    delta)  run delta env OPENFOTA_BIN="$bin" "$here/delta/run.sh"; run delta-codesize "$here/delta/codesize.sh" ;;
    device) run device "$here/device/size.sh" ;;
    sim)    run sim "$here/sim/capacity.sh" "$bin" ;;
    fleet)  run fleet env OPENFOTA_BUILD="$root/build" "$here/fleet/run.sh" ;;
    console) run console "$here/console/run.sh" "$bin" ;;
    *) echo "bench: unknown benchmark '$w' (server, delta, device, sim, fleet, console)" >&2; exit 2 ;;
  esac
done
echo; echo "reports: $out/"
