/*
 * verify_mbedtls.c — the device side of the signed package: ECDSA P-256
 * signature check, key ids and the streaming verifier, on mbedTLS (2.28 and
 * 3.x). No OpenSSL, no OS calls: it builds for Cortex-M in the device
 * library; the host's `openfota package verify` runs this same code.
 */
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "ofpkg_verify.h"
#include "pkg_internal.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SHA_START(c) mbedtls_sha256_starts((c), 0)
#define SHA_UPDATE(c, d, n) mbedtls_sha256_update((c), (d), (n))
#define SHA_FINISH(c, o) mbedtls_sha256_finish((c), (o))
#define SHA_ONESHOT(d, n, o) mbedtls_sha256((d), (n), (o), 0)
#define EC_GROUP_ID(pk) (mbedtls_pk_ec(pk)->MBEDTLS_PRIVATE(grp).id)
#else
#define SHA_START(c) mbedtls_sha256_starts_ret((c), 0)
#define SHA_UPDATE(c, d, n) mbedtls_sha256_update_ret((c), (d), (n))
#define SHA_FINISH(c, o) mbedtls_sha256_finish_ret((c), (o))
#define SHA_ONESHOT(d, n, o) mbedtls_sha256_ret((d), (n), (o), 0)
#define EC_GROUP_ID(pk) (mbedtls_pk_ec(pk)->grp.id)
#endif

#define PEM_MAX 1024u /* a P-256 public key PEM is ~180 bytes */

/* Parse a P-256 public key (DER, or PEM with or without its trailing NUL). */
static ofpkg_err load_key(mbedtls_pk_context *pk, const uint8_t *key, size_t keylen, char *msg,
                          size_t msglen)
{
    mbedtls_pk_init(pk);
    if (!key || !keylen)
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY, "no public key given");
    int ret;
    static const char pem_tag[] = "-----BEGIN";
    if (keylen >= sizeof pem_tag - 1 && !memcmp(key, pem_tag, sizeof pem_tag - 1) &&
        key[keylen - 1] != '\0') {
        /* mbedTLS wants PEM NUL-terminated, with the NUL counted */
        uint8_t tmp[PEM_MAX + 1];
        if (keylen > PEM_MAX)
            return pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                             "public key PEM is %zu bytes, too long for a P-256 key", keylen);
        memcpy(tmp, key, keylen);
        tmp[keylen] = '\0';
        ret = mbedtls_pk_parse_public_key(pk, tmp, keylen + 1);
    } else {
        ret = mbedtls_pk_parse_public_key(pk, key, keylen);
    }
    if (ret)
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                         "the public key cannot be read (mbedTLS -0x%04X): give the .pub.pem "
                         "written by 'openfota package keygen' (PEM or DER SubjectPublicKeyInfo)",
                         (unsigned)-ret);
    if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY || EC_GROUP_ID(*pk) != MBEDTLS_ECP_DP_SECP256R1) {
        mbedtls_pk_free(pk);
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                         "the public key is not an ECDSA P-256 (secp256r1) key: openfota "
                         "packages are signed with P-256 keys from 'openfota package keygen'");
    }
    return OFPKG_OK;
}

static ofpkg_err key_id_of(mbedtls_pk_context *pk, uint8_t out[OFPKG_KEY_ID_LEN], char *msg,
                           size_t msglen)
{
    uint8_t der[160], h[32];
    int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof der);
    if (n <= 0)
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "cannot encode the public key (mbedTLS "
                         "-0x%04X)", (unsigned)-n);
    if (SHA_ONESHOT(der + sizeof der - (size_t)n, (size_t)n, h))
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
    memcpy(out, h, OFPKG_KEY_ID_LEN);
    return OFPKG_OK;
}

ofpkg_err ofpkg_key_id(const uint8_t *pubkey, size_t keylen, uint8_t out[OFPKG_KEY_ID_LEN],
                       char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!out)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_key_id: NULL argument");
    mbedtls_pk_context pk;
    ofpkg_err e = load_key(&pk, pubkey, keylen, msg, msglen);
    if (e)
        return e;
    e = key_id_of(&pk, out, msg, msglen);
    mbedtls_pk_free(&pk);
    return e;
}

