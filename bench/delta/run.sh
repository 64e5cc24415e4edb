#!/usr/bin/env bash
# Delta engine benchmark (not a test): our engine beside bsdiff, xdelta3 and
# zstd --patch-from on every firmware pair found in the bench data folder.
#
#   bench/delta/run.sh [OUT.md]
#
# Pairs: $OPENFOTA_BENCH_DATA, else <parent of the repo>/shared/bench-data/firmware
# (each pair a folder with old.bin and new.bin). Our engine: $OPENFOTA_BIN, else
# build/openfota. Records per tool and pair: patch bytes, diff wall time, diff
# peak RSS (/usr/bin/time -v), a round trip (apply + cmp), and the patcher's
# peak heap (valgrind massif, heap + stack of the whole apply process).
# Prints a Markdown report (also written to OUT.md if given).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
data=${OPENFOTA_BENCH_DATA:-$(dirname "$repo")/shared/bench-data/firmware}
bin=${OPENFOTA_BIN:-$repo/build/openfota}
out_md=${1:-}
[ -d "$data" ] || { echo "bench/delta: no pairs at $data (set OPENFOTA_BENCH_DATA)"; exit 0; }
[ -x "$bin" ] || { echo "bench/delta: $bin not built (run make, or set OPENFOTA_BIN)"; exit 1; }
for t in bsdiff bspatch xdelta3 zstd xz valgrind awk /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench/delta: $t missing (scripts/bootstrap.sh --bench)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the patcher alone (what a device links), for its heap figure
cc -O2 -I"$repo/delta/include" -I"$repo/delta" "$repo/bench/delta/apply_min.c" \
   "$repo"/delta/{patch,lzma_dec,header,sha256,crc32,errors}.c -o "$work/apply_min"

# measure CMD...: runs CMD under /usr/bin/time -v; sets sec (wall), cpu
# (user + system) and rss_kb (peak resident set)
measure() {
  /usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
  sec=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time")
  cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {printf "%.2f", s}' "$work/time")
  rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
}
# measure3 CMD...: median of three runs of measure (by cpu)
measure3() {
  local r=()
  for _ in 1 2 3; do measure "$@"; r+=("$cpu $sec $rss_kb"); done
  read -r cpu sec rss_kb < <(printf '%s\n' "${r[@]}" | sort -g | sed -n 2p)
}
# peak_heap CMD...: peak heap bytes of the process (valgrind massif: requested + allocator overhead)
peak_heap() {
  valgrind --tool=massif --massif-out-file="$work/massif" "$@" >/dev/null 2>&1 || return 1
  awk -F= '/^mem_heap_B/ {h=$2} /^mem_heap_extra_B/ {e=$2; if (h+e>m) m=h+e} END {print m}' "$work/massif"
}

