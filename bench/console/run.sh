#!/usr/bin/env bash
# The console's device table at 100,000 devices: API time of the pages the
# console asks for. Usage: bench/console/run.sh [path/to/openfota] [devices] [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/openfota}
exec python3 "$here/devices.py" "$bin" "${2:-100000}" "${3:-20}"
