/*
 * ofpkg_verify.h — streaming verification of an openfota signed package on
 * the device (mbedTLS). Separate from ofpkg.h because the verifier state
 * embeds an mbedTLS SHA-256 context, so its size is known at compile time and
 * the caller can place it anywhere (static, stack, a saved-state area).
 *
 * Use:
 *   ofpkg_verifier v;
 *   ofpkg_verifier_init(&v, first_272_bytes, 272, msg, sizeof msg);
 *       → v.m is the parsed (not yet trusted) manifest: run
 *         ofpkg_check_install(&v.m, &dev, ...) now to refuse early
 *   ofpkg_verifier_feed(&v, chunk, n, &payload_n, msg, sizeof msg);  (repeat)
 *       → the first payload_n bytes of each chunk are payload: write them to
 *         the slot; nothing is bootable yet
 *   ofpkg_verifier_finish(&v, pubkey, keylen, msg, sizeof msg);
 *       → OFPKG_OK only if every byte arrived, the key id matches, the
 *         signature over header+manifest verifies and the payload SHA-256
 *         equals the signed one. Only then may the image become bootable.
 *   ofpkg_verifier_free(&v);
 *
 * The verifier holds no pointers into caller memory and allocates nothing;
 * mbedTLS allocates (through its own allocator) only inside finish, while
 * parsing the key and checking the signature.
 */
#ifndef OPENFOTA_OFPKG_VERIFY_H
#define OPENFOTA_OFPKG_VERIFY_H

#include <mbedtls/sha256.h>

#include "ofpkg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ofpkg_verifier {
    ofpkg_manifest m;                   /* parsed manifest (trusted only after finish) */
    uint8_t signed_hash[32];            /* SHA-256(header || manifest) */
    mbedtls_sha256_context payload_sha; /* running SHA-256 of the payload */
    uint64_t payload_seen;              /* payload bytes fed so far */
    uint8_t sigblock[OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX];
    size_t sig_have;                    /* signature block bytes received */
    int state;                          /* internal: 0 unused, 1 receiving, 2 done, 3 failed */
} ofpkg_verifier;

/* Start: parse the signed part (len >= OFPKG_SIGNED_LEN) and hash it. */
ofpkg_err ofpkg_verifier_init(ofpkg_verifier *v, const uint8_t *signed_part, size_t len, char *msg,
                              size_t msglen);

/* Feed the bytes after the signed part, in order, any chunk sizes: payload,
 * then the signature block. *payload_bytes (may be NULL) receives how many of
 * the leading bytes of this chunk were payload. More bytes than the package
 * announces → OFPKG_ERR_LENGTH; after an error every call fails. */
ofpkg_err ofpkg_verifier_feed(ofpkg_verifier *v, const uint8_t *data, size_t len,
                              size_t *payload_bytes, char *msg, size_t msglen);

/* End: completeness, key id, signature, payload SHA-256 (in that order). */
ofpkg_err ofpkg_verifier_finish(ofpkg_verifier *v, const uint8_t *pubkey_der_or_pem, size_t keylen,
                                char *msg, size_t msglen);

/* Release the hash context (safe on a zeroed or finished verifier). */
void ofpkg_verifier_free(ofpkg_verifier *v);

#ifdef __cplusplus
}
#endif

#endif
