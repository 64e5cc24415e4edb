/* delta_testlib.c — see delta_testlib.h */
#include "delta_testlib.h"

#include <lzma.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_int.h"

uint32_t t_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

tbuf t_copy(const uint8_t *p, size_t n)
{
    tbuf b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    if (n)
        memcpy(b.p, p, n);
    return b;
}

tbuf t_random(uint32_t seed, size_t n)
{
    tbuf b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    seed |= 1;
    for (size_t i = 0; i < n; i++)
        b.p[i] = (uint8_t)(t_rand(&seed) >> 11);
    return b;
}

tbuf t_firmware(uint32_t seed, size_t n)
{
    static const uint8_t ops[] = {0x94, 0x97, 0xf9, 0xb9, 0x91, 0xd1, 0xaa, 0x2a, 0x52, 0x72, 0x54, 0xb4, 0x35, 0x36};
    tbuf b = {malloc(n ? n : 1), n};
    assert_non_null(b.p);
    seed |= 1;
    size_t i = 0;
    while (i < n) {
        uint32_t r = t_rand(&seed);
        if (r % 50 == 0) { /* a string */
            const char *s = "firmware version %d.%d.%d ready\n";
            for (size_t k = 0; s[k] && i < n; k++)
                b.p[i++] = (uint8_t)s[k];
            continue;
        }
        if (r % 37 == 0) { /* a table of pointers */
            uint32_t base = 0x08000000u + (r & 0xffff) * 4;
            for (int k = 0; k < 8 && i + 4 <= n; k++, i += 4)
                delta_put32(b.p + i, base + (uint32_t)k * 0x40);
            continue;
        }
        uint8_t w[4];
        w[0] = (uint8_t)(r >> 8);
        w[1] = (uint8_t)((r >> 16) & 0x1f);
        w[2] = (uint8_t)(((r >> 21) & 3) ? 0 : r >> 24);
        w[3] = ops[(r >> 3) % sizeof ops];
        if (w[3] == 0x94 || w[3] == 0x97) { /* call: offset depends on the position */
            uint32_t off = (uint32_t)(((r & 0x3ff) * 64 - i) / 4) & 0x3ffffff;
            w[0] = (uint8_t)off, w[1] = (uint8_t)(off >> 8), w[2] = (uint8_t)(off >> 16);
        }
        for (int k = 0; k < 4 && i < n; k++)
            b.p[i++] = w[k];
    }
    return b;
}

tbuf t_evolve(const tbuf *fw, uint32_t seed)
{
    size_t n = fw->n, cap = n + n / 8 + 4096, o = 0;
    uint8_t *p = malloc(cap);
    assert_non_null(p);
    seed |= 1;
    /* insertion at 30%, a moved block, then edits and shifted calls */
    size_t ins = n * 3 / 10, mv_from = n / 2, mv_len = n / 16, mv_to = n / 5;
    for (size_t i = 0; i < n; i++) {
        if (i == mv_to)
            for (size_t k = 0; k < mv_len && mv_from + k < n; k++)
                p[o++] = fw->p[mv_from + k];
        if (i == ins)
            for (int k = 0; k < 300; k++)
                p[o++] = (uint8_t)(t_rand(&seed) >> 7);
        if (i >= mv_from && i < mv_from + mv_len)
            continue;
        p[o++] = fw->p[i];
    }
    for (size_t i = 3; i + 1 < o; i += 4) /* calls after the insertion move by 75 words */
        if ((p[i] == 0x94 || p[i] == 0x97) && i > ins)
            p[i - 3] = (uint8_t)(p[i - 3] + 75);
    for (int k = 0; k < 20 && o; k++)
        p[t_rand(&seed) % o] ^= (uint8_t)(1 + t_rand(&seed) % 255);
    tbuf b = {p, o};
    return b;
}

static int c_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    check_io *c = ctx;
    if (off > c->old_len || len > c->old_len - off)
        return -1;
    memcpy(buf, c->old + off, len);
    return 0;
}

static int c_write(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
    check_io *c = ctx;
    c->writes++;
    if (off != c->next)
        c->out_of_order++;
    if (off > c->expect_len || len > c->expect_len - off) {
        c->wrong++;
        return -1;
    }
    if (memcmp(c->expect + off, buf, len))
        c->wrong++;
    memcpy(c->flash + off, buf, len);
    c->bytes_written += len;
    c->next = off + len;
    return 0;
}

