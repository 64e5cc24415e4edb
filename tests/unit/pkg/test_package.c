/*
 * test_package.c — the openfota signed package: manifest round trip and
 * rules, signing with OpenSSL and verifying with mbedTLS (keys, DER and PEM),
 * the streaming verifier, every install-policy refusal, bad signatures,
 * unknown keys, a signature moved onto another manifest, truncations,
 * flipped bits, and the bad-input fixture folder.
 *
 * `test_package --write-fixtures DIR` regenerates tests/fixtures/bad/manifest/
 * (signed with keys/test-signing-key.pem) from the table the fixture test checks.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ofpkg.h"
#include "ofpkg_verify.h"

#define KEY_PRIV PKG_TEST_KEYS "/test-signing-key.pem"
#define KEY_PUB PKG_TEST_KEYS "/test-signing-key.pub.pem"
#define KEY_DER PKG_TEST_KEYS "/test-signing-key.pub.der"

static ofpkg_signer *g_signer, *g_other;
static uint8_t *g_pub, *g_der, *g_other_pub;
static size_t g_pub_len, g_der_len, g_other_pub_len;
static char g_tmpdir[64];

static uint8_t *slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(1 << 16);
    *len = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static int setup(void **state)
{
    (void)state;
    char msg[512];
    if (ofpkg_signer_load(KEY_PRIV, &g_signer, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    g_pub = slurp(KEY_PUB, &g_pub_len);
    g_der = slurp(KEY_DER, &g_der_len);
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/of-pkgtest-XXXXXX");
    if (!g_pub || !g_der || !mkdtemp(g_tmpdir))
        return -1;
    char priv[128], pub[128];
    snprintf(priv, sizeof priv, "%s/other.pem", g_tmpdir);
    snprintf(pub, sizeof pub, "%s/other.pub.pem", g_tmpdir);
    if (ofpkg_keygen(priv, pub, msg, sizeof msg) ||
        ofpkg_signer_load(priv, &g_other, msg, sizeof msg)) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    g_other_pub = slurp(pub, &g_other_pub_len);
    return g_other_pub ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ofpkg_signer_free(g_signer);
    ofpkg_signer_free(g_other);
    free(g_pub);
    free(g_der);
    free(g_other_pub);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned l;
    assert_int_equal(EVP_Digest(p, n, out, &l, EVP_sha256(), NULL), 1);
}

static ofpkg_manifest base_manifest(void)
{
    ofpkg_manifest m;
    memset(&m, 0, sizeof m);
    strcpy(m.family, "Air780EHV");
    strcpy(m.suffix, "1");
    strcpy(m.hw_id, "air780ehv-rev-a");
    m.target = (ofpkg_version){2012, 1, 5};
    m.counter = 10;
    m.kind = OFPKG_KIND_FULL;
    return m;
}

#define PAYLOAD_LEN 20000u

/* A signed full package of PAYLOAD_LEN bytes (malloc'ed). */
static uint8_t *make_full(ofpkg_signer *s, uint64_t counter, size_t *len, ofpkg_manifest *out)
{
    ofpkg_manifest m = base_manifest();
    m.counter = counter;
    uint8_t *payload = malloc(PAYLOAD_LEN);
    fill(payload, PAYLOAD_LEN, 7);
    uint8_t *pkg = NULL;
    char msg[512];
    ofpkg_err e = ofpkg_sign_package(s, &m, payload, PAYLOAD_LEN, &pkg, len, msg, sizeof msg);
    if (e)
        fail_msg("sign: %s", msg);
    free(payload);
    if (out)
        *out = m;
    return pkg;
}

/* Re-sign a package in place after its signed part was edited (the payload
 * and its length stay); returns the possibly moved buffer. */
static uint8_t *resign(uint8_t *pkg, size_t *len, uint64_t payload_len)
{
    uint8_t h[32], sig[OFPKG_SIG_MAX];
    size_t sl = sizeof sig;
    sha256(pkg, OFPKG_SIGNED_LEN, h);
    assert_int_equal(ofpkg_signer_sign(g_signer, h, sig, &sl, NULL, 0), OFPKG_OK);
    size_t off = OFPKG_SIGNED_LEN + payload_len;
    uint8_t *p = realloc(pkg, off + OFPKG_SIGBLOCK_HDR + sl);
    assert_non_null(p);
    p[off + 6] = (uint8_t)sl;
    p[off + 7] = 0;
    memcpy(p + off + OFPKG_SIGBLOCK_HDR, sig, sl);
    *len = off + OFPKG_SIGBLOCK_HDR + sl;
    return p;
}

