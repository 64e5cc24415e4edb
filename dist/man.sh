#!/bin/sh
# Man pages from the program's own --help (help2man): openfota(1), and
# openfota-CMD(1) for every command `openfota --help` lists, so a new command
# gets its page without a change here.
#   dist/man.sh OPENFOTA_BINARY OUTDIR VERSION
set -eu
bin=$1
out=$2
version=$3
mkdir -p "$out/wrap"
rm -f "$out"/*.1
help2man --no-info --no-discard-stderr --version-string="$version" \
  --name="self-hosted firmware-over-the-air update server and tools" \
  --output="$out/openfota.1" "$bin"
"$bin" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\)  *\(.*\)$/\1 \2/p' |
while read -r cmd summary; do
  w="$out/wrap/openfota-$cmd"
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$bin" "$cmd" > "$w"
  chmod +x "$w"
  help2man --no-info --no-discard-stderr --version-string="$version" --name="$summary" \
    --output="$out/openfota-$cmd.1" "$w"
done
rm -rf "$out/wrap"
n=$(ls "$out"/*.1 | wc -l)
[ "$n" -ge 2 ] || { echo "man.sh: only $n page(s) made from '$bin --help'" >&2; exit 1; }
