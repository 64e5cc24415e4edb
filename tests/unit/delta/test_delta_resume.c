/* test_delta_resume.c — power loss during an apply: the patcher state is
 * saved between feeds, the workspace is wiped, the state restored into a
 * different buffer, and the patch fed again from ofdelta_patch_consumed().
 * Checked at many cut points; the result must be exact and verified. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_testlib.h"

static uint8_t ws1[OFDELTA_DEFAULT_WORKSPACE], ws2[OFDELTA_DEFAULT_WORKSPACE + 3];
static uint8_t saved[OFDELTA_DEFAULT_WORKSPACE + 64];

/* applies with one power loss after `cut` patch bytes (fed in `chunk` pieces) */
static void apply_with_cut(const tbuf *old, const tbuf *nw, const tbuf *patch, size_t cut, size_t chunk)
{
    check_io c;
    t_check_init(&c, old, nw);
    ofdelta_io io = t_io(&c);
    ofdelta_patch *p;
    size_t off = 0, slen = 0;
    assert_int_equal(ofdelta_patch_init(&p, ws1, sizeof ws1, &io), OFDELTA_OK);
    while (off < cut) {
        size_t n = cut - off < chunk ? cut - off : chunk;
        assert_int_equal(ofdelta_patch_feed(p, patch->p + off, n), OFDELTA_OK);
        off += n;
    }
    assert_true(ofdelta_patch_save_size(p) <= sizeof saved);
    assert_int_equal(ofdelta_patch_save(p, saved, sizeof saved, &slen), OFDELTA_OK);
    assert_int_equal(slen, ofdelta_patch_save_size(p));
    uint32_t durable = ofdelta_patch_written(p);
    /* some more progress that is lost with the power */
    if (off < patch->n)
        ofdelta_patch_feed(p, patch->p + off, patch->n - off < 999 ? patch->n - off : 999);
    memset(ws1, 0xA5, sizeof ws1);
    /* reboot: restore into another (misaligned) buffer and go on */
    assert_int_equal(ofdelta_patch_restore(&p, ws2 + 3, sizeof ws2 - 3, &io, saved, slen), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_written(p), durable);
    c.next = durable;
    off = (size_t)ofdelta_patch_consumed(p);
    assert_int_equal(off, cut);
    while (off < patch->n) {
        size_t n = patch->n - off < chunk ? patch->n - off : chunk;
        assert_int_equal(ofdelta_patch_feed(p, patch->p + off, n), OFDELTA_OK);
        off += n;
    }
    assert_int_equal(ofdelta_patch_finish(p), OFDELTA_OK);
    assert_int_equal(c.wrong, 0);
    assert_int_equal(c.out_of_order, 0);
    assert_memory_equal(c.flash, nw->p, nw->n);
    t_check_free(&c);
}

static void test_resume_many_cuts(void **state)
{
    (void)state;
    tbuf old = t_firmware(21, 120000);
    tbuf nw = t_evolve(&old, 22);
    tbuf patch = t_make(&old, &nw, NULL);
    for (int i = 0; i <= 60; i++)
        apply_with_cut(&old, &nw, &patch, patch.n * (size_t)i / 60, i % 2 ? 7 : 512);
    /* around the header and frame edges */
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(patch.p, patch.n, &h), OFDELTA_OK);
    const size_t hl = h.header_len;
    const size_t edges[] = {1, 7, 8, 9, hl - 1, hl, hl + 1, hl + OFDELTA_DEFAULT_FRAME + 3,
                            hl + OFDELTA_DEFAULT_FRAME + 4, hl + OFDELTA_DEFAULT_FRAME + 5};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        if (edges[i] <= patch.n)
            apply_with_cut(&old, &nw, &patch, edges[i], 1);
    free(patch.p);
    free(old.p);
    free(nw.p);
}

static void test_resume_every_feed(void **state)
{
    (void)state;
    /* save after every 333-byte feed and always continue from the restored copy */
    tbuf old = t_firmware(31, 60000);
    tbuf nw = t_evolve(&old, 32);
    tbuf patch = t_make(&old, &nw, NULL);
    check_io c;
    t_check_init(&c, &old, &nw);
    ofdelta_io io = t_io(&c);
    ofdelta_patch *p;
    assert_int_equal(ofdelta_patch_init(&p, ws1, sizeof ws1, &io), OFDELTA_OK);
    int flip = 0;
    for (size_t off = 0; off < patch.n;) {
        size_t n = patch.n - off < 333 ? patch.n - off : 333, slen;
        assert_int_equal(ofdelta_patch_feed(p, patch.p + off, n), OFDELTA_OK);
        off += n;
        assert_int_equal(ofdelta_patch_save(p, saved, sizeof saved, &slen), OFDELTA_OK);
        flip = !flip;
        assert_int_equal(ofdelta_patch_restore(&p, flip ? ws2 : ws1, sizeof ws1, &io, saved, slen), OFDELTA_OK);
    }
    assert_int_equal(ofdelta_patch_finish(p), OFDELTA_OK);
    assert_memory_equal(c.flash, nw.p, nw.n);
    t_check_free(&c);
    free(patch.p);
    free(old.p);
    free(nw.p);
}

static void test_bad_saved_state(void **state)
{
    (void)state;
    tbuf old = t_firmware(41, 20000);
    tbuf nw = t_evolve(&old, 42);
    tbuf patch = t_make(&old, &nw, NULL);
    check_io c;
    t_check_init(&c, &old, &nw);
    ofdelta_io io = t_io(&c);
    ofdelta_patch *p;
    size_t slen;
    assert_int_equal(ofdelta_patch_init(&p, ws1, sizeof ws1, &io), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_feed(p, patch.p, patch.n / 2), OFDELTA_OK);
    assert_int_equal(ofdelta_patch_save(p, saved, 10, &slen), OFDELTA_ERR_SAVED);
    assert_int_equal(ofdelta_patch_save(p, saved, sizeof saved, &slen), OFDELTA_OK);
    for (size_t i = 0; i < slen; i += 1 + slen / 200) {
        saved[i] ^= 0x10;
        assert_int_equal(ofdelta_patch_restore(&p, ws2, sizeof ws2, &io, saved, slen), OFDELTA_ERR_SAVED);
        saved[i] ^= 0x10;
    }
    assert_int_equal(ofdelta_patch_restore(&p, ws2, sizeof ws2, &io, saved, slen - 1), OFDELTA_ERR_SAVED);
    assert_int_equal(ofdelta_patch_restore(&p, ws2, 1000, &io, saved, slen), OFDELTA_ERR_WORKSPACE);
    assert_int_equal(ofdelta_patch_restore(&p, ws2, sizeof ws2, &io, saved, slen), OFDELTA_OK);
    t_check_free(&c);
    free(patch.p);
    free(old.p);
    free(nw.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_many_cuts),
        cmocka_unit_test(test_resume_every_feed),
        cmocka_unit_test(test_bad_saved_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
