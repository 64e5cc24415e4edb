/*
 * sim_luat.c — the version a Luat upgrade .bin says it installs.
 *
 * A module cannot learn the server's metadata from the bytes; the only
 * version inside a Luat .bin is its 92-byte header, whose MainVersion field
 * names the target core. The header is read by the package library (of_pkg:
 * magic, header CRC, lengths) and its version words are interpreted there
 * (luatbin_version_core), so the simulator and the server's validator read a
 * package the same way. Real script-only packages leave the versions zero,
 * which means "not stated".
 */
#include "sim_internal.h"

#include <ofpkg.h>

int sim_luat_target_core(const uint8_t *head, size_t n, uint32_t *core)
{
    if (n < LUATBIN_HEADER_LEN || !luatbin_sniff(head, n))
        return 0;
    luatbin_info info;
    char msg[160];
    if (luatbin_parse_header(head, n, &info, msg, sizeof(msg)) != OFPKG_OK)
        return 0;
    unsigned c = 0;
    if (!luatbin_version_core(info.main_version, &c) || c == 0)
        return 0;
    *core = c;
    return 1;
}
