/*
 * sign_openssl.c — the host side of the signed package: key generation,
 * signing with OpenSSL (EVP), and assembling packages in memory or from
 * files. The device never runs this file; it verifies with verify_mbedtls.c.
 *
 * Key files: private key PKCS#8 PEM (mode 0600), public key
 * SubjectPublicKeyInfo PEM; both ECDSA P-256 (prime256v1 / secp256r1).
 * Signatures: DER ECDSA-Sig-Value over SHA-256(header || manifest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pkg_internal.h"

#define CHUNK (64u * 1024u)

struct ofpkg_signer {
    EVP_PKEY *key;
    uint8_t key_id[OFPKG_KEY_ID_LEN];
};

static const char *ossl_reason(void)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "unknown OpenSSL error";
}

static int is_p256(EVP_PKEY *k)
{
    char name[64];
    size_t n = 0;
    if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
        return 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n) != 1)
        return 0;
    return !strcmp(name, "prime256v1") || !strcmp(name, "P-256") || !strcmp(name, "secp256r1");
}

static ofpkg_err key_id_ossl(EVP_PKEY *k, uint8_t out[OFPKG_KEY_ID_LEN])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0)
        return OFPKG_ERR_CRYPTO;
    uint8_t h[32];
    unsigned hl = 0;
    int ok = EVP_Digest(der, (size_t)n, h, &hl, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (ok != 1)
        return OFPKG_ERR_CRYPTO;
    memcpy(out, h, OFPKG_KEY_ID_LEN);
    return OFPKG_OK;
}

ofpkg_err ofpkg_keygen(const char *priv_path, const char *pub_path, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!priv_path || !pub_path)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_keygen: NULL path");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "key generation failed: %s",
                         ossl_reason());
    ofpkg_err e = OFPKG_OK;
    FILE *f = NULL;
    int fd = open(priv_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO,
                      errno == EEXIST ? "%s already exists: refusing to overwrite a private key; "
                                        "choose another name or remove it first"
                                      : "cannot create %s: %s",
                      priv_path, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot write %s: %s", priv_path,
                      strerror(errno));
        goto fail_priv;
    }
    if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) ||
        fsync(fileno(f))) {
        fclose(f);
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed", priv_path);
        goto fail_priv;
    }
    if (fclose(f)) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", priv_path,
                      strerror(errno));
        goto fail_priv;
    }
    f = fopen(pub_path, "w");
    if (!f) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot create %s: %s", pub_path,
                      strerror(errno));
        goto fail_priv;
    }
    if (PEM_write_PUBKEY(f, k) != 1 || fflush(f)) {
        fclose(f);
        unlink(pub_path);
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed", pub_path);
        goto fail_priv;
    }
    if (fclose(f)) {
        unlink(pub_path);
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", pub_path,
                      strerror(errno));
        goto fail_priv;
    }
    goto out;
fail_priv:
    unlink(priv_path);
out:
    EVP_PKEY_free(k);
    return e;
}

ofpkg_err ofpkg_signer_load(const char *path, ofpkg_signer **out, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!path || !out)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_signer_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY, "cannot open key %s: %s", path,
                         strerror(errno));
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                         "%s is not a readable private key PEM (%s): give the key written by "
                         "'openfota package keygen' (not the .pub.pem)",
                         path, ossl_reason());
    if (!is_p256(k)) {
        EVP_PKEY_free(k);
        return pkg__fail(msg, msglen, OFPKG_ERR_KEY,
                         "%s is not an ECDSA P-256 key: openfota packages are signed with P-256 "
                         "keys; make one with 'openfota package keygen'",
                         path);
    }
    ofpkg_signer *s = calloc(1, sizeof *s);
    if (!s) {
        EVP_PKEY_free(k);
        return pkg__fail(msg, msglen, OFPKG_ERR_NOMEM, "out of memory");
    }
    s->key = k;
    if (key_id_ossl(k, s->key_id)) {
        ofpkg_signer_free(s);
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "cannot encode the public key: %s",
                         ossl_reason());
    }
    *out = s;
    return OFPKG_OK;
}

void ofpkg_signer_free(ofpkg_signer *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

void ofpkg_signer_key_id(const ofpkg_signer *s, uint8_t out[OFPKG_KEY_ID_LEN])
{
    memcpy(out, s->key_id, OFPKG_KEY_ID_LEN);
}

ofpkg_err ofpkg_signer_sign(ofpkg_signer *s, const uint8_t hash32[32], uint8_t *sig,
                            size_t *siglen, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!s || !hash32 || !sig || !siglen)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_signer_sign: NULL argument");
    uint8_t buf[128];
    size_t n = sizeof buf;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(s->key, NULL);
    ofpkg_err e = OFPKG_OK;
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
        EVP_PKEY_sign(ctx, buf, &n, hash32, 32) != 1) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "signing failed: %s", ossl_reason());
    } else if (n < OFPKG_SIG_MIN || n > OFPKG_SIG_MAX || n > *siglen) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "unexpected signature length %zu", n);
    } else {
        memcpy(sig, buf, n);
        *siglen = n;
    }
    EVP_PKEY_CTX_free(ctx);
    return e;
}

/* Fill the payload fields and key id, serialize, sign. out: signed part and
 * the signature block (with its length in *sbl). */
