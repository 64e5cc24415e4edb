/*
 * signed.c — keys and the upload check of openfota signed packages
 * (signed.h).
 */
#include "signed.h"

#include "log.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex8(const uint8_t id[OFPKG_KEY_ID_LEN], char out[2 * OFPKG_KEY_ID_LEN + 1])
{
    ofpkg_hex(id, OFPKG_KEY_ID_LEN, out);
}

static int read_small(const char *path, uint8_t *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            snprintf(err, errlen, "%s is larger than %zu bytes: not a key file", path, cap - 1);
            close(fd);
            return -1;
        }
    }
    close(fd);
    *len = n;
    return 0;
}

static int add_pub(signed_keys *k, const uint8_t *key, size_t len, const char *from, char *err, size_t errlen)
{
    if (k->npub == SIGNED_PUBKEYS_MAX) {
        snprintf(err, errlen, "signing_pubkey: at most %d keys", SIGNED_PUBKEYS_MAX);
        return -1;
    }
    signed_pubkey *p = &k->pub[k->npub];
    if (len > sizeof p->der) {
        snprintf(err, errlen, "%s: a P-256 public key is at most %zu bytes; this is %zu", from, sizeof p->der, len);
        return -1;
    }
    memcpy(p->der, key, len);
    p->len = len;
    char msg[300];
    ofpkg_err e = ofpkg_key_id(p->der, p->len, p->id, msg, sizeof msg);
    if (e != OFPKG_OK) {
        snprintf(err, errlen, "%s: not an EC P-256 public key (PEM or DER): %s", from, msg);
        return -1;
    }
    snprintf(p->path, sizeof p->path, "%s", from);
    for (size_t i = 0; i < k->npub; i++)
        if (memcmp(k->pub[i].id, p->id, OFPKG_KEY_ID_LEN) == 0)
            return 0; /* the same key twice */
    k->npub++;
    return 0;
}

/* The public half of a private key PEM, as DER SubjectPublicKeyInfo. */
static int pub_of_private(const char *path, uint8_t *der, size_t cap, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pk == NULL) {
        snprintf(err, errlen, "%s is not a PEM private key", path);
        return -1;
    }
    int n = i2d_PUBKEY(pk, NULL);
    if (n <= 0 || (size_t)n > cap) {
        EVP_PKEY_free(pk);
        snprintf(err, errlen, "%s: cannot encode its public key", path);
        return -1;
    }
    unsigned char *p = der;
    i2d_PUBKEY(pk, &p);
    EVP_PKEY_free(pk);
    *len = (size_t)n;
    return 0;
}

