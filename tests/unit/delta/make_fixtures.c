/* make_fixtures.c — writes the bad-input fixtures of the patch decoder into
 * DIR (tests/fixtures/bad/delta). Every fixture is meant for the OLD image
 * t_firmware(1, 5000) and must be refused by the patcher. Run by hand after a
 * format change:  delta_make_fixtures tests/fixtures/bad/delta */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_int.h"
#include "delta_testlib.h"

static const char *dir;

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        exit(1);
    }
}

/* the good patch with its header rewritten from h (valid CRC) */
static void put_header(const char *name, const tbuf *good, const ofdelta_header *h)
{
    uint8_t hb[OFDELTA_HEADER_MAX];
    ofdelta_header g;
    ofdelta_header_parse(good->p, good->n, &g);
    size_t n = delta_header_write(h, hb), rest = good->n - g.header_len;
    uint8_t *p = malloc(n + rest);
    memcpy(p, hb, n);
    memcpy(p + n, good->p + g.header_len, rest);
    put(name, p, n + rest);
    free(p);
}

static size_t vput(uint8_t *b, uint64_t v)
{
    size_t k = 0;
    while (v >= 0x80) {
        b[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[k++] = (uint8_t)v;
    return k;
}

static void forged(const char *name, const tbuf *old, const tbuf *nw, const uint64_t *v, size_t nv)
{
    uint8_t pl[256];
    size_t n = 0, ctrl = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t k = vput(pl + n, v[i]);
        if (i < 3)
            ctrl += k;
        n += k;
    }
    memset(pl + n, 0x22, 32);
    n += 32;
    tbuf p = t_forge(old, nw, pl, n, 1, (uint32_t)ctrl, (uint32_t)nw->n, 0);
    put(name, p.p, p.n);
    free(p.p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: delta_make_fixtures DIR\n");
        return 2;
    }
    dir = argv[1];
    tbuf old = t_firmware(1, 5000), nw = t_evolve(&old, 2);
    tbuf good = t_make(&old, &nw, NULL), b;
    uint64_t N = nw.n, O = old.n;

    put("empty.bin", good.p, 0);
    put("truncated-in-header.bin", good.p, 50);
    ofdelta_header h, hx;
    ofdelta_header_parse(good.p, good.n, &h);
    put("truncated-after-header.bin", good.p, h.header_len);
    put("truncated-half.bin", good.p, good.n / 2);
    put("truncated-last-byte.bin", good.p, good.n - 1);
    b = t_copy(good.p, good.n), b.p[0] = 'X', put("bad-magic.bin", b.p, b.n), free(b.p);
    b = t_copy(good.p, good.n), b.p[4] = 9, put("bad-version.bin", b.p, b.n), free(b.p);
    b = t_copy(good.p, good.n), b.p[20] ^= 1, put("header-crc.bin", b.p, b.n), free(b.p);
    hx = h, hx.window = 0x80000000u, put_header("header-window-2GiB.bin", &good, &hx);
    hx = h, hx.new_size = 0x7FFFFFFFu, put_header("header-new-size-huge.bin", &good, &hx);
    hx = h, hx.diff_len = 7, put_header("header-lengths-inconsistent.bin", &good, &hx);
    hx = h, hx.body_len = 0xFFFFFF00u, put_header("header-body-len-huge.bin", &good, &hx);
    hx = h, hx.lc = 4, hx.lp = 1, put_header("header-lc-lp-too-big.bin", &good, &hx);
    b = t_copy(good.p, good.n), b.p[5] = 255, put("header-length-over-max.bin", b.p, b.n), free(b.p);
    b = t_copy(good.p, good.n), b.p[h.header_len + 10] ^= 4, put("frame-data-bit-flip.bin", b.p, b.n), free(b.p);
    b = t_copy(good.p, good.n), b.p[b.n - 1] ^= 0x80, put("frame-crc-bit-flip.bin", b.p, b.n), free(b.p);
    b = (tbuf){malloc(good.n + 3), good.n + 3};
    memcpy(b.p, good.p, good.n), memcpy(b.p + good.n, "xyz", 3), put("trailing-bytes.bin", b.p, b.n), free(b.p);
    tbuf other = t_copy(old.p, old.n);
    other.p[100] ^= 1;
    b = t_make(&other, &nw, NULL), put("wrong-base.bin", b.p, b.n), free(b.p);
    hx = h, hx.old_sha256[3] ^= 1, put_header("wrong-base-hash-field.bin", &good, &hx);

    forged("ctrl-diff-longer-than-new.bin", &old, &nw, (uint64_t[]){N + 1, 0, 0}, 3);
    forged("ctrl-diff-longer-than-old.bin", &old, &nw, (uint64_t[]){O + 1, 0, 0}, 3);
    forged("ctrl-diff-negative.bin", &old, &nw, (uint64_t[]){0xFFFFFFFFu, 0, 0}, 3);
    forged("ctrl-extra-longer-than-new.bin", &old, &nw, (uint64_t[]){0, N + 1, 0}, 3);
    forged("ctrl-seek-before-start.bin", &old, &nw, (uint64_t[]){0, 10, 1}, 3);
    forged("ctrl-seek-past-end.bin", &old, &nw, (uint64_t[]){0, 10, 2 * (O + 1)}, 3);
    forged("ctrl-varint-over-32-bits.bin", &old, &nw, (uint64_t[]){1ull << 35, 0, 0}, 3);
    forged("run-equal-longer-than-diff.bin", &old, &nw, (uint64_t[]){10, 0, 0, 11, 0}, 5);
    forged("run-differ-longer-than-diff.bin", &old, &nw, (uint64_t[]){10, 0, 0, 0, 11}, 5);
    forged("run-empty-pair.bin", &old, &nw, (uint64_t[]){10, 0, 0, 0, 0}, 5);
    forged("records-short-of-new.bin", &old, &nw, (uint64_t[]){0, 10, 0}, 3);
    /* a body that is not LZMA data at all, with valid CRCs */
    uint8_t junk[200];
    for (int i = 0; i < 200; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    b = t_copy(good.p, good.n);
    for (uint32_t i = 0, off = 0; off < h.body_len; i++) {
        uint32_t n = h.body_len - off < h.frame_size ? h.body_len - off : h.frame_size;
        uint8_t *fp = b.p + h.header_len + (size_t)i * (h.frame_size + 4);
        for (uint32_t k = 0; k < n; k++)
            fp[k] = junk[(off + k) % 200];
        fp[0] = i == 0 ? 0 : fp[0];
        delta_put32(fp + n, delta_frame_crc(i, fp, n));
        off += n;
    }
    put("body-not-lzma.bin", b.p, b.n);
    free(b.p);
    free(other.p);
    free(good.p);
    free(old.p);
    free(nw.p);
    return 0;
}
