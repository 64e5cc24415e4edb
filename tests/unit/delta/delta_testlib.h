/* delta_testlib.h — shared helpers of the delta unit tests: firmware-like
 * data, a checking I/O (flags any byte written that differs from the
 * expected NEW), chunked apply, and crafting patches from a raw payload. */
#ifndef DELTA_TESTLIB_H
#define DELTA_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "ofdelta.h"

typedef struct tbuf {
    uint8_t *p;
    size_t n;
} tbuf;

uint32_t t_rand(uint32_t *s);
/* code-like bytes: 4-byte "instructions" from a small vocabulary with
 * pc-relative fields, some tables and strings */
tbuf t_firmware(uint32_t seed, size_t n);
/* a new version of fw: edits, insertions, a moved block, shifted call offsets */
tbuf t_evolve(const tbuf *fw, uint32_t seed);
tbuf t_random(uint32_t seed, size_t n);
tbuf t_copy(const uint8_t *p, size_t n);

typedef struct check_io {
    const uint8_t *old;
    size_t old_len;
    const uint8_t *expect; /* NEW as it must come out */
    size_t expect_len;
    uint8_t *flash;        /* what was written, expect_len bytes */
    size_t writes, bytes_written, wrong, out_of_order, next;
} check_io;

ofdelta_io t_io(check_io *c);
void t_check_init(check_io *c, const tbuf *old, const tbuf *nw);
void t_check_free(check_io *c);

/* applies patch fed in chunks of `chunk` bytes (1 = byte by byte) with the
 * default workspace; returns the first error (feed or finish) */
ofdelta_err t_apply(check_io *c, const uint8_t *patch, size_t len, size_t chunk);

tbuf t_make(const tbuf *old, const tbuf *nw, const ofdelta_make_opts *o);

/* a patch whose body decodes to exactly `payload` (raw LZMA1, valid CRCs and
 * hashes), for forged control data; old/new give sizes and hashes; header
 * fields records/ctrl/diff/extra as given */
tbuf t_forge(const tbuf *old, const tbuf *nw, const uint8_t *payload, size_t plen, uint32_t records,
             uint32_t ctrl, uint32_t diff, uint32_t extra);

#endif
