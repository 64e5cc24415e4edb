/*
 * push_parse.c — the first-line parser of the TCP push port and the command
 * builder (see push_parse.h). Input is untrusted: lengths are checked before
 * anything is copied, JSON goes through jansson with a byte count (NULs in the
 * line are refused, never truncated silently).
 */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "offleet.h"
#include "push_parse.h"

int push_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > PUSH_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

static int all_in(const char *s, size_t len, int hex)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= '0' && c <= '9') ||
                 (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
        if (!ok)
            return 0;
    }
    return 1;
}

static int version_valid(const char *s, size_t len)
{
    if (len > PUSH_VERSION_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
            return 0;
    return 1;
}

static int parse_json(const char *line, size_t len, char *id, char *version, char *auth, const char **why)
{
    json_error_t err;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    int rc = FLEET_ERR_PROTOCOL;
    if (!root) {
        *why = "first line starts with '{' but is not valid JSON";
        return rc;
    }
    if (!json_is_object(root)) {
        *why = "first line is JSON but not an object";
        goto out;
    }
    const char *keys[] = {"imei", "mac", "id"};
    json_t *v = NULL;
    for (size_t i = 0; i < 3 && !v; i++)
        v = json_object_get(root, keys[i]);
    if (!v) {
        *why = "JSON first line has no \"imei\" (or \"mac\"/\"id\") member";
        goto out;
    }
    if (!json_is_string(v)) {
        *why = "\"imei\" must be a JSON string of digits";
        goto out;
    }
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (!push_id_valid(s, n) || strlen(s) != n) {
        *why = "device id must be 1..64 characters of 0-9 A-Z a-z _ . : -";
        goto out;
    }
    memcpy(id, s, n);
    id[n] = '\0';
    push_id_canon(id);
    version[0] = '\0';
    json_t *ver = json_object_get(root, "version");
    if (ver) {
        if (!json_is_string(ver) || !version_valid(json_string_value(ver), json_string_length(ver)) ||
            strlen(json_string_value(ver)) != json_string_length(ver)) {
            *why = "\"version\" must be a string like 2012.1.3 (at most 31 characters)";
            goto out;
        }
        memcpy(version, json_string_value(ver), json_string_length(ver) + 1);
    }
    /* a malformed "auth" is refused even by a server without a push key:
     * no device sends one without meaning it */
    json_t *a = json_object_get(root, "auth");
    if (a) {
        const char *as = json_string_value(a);
        if (!json_is_string(a) || json_string_length(a) != PUSH_AUTH_HEX || strlen(as) != PUSH_AUTH_HEX ||
            !all_in(as, PUSH_AUTH_HEX, 1)) {
            *why = "\"auth\" must be a string of 64 hex digits (HMAC-SHA256)";
            goto out;
        }
        if (auth)
            memcpy(auth, as, PUSH_AUTH_HEX + 1);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void push_id_canon(char *id)
{
    /* a hex unique id (MAC, MCU id) in the server's canonical form: upper
     * case, no ':' or '-' separators; IMEI digits and other ids unchanged */
    size_t n = strlen(id), hex = 0, letters = 0, seps = 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c == ':' || c == '-')
            seps++;
        else if ((c >= '0' && c <= '9'))
            hex++;
        else if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            hex++, letters++;
        else
            return;
    }
    if ((!letters && !seps) || hex < 12 || hex > 32)
        return;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (c == ':' || c == '-')
            continue;
        id[o++] = (c >= 'a' && c <= 'f') ? (char)(c - 'a' + 'A') : c;
    }
    id[o] = '\0';
}

