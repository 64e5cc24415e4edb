/*
 * crc32.c — CRC-32 (IEEE 802.3, reflected, as zlib) with a 16-entry table:
 * protects the patch header and every frame of the patch body. Small over
 * fast: the patcher checks a few kilobytes at a time.
 */
#include "delta_int.h"

uint32_t delta_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    static const uint32_t t[16] = {0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
                                   0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
                                   0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c};
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ t[crc & 15];
        crc = (crc >> 4) ^ t[crc & 15];
    }
    return ~crc;
}

uint32_t delta_frame_crc(uint32_t index, const uint8_t *data, size_t len)
{
    uint8_t le[4];
    delta_put32(le, index);
    return delta_crc32(delta_crc32(0, le, 4), data, len);
}
