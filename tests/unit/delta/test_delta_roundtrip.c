/* test_delta_roundtrip.c — make + apply on firmware-like data and edge
 * cases, the patch fed in chunks of 1, 7 and 4096 bytes through the
 * 16 KiB default workspace; every byte written is checked as it is written. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_testlib.h"

static void roundtrip_chunks(const tbuf *old, const tbuf *nw, const ofdelta_make_opts *o, const size_t *chunks,
                             size_t nchunks)
{
    tbuf patch = t_make(old, nw, o);
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(patch.p, patch.n, &h), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_size(&h), patch.n);
    if (!o || !o->window)
        assert_true(ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size) <= OFDELTA_DEFAULT_WORKSPACE);
    for (size_t i = 0; i < nchunks; i++) {
        check_io c;
        t_check_init(&c, old, nw);
        assert_int_equal(t_apply(&c, patch.p, patch.n, chunks[i]), OFDELTA_OK);
        assert_int_equal(c.wrong, 0);
        assert_int_equal(c.out_of_order, 0);
        assert_int_equal(c.bytes_written, nw->n);
        assert_memory_equal(c.flash, nw->p, nw->n);
        t_check_free(&c);
    }
    /* the host helper agrees */
    uint8_t *out;
    size_t out_len;
    assert_int_equal(ofdelta_apply_mem(old->p, old->n, patch.p, patch.n, &out, &out_len), OFDELTA_OK);
    assert_int_equal(out_len, nw->n);
    if (out_len)
        assert_memory_equal(out, nw->p, out_len);
    free(out);
    free(patch.p);
}

static void roundtrip(const tbuf *old, const tbuf *nw)
{
    static const size_t chunks[] = {1, 7, 4096};
    roundtrip_chunks(old, nw, NULL, chunks, 3);
}

static void test_firmware_like(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 3; seed++) {
        tbuf old = t_firmware(seed, 40000 + seed * 7777);
        tbuf nw = t_evolve(&old, seed * 31);
        roundtrip(&old, &nw);
        /* a real delta: much smaller than NEW */
        tbuf patch = t_make(&old, &nw, NULL);
        assert_true(patch.n < nw.n / 4);
        free(patch.p);
        free(old.p);
        free(nw.p);
    }
}

static void test_larger_firmware_4096_chunks(void **state)
{
    (void)state;
    static const size_t chunks[] = {4096, 65536};
    tbuf old = t_firmware(99, 300000);
    tbuf nw = t_evolve(&old, 5);
    roundtrip_chunks(&old, &nw, NULL, chunks, 2);
    free(old.p);
    free(nw.p);
}

static void test_edges(void **state)
{
    (void)state;
    tbuf fw = t_firmware(7, 20000), empty = {(uint8_t *)"", 0};
    roundtrip(&empty, &fw);   /* empty old */
    roundtrip(&fw, &empty);   /* empty new */
    roundtrip(&empty, &empty);
    roundtrip(&fw, &fw);      /* identical */
    tbuf r1 = t_random(1, 20000), r2 = t_random(2, 20000);
    roundtrip(&r1, &r2);      /* all different */
    tbuf a = t_copy(fw.p, fw.n);
    a.p[0] ^= 0x55;           /* 1-byte change at the start */
    roundtrip(&fw, &a);
    a.p[0] ^= 0x55;
    a.p[a.n - 1] ^= 0x55;     /* and at the end */
    roundtrip(&fw, &a);
    tbuf one = t_copy((const uint8_t *)"x", 1);
    roundtrip(&one, &fw);
    roundtrip(&fw, &one);
    roundtrip(&one, &one);
    free(one.p);
    free(a.p);
    free(r1.p);
    free(r2.p);
    free(fw.p);
}

static void test_window_boundaries(void **state)
{
    (void)state;
    static const size_t chunks[] = {7, 4096};
    const size_t w = OFDELTA_DEFAULT_WINDOW, f = OFDELTA_DEFAULT_FRAME;
    const size_t sizes[] = {w - 1, w, w + 1, 2 * w - 1, 2 * w, 2 * w + 1, f - 1, f, f + 1, 3 * w + 17};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tbuf old = t_firmware((uint32_t)i + 11, sizes[i]);
        tbuf nw = t_copy(old.p, old.n);
        for (size_t k = 0; k < nw.n; k += 997)
            nw.p[k] ^= 0x0f;
        roundtrip_chunks(&old, &nw, NULL, chunks, 2);
        /* incompressible NEW of the same size: body spans many frames */
        tbuf rnd = t_random((uint32_t)i + 100, sizes[i]);
        roundtrip_chunks(&old, &rnd, NULL, chunks, 2);
        free(rnd.p);
        free(nw.p);
        free(old.p);
    }
}