static ofpkg_err verify_with(mbedtls_pk_context *pk, const uint8_t hash[32], const uint8_t *sig,
                             size_t siglen, char *msg, size_t msglen)
{
    if (!sig || siglen < OFPKG_SIG_MIN || siglen > OFPKG_SIG_MAX)
        return pkg__fail(msg, msglen, OFPKG_ERR_SIGNATURE,
                         "the signature is %zu bytes, not a DER ECDSA P-256 signature (%u..%u "
                         "bytes): the package is damaged; sign it again",
                         siglen, OFPKG_SIG_MIN, OFPKG_SIG_MAX);
    int ret = mbedtls_pk_verify(pk, MBEDTLS_MD_SHA256, hash, 32, sig, siglen);
    if (ret)
        return pkg__fail(msg, msglen, OFPKG_ERR_SIGNATURE,
                         "the signature does not verify (mbedTLS -0x%04X): the header or "
                         "manifest was changed after signing, the signature belongs to another "
                         "package, or it was made with another key; do not install it",
                         (unsigned)-ret);
    return OFPKG_OK;
}

ofpkg_err ofpkg_verify(const uint8_t *pubkey, size_t keylen, const uint8_t hash32[32],
                       const uint8_t *sig, size_t siglen, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!hash32)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_verify: NULL hash");
    mbedtls_pk_context pk;
    ofpkg_err e = load_key(&pk, pubkey, keylen, msg, msglen);
    if (e)
        return e;
    e = verify_with(&pk, hash32, sig, siglen, msg, msglen);
    mbedtls_pk_free(&pk);
    return e;
}

ofpkg_err ofpkg_signed_hash(const uint8_t signed_part[OFPKG_SIGNED_LEN], uint8_t out[32])
{
    if (!signed_part || !out)
        return OFPKG_ERR_ARG;
    return SHA_ONESHOT(signed_part, OFPKG_SIGNED_LEN, out) ? OFPKG_ERR_CRYPTO : OFPKG_OK;
}

/* ---------------------------------------------------------------- streaming */

enum { V_UNUSED = 0, V_RECEIVING, V_DONE, V_FAILED };

static ofpkg_err v_fail(ofpkg_verifier *v, ofpkg_err e)
{
    v->state = V_FAILED;
    return e;
}

ofpkg_err ofpkg_verifier_init(ofpkg_verifier *v, const uint8_t *signed_part, size_t len, char *msg,
                              size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!v || !signed_part)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_verifier_init: NULL argument");
    memset(v, 0, sizeof *v);
    mbedtls_sha256_init(&v->payload_sha);
    ofpkg_err e = ofpkg_manifest_parse(signed_part, len, &v->m, msg, msglen);
    if (e)
        return v_fail(v, e);
    if (ofpkg_signed_hash(signed_part, v->signed_hash) || SHA_START(&v->payload_sha))
        return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed"));
    v->state = V_RECEIVING;
    return OFPKG_OK;
}

ofpkg_err ofpkg_verifier_feed(ofpkg_verifier *v, const uint8_t *data, size_t len,
                              size_t *payload_bytes, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (payload_bytes)
        *payload_bytes = 0;
    if (!v || (!data && len))
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_verifier_feed: NULL argument");
    if (v->state != V_RECEIVING)
        return pkg__fail(msg, msglen, OFPKG_ERR_STATE,
                         "ofpkg_verifier_feed: the verifier is not receiving (not started, "
                         "finished, or failed earlier)");
    if (v->payload_seen < v->m.payload_len) {
        uint64_t n = v->m.payload_len - v->payload_seen;
        if (n > len)
            n = len;
        if (SHA_UPDATE(&v->payload_sha, data, (size_t)n))
            return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed"));
        v->payload_seen += n;
        data += n;
        len -= (size_t)n;
        if (payload_bytes)
            *payload_bytes = (size_t)n;
    }
    while (len) {
        size_t want = OFPKG_SIGBLOCK_HDR;
        if (v->sig_have >= OFPKG_SIGBLOCK_HDR) {
            size_t sl = pkg__le16(v->sigblock + 6);
            if (sl > OFPKG_SIG_MAX || pkg__le32(v->sigblock) != OFPKG_SIG_MAGIC) {
                const uint8_t *sig;
                size_t siglen;
                return v_fail(v, ofpkg_sigblock_parse(v->sigblock, v->sig_have, &sig, &siglen,
                                                      msg, msglen));
            }
            want += sl;
        }
        if (v->sig_have == want)
            return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_LENGTH,
                                       "more bytes arrived than the package announces (payload "
                                       "of %llu bytes and its signature): stop the transfer "
                                       "and do not install it",
                                       (unsigned long long)v->m.payload_len));
        size_t n = want - v->sig_have;
        if (n > len)
            n = len;
        memcpy(v->sigblock + v->sig_have, data, n);
        v->sig_have += n;
        data += n;
        len -= n;
    }
    return OFPKG_OK;
}

