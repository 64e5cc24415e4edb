/* test_delta_lzma.c — the patcher's own LZMA1 decoder against liblzma's
 * encoder: every preset (so every match finder and mode), lc/lp/pb corners,
 * dictionaries from 4 KiB up, on firmware-like, random, repetitive and tiny
 * inputs; decoded one symbol at a time exactly as the patcher does. Also: a
 * corrupt stream never reads past its end. */
#include <lzma.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delta_int.h"
#include "delta_testlib.h"

static size_t enc(const uint8_t *in, size_t n, uint32_t preset, uint32_t dict, uint32_t lc, uint32_t lp, uint32_t pb,
                  uint8_t **out)
{
    lzma_options_lzma o;
    assert_int_equal(lzma_lzma_preset(&o, preset), 0);
    o.dict_size = dict, o.lc = lc, o.lp = lp, o.pb = pb;
    o.ext_flags = 0, o.ext_size_low = (uint32_t)n, o.ext_size_high = 0;
    lzma_filter f[2] = {{LZMA_FILTER_LZMA1EXT, &o}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t cap = n + n / 2 + 1024, pos = 0;
    *out = malloc(cap);
    assert_non_null(*out);
    assert_int_equal(lzma_raw_buffer_encode(f, NULL, in, n, *out, &pos, cap), LZMA_OK);
    return pos;
}

/* decodes comp into out (n bytes); 0 or -1 */
static int dec(const uint8_t *comp, size_t clen, uint32_t dict, uint32_t lc, uint32_t lp, uint32_t pb, uint8_t *out,
               size_t n)
{
    lzd *d = malloc(sizeof *d);
    uint16_t *lit = malloc(lzd_lit_probs(lc, lp) * 2);
    uint8_t *ring = malloc(dict);
    assert_true(d && lit && ring);
    lzd_reset(d, lit, lc, lp, pb, dict);
    const uint8_t *in = comp, *end = comp + clen;
    int rc = lzd_rc_init(d, &in, end);
    size_t got = 0;
    while (!rc && got < n) {
        uint32_t before = d->dict_pos;
        int k = lzd_symbol(d, lit, ring, &in, end, (uint32_t)(n - got));
        if (k < 0) {
            rc = -1;
            break;
        }
        for (int i = 0; i < k; i++)
            out[got++] = ring[(before + (uint32_t)i) % dict];
    }
    free(d);
    free(lit);
    free(ring);
    return rc;
}

static void check(const uint8_t *in, size_t n, uint32_t preset, uint32_t dict, uint32_t lc, uint32_t lp, uint32_t pb)
{
    uint8_t *c, *out = malloc(n ? n : 1);
    size_t cl = enc(in, n, preset, dict, lc, lp, pb, &c);
    if (dec(c, cl, dict, lc, lp, pb, out, n) || (n && memcmp(out, in, n)))
        fail_msg("mismatch: n %zu preset %u dict %u lc %u lp %u pb %u", n, preset, dict, lc, lp, pb);
    /* damaged copies: never a crash or a read past the end (ASan) */
    for (size_t i = 5; i < cl; i += 1 + cl / 8) {
        uint8_t *bad = malloc(cl);
        memcpy(bad, c, cl);
        bad[i] ^= 0x40;
        dec(bad, cl, dict, lc, lp, pb, out, n);
        dec(bad, i, dict, lc, lp, pb, out, n); /* truncated too */
        free(bad);
    }
    free(c);
    free(out);
}

static void test_presets_and_props(void **state)
{
    (void)state;
    tbuf fw = t_firmware(77, 40000), rnd = t_random(78, 20000);
    uint8_t *rep = malloc(30000);
    for (size_t i = 0; i < 30000; i++)
        rep[i] = (uint8_t)(i % 7 == 0 ? i / 7 : 0);
    for (uint32_t preset = 0; preset <= 9; preset++)
        check(fw.p, fw.n, preset, 8192, 0, 0, 0);
    check(fw.p, fw.n, 9 | LZMA_PRESET_EXTREME, 8192, 0, 0, 0);
    const uint32_t props[][3] = {{0, 0, 0}, {3, 0, 2}, {4, 0, 0}, {0, 4, 4}, {1, 1, 1}, {2, 2, 3}, {0, 0, 4}};
    const uint32_t dicts[] = {4096, 8192, 12345, 65536};
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        for (size_t k = 0; k < sizeof dicts / sizeof dicts[0]; k++) {
            check(fw.p, fw.n, 6, dicts[k], props[i][0], props[i][1], props[i][2]);
            check(rep, 30000, 9, dicts[k], props[i][0], props[i][1], props[i][2]);
        }
    check(rnd.p, rnd.n, 9, 4096, 0, 0, 0);
    check((const uint8_t *)"a", 1, 9, 4096, 0, 0, 0);
    check((const uint8_t *)"", 0, 9, 4096, 0, 0, 0);
    free(rep);
    free(fw.p);
    free(rnd.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_presets_and_props)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
