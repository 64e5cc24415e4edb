#!/bin/sh
# Code size of the patcher on Cortex-M4 at -Os (what a device links:
# patch.c lzma_dec.c header.c sha256.c crc32.c; errors.c — the strings of
# ofdelta_strerror — is optional on a device and listed apart).
# Usage: bench/delta/codesize.sh        (needs gcc-arm-none-eabi)
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CFLAGS="-fstack-usage -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections -std=c11 -Wall -Wextra -Werror -I$here/delta/include -I$here/delta"
for f in patch lzma_dec header sha256 crc32 errors; do
  arm-none-eabi-gcc $CFLAGS -c "$here/delta/$f.c" -o "$out/$f.o"
done
echo "arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion) -Os -mcpu=cortex-m4 -mthumb"
arm-none-eabi-size -t "$out/patch.o" "$out/lzma_dec.o" "$out/header.o" "$out/sha256.o" "$out/crc32.o"
echo "symbols the patcher needs from outside (must be only memcpy and memset):"
arm-none-eabi-ld -r -o "$out/patcher.o" "$out/patch.o" "$out/lzma_dec.o" "$out/header.o" "$out/sha256.o" "$out/crc32.o"
arm-none-eabi-nm -u "$out/patcher.o" | awk '{print "  " $2}'
echo "optional (ofdelta_strerror):"
arm-none-eabi-size "$out/errors.o"
# RAM of the default profile on this target: the whole workspace a default
# patch needs (state + literal probabilities + window + frame buffer)
cat > "$out/ws.c" <<'C'
#include "patch.c"
const unsigned ws_state = sizeof(struct ofdelta_patch);
const unsigned ws_default = 7 + ALIGN8(sizeof(struct ofdelta_patch)) + ALIGN8(0x300 * 2) +
                            OFDELTA_DEFAULT_WINDOW + PAD + OFDELTA_DEFAULT_FRAME + 4;
C
arm-none-eabi-gcc $CFLAGS -I"$here/delta" -c "$out/ws.c" -o "$out/ws.o"
val() { arm-none-eabi-objdump -s -j ".rodata.$1" "$out/ws.o" | awk '/^ 0000/ {print $2}' |
        sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/' | xargs -I{} printf '%d' 0x{}; }
echo "patcher state (struct): $(val ws_state) bytes; default-profile workspace total: $(val ws_default) bytes (budget 16384)"
echo "largest stack frames (bytes, per function; calls nest at most feed -> run -> records -> ctrl_value -> emit_diff -> flush):"
cat "$out"/patch.su "$out"/lzma_dec.su "$out"/header.su "$out"/sha256.su "$out"/crc32.su | sort -t"$(printf '\t')" -k2 -n -r | head -6
