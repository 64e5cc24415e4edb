/*
 * header.c — the fixed 116-byte patch header: parse with every field bounded,
 * and write (host side). Layout in docs/delta-format.md.
 */
#include <string.h>

#include "delta_int.h"

/* offsets */
enum {
    H_MAGIC = 0, H_VERSION = 4, H_LC = 5, H_LP = 6, H_PB = 7, H_WINDOW = 8, H_FRAME = 12,
    H_OLD = 16, H_NEW = 20, H_RECORDS = 24, H_CTRL = 28, H_DIFF = 32, H_EXTRA = 36, H_BODY = 40,
    H_PAYLOAD = 44, H_OLD_SHA = 48, H_NEW_SHA = 80, H_CRC = 112,
};
_Static_assert(H_CRC + 4 == OFDELTA_HEADER_SIZE, "header layout");

void delta_header_write(const ofdelta_header *h, uint8_t *o)
{
    memcpy(o + H_MAGIC, DELTA_MAGIC, 4);
    o[H_VERSION] = h->version;
    o[H_LC] = h->lc, o[H_LP] = h->lp, o[H_PB] = h->pb;
    delta_put32(o + H_WINDOW, h->window);
    delta_put32(o + H_FRAME, h->frame_size);
    delta_put32(o + H_OLD, h->old_size);
    delta_put32(o + H_NEW, h->new_size);
    delta_put32(o + H_RECORDS, h->records);
    delta_put32(o + H_CTRL, h->ctrl_len);
    delta_put32(o + H_DIFF, h->diff_len);
    delta_put32(o + H_EXTRA, h->extra_len);
    delta_put32(o + H_BODY, h->body_len);
    delta_put32(o + H_PAYLOAD, h->payload_len);
    memcpy(o + H_OLD_SHA, h->old_sha256, 32);
    memcpy(o + H_NEW_SHA, h->new_sha256, 32);
    delta_put32(o + H_CRC, delta_crc32(0, o, H_CRC));
}

ofdelta_err ofdelta_header_parse(const uint8_t *b, size_t len, ofdelta_header *h)
{
    if (!b || !h)
        return OFDELTA_ERR_ARG;
    if (len < 4 || memcmp(b, DELTA_MAGIC, 4) != 0)
        return OFDELTA_ERR_MAGIC;
    if (len < OFDELTA_HEADER_SIZE)
        return OFDELTA_ERR_TRUNCATED;
    if (b[H_VERSION] != DELTA_VERSION)
        return OFDELTA_ERR_VERSION;
    if (delta_get32(b + H_CRC) != delta_crc32(0, b, H_CRC))
        return OFDELTA_ERR_HEADER;
    h->version = b[H_VERSION];
    h->lc = b[H_LC], h->lp = b[H_LP], h->pb = b[H_PB];
    h->window = delta_get32(b + H_WINDOW);
    h->frame_size = delta_get32(b + H_FRAME);
    h->old_size = delta_get32(b + H_OLD);
    h->new_size = delta_get32(b + H_NEW);
    h->records = delta_get32(b + H_RECORDS);
    h->ctrl_len = delta_get32(b + H_CTRL);
    h->diff_len = delta_get32(b + H_DIFF);
    h->extra_len = delta_get32(b + H_EXTRA);
    h->body_len = delta_get32(b + H_BODY);
    h->payload_len = delta_get32(b + H_PAYLOAD);
    memcpy(h->old_sha256, b + H_OLD_SHA, 32);
    memcpy(h->new_sha256, b + H_NEW_SHA, 32);

    /* every field bounded, and the fields consistent with each other */
    uint64_t payload = h->payload_len, least = (uint64_t)h->ctrl_len + h->extra_len;
    if (h->lc > 8 || h->lp > 4 || h->pb > 4 || h->lc + h->lp > 4 ||
        h->window < OFDELTA_MIN_WINDOW || h->window > OFDELTA_MAX_WINDOW ||
        h->frame_size < OFDELTA_MIN_FRAME || h->frame_size > OFDELTA_MAX_FRAME ||
        h->old_size > OFDELTA_MAX_IMAGE || h->new_size > OFDELTA_MAX_IMAGE ||
        (uint64_t)h->diff_len + h->extra_len != h->new_size ||
        (uint64_t)h->records * 3 > h->ctrl_len || h->ctrl_len > (uint64_t)h->records * 15 ||
        h->records > h->new_size + 1u || h->body_len < 5 || payload < least ||
        payload > least + 3 * (uint64_t)h->diff_len ||
        h->body_len > payload + payload / 2 + 1024)
        return OFDELTA_ERR_HEADER;
    return OFDELTA_OK;
}

uint64_t ofdelta_patch_size(const ofdelta_header *h)
{
    uint32_t frames = h->body_len / h->frame_size + (h->body_len % h->frame_size != 0);
    return OFDELTA_HEADER_SIZE + (uint64_t)h->body_len + 4 * frames;
}