ofpkg_err ofpkg_verifier_finish(ofpkg_verifier *v, const uint8_t *pubkey, size_t keylen, char *msg,
                                size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!v)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_verifier_finish: NULL argument");
    if (v->state != V_RECEIVING)
        return pkg__fail(msg, msglen, OFPKG_ERR_STATE,
                         "ofpkg_verifier_finish: the verifier is not receiving");
    if (v->payload_seen < v->m.payload_len)
        return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                                   "the package ended after %llu of %llu payload bytes: it is "
                                   "incomplete; download it again",
                                   (unsigned long long)v->payload_seen,
                                   (unsigned long long)v->m.payload_len));
    const uint8_t *sig;
    size_t siglen;
    ofpkg_err e = ofpkg_sigblock_parse(v->sigblock, v->sig_have, &sig, &siglen, msg, msglen);
    if (e)
        return v_fail(v, e);
    mbedtls_pk_context pk;
    e = load_key(&pk, pubkey, keylen, msg, msglen);
    if (e)
        return v_fail(v, e);
    uint8_t kid[OFPKG_KEY_ID_LEN];
    e = key_id_of(&pk, kid, msg, msglen);
    if (!e && memcmp(kid, v->m.key_id, OFPKG_KEY_ID_LEN)) {
        char have[2 * OFPKG_KEY_ID_LEN + 1], want[2 * OFPKG_KEY_ID_LEN + 1];
        ofpkg_hex(v->m.key_id, OFPKG_KEY_ID_LEN, have);
        ofpkg_hex(kid, OFPKG_KEY_ID_LEN, want);
        e = pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                      "the package was signed by key %s but this device trusts key %s: sign it "
                      "with the key whose public half the device holds",
                      have, want);
    }
    if (!e)
        e = verify_with(&pk, v->signed_hash, sig, siglen, msg, msglen);
    mbedtls_pk_free(&pk);
    if (e)
        return v_fail(v, e);
    uint8_t h[32];
    if (SHA_FINISH(&v->payload_sha, h))
        return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed"));
    if (memcmp(h, v->m.payload_sha256, 32)) {
        char got[65], want[65];
        ofpkg_hex(h, 32, got);
        ofpkg_hex(v->m.payload_sha256, 32, want);
        return v_fail(v, pkg__fail(msg, msglen, OFPKG_ERR_HASH,
                                   "payload SHA-256 is %.16s... but the signed manifest says "
                                   "%.16s...: the payload was damaged or replaced; download it "
                                   "again and do not install this copy",
                                   got, want));
    }
    v->state = V_DONE;
    return OFPKG_OK;
}

void ofpkg_verifier_free(ofpkg_verifier *v)
{
    if (v)
        mbedtls_sha256_free(&v->payload_sha);
}

ofpkg_err ofpkg_verify_package(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                               size_t keylen, ofpkg_manifest *m, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_verify_package: NULL argument");
    ofpkg_verifier v;
    ofpkg_err e = ofpkg_verifier_init(&v, buf, len, msg, msglen);
    if (!e)
        e = ofpkg_verifier_feed(&v, buf + OFPKG_SIGNED_LEN, len - OFPKG_SIGNED_LEN, NULL, msg,
                                msglen);
    if (!e)
        e = ofpkg_verifier_finish(&v, pubkey, keylen, msg, msglen);
    if (m)
        *m = v.m;
    ofpkg_verifier_free(&v);
    return e;
}
