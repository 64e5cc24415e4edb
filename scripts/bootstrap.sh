#!/usr/bin/env bash
# Installs the Debian packages openfota needs to build, run and test.
# Safe to run again: it installs only what is missing.
#   scripts/bootstrap.sh           build + run + test dependencies
#   scripts/bootstrap.sh --bench   also the tools the benchmarks compare with
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libhttp-parser-dev libsqlite3-dev sqlite3 libjansson-dev libssl-dev
  libmbedtls-dev libcmocka-dev libdivsufsort-dev liblzma-dev
  libcurl4-openssl-dev curl python3 procps iproute2 openssl nginx-light
  clang libfuzzer-14-dev libclang-rt-14-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi
  mosquitto mosquitto-clients libmosquitto-dev
  python3-prometheus-client
  help2man debhelper dpkg-dev systemd
  chromium chromium-driver python3-selenium fonts-wqy-zenhei
  libpq-dev postgresql
)
BENCH_PKGS=(wrk nginx-light bsdiff xdelta3 zstd valgrind)

if [ "${1:-}" = "--bench" ]; then PKGS+=("${BENCH_PKGS[@]}"); fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "bootstrap: these Debian packages are missing: ${missing[*]}" >&2
    echo "bootstrap: run this script as root (or install sudo) to install them." >&2
    exit 1
  fi
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts mosquitto, nginx and postgresql as services when it can; the
# project starts its own instances on loopback ports, so stop the system ones if they started.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now mosquitto nginx postgresql >/dev/null 2>&1 || true
fi