static ofpkg_err verify_buf(const uint8_t *p, size_t n, char *msg, size_t ml)
{
    ofpkg_manifest m;
    return ofpkg_verify_package(p, n, g_pub, g_pub_len, &m, msg, ml);
}

/* ----------------------------------------------------------------- tests */

static void test_manifest_round_trip(void **state)
{
    (void)state;
    ofpkg_manifest m = base_manifest(), back;
    m.kind = OFPKG_KIND_DELTA;
    m.base = (ofpkg_version){2012, 1, 4};
    m.delta_window = 8192;
    m.payload_len = 1234;
    m.result_len = 99999;
    m.base_len = 88888;
    fill(m.payload_sha256, 32, 1);
    fill(m.base_sha256, 32, 2);
    fill(m.result_sha256, 32, 3);
    fill(m.key_id, 8, 4);
    m.format_version = OFPKG_FORMAT_VERSION;
    uint8_t buf[OFPKG_SIGNED_LEN], again[OFPKG_SIGNED_LEN];
    char msg[512];
    assert_int_equal(ofpkg_manifest_serialize(&m, buf, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(ofpkg_manifest_parse(buf, sizeof buf, &back, msg, sizeof msg), OFPKG_OK);
    assert_memory_equal(&m, &back, sizeof m);
    assert_int_equal(ofpkg_manifest_serialize(&back, again, msg, sizeof msg), OFPKG_OK);
    assert_memory_equal(buf, again, sizeof buf);
    /* the layout the documentation gives */
    assert_memory_equal(buf, "OFPK", 4);
    assert_int_equal(buf[4], 1);
    assert_int_equal(buf[6], 16);
    assert_int_equal(buf[8] | buf[9] << 8, 256);
    assert_string_equal((const char *)buf + 16, "Air780EHV");
    assert_int_equal(buf[16 + 80] | buf[16 + 81] << 8, 2012);
    assert_int_equal(buf[16 + 96], 10);
    assert_int_equal(buf[16 + 104], OFPKG_KIND_DELTA);
}

static void test_manifest_rules(void **state)
{
    (void)state;
    uint8_t buf[OFPKG_SIGNED_LEN];
    char msg[512];
    ofpkg_manifest m = base_manifest();
    m.payload_len = m.result_len = 10;
    fill(m.payload_sha256, 32, 9);
    memcpy(m.result_sha256, m.payload_sha256, 32);
    assert_int_equal(ofpkg_manifest_serialize(&m, buf, msg, sizeof msg), OFPKG_OK);

    ofpkg_manifest t = m;
    t.family[0] = '\0';
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "family"));
    t = m;
    strcpy(t.hw_id, "has space");
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "hw_id"));
    t = m;
    t.counter = 0;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "counter"));
    t = m;
    t.target = (ofpkg_version){0, 0, 0};
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    t = m;
    t.base_len = 5;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "full package"));
    t = m;
    t.result_len = 11;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    t = m;
    t.kind = OFPKG_KIND_DELTA;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "base SHA-256"));
    t = m;
    t.kind = 3;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    t = m;
    t.payload_len = t.result_len = OFPKG_MAX_IMAGE + 1;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    t = m;
    t.payload_len = t.result_len = 0;
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);

    /* raw edits of a good signed part */
    assert_int_equal(ofpkg_manifest_serialize(&m, buf, msg, sizeof msg), OFPKG_OK);
    ofpkg_manifest out;
    uint8_t b2[OFPKG_SIGNED_LEN];
    memcpy(b2, buf, sizeof b2);
    b2[4] = 2;
    assert_int_equal(ofpkg_manifest_parse(b2, sizeof b2, &out, msg, sizeof msg),
                     OFPKG_ERR_UNSUPPORTED);
    assert_non_null(strstr(msg, "version 2"));
    memcpy(b2, buf, sizeof b2);
    b2[0] = 'X';
    assert_int_equal(ofpkg_manifest_parse(b2, sizeof b2, &out, msg, sizeof msg), OFPKG_ERR_MAGIC);
    memcpy(b2, buf, sizeof b2);
    b2[16 + 250] = 1;
    assert_int_equal(ofpkg_manifest_parse(b2, sizeof b2, &out, msg, sizeof msg), OFPKG_ERR_FORMAT);
    memcpy(b2, buf, sizeof b2);
    b2[16 + 30] = 'x'; /* byte after the family's NUL */
    assert_int_equal(ofpkg_manifest_parse(b2, sizeof b2, &out, msg, sizeof msg), OFPKG_ERR_FIELD);
    memcpy(b2, buf, sizeof b2);
    b2[9] = 0; /* manifest_len 256 -> 0 */
    assert_int_equal(ofpkg_manifest_parse(b2, sizeof b2, &out, msg, sizeof msg), OFPKG_ERR_FORMAT);
    for (size_t k = 0; k < OFPKG_SIGNED_LEN; k++)
        assert_int_not_equal(ofpkg_manifest_parse(buf, k, &out, msg, sizeof msg), OFPKG_OK);
    /* a 32-character family exactly fills its field, 33 does not fit */
    t = m;
    memset(t.family, 'F', OFPKG_FAMILY_MAX);
    t.family[OFPKG_FAMILY_MAX] = '\0';
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(ofpkg_manifest_parse(buf, sizeof buf, &out, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(strlen(out.family), OFPKG_FAMILY_MAX);
    memset(t.family, 'F', sizeof t.family); /* 33 characters, no room for the NUL */
    assert_int_equal(ofpkg_manifest_serialize(&t, buf, msg, sizeof msg), OFPKG_ERR_FIELD);
    assert_non_null(strstr(msg, "longer than 32"));
}

static void test_sign_verify_full(void **state)
{
    (void)state;
    size_t n;
    ofpkg_manifest m;
    uint8_t *p = make_full(g_signer, 10, &n, &m);
    char msg[512];
    ofpkg_manifest got;
    assert_int_equal(ofpkg_verify_package(p, n, g_pub, g_pub_len, &got, msg, sizeof msg), OFPKG_OK);
    assert_string_equal(msg, "");
    assert_memory_equal(&got, &m, sizeof m);
    assert_int_equal(got.payload_len, PAYLOAD_LEN);
    /* DER key and PEM with its NUL work too */
    assert_int_equal(ofpkg_verify_package(p, n, g_der, g_der_len, NULL, msg, sizeof msg), OFPKG_OK);
    uint8_t pemz[512];
    memcpy(pemz, g_pub, g_pub_len);
    pemz[g_pub_len] = '\0';
    assert_int_equal(ofpkg_verify_package(p, n, pemz, g_pub_len + 1, NULL, msg, sizeof msg),
                     OFPKG_OK);
    /* the key id is the same through OpenSSL and mbedTLS */
    uint8_t kid[8], kid2[8];
    assert_int_equal(ofpkg_key_id(g_der, g_der_len, kid, msg, sizeof msg), OFPKG_OK);
    ofpkg_signer_key_id(g_signer, kid2);
    assert_memory_equal(kid, kid2, 8);
    assert_memory_equal(kid, m.key_id, 8);
    /* parse splits it right */
    const uint8_t *payload, *sig;
    size_t sl;
    assert_int_equal(ofpkg_package_parse(p, n, &got, &payload, &sig, &sl, msg, sizeof msg), OFPKG_OK);
    assert_ptr_equal(payload, p + OFPKG_SIGNED_LEN);
    assert_int_equal(n, OFPKG_SIGNED_LEN + PAYLOAD_LEN + OFPKG_SIGBLOCK_HDR + sl);
    uint8_t h[32];
    assert_int_equal(ofpkg_signed_hash(p, h), OFPKG_OK);
    assert_int_equal(ofpkg_verify(g_pub, g_pub_len, h, sig, sl, msg, sizeof msg), OFPKG_OK);
    free(p);
}

static void test_streaming_any_chunking(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = make_full(g_signer, 10, &n, NULL);
    static const size_t steps[] = {1, 7, 64, 4096, 1 << 20};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        ofpkg_verifier v;
        char msg[512];
        assert_int_equal(ofpkg_verifier_init(&v, p, OFPKG_SIGNED_LEN, msg, sizeof msg), OFPKG_OK);
        size_t payload_total = 0;
        for (size_t off = OFPKG_SIGNED_LEN; off < n; off += steps[s]) {
            size_t k = n - off < steps[s] ? n - off : steps[s], pb;
            assert_int_equal(ofpkg_verifier_feed(&v, p + off, k, &pb, msg, sizeof msg), OFPKG_OK);
            payload_total += pb;
        }
        assert_int_equal(payload_total, PAYLOAD_LEN);
        assert_int_equal(ofpkg_verifier_finish(&v, g_pub, g_pub_len, msg, sizeof msg), OFPKG_OK);
        /* nothing more is accepted after finish */
        assert_int_equal(ofpkg_verifier_feed(&v, p, 1, NULL, msg, sizeof msg), OFPKG_ERR_STATE);
        ofpkg_verifier_free(&v);
    }
    /* one byte more than announced */
    ofpkg_verifier v;
    uint8_t *q = malloc(n + 1);
    memcpy(q, p, n);
    q[n] = 0;
    assert_int_equal(ofpkg_verifier_init(&v, q, n + 1, NULL, 0), OFPKG_OK);
    char msg[512];
    assert_int_equal(ofpkg_verifier_feed(&v, q + OFPKG_SIGNED_LEN, n + 1 - OFPKG_SIGNED_LEN, NULL,
                                         msg, sizeof msg),
                     OFPKG_ERR_LENGTH);
    assert_non_null(strstr(msg, "more bytes"));
    ofpkg_verifier_free(&v);
    free(q);
    free(p);
}

