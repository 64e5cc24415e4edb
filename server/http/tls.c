/*
 * tls.c — the OpenSSL server context of the HTTPS listener (tls.h).
 */
#include "tls.h"

#include "log.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Mozilla "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. */
#define TLS12_CIPHERS                                                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                         \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

typedef struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    time_t made; /* 0: unused slot */
} ticket_key;

struct tls_ctx {
    pthread_mutex_t mu;
    SSL_CTX *cur; /* one reference held here; sessions hold their own */
    char cert[4096], key[4096], ca[4096], ciphers[1024];
    ticket_key keys[2]; /* [0] current (encrypts), [1] previous (still decrypts) */
};

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;

static void ex_init(void) { ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

static void openssl_error(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, file, buf[0] ? buf : "unknown error");
}

static int key_new(ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof k->name) != 1 || RAND_bytes(k->aes, sizeof k->aes) != 1 ||
        RAND_bytes(k->hmac, sizeof k->hmac) != 1)
        return -1;
    k->made = time(NULL);
    return 0;
}

/* Rotate when the current key is older than the period (mu held). */
static void keys_rotate(tls_ctx *t)
{
    time_t now = time(NULL);
    if (t->keys[0].made != 0 && now - t->keys[0].made < TLS_TICKET_ROTATE_S)
        return;
    ticket_key next;
    if (key_new(&next) < 0) {
        log_warn("tls: no random bytes for a new session ticket key; the old one stays");
        return;
    }
    t->keys[1] = t->keys[0];
    t->keys[0] = next;
}

static int set_mac(EVP_MAC_CTX *hctx, unsigned char *key)
{
    OSSL_PARAM p[3];
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
    p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    p[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, p);
}

/* Session tickets with our rotating keys: 1 ok, 2 ok but issue a new
 * ticket (made with the previous key), 0 unknown key (full handshake). */
