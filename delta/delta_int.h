/*
 * delta_int.h — internal pieces of the delta engine shared between its files:
 * SHA-256, CRC-32, the LZMA1 decoder and the header layout. Not installed.
 * Patcher-side files (sha256.c, crc32.c, lzma_dec.c, patch.c) use nothing
 * from libc but memcpy/memset so they build for bare-metal targets.
 */
#ifndef OPENFOTA_DELTA_INT_H
#define OPENFOTA_DELTA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ofdelta.h"

/* ---- SHA-256 (sha256.c) */
typedef struct delta_sha256 {
    uint32_t h[8];
    uint64_t len;      /* bytes hashed so far */
    uint8_t buf[64];   /* pending partial block */
} delta_sha256;

void delta_sha256_init(delta_sha256 *s);
void delta_sha256_update(delta_sha256 *s, const uint8_t *data, size_t len);
void delta_sha256_final(delta_sha256 *s, uint8_t out[32]);

/* ---- CRC-32 (IEEE, reflected; crc32.c) */
uint32_t delta_crc32(uint32_t crc, const uint8_t *data, size_t len);

/* ---- little-endian helpers */
static inline uint32_t delta_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void delta_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* 1 when a[0..n) == b[0..n); time independent of where they differ
 * (the patcher files use no libc beyond memcpy/memset) */
static inline int delta_same(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

/* ---- header (header.c) */
#define DELTA_MAGIC "OFDL"
#define DELTA_VERSION 1u
/* Serialises h (CRC included) into out (OFDELTA_HEADER_MAX bytes of room);
 * returns the header length. */
size_t delta_header_write(const ofdelta_header *h, uint8_t *out);
/* CRC-32 of a frame: index (LE) then the frame bytes. */
uint32_t delta_frame_crc(uint32_t index, const uint8_t *data, size_t len);

/* ---- LZMA1 decoder (lzma_dec.c) */
#define LZD_NUM_STATES 12
#define LZD_POS_STATES_MAX 16
#define LZD_LEN_PROBS (2 + 16 * 8 + 16 * 8 + 256)
#define LZD_FIXED_PROBS                                                                    \
    (LZD_NUM_STATES * LZD_POS_STATES_MAX * 2 + LZD_NUM_STATES * 4 + 4 * 64 + 114 + 16 + \
     2 * LZD_LEN_PROBS)
#define LZD_MAX_SYMBOL_INPUT 20 /* most compressed bytes one symbol can take */
#define LZD_MAX_MATCH 273

typedef struct lzd {
    uint32_t range, code;
    uint32_t rep[4];
    uint32_t state;
    uint32_t lc, lp, pb;
    uint32_t dict_size;
    uint32_t dict_pos;   /* next write index in the dictionary ring */
    uint32_t total;      /* bytes produced so far */
    uint32_t rc_ready;   /* range coder initialised from its first 5 bytes */
    uint16_t probs[LZD_FIXED_PROBS];
} lzd;

/* Number of literal probabilities for lc+lp. */
static inline uint32_t lzd_lit_probs(uint32_t lc, uint32_t lp) { return 0x300u << (lc + lp); }

/* Resets the model; lit points to lzd_lit_probs(lc, lp) entries. */
void lzd_reset(lzd *d, uint16_t *lit, uint32_t lc, uint32_t lp, uint32_t pb, uint32_t dict_size);

/* Initialises the range coder from 5 bytes at *in (advances *in).
 * Returns 0, or -1 when the stream is invalid. */
int lzd_rc_init(lzd *d, const uint8_t **in, const uint8_t *end);

/* Decodes one LZMA symbol from [*in, end) into the dictionary ring, producing
 * at most max_out bytes (the symbol must fit). Returns bytes produced (>= 1),
 * or -1 on corrupt input (including reading past end). */
int lzd_symbol(lzd *d, uint16_t *lit, uint8_t *dict, const uint8_t **in, const uint8_t *end,
               uint32_t max_out);

#endif