static void test_bad_signature(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = make_full(g_signer, 10, &n, NULL);
    char msg[512];
    p[n - 1] ^= 0x01; /* last byte of s */
    assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_ERR_SIGNATURE);
    assert_non_null(strstr(msg, "signature does not verify"));
    p[n - 1] ^= 0x01;
    p[n - 20] ^= 0x10;
    assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_ERR_SIGNATURE);
    free(p);
}

static void test_unknown_key(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = make_full(g_other, 10, &n, NULL);
    char msg[512];
    assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_ERR_KEY);
    assert_non_null(strstr(msg, "signed by key"));
    /* forging the key id to the trusted key's does not help */
    uint8_t kid[8];
    ofpkg_signer_key_id(g_signer, kid);
    memcpy(p + 16 + 232, kid, 8);
    assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_ERR_SIGNATURE);
    /* and the right key verifies the original */
    free(p);
    p = make_full(g_other, 10, &n, NULL);
    assert_int_equal(ofpkg_verify_package(p, n, g_other_pub, g_other_pub_len, NULL, msg, sizeof msg),
                     OFPKG_OK);
    /* not a key at all */
    assert_int_equal(ofpkg_verify_package(p, n, (const uint8_t *)"garbage", 7, NULL, msg, sizeof msg),
                     OFPKG_ERR_KEY);
    free(p);
}