tools=(ours bsdiff xdelta3 zstd)
declare -A size time rss heap
pairs=()
for dir in "$data"/*/; do
  p=$(basename "$dir"); old=$dir/old.bin; new=$dir/new.bin
  [ -f "$old" ] && [ -f "$new" ] || continue
  pairs+=("$p")
  nsz=$(stat -c %s "$new")
  # ours
  measure3 "$bin" delta make "$old" "$new" "$work/$p.ofd"
  size[ours,$p]=$(stat -c %s "$work/$p.ofd"); time[ours,$p]="$sec/$cpu"; rss[ours,$p]=$rss_kb
  "$bin" delta apply "$old" "$work/$p.ofd" "$work/$p.out" >/dev/null && cmp -s "$work/$p.out" "$new" ||
    { echo "bench/delta: round trip FAILED for ours on $p" >&2; exit 1; }
  heap[ours,$p]=$(peak_heap "$work/apply_min" "$old" "$work/$p.ofd" "$work/$p.out2")
  cmp -s "$work/$p.out2" "$new" || { echo "bench/delta: patcher-only round trip FAILED on $p" >&2; exit 1; }
  heap[cli,$p]=$(peak_heap "$bin" delta apply "$old" "$work/$p.ofd" "$work/$p.out3")
  # bsdiff
  measure bsdiff "$old" "$new" "$work/$p.bsd"
  size[bsdiff,$p]=$(stat -c %s "$work/$p.bsd"); time[bsdiff,$p]="$sec/$cpu"; rss[bsdiff,$p]=$rss_kb
  bspatch "$old" "$work/$p.bso" "$work/$p.bsd" && cmp -s "$work/$p.bso" "$new" || { echo "bsdiff round trip failed on $p" >&2; exit 1; }
  heap[bsdiff,$p]=$(peak_heap bspatch "$old" "$work/$p.bso2" "$work/$p.bsd")
  # xdelta3
  measure xdelta3 -9 -S lzma -f -e -s "$old" "$new" "$work/$p.xd3"
  size[xdelta3,$p]=$(stat -c %s "$work/$p.xd3"); time[xdelta3,$p]="$sec/$cpu"; rss[xdelta3,$p]=$rss_kb
  xdelta3 -f -d -s "$old" "$work/$p.xd3" "$work/$p.xdo" && cmp -s "$work/$p.xdo" "$new" || { echo "xdelta3 round trip failed on $p" >&2; exit 1; }
  heap[xdelta3,$p]=$(peak_heap xdelta3 -f -d -s "$old" "$work/$p.xd3" "$work/$p.xdo2")
  # zstd
  measure zstd -q -f -19 --patch-from="$old" "$new" -o "$work/$p.zst"
  size[zstd,$p]=$(stat -c %s "$work/$p.zst"); time[zstd,$p]="$sec/$cpu"; rss[zstd,$p]=$rss_kb
  zstd -q -f -d --patch-from="$old" "$work/$p.zst" -o "$work/$p.zso" && cmp -s "$work/$p.zso" "$new" || { echo "zstd round trip failed on $p" >&2; exit 1; }
  heap[zstd,$p]=$(peak_heap zstd -q -f -d --patch-from="$old" "$work/$p.zst" -o "$work/$p.zso2")
  # full image, xz -9e, for the "never larger than the full image" check
  size[xz,$p]=$(xz -9e -c "$new" | wc -c)
  size[new,$p]=$nsz
done
[ ${#pairs[@]} -gt 0 ] || { echo "bench/delta: no pairs in $data"; exit 0; }

# a 4 MiB-class image for the diff time and memory targets: every pair's OLD
# concatenated, and every pair's NEW, in the same order
for p in "${pairs[@]}"; do cat "$data/$p/old.bin"; done > "$work/all.old"
for p in "${pairs[@]}"; do cat "$data/$p/new.bin"; done > "$work/all.new"
measure3 "$bin" delta make "$work/all.old" "$work/all.new" "$work/all.ofd"
"$bin" delta apply "$work/all.old" "$work/all.ofd" "$work/all.out" >/dev/null && cmp -s "$work/all.out" "$work/all.new" ||
  { echo "bench/delta: round trip FAILED on the concatenated image" >&2; exit 1; }
big_new=$(stat -c %s "$work/all.new"); big_size=$(stat -c %s "$work/all.ofd"); big_sec=$sec; big_cpu=$cpu; big_rss=$rss_kb

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", a / b }'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
{
  echo "Command: \`bench/delta/run.sh\` ($(date -u +%Y-%m-%d), $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))."
  echo "Machine: $(nproc) cores; $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2; exit}'); $(lscpu | awk -F: '/^Architecture/ {gsub(/^ +/,"",$2); print $2; exit}')."
  echo
  echo "Patch bytes (lower is better); every patch round-tripped (apply + cmp):"
  echo
  printf '| pair | new bytes | ours | bsdiff | xdelta3 -9 -S lzma | zstd -19 --patch-from | full image xz -9e | ours/bsdiff | ours/full |\n'
  printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
  for p in "${pairs[@]}"; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %.3f | %.3f |\n' "$p" "${size[new,$p]}" "${size[ours,$p]}" "${size[bsdiff,$p]}" \
      "${size[xdelta3,$p]}" "${size[zstd,$p]}" "${size[xz,$p]}" \
      "$(div ${size[ours,$p]} ${size[bsdiff,$p]})" "$(div ${size[ours,$p]} ${size[xz,$p]})"
  done
  echo
  echo "Median over pairs of ours/full image: $(for p in "${pairs[@]}"; do div ${size[ours,$p]} ${size[xz,$p]}; done | median | xargs printf '%.3f');" \
       "of ours/bsdiff: $(for p in "${pairs[@]}"; do div ${size[ours,$p]} ${size[bsdiff,$p]}; done | median | xargs printf '%.3f');" \
       "of ours/xdelta3: $(for p in "${pairs[@]}"; do div ${size[ours,$p]} ${size[xdelta3,$p]}; done | median | xargs printf '%.3f');" \
       "of ours/zstd: $(for p in "${pairs[@]}"; do div ${size[ours,$p]} ${size[zstd,$p]}; done | median | xargs printf '%.3f')."
  echo
  echo "Diff wall/CPU time (s; ours: median of 3) / diff peak RSS (MiB) / patcher peak heap (KiB, valgrind massif;"
  echo "ours: the patcher alone, bench/delta/apply_min.c; others: their apply command):"
  echo
  printf '| pair | ours | bsdiff | xdelta3 | zstd |\n|---|---|---|---|---|\n'
  for p in "${pairs[@]}"; do
    printf '| %s ' "$p"
    for t in "${tools[@]}"; do
      printf '| %s s / %.1f MiB / %.1f KiB ' "${time[$t,$p]}" "$(div ${rss[$t,$p]} 1024)" "$(div ${heap[$t,$p]} 1024)"
    done
    printf '|\n'
  done
  echo
  printf 'All pairs concatenated (%s bytes of NEW): patch %s bytes, diff %s s wall / %s s CPU (median of 3), peak RSS %.1f MiB (%.1fx NEW).\n' \
    "$big_new" "$big_size" "$big_sec" "$big_cpu" "$(div $big_rss 1024)" "$(div "$((big_rss * 1024))" "$big_new")"
  echo
  printf 'Whole openfota delta apply process heap (start-up of all libraries the program links included): %.1f KiB.\n' \
    "$(div "$(for p in "${pairs[@]}"; do echo "${heap[cli,$p]}"; done | sort -g | tail -1)" 1024)"
} | tee "${out_md:-/dev/null}"
