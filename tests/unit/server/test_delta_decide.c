/* test_delta_decide.c — the check's delta decision (delta_decide), the
 * in-memory delta index (dcache_*), and the signed delta package the
 * generator makes (signed_make_delta) with a throwaway key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "delta_cache.h"
#include "ofdelta.h"
#include "ofpkg.h"
#include "signed.h"

#define NOW 1700000000

static delta_in base_in(void)
{
    delta_in in;
    memset(&in, 0, sizeof in);
    in.target_release = 1;
    in.have_base = 1;
    in.can_sign = 1;
    in.full_size = 100000;
    in.margin = 0.8;
    in.now = NOW;
    return in;
}

static dc_entry entry(int state, uint64_t size)
{
    dc_entry e;
    memset(&e, 0, sizeof e);
    e.base_id = 1;
    e.target_id = 2;
    e.state = state;
    e.size = size;
    e.full_size = 100000;
    e.created = NOW - 5;
    snprintf(e.sha256, sizeof e.sha256, "%064d", 7);
    return e;
}

static void not_applicable(void **state)
{
    (void)state;
    delta_out o;
    delta_in in = base_in();
    in.target_release = 0;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
    in = base_in();
    in.have_base = 0;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
    in = base_in();
    in.can_sign = 0; /* no signing key: never a delta, never a wait */
    in.agent = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
}

static void cached_and_smaller(void **state)
{
    (void)state;
    delta_out o;
    delta_in in = base_in();
    dc_entry e = entry(DC_READY, 80000); /* exactly 0.8 x full: served */
    in.cached = &e;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_DELTA);
    assert_int_equal(o.enqueue, 0);
    e.size = 1234;
    in.agent = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_DELTA);
}

static void cached_not_smaller(void **state)
{
    (void)state;
    delta_out o;
    delta_in in = base_in();
    dc_entry e = entry(DC_READY, 80001); /* one byte over the margin */
    in.cached = &e;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
    e = entry(DC_NOT_SMALLER, 99000);
    in.agent = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL); /* recorded: never made again, agents too get the full */
    assert_int_equal(o.enqueue, 0);
    /* a stricter margin set after a delta was made */
    e = entry(DC_READY, 60000);
    in.margin = 0.5;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
}

static void generating(void **state)
{
    (void)state;
    delta_out o;
    delta_in in = base_in();
    /* nothing cached: generate, libfota2 clients wait (code 43) */
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_WAIT);
    assert_int_equal(o.enqueue, 1);
    /* "serve full while generating": libfota2 clients get the full package, agents still wait */
    in.full_while_generating = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 1);
    in.agent = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_WAIT);
    assert_int_equal(o.enqueue, 1);
    /* already queued or being made: wait, no second job */
    in = base_in();
    dc_entry e = entry(DC_QUEUED, 0);
    in.cached = &e;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_WAIT);
    assert_int_equal(o.enqueue, 0);
    e.state = DC_GENERATING;
    in.full_while_generating = 1;
    delta_decide(&in, &o);
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
}

static void failed(void **state)
{
    (void)state;
    delta_out o;
    delta_in in = base_in();
    dc_entry e = entry(DC_FAILED, 0);
    in.cached = &e;
    in.agent = 1;
    delta_decide(&in, &o); /* failed a moment ago: full, no retry yet */
    assert_int_equal(o.action, DD_FULL);
    assert_int_equal(o.enqueue, 0);
    e.created = NOW - DC_RETRY_FAILED_S;
    delta_decide(&in, &o); /* long ago: try again */
    assert_int_equal(o.action, DD_WAIT);
    assert_int_equal(o.enqueue, 1);
}

static void margin_exact(void **state)
{
    (void)state;
    assert_true(delta_small_enough(800, 1000, 0.8));
    assert_false(delta_small_enough(801, 1000, 0.8));
    assert_true(delta_small_enough(1000, 1000, 1.0));
    assert_false(delta_small_enough(1, 0, 0.8));
    assert_true(delta_small_enough(0x40000000ull * 8 / 10, 0x40000000ull, 0.8));
}