static void test_signature_over_another_manifest(void **state)
{
    (void)state;
    size_t na, nb;
    uint8_t *a = make_full(g_signer, 10, &na, NULL);
    uint8_t *b = make_full(g_signer, 11, &nb, NULL); /* same payload, other counter */
    /* move a's signature block onto b */
    size_t off = OFPKG_SIGNED_LEN + PAYLOAD_LEN;
    uint8_t *c = malloc(na > nb ? na : nb); /* DER signatures vary in length */
    memcpy(c, b, off);
    memcpy(c + off, a + off, na - off);
    char msg[512];
    assert_int_equal(verify_buf(c, na, msg, sizeof msg), OFPKG_ERR_SIGNATURE);
    /* and a's manifest with b's payload+signature */
    memcpy(c, a, OFPKG_SIGNED_LEN);
    memcpy(c + OFPKG_SIGNED_LEN, b + OFPKG_SIGNED_LEN, nb - OFPKG_SIGNED_LEN);
    assert_int_equal(verify_buf(c, nb, msg, sizeof msg), OFPKG_ERR_SIGNATURE);
    free(a);
    free(b);
    free(c);
}

static void test_truncations_and_appends(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = make_full(g_signer, 10, &n, NULL);
    char msg[512];
    for (size_t i = 0; i < 100; i++) {
        size_t k = n * i / 100;
        ofpkg_err e = verify_buf(p, k, msg, sizeof msg);
        if (e == OFPKG_OK || !msg[0])
            fail_msg("truncation to %zu of %zu bytes accepted or unexplained", k, n);
    }
    for (size_t k = n - 80; k < n; k++)
        assert_int_not_equal(verify_buf(p, k, msg, sizeof msg), OFPKG_OK);
    uint8_t *q = malloc(n + 3);
    memcpy(q, p, n);
    memset(q + n, 0, 3);
    assert_int_equal(verify_buf(q, n + 3, msg, sizeof msg), OFPKG_ERR_LENGTH);
    free(q);
    free(p);
}

static void test_flipped_bits(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = make_full(g_signer, 10, &n, NULL);
    char msg[512];
    /* one bit in every byte of the signed part: never accepted */
    for (size_t i = 0; i < OFPKG_SIGNED_LEN; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        p[i] ^= bit;
        ofpkg_err e = verify_buf(p, n, msg, sizeof msg);
        if (e == OFPKG_OK)
            fail_msg("flipped bit in byte %zu of the signed part accepted", i);
        p[i] ^= bit;
    }
    /* payload bits: caught by the signed SHA-256 */
    for (size_t i = OFPKG_SIGNED_LEN; i < OFPKG_SIGNED_LEN + PAYLOAD_LEN; i += 997) {
        p[i] ^= 0x80;
        assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_ERR_HASH);
        p[i] ^= 0x80;
    }
    /* signature block bits */
    for (size_t i = OFPKG_SIGNED_LEN + PAYLOAD_LEN; i < n; i++) {
        p[i] ^= 0x04;
        assert_int_not_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_OK);
        p[i] ^= 0x04;
    }
    assert_int_equal(verify_buf(p, n, msg, sizeof msg), OFPKG_OK);
    free(p);
}

