/*
 * device_cert.c — `openfota device cert ID --ca-dir DIR`: a client
 * certificate for one device, from a device CA kept in DIR, for projects
 * that require mutual TLS (the server verifies it with --tls-client-ca
 * DIR/ca.pem and matches its subject against the device's id).
 *
 * Works offline on the files: DIR/ca.pem + DIR/ca.key (made on first use,
 * EC P-256, key 0600), and per device DIR/ID.pem + DIR/ID.key (EC P-256,
 * unencrypted: LuatOS modules cannot use an encrypted key). The device's
 * canonical id (as the server writes it) is the subject CN and a SAN URI
 * urn:openfota:device:ID.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "device_cert.h"
#include "query.h"

#define CA_DAYS 7300

static EVP_PKEY *key_new(void) { return EVP_EC_gen("P-256"); }

static int write_key(const char *path, EVP_PKEY *k)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    int ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_cert(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = PEM_write_X509(f, x) == 1;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (e == NULL)
        return -1;
    int ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

/* A certificate for key `pub` named cn, signed by ca_key (self-signed when
 * ca is NULL). NULL on failure. */
static X509 *cert_make(EVP_PKEY *pub, const char *cn, X509 *ca, EVP_PKEY *ca_key, long days, int is_ca,
                       const char *san)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (x == NULL || RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto fail;
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L);
    X509_set_pubkey(x, pub);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name);
    X509 *issuer = ca ? ca : x;
    if (add_ext(x, issuer, NID_basic_constraints, is_ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE") ||
        add_ext(x, issuer, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") ||
        add_ext(x, issuer, NID_subject_key_identifier, "hash") ||
        (ca && add_ext(x, issuer, NID_authority_key_identifier, "keyid")) ||
        (!is_ca && add_ext(x, issuer, NID_ext_key_usage, "clientAuth")) ||
        (san && add_ext(x, issuer, NID_subject_alt_name, san)))
        goto fail;
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
        goto fail;
    BN_free(bn);
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

/* Load DIR/ca.pem + ca.key, or make them. 0 ok, -1 (message printed). */
static int ca_load_or_make(const char *dir, X509 **ca, EVP_PKEY **ca_key, int *made)
{
    char cp[4096], kp[4096];
    snprintf(cp, sizeof cp, "%s/ca.pem", dir);
    snprintf(kp, sizeof kp, "%s/ca.key", dir);
    *made = 0;
    FILE *fc = fopen(cp, "r");
    if (fc) {
        *ca = PEM_read_X509(fc, NULL, NULL, NULL);
        fclose(fc);
        FILE *fk = fopen(kp, "r");
        *ca_key = fk ? PEM_read_PrivateKey(fk, NULL, NULL, NULL) : NULL;
        if (fk)
            fclose(fk);
        if (*ca == NULL || *ca_key == NULL || X509_check_private_key(*ca, *ca_key) != 1) {
            fprintf(stderr,
                    "openfota device cert: %s and %s are not a certificate and its private key (PEM); "
                    "fix or move them, or use another --ca-dir\n",
                    cp, kp);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "openfota device cert: cannot read %s: %s\n", cp, strerror(errno));
        return -1;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "openfota device cert: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    *ca_key = key_new();
    *ca = *ca_key ? cert_make(*ca_key, "openfota device CA", NULL, *ca_key, CA_DAYS, 1, NULL) : NULL;
    if (*ca == NULL || write_key(kp, *ca_key) < 0 || write_cert(cp, *ca) < 0) {
        fprintf(stderr, "openfota device cert: cannot make the device CA in %s: %s\n", dir, strerror(errno));
        return -1;
    }
    *made = 1;
    return 0;
}

int device_cert_run(struct admin_ctx *ctx, struct admin_args *a)
{
    (void)ctx;
    const char *dir = admin_args_value(a, "--ca-dir"), *days_s = admin_args_value(a, "--days");
    if (!admin_args_check(a, "device cert"))
        return 2;
    const char *raw = admin_args_pos(a, 0);
    long long days = 3650;
    if (!raw || a->argc != 1 || !dir || (days_s && admin_parse_uint(days_s, 36500, &days)) || days < 1)
        return admin_usage("device cert", "device cert ID --ca-dir DIR [--days N]");
    char id[DEVICE_ID_MAX];
    const char *why = NULL;
    if (device_id_canon(raw, strlen(raw), id, &why) < 0) {
        fprintf(stderr, "openfota device cert: '%s' is not a device id: %s\n", raw, why);
        return 2;
    }
    X509 *ca = NULL, *x = NULL;
    EVP_PKEY *ca_key = NULL, *k = NULL;
    int made = 0, rc = 1;
    if (ca_load_or_make(dir, &ca, &ca_key, &made) < 0)
        goto out;
    char san[128], cp[4096], kp[4096];
    snprintf(san, sizeof san, "URI:urn:openfota:device:%s", id);
    snprintf(cp, sizeof cp, "%s/%s.pem", dir, id);
    snprintf(kp, sizeof kp, "%s/%s.key", dir, id);
    k = key_new();
    x = k ? cert_make(k, id, ca, ca_key, (long)days, 0, san) : NULL;
    if (x == NULL || write_key(kp, k) < 0 || write_cert(cp, x) < 0) {
        unsigned long e = ERR_get_error();
        fprintf(stderr, "openfota device cert: cannot make the certificate of %s: %s\n", id,
                e ? ERR_error_string(e, NULL) : strerror(errno));
        goto out;
    }
    if (made)
        printf("made a device CA: %s/ca.pem (certificate) and %s/ca.key (keep it private); start the server\n"
               "with --tls-client-ca %s/ca.pem and turn require_client_cert on for the project\n",
               dir, dir, dir);
    printf("device %s: certificate %s and key %s (valid %lld days), for the device script:\n"
           "  libfota2.request(fota_cb, {url = \"https://...\", project_key = \"KEY\",\n"
           "      server_cert = <the server's CA PEM>, client_cert = <%s>, client_key = <%s>})\n",
           id, cp, kp, days, cp, kp);
    rc = 0;
out:
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(k);
    EVP_PKEY_free(ca_key);
    return rc;
}
