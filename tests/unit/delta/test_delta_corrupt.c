/* test_delta_corrupt.c — damaged and forged patches are refused, never crash,
 * and never cause a write of a wrong byte: truncation at every 1/100 of the
 * length, flipped bits, forged control data with valid CRCs (oversized and
 * negative lengths, bspatch CVE-2014-9862 class), wrong base, misuse of the
 * API, and every file in tests/fixtures/bad/delta/. */
#include <dirent.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_int.h"
#include "delta_testlib.h"

static tbuf old_fw, new_fw, patch;

static int setup(void **state)
{
    (void)state;
    old_fw = t_firmware(42, 30000);
    new_fw = t_evolve(&old_fw, 43);
    patch = t_make(&old_fw, &new_fw, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(old_fw.p);
    free(new_fw.p);
    free(patch.p);
    return 0;
}

static ofdelta_err apply_checked(const tbuf *old, const uint8_t *p, size_t n, size_t chunk, check_io *c)
{
    t_check_init(c, old, &new_fw);
    ofdelta_err e = t_apply(c, p, n, chunk);
    assert_int_equal(c->wrong, 0);
    assert_int_equal(c->out_of_order, 0);
    t_check_free(c);
    return e;
}

static void test_truncation(void **state)
{
    (void)state;
    check_io c;
    assert_int_equal(apply_checked(&old_fw, patch.p, patch.n, 4096, &c), OFDELTA_OK);
    for (int i = 0; i < 100; i++) {
        size_t cut = patch.n * (size_t)i / 100;
        ofdelta_err e = apply_checked(&old_fw, patch.p, cut, 7, &c);
        assert_int_not_equal(e, OFDELTA_OK);
        assert_true(c.bytes_written < new_fw.n);
    }
    assert_int_equal(apply_checked(&old_fw, patch.p, patch.n - 1, 4096, &c), OFDELTA_ERR_TRUNCATED);
}

static void test_flipped_bits(void **state)
{
    (void)state;
    tbuf bad = t_copy(patch.p, patch.n);
    check_io c;
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(patch.p, patch.n, &h), OFDELTA_OK);
    for (size_t i = 0; i < bad.n; i += 1 + bad.n / 300) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        bad.p[i] ^= bit;
        ofdelta_err e = apply_checked(&old_fw, bad.p, bad.n, 4096, &c);
        assert_int_not_equal(e, OFDELTA_OK);
        if (i >= h.header_len)
            assert_int_equal(e, OFDELTA_ERR_FRAME_CRC);
        bad.p[i] ^= bit;
    }
    free(bad.p);
}

static void test_trailing_and_state(void **state)
{
    (void)state;
    tbuf longer = {malloc(patch.n + 1), patch.n + 1};
    memcpy(longer.p, patch.p, patch.n);
    longer.p[patch.n] = 0;
    check_io c;
    assert_int_equal(apply_checked(&old_fw, longer.p, longer.n, 4096, &c), OFDELTA_ERR_TRAILING);
    free(longer.p);

    static uint8_t ws[OFDELTA_DEFAULT_WORKSPACE];
    ofdelta_patch *p;
    t_check_init(&c, &old_fw, &new_fw);
    ofdelta_io io = t_io(&c);
    assert_int_equal(ofdelta_patch_init(&p, ws, sizeof ws, &io), OFDELTA_OK);
    assert_null(ofdelta_patch_header(p));
    assert_int_equal(ofdelta_patch_finish(p), OFDELTA_ERR_TRUNCATED); /* nothing fed */
    assert_int_equal(ofdelta_patch_feed(p, patch.p, 1), OFDELTA_ERR_STATE);
    assert_int_equal(ofdelta_patch_init(&p, ws, sizeof ws, &io), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_feed(p, patch.p, patch.n), OFDELTA_OK);
    assert_non_null(ofdelta_patch_header(p));
    assert_int_equal(ofdelta_patch_finish(p), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_finish(p), OFDELTA_ERR_STATE);
    assert_int_equal(ofdelta_patch_feed(p, patch.p, 1), OFDELTA_ERR_STATE);
    assert_int_equal(ofdelta_patch_init(&p, ws, 100, &io), OFDELTA_ERR_WORKSPACE);
    assert_int_equal(ofdelta_patch_init(NULL, ws, sizeof ws, &io), OFDELTA_ERR_ARG);
    assert_int_equal(ofdelta_patch_feed(NULL, patch.p, 1), OFDELTA_ERR_ARG);
    t_check_free(&c);
}