static void cache_ops(void **state)
{
    (void)state;
    dcache *c = dcache_new();
    assert_non_null(c);
    dc_entry got;
    assert_false(dcache_get(c, 1, 2, &got));
    /* claim inserts once */
    assert_int_equal(dcache_claim(c, 1, 2, 500, NOW, DC_RETRY_FAILED_S), 1);
    assert_int_equal(dcache_claim(c, 1, 2, 500, NOW, DC_RETRY_FAILED_S), 0);
    assert_true(dcache_get(c, 1, 2, &got));
    assert_int_equal(got.state, DC_QUEUED);
    /* many entries stay sorted and findable */
    for (int b = 40; b >= 3; b--) {
        dc_entry e = entry(DC_READY, (uint64_t)b);
        e.base_id = b;
        e.target_id = 100 + b % 3;
        assert_int_equal(dcache_put(c, &e), 0);
    }
    for (int b = 3; b <= 40; b++) {
        assert_true(dcache_get(c, b, 100 + b % 3, &got));
        assert_int_equal(got.size, (uint64_t)b);
    }
    /* a failure can be claimed again only after the retry delay */
    assert_true(dcache_set_state(c, 1, 2, DC_FAILED, NOW));
    assert_int_equal(dcache_claim(c, 1, 2, 500, NOW + 1, DC_RETRY_FAILED_S), 0);
    assert_int_equal(dcache_claim(c, 1, 2, 500, NOW + DC_RETRY_FAILED_S, DC_RETRY_FAILED_S), 1);
    /* entries of a package, listed and dropped */
    dc_entry *list = NULL;
    size_t n = dcache_for_package(c, 101, 0, &list);
    assert_int_equal(n, 13); /* bases 4, 7, ..., 40 have target 101 */
    free(list);
    n = dcache_for_package(c, 101, 1, &list);
    assert_int_equal(n, 13);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(list[i].target_id, 101);
    free(list);
    assert_false(dcache_get(c, 4, 101, &got));
    assert_true(dcache_get(c, 3, 100, &got));
    n = dcache_for_package(c, 101, 0, &list);
    assert_int_equal(n, 0);
    assert_null(list);
    dcache_remove(c, 1, 2);
    assert_false(dcache_get(c, 1, 2, &got));
    assert_false(dcache_set_state(c, 1, 2, DC_READY, NOW));
    dcache_free(c);
}

/* ---- the delta package the generator makes ------------------------------- */

static uint8_t *image(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    unsigned x = seed;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)((x >> 16) % 23 + (i % 64 < 8 ? 0x40 : 0)); /* code-like: small alphabet, structure */
    }
    return b;
}

static uint8_t *full_pkg(ofpkg_signer *sg, const uint8_t *img, size_t n, uint16_t z, uint64_t counter, size_t *len)
{
    ofpkg_manifest m;
    memset(&m, 0, sizeof m);
    m.format_version = OFPKG_FORMAT_VERSION;
    strcpy(m.family, "DemoMCU");
    strcpy(m.suffix, "1");
    strcpy(m.hw_id, "board-b");
    m.target = (ofpkg_version){1, 0, z};
    m.counter = counter;
    m.kind = OFPKG_KIND_FULL;
    m.result_len = n;
    SHA256(img, n, m.result_sha256); /* a full package's result is its payload */
    uint8_t *out = NULL;
    char msg[300];
    ofpkg_err e = ofpkg_sign_package(sg, &m, img, n, &out, len, msg, sizeof msg);
    assert_int_equal(e, OFPKG_OK);
    return out;
}