static ofpkg_err seal(ofpkg_signer *s, ofpkg_manifest *m, uint64_t payload_len,
                      const uint8_t payload_sha[32], uint8_t signed_part[OFPKG_SIGNED_LEN],
                      uint8_t sigblock[OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX], size_t *sbl,
                      char *msg, size_t msglen)
{
    m->format_version = OFPKG_FORMAT_VERSION;
    m->payload_len = payload_len;
    memcpy(m->payload_sha256, payload_sha, 32);
    if (m->kind == OFPKG_KIND_FULL) {
        m->result_len = payload_len;
        memcpy(m->result_sha256, payload_sha, 32);
    }
    ofpkg_signer_key_id(s, m->key_id);
    ofpkg_err e = ofpkg_manifest_serialize(m, signed_part, msg, msglen);
    if (e)
        return e;
    uint8_t h[32];
    unsigned hl = 0;
    if (EVP_Digest(signed_part, OFPKG_SIGNED_LEN, h, &hl, EVP_sha256(), NULL) != 1)
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
    size_t sl = OFPKG_SIG_MAX;
    e = ofpkg_signer_sign(s, h, sigblock + OFPKG_SIGBLOCK_HDR, &sl, msg, msglen);
    if (e)
        return e;
    pkg__put32(sigblock, OFPKG_SIG_MAGIC);
    pkg__put16(sigblock + 4, OFPKG_SIGALG_ECDSA_P256_SHA256);
    pkg__put16(sigblock + 6, (uint16_t)sl);
    *sbl = OFPKG_SIGBLOCK_HDR + sl;
    return OFPKG_OK;
}

ofpkg_err ofpkg_sign_package(ofpkg_signer *s, ofpkg_manifest *m, const uint8_t *payload,
                             size_t payload_len, uint8_t **out, size_t *out_len, char *msg,
                             size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!s || !m || (!payload && payload_len) || !out || !out_len)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_sign_package: NULL argument");
    *out = NULL;
    *out_len = 0;
    uint8_t ph[32], sp[OFPKG_SIGNED_LEN], sb[OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX];
    unsigned hl = 0;
    size_t sbl = 0;
    if (EVP_Digest(payload ? payload : (const uint8_t *)"", payload_len, ph, &hl, EVP_sha256(),
                   NULL) != 1)
        return pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
    ofpkg_err e = seal(s, m, payload_len, ph, sp, sb, &sbl, msg, msglen);
    if (e)
        return e;
    size_t total = OFPKG_SIGNED_LEN + payload_len + sbl;
    uint8_t *p = malloc(total);
    if (!p)
        return pkg__fail(msg, msglen, OFPKG_ERR_NOMEM, "out of memory");
    memcpy(p, sp, OFPKG_SIGNED_LEN);
    if (payload_len)
        memcpy(p + OFPKG_SIGNED_LEN, payload, payload_len);
    memcpy(p + OFPKG_SIGNED_LEN + payload_len, sb, sbl);
    *out = p;
    *out_len = total;
    return OFPKG_OK;
}