static void test_options(void **state)
{
    (void)state;
    static const size_t chunks[] = {7};
    tbuf old = t_firmware(3, 50000);
    tbuf nw = t_evolve(&old, 9);
    ofdelta_make_opts o = {4096, 64, 1, 1, 2};
    roundtrip_chunks(&old, &nw, &o, chunks, 1);
    ofdelta_make_opts o2 = {65536, 65536, 3, 0, 0};
    tbuf p = t_make(&old, &nw, &o2);
    uint8_t *out;
    size_t out_len;
    assert_int_equal(ofdelta_apply_mem(old.p, old.n, p.p, p.n, &out, &out_len), OFDELTA_OK);
    assert_memory_equal(out, nw.p, nw.n);
    free(out);
    /* a patch that needs more than the default workspace is refused with a clear error */
    check_io c;
    t_check_init(&c, &old, &nw);
    assert_int_equal(t_apply(&c, p.p, p.n, 4096), OFDELTA_ERR_WORKSPACE);
    assert_int_equal(c.writes, 0);
    t_check_free(&c);
    free(p.p);
    /* bad options */
    ofdelta_make_opts bad = {100, 0, -1, -1, -1};
    uint8_t *pp;
    size_t pl;
    assert_int_equal(ofdelta_make(old.p, old.n, nw.p, nw.n, &bad, &pp, &pl, NULL), OFDELTA_ERR_ARG);
    ofdelta_make_opts bad2 = {0, 0, 4, 1, 0};
    assert_int_equal(ofdelta_make(old.p, old.n, nw.p, nw.n, &bad2, &pp, &pl, NULL), OFDELTA_ERR_ARG);
    free(old.p);
    free(nw.p);
}

static void test_full_image_fallback(void **state)
{
    (void)state;
    /* NEW unrelated to OLD: the patch must not be larger than NEW alone */
    tbuf old = t_random(5, 30000), nw = t_firmware(6, 30000);
    ofdelta_make_stats st;
    uint8_t *p;
    size_t pl;
    assert_int_equal(ofdelta_make(old.p, old.n, nw.p, nw.n, NULL, &p, &pl, &st), OFDELTA_OK);
    assert_int_equal(st.full_image, st.diff_bytes == 0);
    tbuf empty = {(uint8_t *)"", 0};
    tbuf alone = t_make(&empty, &nw, NULL);
    /* same body; the headers differ only in the varint of the old size */
    if (pl > alone.n + 4)
        fail_msg("patch %zu bytes, NEW alone %zu bytes", pl, alone.n);
    free(alone.p);
    free(p);
    free(old.p);
    free(nw.p);
}

/* the bsdiff worst case (sparse bytes over zeros at other alignments) takes
 * the diff's strided search path; the result must still be exact */
static void test_sparse_runs(void **state)
{
    (void)state;
    static const size_t chunks[] = {4096};
    const size_t n = 200000;
    tbuf old = {calloc(1, n), n}, nw = {calloc(1, n + 5000), n + 5000};
    uint32_t s = 9;
    for (size_t i = 0; i < n; i += 97)
        old.p[i] = (uint8_t)(1 + t_rand(&s) % 255);
    for (size_t i = 0; i < 60000; i += 89)
        nw.p[i] = (uint8_t)(1 + t_rand(&s) % 255);
    memcpy(nw.p + 60000, old.p + 1000, 100000); /* a real match in the middle */
    for (size_t i = 160000; i < nw.n; i += 89)
        nw.p[i] = (uint8_t)(1 + t_rand(&s) % 255);
    roundtrip_chunks(&old, &nw, NULL, chunks, 1);
    free(old.p);
    free(nw.p);
}

static void test_window_for_workspace(void **state)
{
    (void)state;
    uint32_t w = ofdelta_window_for_workspace(OFDELTA_DEFAULT_WORKSPACE, 0, 0, OFDELTA_DEFAULT_FRAME);
    assert_true(w >= OFDELTA_DEFAULT_WINDOW);
    assert_true(ofdelta_patch_workspace_size(w, 0, 0, OFDELTA_DEFAULT_FRAME) <= OFDELTA_DEFAULT_WORKSPACE);
    assert_true(ofdelta_patch_workspace_size(w + 1, 0, 0, OFDELTA_DEFAULT_FRAME) > OFDELTA_DEFAULT_WORKSPACE);
    assert_int_equal(ofdelta_window_for_workspace(1000, 0, 0, OFDELTA_DEFAULT_FRAME), 0);
    /* a patch made for a 12 KiB budget applies in 12 KiB */
    static const size_t chunks[] = {7};
    tbuf old = t_firmware(12, 30000), nw = t_evolve(&old, 13);
    ofdelta_make_opts o = {ofdelta_window_for_workspace(12288, 0, 0, OFDELTA_DEFAULT_FRAME), 0, -1, -1, -1};
    assert_true(o.window >= OFDELTA_MIN_WINDOW);
    tbuf p = t_make(&old, &nw, &o);
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(p.p, p.n, &h), OFDELTA_OK);
    assert_true(ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size) <= 12288);
    roundtrip_chunks(&old, &nw, &o, chunks, 1);
    free(p.p);
    free(old.p);
    free(nw.p);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = OFDELTA_OK; e <= OFDELTA_ERR_LZMA; e++)
        assert_true(strlen(ofdelta_strerror((ofdelta_err)e)) > 5);
    assert_non_null(ofdelta_strerror((ofdelta_err)999));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_firmware_like),
        cmocka_unit_test(test_larger_firmware_4096_chunks),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_window_boundaries),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_full_image_fallback),
        cmocka_unit_test(test_sparse_runs),
        cmocka_unit_test(test_window_for_workspace),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