static void test_delta_sign_and_policy(void **state)
{
    (void)state;
    uint8_t base_img[5000], result_img[6000], patch[300];
    fill(base_img, sizeof base_img, 1);
    fill(result_img, sizeof result_img, 2);
    fill(patch, sizeof patch, 3);
    ofpkg_manifest m = base_manifest();
    m.kind = OFPKG_KIND_DELTA;
    m.base = (ofpkg_version){2012, 1, 4};
    m.delta_window = 8192;
    sha256(base_img, sizeof base_img, m.base_sha256);
    m.base_len = sizeof base_img;
    sha256(result_img, sizeof result_img, m.result_sha256);
    m.result_len = sizeof result_img;
    uint8_t *p;
    size_t n;
    char msg[512];
    assert_int_equal(ofpkg_sign_package(g_signer, &m, patch, sizeof patch, &p, &n, msg, sizeof msg),
                     OFPKG_OK);
    ofpkg_manifest got;
    assert_int_equal(ofpkg_verify_package(p, n, g_pub, g_pub_len, &got, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(got.kind, OFPKG_KIND_DELTA);
    assert_int_equal(got.payload_len, sizeof patch);

    uint8_t running[32], other[32];
    sha256(base_img, sizeof base_img, running);
    sha256(result_img, sizeof result_img, other);
    ofpkg_device_state dev = {"Air780EHV", "1", "air780ehv-rev-a", 10, 1 << 20, running,
                              sizeof base_img};
    assert_int_equal(ofpkg_check_install(&got, &dev, msg, sizeof msg), OFPKG_OK);

    ofpkg_device_state d = dev;
    d.installed_sha256 = other;
    assert_int_equal(ofpkg_check_install(&got, &d, msg, sizeof msg), OFPKG_ERR_BASE);
    assert_non_null(strstr(msg, "delta from base image"));
    d = dev;
    d.installed_sha256 = NULL;
    assert_int_equal(ofpkg_check_install(&got, &d, msg, sizeof msg), OFPKG_ERR_BASE);
    d = dev;
    d.installed_len = sizeof base_img + 1;
    assert_int_equal(ofpkg_check_install(&got, &d, msg, sizeof msg), OFPKG_ERR_BASE);
    d = dev;
    d.slot_size = sizeof result_img - 1; /* the patch fits, the result does not */
    assert_int_equal(ofpkg_check_install(&got, &d, msg, sizeof msg), OFPKG_ERR_TOO_BIG);
    assert_non_null(strstr(msg, "image"));
    free(p);
}

static void test_policy_full(void **state)
{
    (void)state;
    size_t n;
    ofpkg_manifest m;
    uint8_t *p = make_full(g_signer, 10, &n, &m);
    free(p);
    ofpkg_device_state dev = {"Air780EHV", "1", "air780ehv-rev-a", 9, PAYLOAD_LEN, NULL, 0};
    char msg[512];
    assert_int_equal(ofpkg_check_install(&m, &dev, msg, sizeof msg), OFPKG_OK);
    ofpkg_device_state d = dev;
    d.counter = 10; /* same release again: a reinstall, allowed */
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_OK);
    d.counter = 11;
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_ROLLBACK);
    assert_non_null(strstr(msg, "counter 10 is lower than the installed 11"));
    d = dev;
    d.family = "Air8000";
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_FAMILY);
    assert_non_null(strstr(msg, "family"));
    d = dev;
    d.suffix = "2";
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_FAMILY);
    assert_non_null(strstr(msg, "suffix"));
    d = dev;
    d.suffix = NULL;
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_FAMILY);
    d = dev;
    d.hw_id = "air780ehv-rev-b";
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_HWID);
    d = dev;
    d.slot_size = PAYLOAD_LEN - 1;
    assert_int_equal(ofpkg_check_install(&m, &d, msg, sizeof msg), OFPKG_ERR_TOO_BIG);
    assert_non_null(strstr(msg, "slot"));
    assert_int_equal(ofpkg_check_install(NULL, &d, msg, sizeof msg), OFPKG_ERR_ARG);
}

static void test_keygen_refuses_overwrite(void **state)
{
    (void)state;
    char priv[128], pub[128], msg[512];
    snprintf(priv, sizeof priv, "%s/k.pem", g_tmpdir);
    snprintf(pub, sizeof pub, "%s/k.pub.pem", g_tmpdir);
    assert_int_equal(ofpkg_keygen(priv, pub, msg, sizeof msg), OFPKG_OK);
    struct stat st;
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(ofpkg_keygen(priv, pub, msg, sizeof msg), OFPKG_ERR_IO);
    assert_non_null(strstr(msg, "already exists"));
    ofpkg_signer *s;
    assert_int_equal(ofpkg_signer_load(pub, &s, msg, sizeof msg), OFPKG_ERR_KEY);
    assert_int_equal(ofpkg_signer_load("/nonexistent/key.pem", &s, msg, sizeof msg), OFPKG_ERR_KEY);
}

