/*
 * header.c — the patch header: parse with every field bounded, and write
 * (host side). Layout in docs/delta-format.md:
 *
 *   "OFDL" | version | header length | LZMA props | flags (0) |
 *   10 varints: window, frame size, old size, new size, records,
 *               control bytes, diff bytes, extra bytes, body bytes, payload bytes |
 *   SHA-256 of OLD | SHA-256 of NEW | CRC-32 of everything before it
 */
#include <string.h>

#include "delta_int.h"

#define FIXED 8 /* magic, version, length, props, flags */

static size_t put_varint(uint8_t *o, uint32_t v)
{
    size_t k = 0;
    while (v >= 0x80) {
        o[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[k++] = (uint8_t)v;
    return k;
}

size_t delta_header_write(const ofdelta_header *h, uint8_t *o)
{
    const uint32_t v[10] = {h->window,   h->frame_size, h->old_size,  h->new_size, h->records,
                            h->ctrl_len, h->diff_len,   h->extra_len, h->body_len, h->payload_len};
    size_t n = FIXED;
    memcpy(o, DELTA_MAGIC, 4);
    o[4] = h->version;
    o[6] = (uint8_t)((h->pb * 5 + h->lp) * 9 + h->lc);
    o[7] = 0;
    for (int i = 0; i < 10; i++)
        n += put_varint(o + n, v[i]);
    memcpy(o + n, h->old_sha256, 32);
    memcpy(o + n + 32, h->new_sha256, 32);
    n += 64;
    o[5] = (uint8_t)(n + 4);
    delta_put32(o + n, delta_crc32(0, o, n));
    return n + 4;
}

ofdelta_err ofdelta_header_parse(const uint8_t *b, size_t len, ofdelta_header *h)
{
    uint32_t v[10];
    if (!b || !h)
        return OFDELTA_ERR_ARG;
    if (len < 4 || !delta_same(b, DELTA_MAGIC, 4))
        return OFDELTA_ERR_MAGIC;
    if (len < FIXED)
        return OFDELTA_ERR_TRUNCATED;
    if (b[4] != DELTA_VERSION)
        return OFDELTA_ERR_VERSION;
    size_t hl = b[5];
    if (hl < FIXED + 10 + 64 + 4 || hl > OFDELTA_HEADER_MAX)
        return OFDELTA_ERR_HEADER;
    if (len < hl)
        return OFDELTA_ERR_TRUNCATED;
    if (delta_get32(b + hl - 4) != delta_crc32(0, b, hl - 4))
        return OFDELTA_ERR_HEADER;
    size_t n = FIXED, end = hl - 4 - 64;
    for (int i = 0; i < 10; i++) {
        uint32_t x = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (n >= end || shift > 28 || (shift == 28 && (b[n] & 0x70)))
                return OFDELTA_ERR_HEADER;
            x |= (uint32_t)(b[n] & 0x7f) << shift;
            if (!(b[n++] & 0x80))
                break;
        }
        v[i] = x;
    }
    if (n != end || b[6] >= 9 * 5 * 5 || b[7] != 0)
        return OFDELTA_ERR_HEADER;
    h->version = b[4];
    h->header_len = (uint8_t)hl;
    h->lc = b[6] % 9, h->lp = b[6] / 9 % 5, h->pb = b[6] / 45;
    h->window = v[0], h->frame_size = v[1], h->old_size = v[2], h->new_size = v[3], h->records = v[4];
    h->ctrl_len = v[5], h->diff_len = v[6], h->extra_len = v[7], h->body_len = v[8], h->payload_len = v[9];
    memcpy(h->old_sha256, b + end, 32);
    memcpy(h->new_sha256, b + end + 32, 32);

    /* every field bounded, and the fields consistent with each other */
    uint64_t payload = h->payload_len, least = (uint64_t)h->ctrl_len + h->extra_len;
    if (h->lc + h->lp > 4 || h->window < OFDELTA_MIN_WINDOW || h->window > OFDELTA_MAX_WINDOW ||
        h->frame_size < OFDELTA_MIN_FRAME || h->frame_size > OFDELTA_MAX_FRAME ||
        h->old_size > OFDELTA_MAX_IMAGE || h->new_size > OFDELTA_MAX_IMAGE ||
        (uint64_t)h->diff_len + h->extra_len != h->new_size ||
        (uint64_t)h->records * 3 > h->ctrl_len || h->ctrl_len > (uint64_t)h->records * 15 ||
        h->records > h->new_size + 1u || h->body_len < 5 || payload < least ||
        payload > least + 3 * (uint64_t)h->diff_len || h->body_len > payload + payload / 2 + 1024)
        return OFDELTA_ERR_HEADER;
    return OFDELTA_OK;
}

uint64_t ofdelta_patch_size(const ofdelta_header *h)
{
    uint32_t frames = h->body_len / h->frame_size + (h->body_len % h->frame_size != 0);
    return h->header_len + (uint64_t)h->body_len + 4 * (uint64_t)frames;
}