static int ticket_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ctx, EVP_MAC_CTX *hctx,
                     int enc)
{
    tls_ctx *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ex_index);
    if (t == NULL)
        return -1;
    int rc = enc ? 0 : -1; /* enc: 0 = no ticket this time */
    pthread_mutex_lock(&t->mu);
    if (enc) {
        keys_rotate(t);
        ticket_key *k = &t->keys[0];
        if (k->made != 0 && RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) == 1 &&
            EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1 && set_mac(hctx, k->hmac) == 1) {
            memcpy(key_name, k->name, 16);
            rc = 1;
        }
    } else {
        rc = 0;
        for (int i = 0; i < 2; i++) {
            ticket_key *k = &t->keys[i];
            if (k->made == 0 || memcmp(key_name, k->name, 16) != 0)
                continue;
            if (time(NULL) - k->made >= 2 * TLS_TICKET_ROTATE_S)
                break; /* too old: a full handshake */
            if (set_mac(hctx, k->hmac) != 1 || EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1) {
                rc = -1;
                break;
            }
            rc = i == 0 ? 1 : 2;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* A context from the files in t. NULL with err. */
static SSL_CTX *ctx_make(tls_ctx *t, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (c == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_ENABLE_KTLS |
                               SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(c, t->ciphers[0] ? t->ciphers : TLS12_CIPHERS) != 1) {
        openssl_error(err, errlen, "tls: cipher list", t->ciphers[0] ? t->ciphers : "(default)");
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(c, t->cert) != 1) {
        openssl_error(err, errlen, "tls: cannot use the certificate file", t->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(c, t->key, SSL_FILETYPE_PEM) != 1) {
        openssl_error(err, errlen, "tls: cannot use the key file", t->key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        snprintf(err, errlen, "tls: the key in %s does not belong to the certificate in %s", t->key, t->cert);
        ERR_clear_error();
        goto fail;
    }
    if (t->ca[0]) {
        if (SSL_CTX_load_verify_locations(c, t->ca, NULL) != 1) {
            openssl_error(err, errlen, "tls: cannot read the client CA file", t->ca);
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca);
        if (names)
            SSL_CTX_set_client_CA_list(c, names);
        /* ask for a certificate, verify one that comes, let clients without one in */
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(c, 4);
        static const unsigned char sid[] = "openfota";
        SSL_CTX_set_session_id_context(c, sid, sizeof sid - 1);
    }
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(c, 2 * TLS_TICKET_ROTATE_S);
    pthread_once(&ex_once, ex_init);
    SSL_CTX_set_ex_data(c, ex_index, t);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(c, ticket_cb);
    return c;
fail:
    SSL_CTX_free(c);
    return NULL;
}

static int copy_path(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = 0;
        return 0;
    }
    return snprintf(dst, cap, "%s", src) >= (int)cap ? -1 : 0;
}

tls_ctx *tls_open(const tls_options *o, char *err, size_t errlen)
{
    tls_ctx *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    if (copy_path(t->cert, sizeof t->cert, o->cert_file) || copy_path(t->key, sizeof t->key, o->key_file) ||
        copy_path(t->ca, sizeof t->ca, o->client_ca) || copy_path(t->ciphers, sizeof t->ciphers, o->ciphers) ||
        !t->cert[0] || !t->key[0]) {
        snprintf(err, errlen, "tls: give both a certificate file (--tls-cert) and a key file (--tls-key)");
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    keys_rotate(t);
    t->cur = ctx_make(t, err, errlen);
    if (t->cur == NULL) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

int tls_reload(tls_ctx *t, char *err, size_t errlen)
{
    SSL_CTX *n = ctx_make(t, err, errlen);
    if (n == NULL)
        return -1;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->cur;
    t->cur = n;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* sessions started on it keep their own reference */
    return 0;
}

void tls_free(tls_ctx *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->cur);
    pthread_mutex_destroy(&t->mu);
    OPENSSL_cleanse(t->keys, sizeof t->keys);
    free(t);
}

SSL *tls_session(tls_ctx *t, int fd)
{
    pthread_mutex_lock(&t->mu);
    SSL *s = SSL_new(t->cur);
    pthread_mutex_unlock(&t->mu);
    if (s == NULL)
        return NULL;
    if (SSL_set_fd(s, fd) != 1) {
        SSL_free(s);
        return NULL;
    }
    SSL_set_accept_state(s);
    return s;
}

void tls_describe(tls_ctx *t, char *out, size_t cap)
{
    snprintf(out, cap, "?");
    pthread_mutex_lock(&t->mu);
    X509 *x = SSL_CTX_get0_certificate(t->cur);
    if (x) {
        char subj[256] = "", until[64] = "";
        X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof subj);
        BIO *b = BIO_new(BIO_s_mem());
        if (b && ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
            int n = BIO_read(b, until, (int)sizeof until - 1);
            until[n > 0 ? n : 0] = 0;
        }
        BIO_free(b);
        snprintf(out, cap, "%s, valid until %s", subj, until);
    }
    pthread_mutex_unlock(&t->mu);
}

int tls_peer_names(SSL *ssl, char *out, size_t cap)
{
    out[0] = 0;
    if (ssl == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (x == NULL)
        return 0;
    int n = 0;
    size_t o = 0;
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0) {
        o += (size_t)snprintf(out + o, cap - o, "%s", cn);
        if (o >= cap)
            o = cap - 1;
        n++;
    }
    GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && o + 2 < cap; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        const ASN1_IA5STRING *v = NULL;
        if (g->type == GEN_DNS)
            v = g->d.dNSName;
        else if (g->type == GEN_URI)
            v = g->d.uniformResourceIdentifier;
        if (v == NULL)
            continue;
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s", n ? "\n" : "", ASN1_STRING_length(v),
                              (const char *)ASN1_STRING_get0_data(v));
        if (o >= cap)
            o = cap - 1;
        n++;
    }
    GENERAL_NAMES_free(sans);
    return n;
}