ofpkg_err ofpkg_sha256_file(const char *path, uint8_t out[32], uint64_t *len, char *msg,
                            size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!path || !out)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_sha256_file: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t *buf = malloc(CHUNK);
    uint64_t total = 0;
    ofpkg_err e = OFPKG_OK;
    if (!c || !buf || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_NOMEM, "cannot start SHA-256");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "reading %s failed: %s", path,
                          strerror(errno));
            goto out;
        }
        if (!n)
            break;
        total += (uint64_t)n;
        if (total > OFPKG_MAX_IMAGE) {
            e = pkg__fail(msg, msglen, OFPKG_ERR_TOO_BIG, "%s is larger than %llu bytes", path,
                          OFPKG_MAX_IMAGE);
            goto out;
        }
        if (EVP_DigestUpdate(c, buf, (size_t)n) != 1) {
            e = pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
            goto out;
        }
    }
    unsigned hl = 0;
    if (EVP_DigestFinal_ex(c, out, &hl) != 1)
        e = pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
    if (len)
        *len = total;
out:
    free(buf);
    EVP_MD_CTX_free(c);
    close(fd);
    return e;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

ofpkg_err ofpkg_sign_file(ofpkg_signer *s, ofpkg_manifest *m, const char *payload_path,
                          const char *out_path, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!s || !m || !payload_path || !out_path)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_sign_file: NULL argument");
    uint8_t ph[32], sp[OFPKG_SIGNED_LEN], sb[OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX];
    uint64_t plen = 0;
    size_t sbl = 0;
    ofpkg_err e = ofpkg_sha256_file(payload_path, ph, &plen, msg, msglen);
    if (e)
        return e;
    if ((e = seal(s, m, plen, ph, sp, sb, &sbl, msg, msglen)))
        return e;

    size_t tl = strlen(out_path) + 16;
    char *tmp = malloc(tl);
    uint8_t *buf = malloc(CHUNK);
    int in = -1, fd = -1;
    if (!tmp || !buf) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, tl, "%s.tmp.XXXXXX", out_path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto out;
    }
    in = open(payload_path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot open %s: %s", payload_path,
                      strerror(errno));
        goto out;
    }
    if (write_all(fd, sp, sizeof sp)) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", out_path,
                      strerror(errno));
        goto out;
    }
    /* copy the payload while hashing it again: if the file changed since it
     * was hashed, the package would not verify, so refuse now */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint64_t copied = 0;
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        e = pkg__fail(msg, msglen, OFPKG_ERR_CRYPTO, "SHA-256 failed");
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "reading %s failed: %s", payload_path,
                              strerror(errno));
            break;
        }
        copied += (uint64_t)n;
        if (EVP_DigestUpdate(c, buf, (size_t)n) != 1 || write_all(fd, buf, (size_t)n)) {
            e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", out_path,
                          strerror(errno));
            break;
        }
    }
    uint8_t h2[32];
    unsigned hl = 0;
    if (!e && (EVP_DigestFinal_ex(c, h2, &hl) != 1 || copied != plen || memcmp(h2, ph, 32)))
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO,
                      "%s changed while it was being signed: sign it again once it is stable",
                      payload_path);
    EVP_MD_CTX_free(c);
    if (e)
        goto out;
    if (write_all(fd, sb, sbl) || fsync(fd)) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", out_path,
                      strerror(errno));
        goto out;
    }
    if (close(fd)) {
        fd = -1;
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "writing %s failed: %s", out_path,
                      strerror(errno));
        goto out;
    }
    fd = -1;
    if (chmod(tmp, 0644) || rename(tmp, out_path)) {
        e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot rename %s to %s: %s", tmp, out_path,
                      strerror(errno));
        goto out;
    }
    tmp[0] = '\0';
out:
    if (in >= 0)
        close(in);
    if (fd >= 0)
        close(fd);
    if (tmp && tmp[0])
        unlink(tmp);
    free(tmp);
    free(buf);
    return e;
}
