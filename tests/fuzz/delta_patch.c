/* delta_patch.c — libFuzzer target on the patch decoder (header parser,
 * frame CRCs, LZMA1 decoder, record parser, save/restore).
 *
 * Each input is applied twice against a fixed OLD: once as it is (exercises
 * the header and CRC checks), and once with the old size, base hash, header
 * CRC and frame CRCs rewritten to be valid, so the fuzzer reaches the LZMA
 * decoder and the control-data checks behind them. The last input byte
 * picks the feed chunk size; one save/restore happens mid-way. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../delta/delta_int.h"

static uint8_t old_img[16384];
static uint64_t sink;
static uint32_t old_size = sizeof old_img;

static int rd(void *ctx, uint32_t off, uint8_t *b, size_t len)
{
    (void)ctx;
    if (off > old_size || len > old_size - off)
        return -1;
    memcpy(b, old_img + off, len);
    return 0;
}

static int wr(void *ctx, uint32_t off, const uint8_t *b, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        sink += b[i] + off;
    return 0;
}

static void run(const uint8_t *d, size_t n, size_t chunk)
{
    static uint8_t ws[OFDELTA_DEFAULT_WORKSPACE], ws2[OFDELTA_DEFAULT_WORKSPACE], saved[OFDELTA_DEFAULT_WORKSPACE + 64];
    ofdelta_io io = {rd, wr, NULL};
    ofdelta_patch *p;
    ofdelta_err e = ofdelta_patch_init(&p, ws, sizeof ws, &io);
    size_t off = 0, half = n / 2, slen;
    while (!e && off < n) {
        size_t k = n - off < chunk ? n - off : chunk;
        e = ofdelta_patch_feed(p, d + off, k);
        off += k;
        if (!e && off >= half && half) {
            half = 0;
            if (!ofdelta_patch_save(p, saved, sizeof saved, &slen))
                e = ofdelta_patch_restore(&p, ws2, sizeof ws2, &io, saved, slen);
        }
    }
    if (!e)
        ofdelta_patch_finish(p);
}

/* a pattern OLD of any size up to sizeof old_img; its SHA-256 into out */
static void old_hash(uint32_t size, uint8_t out[32])
{
    delta_sha256 s;
    delta_sha256_init(&s);
    delta_sha256_update(&s, old_img, size);
    delta_sha256_final(&s, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!old_img[1])
        for (size_t i = 0; i < sizeof old_img; i++)
            old_img[i] = (uint8_t)(i * 7 + (i >> 5));
    if (size < 1 || size > 200000)
        return 0;
    /* the last byte picks the feed chunk size; the input stays a whole patch
     * so the fixtures are good seeds */
    size_t chunk = 1 + data[size - 1] % 64 * 97;
    ofdelta_header h;
    /* keep each run short: NEW bounded to 1 MiB */
    if (ofdelta_header_parse(data, size, &h) == OFDELTA_OK && h.new_size > (1u << 20))
        return 0;
    run(data, size, chunk);
    /* second run: make magic, version, header CRC, base hash and frame CRCs valid */
    if (size < 8)
        return 0;
    uint8_t *b = malloc(size);
    if (!b)
        return 0;
    memcpy(b, data, size);
    memcpy(b, DELTA_MAGIC, 4);
    b[4] = DELTA_VERSION;
    size_t hl = b[5];
    if (hl >= 86 && hl <= OFDELTA_HEADER_MAX && hl <= size) {
        delta_put32(b + hl - 4, delta_crc32(0, b, hl - 4));
        if (ofdelta_header_parse(b, size, &h) == OFDELTA_OK && h.old_size <= sizeof old_img &&
            h.new_size <= (1u << 20)) {
            old_size = h.old_size;
            old_hash(h.old_size, b + hl - 68);
            delta_put32(b + hl - 4, delta_crc32(0, b, hl - 4));
            size_t pos = hl;
            for (uint32_t i = 0, off = 0; off < h.body_len && pos < size; i++) {
                uint32_t fl = h.body_len - off < h.frame_size ? h.body_len - off : h.frame_size;
                if (pos + fl + 4 > size)
                    break;
                delta_put32(b + pos + fl, delta_frame_crc(i, b + pos, fl));
                pos += fl + 4, off += fl;
            }
            run(b, size, chunk);
            old_size = sizeof old_img;
        }
    }
    free(b);
    return 0;
}
