#!/usr/bin/env bash
# HTTP benchmark of the server against nginx (see bench.py for what it runs).
#   bench/http/run.sh [build/openfota] [bench.py options]
# Prints a Markdown report; docs/BENCHMARKS.md "Server" holds the last one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/openfota}
[ $# -gt 0 ] && shift
if [ ! -x "$bin" ]; then
  echo "bench/http: $bin is not built: run 'make' first" >&2
  exit 1
fi
# 10,000 idle connections need more file descriptors than the usual 1024.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 "$here/bench.py" "$bin" "$@"
