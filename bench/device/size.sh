#!/bin/sh
# bench/device/size.sh — code size and peak RAM of the device library's
# portable core, cross-compiled for Cortex-M4 without TLS and without the
# POSIX ports (device/src/*.c only).
#
#   bench/device/size.sh            # prints the table for docs/BENCHMARKS.md
#   CC=arm-none-eabi-gcc CFLAGS_EXTRA=... bench/device/size.sh
#   bench/device/size.sh --check    # also fails (exit 1) over the targets:
#                                   # core .text > 24 KiB or peak RAM > 8 KiB
#
# Size: arm-none-eabi-size over the objects (every function of the library,
# i.e. an upper bound; a firmware that links only what it calls is smaller),
# and a firmware-like link with --gc-sections of an app that calls every
# public entry point.
# RAM: static .data+.bss plus the deepest stack path from each public entry
# point, from GCC's -fcallgraph-info=su call graph (frames of the library's
# own functions; calls through the port vtables are counted as 0 — they are
# the port's own cost — and the delta workspace is the caller's buffer).
set -eu
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-arm-none-eabi-gcc}
SIZE=${SIZE:-arm-none-eabi-size}
CFLAGS="-std=c11 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections \
 -Wall -Wextra -Werror -Wno-unused-parameter ${CFLAGS_EXTRA:-}"
command -v "$CC" >/dev/null || { echo "size.sh: $CC not found (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for f in "$ROOT"/device/src/*.c; do
  b=$(basename "$f" .c)
  (cd "$W" && $CC $CFLAGS -fstack-usage -fcallgraph-info=su -I"$ROOT/device/include" \
     -I"$ROOT/device/src" -c "$f" -o "$b.o")
done
# a firmware-like app calling every public entry point
cat > "$W/app.c" <<'APP'
#include "fota.h"
#include "fota_http.h"
extern const fota_ports *board_ports(void);
static void cb(int r, const fota_report *rep, void *u) { (void)r; (void)rep; (void)u; }
static fota_checker chk;
static fota_resume res;
int main(void)
{
  const fota_ports *p = board_ports();
  fota_opts o = {0};
  fota_agent_opts ao = {0};
  fota_report rep;
  fota_push_opts po = {0};
  fota_push_msg m;
  char v[FOTA_VERSION_MAX];
  ao.resume = &res;
  fota_set_ports(p);
  fota_version_string("2035", "1.0.2", v);
  fota_request(&o, cb, 0);
  fota_download(p, &o, &ao, &rep);
  fota_activate(p->storage, 1, rep.total_len, rep.sha256);
  fota_boot_select(p->storage, 1);
  fota_confirm(p->storage);
  fota_checker_init(&chk, p, &o, cb, 0, 0);
  fota_checker_poll(&chk);
  fota_trigger_check();
  fota_psm_cycle(p, &o, 0, cb, 0);
  fota_push_listen(p, &po, &o, cb, 0);
  fota_push_parse("{}", 2, &m);
  fota_status_report(p, "http://h/api/v1/device/status", "1", "1", "installed", 0, 0, 0);
  return 0;
}
APP
cat > "$W/board.c" <<'APP'
#include "fota.h"
const fota_ports *board_ports(void) { static fota_ports p; return &p; }
APP
(cd "$W" && $CC $CFLAGS -I"$ROOT/device/include" -I"$ROOT/device/src" -c app.c board.c &&
  $CC -mcpu=cortex-m4 -mthumb -Os -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs \
    -o app.elf app.o board.o $(ls "$W"/*.o | grep -v -e /app.o -e /board.o) >/dev/null 2>&1 &&
  $CC -mcpu=cortex-m4 -mthumb -Os -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs \
    -o base.elf board.o -x c - <<'BASE' >/dev/null 2>&1
extern const void *board_ports(void);
int main(void) { return board_ports() != 0; }
BASE
)
python3 - "$W" "$SIZE" "$CHECK" <<'PY'
import glob, os, re, subprocess, sys
w, size, check = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def sz(files):
    out = subprocess.run([size, "-t"] + files, capture_output=True, text=True, check=True).stdout
    t = out.strip().splitlines()[-1].split()
    return int(t[0]), int(t[1]), int(t[2])
objs = sorted(f for f in glob.glob(os.path.join(w, "*.o")) if not f.endswith(("/app.o", "/board.o")))
text, data, bss = sz(objs)
app = sz([os.path.join(w, "app.elf")])
base = sz([os.path.join(w, "base.elf")])
# call graph
frames, edges, names = {}, {}, {}
for ci in glob.glob(os.path.join(w, "*.ci")):
    for line in open(ci):
        m = re.match(r'node: \{ title: "([^"]+)" label: "([^\\"]+)\\n[^"]*?(\d+) bytes', line)
        if m:
            frames[m.group(1)] = int(m.group(3)); names[m.group(1)] = m.group(2)
        m = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', line)
        if m:
            edges.setdefault(m.group(1), []).append(m.group(2))
def resolve(t):
    return t if t in frames else t  # bare names of extern functions are node titles too
memo = {}
def depth(n, seen=()):
    if n in seen: raise SystemExit("recursion through " + n)
    if n in memo: return memo[n]
    best, path = 0, []
    for t in edges.get(n, []):
        if t in frames:
            d, p = depth(t, seen + (n,))
            if d > best: best, path = d, p
    memo[n] = (frames.get(n, 0) + best, [names.get(n, n)] + path)
    return memo[n]
entries = ["fota_request_ex", "fota_download", "fota_push_listen", "fota_psm_cycle",
           "fota_checker_poll", "fota_boot_select", "fota_activate", "fota_confirm",
           "fota_status_report", "fota_build_request"]
print("| measure | bytes |")
print("|---|---|")
print(f"| core objects .text (all {len(objs)} files, upper bound) | {text} |")
print(f"| core objects .data / .bss | {data} / {bss} |")
print(f"| linked app calling every entry point: library + the newlib-nano functions it pulls, .text (app {app[0]} - empty app {base[0]}) | {app[0]-base[0]} |")
worst = (0, "", [])
for e in entries:
    key = e if e in frames else next((k for k in frames if k.endswith(":" + e)), None)
    if not key: continue
    d, p = depth(key)
    print(f"| worst stack from {e} | {d} |")
    if d > worst[0]: worst = (d, e, p)
print(f"| peak RAM = .data + .bss + worst stack ({worst[1]}) | {data + bss + worst[0]} |")
print()
print("worst path: " + " -> ".join(worst[2]))
if check:
    peak = data + bss + worst[0]
    bad = []
    if text > 24 * 1024:
        bad.append("core .text %d > 24576" % text)
    if peak > 8 * 1024:
        bad.append("peak RAM %d > 8192" % peak)
    if bad:
        print("size.sh: over target: " + ", ".join(bad), file=sys.stderr)
        sys.exit(1)
    print("size.sh: within targets (text <= 24 KiB, RAM <= 8 KiB)")
PY
