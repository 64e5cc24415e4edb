/*
 * query.c — raw device check query parsing and identity rules (query.h).
 *
 * Identity rules (documented in docs/api.md):
 *   imei=  14 to 17 decimal digits (15 is an IMEI, 14 one without its check
 *          digit, 16 an IMEISV; 17 tolerated for modules that pad).
 *   mac=   a Wi-Fi MAC (12 hex digits, optionally as aa:bb:cc:dd:ee:ff or
 *          aa-bb-cc-dd-ee-ff) or an MCU unique id (12 to 32 hex digits).
 * Canonical form: separators removed, hex letters upper case.
 */
#include "query.h"

#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int name_is(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n == l && memcmp(p, lit, l) == 0;
}

query_err query_parse(const char *q, size_t len, dev_query *out)
{
    memset(out, 0, sizeof *out);
    if (len > QUERY_MAX)
        return QUERY_TOO_LONG;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && q[i] != '&')
            i++;
        const char *tok = q + start;
        size_t tlen = i - start;
        if (i < len)
            i++; /* skip '&' */
        if (tlen == 0)
            continue;
        const char *eq = memchr(tok, '=', tlen);
        if (eq == NULL) {
            if (name_is(tok, tlen, "nil") && out->id_kind == QUERY_ID_NONE)
                out->id_kind = QUERY_ID_NIL;
            continue;
        }
        size_t nlen = (size_t)(eq - tok);
        qslice val = {eq + 1, tlen - nlen - 1};
        qslice *dst = NULL;
        query_id_kind kind = QUERY_ID_NONE;
        if (name_is(tok, nlen, "imei"))
            kind = QUERY_ID_IMEI;
        else if (name_is(tok, nlen, "mac"))
            kind = QUERY_ID_MAC;
        else if (name_is(tok, nlen, "project_key"))
            dst = &out->project_key;
        else if (name_is(tok, nlen, "firmware_name"))
            dst = &out->firmware_name;
        else if (name_is(tok, nlen, "version"))
            dst = &out->version;
        else
            continue; /* unknown parameter: ignored */
        if (val.len > QUERY_VALUE_MAX)
            return QUERY_VALUE_TOO_LONG;
        if (kind != QUERY_ID_NONE) {
            /* first identity wins; a "nil" seen before a real id is superseded */
            if (out->id_kind == QUERY_ID_NONE || out->id_kind == QUERY_ID_NIL) {
                if (out->id.p == NULL) {
                    out->id_kind = kind;
                    out->id = val;
                }
            }
            continue;
        }
        if (dst->p == NULL) {
            *dst = val;
            if (dst == &out->version)
                out->has_version = 1;
        }
    }
    return QUERY_OK;
}

/* MAC with separators: exactly 17 chars, hex pairs separated by one kind of
 * separator (':' or '-'). Returns 1 and writes 12 upper-case hex chars. */
static int mac_with_separators(const char *s, size_t len, char *out)
{
    if (len != 17)
        return 0;
    char sep = s[2];
    if (sep != ':' && sep != '-')
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != sep)
                return 0;
        } else {
            if (!is_hex(s[i]))
                return 0;
            char c = s[i];
            out[o++] = (c >= 'a' && c <= 'f') ? (char)(c - 32) : c;
        }
    }
    out[o] = 0;
    return 1;
}

static int imei_canon(const char *s, size_t len, char *out, const char **why)
{
    if (len < 14 || len > 17) {
        *why = "imei must be 14 to 17 decimal digits (an IMEI has 15); check the value the device sends";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i])) {
            *why = "imei must be decimal digits only; check the value the device sends";
            return -1;
        }
    }
    memcpy(out, s, len);
    out[len] = 0;
    return 0;
}

static int hex_canon(const char *s, size_t len, char *out, const char **why)
{
    if (mac_with_separators(s, len, out))
        return 0;
    if (len < 12 || len > 32) {
        *why = "mac must be a Wi-Fi MAC (12 hex digits, colons allowed) or an MCU unique id of 12 to 32 hex digits";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!is_hex(s[i])) {
            *why = "mac must be hex digits only (a Wi-Fi MAC or an MCU unique id)";
            return -1;
        }
        char c = s[i];
        out[i] = (c >= 'a' && c <= 'f') ? (char)(c - 32) : c;
    }
    out[len] = 0;
    return 0;
}

int query_identity(const dev_query *q, char out[DEVICE_ID_MAX], const char **why)
{
    switch (q->id_kind) {
    case QUERY_ID_NONE:
        *why = "no device identity: the request needs imei= (or mac=) in lower case; "
               "the device URL must end with '?'";
        return -1;
    case QUERY_ID_NIL:
        *why = "the device sent 'nil' instead of its identity (unknown model): "
               "set opts.imei in the device script's libfota2.request call";
        return -1;
    case QUERY_ID_IMEI:
        if (q->id.len == 0) {
            *why = "imei is empty; check the device script";
            return -1;
        }
        return imei_canon(q->id.p, q->id.len, out, why);
    case QUERY_ID_MAC:
        if (q->id.len == 0) {
            *why = "mac is empty; check the device script";
            return -1;
        }
        return hex_canon(q->id.p, q->id.len, out, why);
    }
    *why = "invalid device identity";
    return -1;
}

int device_id_canon(const char *s, size_t len, char out[DEVICE_ID_MAX], const char **why)
{
    if (s == NULL || len == 0) {
        *why = "device id is empty";
        return -1;
    }
    int all_digits = 1;
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            all_digits = 0;
    if (all_digits && len >= 14 && len <= 17)
        return imei_canon(s, len, out, why);
    if (hex_canon(s, len, out, why) == 0)
        return 0;
    *why = "device id must be an IMEI (14-17 digits), a MAC (12 hex digits) or an MCU id (12-32 hex digits)";
    return -1;
}

int query_path_mistake(const char *path, size_t len, size_t *rest_off)
{
    static const char *const bases[] = {"/api/site/firmware_upgrade", "/upgrade"};
    static const char *const glued[] = {"imei=", "mac=", "nil", "project_key="};
    for (size_t b = 0; b < 2; b++) {
        size_t bl = strlen(bases[b]);
        if (len <= bl || memcmp(path, bases[b], bl) != 0)
            continue;
        for (size_t g = 0; g < 4; g++) {
            size_t gl = strlen(glued[g]);
            if (len - bl >= gl && memcmp(path + bl, glued[g], gl) == 0) {
                *rest_off = bl;
                return 1;
            }
        }
    }
    return 0;
}