static void test_sign_file_matches_memory(void **state)
{
    (void)state;
    char in[128], out[128], msg[512];
    snprintf(in, sizeof in, "%s/payload.bin", g_tmpdir);
    snprintf(out, sizeof out, "%s/payload.ofp", g_tmpdir);
    uint8_t payload[70000];
    fill(payload, sizeof payload, 5);
    FILE *f = fopen(in, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(payload, 1, sizeof payload, f), sizeof payload);
    fclose(f);
    ofpkg_manifest m = base_manifest();
    assert_int_equal(ofpkg_sign_file(g_signer, &m, in, out, msg, sizeof msg), OFPKG_OK);
    size_t n;
    uint8_t *p = malloc(sizeof payload + 1000);
    f = fopen(out, "rb");
    n = fread(p, 1, sizeof payload + 1000, f);
    fclose(f);
    ofpkg_manifest got;
    assert_int_equal(ofpkg_verify_package(p, n, g_pub, g_pub_len, &got, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(got.payload_len, sizeof payload);
    assert_memory_equal(p + OFPKG_SIGNED_LEN, payload, sizeof payload);
    free(p);
    /* a missing payload leaves no output behind */
    snprintf(in, sizeof in, "%s/missing.bin", g_tmpdir);
    snprintf(out, sizeof out, "%s/missing.ofp", g_tmpdir);
    m = base_manifest();
    assert_int_equal(ofpkg_sign_file(g_signer, &m, in, out, msg, sizeof msg), OFPKG_ERR_IO);
    assert_int_equal(access(out, F_OK), -1);
}

/* ------------------------------------------------------------- fixtures */

struct bad_pkg {
    const char *file;
    ofpkg_err want;
    const char *word; /* must appear in the message */
};

static const struct bad_pkg BAD[] = {
    {"empty.ofp", OFPKG_ERR_TRUNCATED, "too short"},
    {"bad-magic.ofp", OFPKG_ERR_MAGIC, "OFPK"},
    {"truncated-header.ofp", OFPKG_ERR_TRUNCATED, "header"},
    {"truncated-manifest.ofp", OFPKG_ERR_TRUNCATED, "manifest"},
    {"truncated-payload.ofp", OFPKG_ERR_TRUNCATED, "payload"},
    {"missing-signature.ofp", OFPKG_ERR_TRUNCATED, "signature"},
    {"truncated-signature.ofp", OFPKG_ERR_TRUNCATED, "signature"},
    {"trailing-bytes.ofp", OFPKG_ERR_LENGTH, "more bytes"},
    {"unsupported-format-version.ofp", OFPKG_ERR_UNSUPPORTED, "format version"},
    {"reserved-bytes-nonzero.ofp", OFPKG_ERR_FORMAT, "reserved"},
    {"family-not-printable.ofp", OFPKG_ERR_FIELD, "family"},
    {"hw-id-empty.ofp", OFPKG_ERR_FIELD, "hw_id"},
    {"counter-zero.ofp", OFPKG_ERR_FIELD, "counter"},
    {"unknown-kind.ofp", OFPKG_ERR_FIELD, "kind"},
    {"full-with-base-hash.ofp", OFPKG_ERR_FIELD, "full package"},
    {"delta-without-base-hash.ofp", OFPKG_ERR_FIELD, "base SHA-256"},
    {"payload-len-over-limit.ofp", OFPKG_ERR_FIELD, "payload_len"},
    {"signature-alg-unknown.ofp", OFPKG_ERR_UNSUPPORTED, "algorithm"},
    {"signature-len-over-max.ofp", OFPKG_ERR_FORMAT, "signature length"},
    {"bad-signature.ofp", OFPKG_ERR_SIGNATURE, "does not verify"},
    {"unknown-key.ofp", OFPKG_ERR_KEY, "signed by key"},
    {"signature-from-another-manifest.ofp", OFPKG_ERR_SIGNATURE, "does not verify"},
    {"flipped-bit-in-manifest.ofp", OFPKG_ERR_SIGNATURE, "does not verify"},
    {"flipped-bit-in-payload.ofp", OFPKG_ERR_HASH, "payload SHA-256"},
    /* validly signed, refused by the install policy of the reference device
     * (see policy_device below and the folder's README.md) */
    {"policy-rollback-counter-9.ofp", OFPKG_ERR_ROLLBACK, "roll back"},
    {"policy-wrong-family.ofp", OFPKG_ERR_FAMILY, "family"},
    {"policy-wrong-suffix.ofp", OFPKG_ERR_FAMILY, "suffix"},
    {"policy-wrong-hw-id.ofp", OFPKG_ERR_HWID, "hardware"},
    {"policy-delta-for-another-base.ofp", OFPKG_ERR_BASE, "delta from base image"},
    {"policy-payload-over-slot.ofp", OFPKG_ERR_TOO_BIG, "slot"},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The reference device of the policy fixtures: Air780EHV, suffix 1,
 * hardware air780ehv-rev-a, installed counter 10, a slot of PAYLOAD_LEN
 * bytes, running the image fill(PAYLOAD_LEN, seed 7) (the payload of
 * make_full). */
static ofpkg_err policy_check(const ofpkg_manifest *m, char *msg, size_t ml)
{
    uint8_t *img = malloc(PAYLOAD_LEN);
    uint8_t h[32];
    fill(img, PAYLOAD_LEN, 7);
    sha256(img, PAYLOAD_LEN, h);
    free(img);
    ofpkg_device_state dev = {"Air780EHV", "1", "air780ehv-rev-a", 10, PAYLOAD_LEN, h,
                              PAYLOAD_LEN};
    return ofpkg_check_install(m, &dev, msg, ml);
}

/* What a device does with a package file: verify, then the policy. */
static ofpkg_err device_check(const uint8_t *p, size_t n, char *msg, size_t ml)
{
    ofpkg_manifest m;
    ofpkg_err e = ofpkg_verify_package(p, n, g_pub, g_pub_len, &m, msg, ml);
    return e ? e : policy_check(&m, msg, ml);
}

static uint8_t *make_signed(ofpkg_manifest *m, size_t payload_len, size_t *len)
{
    uint8_t *payload = malloc(payload_len);
    fill(payload, payload_len, 7);
    uint8_t *pkg = NULL;
    char msg[512];
    if (ofpkg_sign_package(g_signer, m, payload, payload_len, &pkg, len, msg, sizeof msg))
        fail_msg("sign: %s", msg);
    free(payload);
    return pkg;
}

static uint8_t *make_bad(size_t i, size_t *len)
{
    const char *f = BAD[i].file;
    size_t n;
    uint8_t *p = make_full(g_signer, 10, &n, NULL);
    size_t sigoff = OFPKG_SIGNED_LEN + PAYLOAD_LEN;
    *len = n;
    if (!strcmp(f, "empty.ofp")) {
        *len = 0;
    } else if (!strcmp(f, "bad-magic.ofp")) {
        memcpy(p, "PK\x03\x04", 4);
    } else if (!strcmp(f, "truncated-header.ofp")) {
        *len = 10;
    } else if (!strcmp(f, "truncated-manifest.ofp")) {
        *len = 200;
    } else if (!strcmp(f, "truncated-payload.ofp")) {
        *len = OFPKG_SIGNED_LEN + PAYLOAD_LEN / 2;
    } else if (!strcmp(f, "missing-signature.ofp")) {
        *len = sigoff;
    } else if (!strcmp(f, "truncated-signature.ofp")) {
        *len = n - 5;
    } else if (!strcmp(f, "trailing-bytes.ofp")) {
        p = realloc(p, n + 16);
        memset(p + n, 0x42, 16);
        *len = n + 16;
    } else if (!strcmp(f, "unsupported-format-version.ofp")) {
        p[4] = 9;
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "reserved-bytes-nonzero.ofp")) {
        p[16 + 241] = 1;
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "family-not-printable.ofp")) {
        p[16 + 2] = 0x07;
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "hw-id-empty.ofp")) {
        memset(p + 16 + 48, 0, 32);
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "counter-zero.ofp")) {
        put64(p + 16 + 96, 0);
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "unknown-kind.ofp")) {
        p[16 + 104] = 7;
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "full-with-base-hash.ofp")) {
        memset(p + 16 + 168, 0xAB, 32);
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "delta-without-base-hash.ofp")) {
        p[16 + 104] = OFPKG_KIND_DELTA;
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "payload-len-over-limit.ofp")) {
        put64(p + 16 + 112, OFPKG_MAX_IMAGE + 1);
        put64(p + 16 + 120, OFPKG_MAX_IMAGE + 1);
        p = resign(p, len, PAYLOAD_LEN);
    } else if (!strcmp(f, "signature-alg-unknown.ofp")) {
        p[sigoff + 4] = 2;
    } else if (!strcmp(f, "signature-len-over-max.ofp")) {
        p[sigoff + 6] = 200;
    } else if (!strcmp(f, "bad-signature.ofp")) {
        p[n - 3] ^= 0x20;
    } else if (!strcmp(f, "unknown-key.ofp")) {
        free(p);
        p = make_full(g_other, 10, len, NULL);
    } else if (!strcmp(f, "signature-from-another-manifest.ofp")) {
        size_t n2;
        uint8_t *q = make_full(g_signer, 12, &n2, NULL);
        p = realloc(p, n2 > n ? n2 : n);
        memcpy(p + sigoff, q + sigoff, n2 - sigoff);
        *len = n2;
        free(q);
    } else if (!strcmp(f, "flipped-bit-in-manifest.ofp")) {
        p[16 + 96] ^= 0x02; /* counter 10 → 8, signature not redone */
    } else if (!strcmp(f, "flipped-bit-in-payload.ofp")) {
        p[OFPKG_SIGNED_LEN + 1234] ^= 0x01;
    } else if (!strncmp(f, "policy-", 7)) {
        ofpkg_manifest m = base_manifest();
        size_t plen = PAYLOAD_LEN;
        free(p);
        if (strstr(f, "rollback"))
            m.counter = 9;
        else if (strstr(f, "family"))
            strcpy(m.family, "Air8000");
        else if (strstr(f, "suffix"))
            strcpy(m.suffix, "2");
        else if (strstr(f, "hw-id"))
            strcpy(m.hw_id, "air780ehv-rev-b");
        else if (strstr(f, "over-slot"))
            plen = PAYLOAD_LEN + 1;
        else if (strstr(f, "another-base")) {
            uint8_t *other = malloc(PAYLOAD_LEN);
            fill(other, PAYLOAD_LEN, 99);
            m.kind = OFPKG_KIND_DELTA;
            m.base = (ofpkg_version){2012, 1, 4};
            sha256(other, PAYLOAD_LEN, m.base_sha256);
            m.base_len = PAYLOAD_LEN;
            fill(other, PAYLOAD_LEN, 100);
            sha256(other, PAYLOAD_LEN, m.result_sha256);
            m.result_len = PAYLOAD_LEN;
            free(other);
            plen = 500;
        }
        p = make_signed(&m, plen, len);
    }
    return p;
}