static void test_wrong_base(void **state)
{
    (void)state;
    tbuf other = t_copy(old_fw.p, old_fw.n);
    other.p[old_fw.n / 2] ^= 1;
    check_io c;
    t_check_init(&c, &other, &new_fw);
    assert_int_equal(t_apply(&c, patch.p, patch.n, 4096), OFDELTA_ERR_BASE_HASH);
    assert_int_equal(c.writes, 0);
    t_check_free(&c);
    /* standalone base check */
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(patch.p, patch.n, &h), OFDELTA_OK);
    t_check_init(&c, &other, &new_fw);
    ofdelta_io io = t_io(&c);
    assert_int_equal(ofdelta_check_base(&h, &io), OFDELTA_ERR_BASE_HASH);
    t_check_free(&c);
    t_check_init(&c, &old_fw, &new_fw);
    io = t_io(&c);
    assert_int_equal(ofdelta_check_base(&h, &io), OFDELTA_OK);
    t_check_free(&c);
    /* shorter base: the read callback fails, nothing is written */
    tbuf shorter = {old_fw.p, old_fw.n - 1};
    t_check_init(&c, &shorter, &new_fw);
    assert_int_equal(t_apply(&c, patch.p, patch.n, 4096), OFDELTA_ERR_IO);
    assert_int_equal(c.writes, 0);
    t_check_free(&c);
    uint8_t *out;
    size_t ol;
    assert_int_equal(ofdelta_apply_mem(shorter.p, shorter.n, patch.p, patch.n, &out, &ol), OFDELTA_ERR_BASE_SIZE);
    free(other.p);
}

/* forged control data: valid CRCs and hashes, lengths out of bounds */
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

static ofdelta_err forged(const uint64_t *vals, size_t nv, uint32_t records, uint32_t diff, uint32_t extra,
                          size_t *writes)
{
    uint8_t pl[256];
    size_t n = 0, ctrl = 0;
    for (size_t i = 0; i < nv; i++) {
        size_t k = vput(pl + n, vals[i]);
        if (i < 3)
            ctrl += k;
        n += k;
    }
    memset(pl + n, 0x11, 64); /* some data bytes after the control values */
    n += 64;
    tbuf p = t_forge(&old_fw, &new_fw, pl, n, records, (uint32_t)ctrl, diff, extra);
    check_io c;
    t_check_init(&c, &old_fw, &new_fw);
    ofdelta_err e = t_apply(&c, p.p, p.n, 7);
    assert_int_equal(c.wrong, 0);
    *writes = c.writes;
    t_check_free(&c);
    free(p.p);
    return e;
}

static void test_forged_control(void **state)
{
    (void)state;
    uint32_t N = (uint32_t)new_fw.n, O = (uint32_t)old_fw.n;
    size_t w;
    struct {
        uint64_t v[5];
        size_t nv;
    } cases[] = {
        {{(uint64_t)N + 1, 0, 0}, 3},          /* diff longer than NEW */
        {{(uint64_t)O + 1, 0, 0}, 3},          /* diff longer than OLD */
        {{0xFFFFFFFFu, 0, 0}, 3},              /* "negative" length */
        {{0, (uint64_t)N + 1, 0}, 3},          /* extra longer than NEW */
        {{10, (uint64_t)N - 5, 0}, 3},         /* diff + extra longer than NEW */
        {{0, 10, 1}, 3},                       /* seek before the start of OLD */
        {{0, 10, 2 * ((uint64_t)O + 1)}, 3},   /* seek past the end of OLD */
        {{0, 10, 0xFFFFFFFFu}, 3},             /* seek by -2^31 */
        {{1ull << 35, 0, 0}, 3},               /* varint wider than 32 bits */
        {{10, 0, 0, 11, 0}, 5},                /* equal-run longer than the diff */
        {{10, 0, 0, 0, 11}, 5},                /* differ-run longer than the diff */
        {{10, 0, 0, 0, 0}, 5},                 /* empty run pair: no progress */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ofdelta_err e = forged(cases[i].v, cases[i].nv, 1, N, 0, &w);
        if (e != OFDELTA_ERR_CORRUPT)
            fail_msg("case %zu: got %d", i, e);
        assert_int_equal(w, 0);
    }
}

