/*
 * report_auth.c — signature and freshness of status reports (report_auth.h).
 */
#include "report_auth.h"

#include "server.h"

#include "log.h"
#include "offleet.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <stdio.h>
#include <string.h>

int report_auth_load(of_server *s)
{
    s->report_key_len = 0;
    if (s->cfg.push_key_file[0] == 0)
        return 0;
    FILE *fp = fopen(s->cfg.push_key_file, "rb");
    if (fp == NULL) {
        log_error("push_key_file %s: %s", s->cfg.push_key_file, strerror(errno));
        return -1;
    }
    char text[512];
    size_t n = fread(text, 1, sizeof text, fp);
    fclose(fp);
    fleet_config fc;
    fleet_config_default(&fc);
    const char *why = "the file is larger than a push key";
    int rc = n == sizeof text ? -1 : fleet_config_push_key(&fc, text, n, &why);
    OPENSSL_cleanse(text, sizeof text);
    if (rc < 0 || fc.push_key_len > sizeof s->report_key) {
        log_error("push_key_file %s: %s", s->cfg.push_key_file, why);
        return -1;
    }
    memcpy(s->report_key, fc.push_key, fc.push_key_len);
    s->report_key_len = fc.push_key_len;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

report_auth report_auth_check(const of_server *s, const char *id, const char *time_hdr, const char *auth_hdr,
                              const char *body, size_t len, int64_t now_ms, int64_t *t_ms, const char **why)
{
    *t_ms = 0;
    if (auth_hdr == NULL)
        return REPORT_UNSIGNED;
    if (s->report_key_len == 0) {
        *why = "this server has no push key (push_key_file), so it cannot check signed reports";
        return REPORT_BAD;
    }
    unsigned char got[32];
    if (strlen(auth_hdr) != 64) {
        *why = "X-Openfota-Auth must be 64 hex digits (HMAC-SHA256)";
        return REPORT_BAD;
    }
    for (int i = 0; i < 32; i++) {
        int hi = hexval(auth_hdr[2 * i]), lo = hexval(auth_hdr[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            *why = "X-Openfota-Auth must be 64 hex digits (HMAC-SHA256)";
            return REPORT_BAD;
        }
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t tl = time_hdr ? strlen(time_hdr) : 0;
    int64_t t = 0;
    int ok = tl >= 1 && tl <= 15;
    for (size_t i = 0; ok && i < tl; i++) {
        if (time_hdr[i] < '0' || time_hdr[i] > '9')
            ok = 0;
        else
            t = t * 10 + (time_hdr[i] - '0');
    }
    if (!ok) {
        *why = "X-Openfota-Time must be the time in milliseconds since 1970 (decimal)";
        return REPORT_BAD;
    }
    if (t < now_ms - REPORT_AUTH_WINDOW_MS || t > now_ms + REPORT_AUTH_WINDOW_MS) {
        *why = "X-Openfota-Time is more than 5 minutes away from the server's clock";
        return REPORT_BAD;
    }
    char dkhex[65];
    unsigned char dk[32], want[32];
    if (fleet_push_device_key(s->report_key, s->report_key_len, id, dkhex) != 0) {
        *why = "no device key for this id";
        return REPORT_BAD;
    }
    for (int i = 0; i < 32; i++)
        dk[i] = (unsigned char)(hexval(dkhex[2 * i]) << 4 | hexval(dkhex[2 * i + 1]));
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    size_t ol = 0;
    int good = ctx && EVP_MAC_init(ctx, dk, sizeof dk, params) == 1 &&
               EVP_MAC_update(ctx, (const unsigned char *)time_hdr, tl) == 1 &&
               EVP_MAC_update(ctx, (const unsigned char *)"\n", 1) == 1 &&
               EVP_MAC_update(ctx, (const unsigned char *)body, len) == 1 &&
               EVP_MAC_final(ctx, want, &ol, sizeof want) == 1 && ol == 32;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    OPENSSL_cleanse(dk, sizeof dk);
    OPENSSL_cleanse(dkhex, sizeof dkhex);
    if (!good || CRYPTO_memcmp(got, want, 32) != 0) {
        *why = "X-Openfota-Auth does not match: HMAC-SHA256(device key, X-Openfota-Time + \"\\n\" + body) expected";
        return REPORT_BAD;
    }
    *t_ms = t;
    return REPORT_SIGNED;
}