static void make_delta_package(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-delta-decide-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char priv[300], pub[300], msg[300];
    snprintf(priv, sizeof priv, "%s/k.pem", dir);
    snprintf(pub, sizeof pub, "%s/k.pub.pem", dir);
    assert_int_equal(ofpkg_keygen(priv, pub, msg, sizeof msg), OFPKG_OK);
    ofpkg_signer *sg = NULL;
    assert_int_equal(ofpkg_signer_load(priv, &sg, msg, sizeof msg), OFPKG_OK);

    size_t n = 64 * 1024;
    uint8_t *v1 = image(n, 1), *v2 = malloc(n);
    memcpy(v2, v1, n);
    for (size_t i = 0; i < 40; i++)
        v2[(i * 1543) % n] ^= 0x5a;
    size_t l1, l2, dl;
    uint8_t *p1 = full_pkg(sg, v1, n, 1, 1, &l1), *p2 = full_pkg(sg, v2, n, 2, 2, &l2), *d = NULL;
    int full_image = -1;
    assert_int_equal(signed_make_delta(sg, p1, l1, p2, l2, &d, &dl, &full_image, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(full_image, 0);
    assert_true(delta_small_enough(dl, l2, 0.8));

    /* the device's verifier accepts it with the public key; it is a delta from v1 to v2 */
    FILE *f = fopen(pub, "rb");
    assert_non_null(f);
    uint8_t key[1024];
    size_t kl = fread(key, 1, sizeof key, f);
    fclose(f);
    ofpkg_manifest m;
    assert_int_equal(ofpkg_verify_package(d, dl, key, kl, &m, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(m.kind, OFPKG_KIND_DELTA);
    assert_int_equal(m.target.z, 2);
    assert_int_equal(m.base.z, 1);
    assert_int_equal(m.counter, 2);
    assert_int_equal(m.base_len, n);
    /* its payload turns v1 into v2 */
    uint8_t *out = NULL;
    size_t outlen = 0;
    assert_int_equal(ofdelta_apply_mem(v1, n, d + OFPKG_SIGNED_LEN, (size_t)m.payload_len, &out, &outlen),
                     OFDELTA_OK);
    assert_int_equal(outlen, n);
    assert_memory_equal(out, v2, n);
    free(out);
    free(d);

    /* a damaged (truncated) release is refused, nothing is made */
    uint8_t *bad = malloc(l2);
    memcpy(bad, p2, l2);
    assert_int_not_equal(signed_make_delta(sg, p1, l1, bad, l2 - 1, &d, &dl, &full_image, msg, sizeof msg),
                         OFPKG_OK);
    assert_null(d);
    free(bad);

    /* images that share nothing: the engine says full_image (the server then records not smaller) */
    uint8_t *v3 = malloc(n);
    unsigned x = 99;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        v3[i] = (uint8_t)(x >> 24);
    }
    size_t l3;
    uint8_t *p3 = full_pkg(sg, v3, n, 3, 3, &l3);
    assert_int_equal(signed_make_delta(sg, p1, l1, p3, l3, &d, &dl, &full_image, msg, sizeof msg), OFPKG_OK);
    assert_false(full_image == 0 && delta_small_enough(dl, l3, 0.8));
    free(d);

    free(p1);
    free(p2);
    free(p3);
    free(v1);
    free(v2);
    free(v3);
    ofpkg_signer_free(sg);
    unlink(priv);
    unlink(pub);
    rmdir(dir);
}

/* ---- the upload check over the package format's bad-input fixtures -------- */

static void upload_check_fixtures(void **state)
{
    (void)state;
    signed_keys k;
    memset(&k, 0, sizeof k);
    char path[1400], msg[400];
    /* the test-only key the fixtures are signed with (tests/unit/pkg/keys) */
    snprintf(path, sizeof path, "%s/../unit/pkg/keys/test-signing-key.pub.pem", OPENFOTA_FIXTURES);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    k.pub[0].len = fread(k.pub[0].der, 1, sizeof k.pub[0].der, f);
    fclose(f);
    assert_int_equal(ofpkg_key_id(k.pub[0].der, k.pub[0].len, k.pub[0].id, msg, sizeof msg), OFPKG_OK);
    k.npub = 1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad/manifest", OPENFOTA_FIXTURES);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int refused = 0, accepted = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".ofp") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        ofpkg_manifest m;
        msg[0] = 0;
        ofpkg_err e = signed_check_fd(&k, fd, (uint64_t)st.st_size, &m, msg, sizeof msg);
        close(fd);
        if (strncmp(de->d_name, "policy-", 7) == 0) {
            /* validly signed; only a device's install policy refuses them */
            if (e != OFPKG_OK)
                fail_msg("%s: refused by the server: %s", de->d_name, msg);
            accepted++;
        } else {
            if (e == OFPKG_OK)
                fail_msg("%s: accepted by the server's upload check", de->d_name);
            if (msg[0] == 0)
                fail_msg("%s: refused without a message", de->d_name);
            refused++;
        }
    }
    closedir(d);
    assert_true(refused >= 20);
    assert_true(accepted >= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_applicable), cmocka_unit_test(cached_and_smaller), cmocka_unit_test(cached_not_smaller),
        cmocka_unit_test(generating),     cmocka_unit_test(failed),             cmocka_unit_test(margin_exact),
        cmocka_unit_test(cache_ops),      cmocka_unit_test(make_delta_package),
        cmocka_unit_test(upload_check_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