static void test_bad_cases_in_memory(void **state)
{
    (void)state;
    {
        size_t n;
        char msg[512];
        uint8_t *ok = make_full(g_signer, 10, &n, NULL);
        assert_int_equal(device_check(ok, n, msg, sizeof msg), OFPKG_OK);
        free(ok);
    }
    for (size_t i = 0; i < NBAD; i++) {
        size_t n;
        uint8_t *p = make_bad(i, &n);
        char msg[512];
        ofpkg_err e = device_check(p, n, msg, sizeof msg);
        if (e != BAD[i].want || !strstr(msg, BAD[i].word))
            fail_msg("%s: got %d (%s) '%s', want %d with '%s'", BAD[i].file, e, ofpkg_strerror(e),
                     msg, BAD[i].want, BAD[i].word);
        free(p);
    }
}

static void test_bad_fixtures_on_disk(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bad/manifest/%s", OPENFOTA_FIXTURES, BAD[i].file);
        size_t n;
        uint8_t *p = slurp(path, &n);
        if (!p)
            fail_msg("missing fixture %s", path);
        char msg[512];
        ofpkg_err e = device_check(p, n, msg, sizeof msg);
        if (e != BAD[i].want || !strstr(msg, BAD[i].word))
            fail_msg("%s: got %d '%s', want %d with '%s'", BAD[i].file, e, msg, BAD[i].want,
                     BAD[i].word);
        free(p);
    }
}

static int write_fixtures(const char *dir)
{
    if (setup(NULL))
        return 1;
    for (size_t i = 0; i < NBAD; i++) {
        size_t n;
        uint8_t *p = make_bad(i, &n);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, BAD[i].file);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        free(p);
        printf("%s\n", path);
    }
    return teardown(NULL);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures"))
        return write_fixtures(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_manifest_rules),
        cmocka_unit_test(test_sign_verify_full),
        cmocka_unit_test(test_streaming_any_chunking),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_signature_over_another_manifest),
        cmocka_unit_test(test_truncations_and_appends),
        cmocka_unit_test(test_flipped_bits),
        cmocka_unit_test(test_delta_sign_and_policy),
        cmocka_unit_test(test_policy_full),
        cmocka_unit_test(test_keygen_refuses_overwrite),
        cmocka_unit_test(test_sign_file_matches_memory),
        cmocka_unit_test(test_bad_cases_in_memory),
        cmocka_unit_test(test_bad_fixtures_on_disk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