int signed_keys_load(of_server *s, char *err, size_t errlen)
{
    signed_keys *k = &s->keys;
    memset(k, 0, sizeof *k);
    char msg[400], id[2 * OFPKG_KEY_ID_LEN + 1];
    if (s->cfg.signing_key[0]) {
        ofpkg_err e = ofpkg_signer_load(s->cfg.signing_key, &k->signer, msg, sizeof msg);
        if (e != OFPKG_OK) {
            snprintf(err, errlen, "signing_key %s: %s", s->cfg.signing_key, msg[0] ? msg : ofpkg_strerror(e));
            return -1;
        }
        uint8_t kid[OFPKG_KEY_ID_LEN];
        ofpkg_signer_key_id(k->signer, kid);
        hex8(kid, id);
        log_info("deltas: generated deltas are signed with %s (key id %s)", s->cfg.signing_key, id);
    } else {
        log_info("deltas: no signing key (signing_key / --signing-key): the server makes no deltas and sends "
                 "devices the full signed package");
    }
    if (s->cfg.signing_pubkey[0]) {
        char list[CONFIG_STR_MAX];
        snprintf(list, sizeof list, "%s", s->cfg.signing_pubkey);
        char *save = NULL;
        for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            while (*p == ' ')
                p++;
            size_t l = strlen(p);
            while (l > 0 && p[l - 1] == ' ')
                p[--l] = 0;
            if (l == 0)
                continue;
            uint8_t buf[SIGNED_KEY_FILE_MAX];
            size_t n;
            if (read_small(p, buf, sizeof buf, &n, err, errlen) < 0 || add_pub(k, buf, n, p, err, errlen) < 0)
                return -1;
        }
    } else if (k->signer) {
        uint8_t der[512];
        size_t n;
        if (pub_of_private(s->cfg.signing_key, der, sizeof der, &n, err, errlen) < 0 ||
            add_pub(k, der, n, s->cfg.signing_key, err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < k->npub; i++) {
        hex8(k->pub[i].id, id);
        log_info("signed packages: uploads must be signed with key id %s (%s)", id, k->pub[i].path);
    }
    if (k->npub == 0)
        log_info("signed packages: no public key configured (signing_pubkey): uploads are checked for "
                 "manifest and payload hash, not for their signature");
    return 0;
}

void signed_keys_free(of_server *s)
{
    ofpkg_signer_free(s->keys.signer);
    s->keys.signer = NULL;
}

int signed_sniff(const uint8_t *head, size_t len)
{
    return len >= 4 && head[0] == 'O' && head[1] == 'F' && head[2] == 'P' && head[3] == 'K';
}

static int pread_all(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

ofpkg_err signed_check_fd(const signed_keys *k, int fd, uint64_t size, ofpkg_manifest *m, char *msg, size_t msglen)
{
    uint8_t sp[OFPKG_SIGNED_LEN];
    if (size < OFPKG_SIGNED_LEN || pread_all(fd, sp, sizeof sp, 0) < 0) {
        snprintf(msg, msglen, "the package is %llu bytes, shorter than its %u-byte header and manifest",
                 (unsigned long long)size, OFPKG_SIGNED_LEN);
        return OFPKG_ERR_TRUNCATED;
    }
    ofpkg_err e = ofpkg_manifest_parse(sp, sizeof sp, m, msg, msglen);
    if (e != OFPKG_OK)
        return e;
    uint64_t after = OFPKG_SIGNED_LEN + m->payload_len;
    if (size < after + OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MIN || size > after + OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX) {
        snprintf(msg, msglen,
                 "the package is %llu bytes but its manifest announces %llu payload bytes, so it should be %llu "
                 "bytes plus a signature block of %u to %u bytes: truncated or padded",
                 (unsigned long long)size, (unsigned long long)m->payload_len, (unsigned long long)after,
                 OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MIN, OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX);
        return OFPKG_ERR_LENGTH;
    }
    uint8_t sb[OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MAX];
    size_t sbl = (size_t)(size - after);
    if (pread_all(fd, sb, sbl, after) < 0) {
        snprintf(msg, msglen, "cannot read the uploaded package");
        return OFPKG_ERR_IO;
    }
    const uint8_t *sig;
    size_t siglen;
    e = ofpkg_sigblock_parse(sb, sbl, &sig, &siglen, msg, msglen);
    if (e != OFPKG_OK)
        return e;
    /* payload SHA-256, streamed */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        snprintf(msg, msglen, "SHA-256 failed");
        return OFPKG_ERR_CRYPTO;
    }
    uint8_t *buf = malloc(1 << 16);
    uint64_t off = OFPKG_SIGNED_LEN, left = m->payload_len;
    while (buf && left > 0) {
        size_t n = left < (1u << 16) ? (size_t)left : (1u << 16);
        if (pread_all(fd, buf, n, off) < 0)
            break;
        EVP_DigestUpdate(c, buf, n);
        off += n;
        left -= n;
    }
    free(buf);
    uint8_t h[32];
    unsigned hl = 0;
    EVP_DigestFinal_ex(c, h, &hl);
    EVP_MD_CTX_free(c);
    if (left > 0) {
        snprintf(msg, msglen, "cannot read the uploaded package's payload");
        return OFPKG_ERR_IO;
    }
    if (memcmp(h, m->payload_sha256, 32) != 0) {
        snprintf(msg, msglen, "payload_sha256: the payload's SHA-256 differs from the one in the manifest: the "
                              "payload was changed or damaged after signing; sign it again");
        return OFPKG_ERR_HASH;
    }
    if (k->npub == 0)
        return OFPKG_OK;
    const signed_pubkey *pk = NULL;
    for (size_t i = 0; i < k->npub && pk == NULL; i++)
        if (memcmp(k->pub[i].id, m->key_id, OFPKG_KEY_ID_LEN) == 0)
            pk = &k->pub[i];
    if (pk == NULL) {
        char id[2 * OFPKG_KEY_ID_LEN + 1];
        hex8(m->key_id, id);
        snprintf(msg, msglen,
                 "key_id: signed with key id %s, which this server does not trust; sign with the project's key "
                 "or add its public key to signing_pubkey",
                 id);
        return OFPKG_ERR_KEY;
    }
    uint8_t sh[32];
    if ((e = ofpkg_signed_hash(sp, sh)) != OFPKG_OK) {
        snprintf(msg, msglen, "SHA-256 failed");
        return e;
    }
    return ofpkg_verify(pk->der, pk->len, sh, sig, siglen, msg, msglen);
}