static int parse_ident(const char *line, size_t len, char *id, char *version, char *auth, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    /* surrounding blanks are tolerated (terminal tools add them) */
    while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
        line++;
        len--;
    }
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0) {
        *why = "empty first line: send the device id (IMEI digits) or {\"imei\":\"…\"}";
        return FLEET_ERR_PROTOCOL;
    }
    if (memchr(line, '\0', len)) {
        *why = "first line contains a NUL byte";
        return FLEET_ERR_PROTOCOL;
    }
    if (line[0] == '{')
        return parse_json(line, len, id, version, auth, why);
    if (len >= 6 && len <= 20 && all_in(line, len, 0)) {
        memcpy(id, line, len);
        id[len] = '\0';
        version[0] = '\0';
        return 0;
    }
    if (len >= 8 && len <= 32 && all_in(line, len, 1) && !all_in(line, len, 0)) {
        memcpy(id, line, len);
        id[len] = '\0';
        push_id_canon(id);
        version[0] = '\0';
        return 0;
    }
    *why = "first line is neither an IMEI (6-20 digits), a hex id (8-32 hex digits) "
           "nor JSON {\"imei\":\"…\"}";
    return FLEET_ERR_PROTOCOL;
}

int push_parse_ident(const char *line, size_t len, char *id, char *version, const char **why)
{
    return parse_ident(line, len, id, version, NULL, why);
}

int push_parse_ident_auth(const char *line, size_t len, char *id, char *version, char *auth,
                          const char **why)
{
    auth[0] = '\0';
    return parse_ident(line, len, id, version, auth, why);
}

void push_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void push_device_key(const unsigned char *key, size_t key_len, const char *id, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)id, strlen(id), out, &n);
}

int push_auth_verify(const unsigned char *key, size_t key_len, const char *nonce, const char *id,
                     const char *auth)
{
    unsigned char got[32], dk[32], want[32];
    if (!auth || strlen(auth) != PUSH_AUTH_HEX)
        return FLEET_ERR_PROTOCOL;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(auth[2 * i]), lo = hexval(auth[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return FLEET_ERR_PROTOCOL;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t nl = strlen(nonce), il = strlen(id);
    unsigned char msg[PUSH_NONCE_HEX * 2 + PUSH_ID_MAX];
    if (nl + il > sizeof msg)
        return FLEET_ERR_PROTOCOL;
    memcpy(msg, nonce, nl);
    memcpy(msg + nl, id, il);
    push_device_key(key, key_len, id, dk);
    unsigned int n = 32;
    HMAC(EVP_sha256(), dk, 32, msg, nl + il, want, &n);
    int diff = CRYPTO_memcmp(got, want, 32);
    OPENSSL_cleanse(dk, sizeof dk);
    return diff == 0 ? 0 : FLEET_ERR_PROTOCOL;
}

int push_key_parse(const char *text, size_t len, unsigned char out[PUSH_KEY_MAX], const char **why)
{
    while (len > 0 && (text[0] == ' ' || text[0] == '\t' || text[0] == '\r' || text[0] == '\n'))
        text++, len--;
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r' ||
                       text[len - 1] == '\n'))
        len--;
    if (len % 2 || len / 2 < PUSH_KEY_MIN || len / 2 > PUSH_KEY_MAX) {
        *why = "the push key must be 32 to 128 hex digits (16 to 64 bytes), e.g. from 'openssl rand -hex 32'";
        return -1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            *why = "the push key must contain hex digits only";
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return (int)(len / 2);
}

int push_build_command(const char *url, const char *version, char *buf, size_t size)
{
    if (!url || !*url)
        return FLEET_ERR_INVAL;
    json_t *o = json_object();
    if (!o)
        return FLEET_ERR_NOMEM;
    json_object_set_new(o, "fota", json_string("true"));
    json_object_set_new(o, "url", json_string(url));
    if (version && *version)
        json_object_set_new(o, "version", json_string(version));
    if (!json_object_get(o, "url")) { /* not UTF-8 */
        json_decref(o);
        return FLEET_ERR_INVAL;
    }
    size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int rc;
    if (need == 0) {
        rc = FLEET_ERR_INVAL;
    } else if (need + 2 > size) {
        rc = FLEET_ERR_LIMIT;
    } else {
        json_dumpb(o, buf, need, JSON_COMPACT | JSON_PRESERVE_ORDER);
        buf[need] = '\n';
        buf[need + 1] = '\0';
        rc = (int)need + 1;
    }
    json_decref(o);
    return rc;
}