ofdelta_io t_io(check_io *c)
{
    ofdelta_io io = {c_read, c_write, c};
    return io;
}

void t_check_init(check_io *c, const tbuf *old, const tbuf *nw)
{
    memset(c, 0, sizeof *c);
    c->old = old->p, c->old_len = old->n;
    c->expect = nw->p, c->expect_len = nw->n;
    c->flash = calloc(1, nw->n ? nw->n : 1);
    assert_non_null(c->flash);
}

void t_check_free(check_io *c) { free(c->flash); }

ofdelta_err t_apply(check_io *c, const uint8_t *patch, size_t len, size_t chunk)
{
    static uint8_t ws[OFDELTA_DEFAULT_WORKSPACE];
    ofdelta_patch *p;
    ofdelta_io io = t_io(c);
    ofdelta_err e = ofdelta_patch_init(&p, ws, sizeof ws, &io);
    for (size_t off = 0; !e && off < len; off += chunk)
        e = ofdelta_patch_feed(p, patch + off, len - off < chunk ? len - off : chunk);
    if (!e)
        e = ofdelta_patch_finish(p);
    return e;
}

tbuf t_make(const tbuf *old, const tbuf *nw, const ofdelta_make_opts *o)
{
    tbuf b;
    ofdelta_make_stats st;
    assert_int_equal(ofdelta_make(old->p, old->n, nw->p, nw->n, o, &b.p, &b.n, &st), OFDELTA_OK);
    assert_int_equal(st.patch_size, b.n);
    return b;
}

tbuf t_forge(const tbuf *old, const tbuf *nw, const uint8_t *payload, size_t plen, uint32_t records,
             uint32_t ctrl, uint32_t diff, uint32_t extra)
{
    lzma_options_lzma lz;
    assert_int_equal(lzma_lzma_preset(&lz, 6), 0);
    lz.dict_size = OFDELTA_DEFAULT_WINDOW;
    lz.lc = 0, lz.lp = 0, lz.pb = 0;
    lz.ext_flags = 0;
    lz.ext_size_low = (uint32_t)plen, lz.ext_size_high = 0;
    lzma_filter f[2] = {{LZMA_FILTER_LZMA1EXT, &lz}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t cap = plen * 2 + 1024, pos = 0;
    uint8_t *body = malloc(cap);
    assert_non_null(body);
    assert_int_equal(lzma_raw_buffer_encode(f, NULL, payload, plen, body, &pos, cap), LZMA_OK);
    ofdelta_header h = {0};
    h.version = DELTA_VERSION;
    h.window = OFDELTA_DEFAULT_WINDOW;
    h.frame_size = OFDELTA_DEFAULT_FRAME;
    h.old_size = (uint32_t)old->n, h.new_size = (uint32_t)nw->n;
    h.records = records, h.ctrl_len = ctrl, h.diff_len = diff, h.extra_len = extra;
    h.body_len = (uint32_t)pos, h.payload_len = (uint32_t)plen;
    delta_sha256 s;
    delta_sha256_init(&s);
    delta_sha256_update(&s, old->p, old->n);
    delta_sha256_final(&s, h.old_sha256);
    delta_sha256_init(&s);
    delta_sha256_update(&s, nw->p, nw->n);
    delta_sha256_final(&s, h.new_sha256);
    uint8_t hb[OFDELTA_HEADER_MAX];
    h.header_len = (uint8_t)delta_header_write(&h, hb);
    tbuf out = {malloc((size_t)ofdelta_patch_size(&h)), (size_t)ofdelta_patch_size(&h)};
    assert_non_null(out.p);
    memcpy(out.p, hb, h.header_len);
    size_t w = h.header_len;
    for (uint32_t i = 0, off = 0; off < pos; i++) {
        uint32_t n = (uint32_t)(pos - off < h.frame_size ? pos - off : h.frame_size);
        memcpy(out.p + w, body + off, n);
        delta_put32(out.p + w + n, delta_frame_crc(i, body + off, n));
        w += n + 4, off += n;
    }
    free(body);
    return out;
}