/* rewrites the header of `patch` from a modified struct (valid CRC) and parses it back */
static ofdelta_err reparse(const ofdelta_header *h)
{
    uint8_t hb[OFDELTA_HEADER_MAX];
    ofdelta_header back;
    size_t n = delta_header_write(h, hb);
    return ofdelta_header_parse(hb, n, &back);
}

static void test_header_fields(void **state)
{
    (void)state;
    ofdelta_header h0, h;
    assert_int_equal(ofdelta_header_parse(patch.p, patch.n, &h0), OFDELTA_OK);
    assert_int_equal(ofdelta_header_parse(patch.p, h0.header_len - 1, &h), OFDELTA_ERR_TRUNCATED);
    assert_int_equal(ofdelta_header_parse(patch.p, 7, &h), OFDELTA_ERR_TRUNCATED);
    assert_int_equal(ofdelta_header_parse(patch.p, 2, &h), OFDELTA_ERR_MAGIC);
    assert_int_equal(reparse(&h0), OFDELTA_OK);
#define BAD(field, value)                                                                   \
    do {                                                                                    \
        h = h0;                                                                             \
        h.field = value;                                                                    \
        if (reparse(&h) != OFDELTA_ERR_HEADER)                                              \
            fail_msg("header with " #field " = %llu accepted", (unsigned long long)(value)); \
    } while (0)
    BAD(window, 100);
    BAD(window, 0x7FFFFFFFu);
    BAD(frame_size, 1);
    BAD(frame_size, 0x100000);
    BAD(old_size, 0x7FFFFFFFu);
    BAD(new_size, 0x7FFFFFFFu);
    BAD(records, 0);
    BAD(ctrl_len, 0);
    BAD(diff_len, 12345);
    BAD(body_len, 0);
    BAD(body_len, 0xFFFFFFF0u);
    BAD(payload_len, 0);
    BAD(lc, 5);
    BAD(pb, 5);
#undef BAD
    uint8_t hb[OFDELTA_HEADER_MAX];
    memcpy(hb, patch.p, h0.header_len);
    hb[4] = 2;
    assert_int_equal(ofdelta_header_parse(hb, h0.header_len, &h), OFDELTA_ERR_VERSION);
    hb[4] = 1;
    hb[5] = 200; /* header length over the maximum */
    assert_int_equal(ofdelta_header_parse(hb, h0.header_len, &h), OFDELTA_ERR_HEADER);
    memcpy(hb, patch.p, h0.header_len);
    hb[7] = 1; /* unknown flag */
    delta_put32(hb + h0.header_len - 4, delta_crc32(0, hb, h0.header_len - 4u));
    assert_int_equal(ofdelta_header_parse(hb, h0.header_len, &h), OFDELTA_ERR_HEADER);
}

/* every fixture is a patch meant for OLD = t_firmware(1, 5000) (see make_fixtures.c) and must be refused */
static void test_fixtures(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad/delta", OPENFOTA_FIXTURES);
    DIR *d = opendir(dir);
    assert_non_null(d);
    tbuf old = t_firmware(1, 5000), nw = t_evolve(&old, 2);
    int seen = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        check_io c;
        t_check_init(&c, &old, &nw);
        ofdelta_err e = t_apply(&c, buf, n, 7);
        /* refused; and no wrong byte written unless the body itself is forged with valid CRCs */
        if (e == OFDELTA_OK || (c.wrong && strncmp(de->d_name, "body-", 5)))
            fail_msg("fixture %s accepted (err %d, wrong writes %zu)", de->d_name, e, c.wrong);
        t_check_free(&c);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 8);
    free(old.p);
    free(nw.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncation),       cmocka_unit_test(test_flipped_bits),
        cmocka_unit_test(test_trailing_and_state), cmocka_unit_test(test_wrong_base),
        cmocka_unit_test(test_forged_control),   cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
