/*
 * pkg_manifest.c — libFuzzer target: the signed-package parsers and the
 * device's streaming verifier. Properties checked besides "no crash":
 *  - a manifest that parses serializes back to the same 272 bytes;
 *  - every refusal carries a message;
 *  - the one-shot and the streaming (input-chosen chunk sizes) verifiers agree;
 *  - only a package that parses can verify (the seed corpus holds packages
 *    signed with the test key, refused later by the install policy, so a
 *    verifying input is legitimate; random mutations of them must not be).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofpkg.h"
#include "ofpkg_verify.h"

/* public half of tests/unit/pkg/keys/test-signing-key.pem (test-only key) */
static const char PUB[] = "-----BEGIN PUBLIC KEY-----\n"
                          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEhOaD57WiQBAtVJbxI4wgfb6nuWbX\n"
                          "sVhT0XFTN/3yiUjjysjpk2edwR+Ad1eQKL/3h118zc6aXHnGK2UJFtRYBg==\n"
                          "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    ofpkg_manifest m;
    ofpkg_err e = ofpkg_manifest_parse(data, size, &m, msg, sizeof msg);
    if (e && !msg[0])
        abort();
    if (!e) {
        uint8_t back[OFPKG_SIGNED_LEN];
        if (ofpkg_manifest_serialize(&m, back, msg, sizeof msg) ||
            memcmp(back, data, OFPKG_SIGNED_LEN))
            abort();
        ofpkg_device_state dev = {"Air780EHV", "1", "hw", 5, 1 << 20, data, 0};
        (void)ofpkg_check_install(&m, &dev, msg, sizeof msg);
    }
    const uint8_t *payload, *sig;
    size_t siglen;
    ofpkg_err parsed = ofpkg_package_parse(data, size, &m, &payload, &sig, &siglen, msg, sizeof msg);

    msg[0] = 0;
    ofpkg_err whole = ofpkg_verify_package(data, size, (const uint8_t *)PUB, sizeof PUB - 1, NULL,
                                           msg, sizeof msg);
    if ((whole != OFPKG_OK && !msg[0]) || (whole == OFPKG_OK && parsed != OFPKG_OK))
        abort();

    ofpkg_verifier v;
    ofpkg_err s = ofpkg_verifier_init(&v, data, size, NULL, 0);
    if (!s && size > OFPKG_SIGNED_LEN) {
        size_t step = data[size - 1] % 61 + 1;
        for (size_t off = OFPKG_SIGNED_LEN; off < size && !s; off += step)
            s = ofpkg_verifier_feed(&v, data + off, size - off < step ? size - off : step, NULL,
                                    NULL, 0);
    }
    if (!s)
        s = ofpkg_verifier_finish(&v, (const uint8_t *)PUB, sizeof PUB - 1, NULL, 0);
    ofpkg_verifier_free(&v);
    if (s != whole)
        abort();
    return 0;
}
