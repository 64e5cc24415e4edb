/*
 * console_parse.c — see console_parse.h.
 */
#include "console_parse.h"

#include <jansson.h>
#include <string.h>
#include <strings.h>

static int is_ws(char c) { return c == ' ' || c == '\t'; }

int console_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
    if (header == NULL || name == NULL || cap == 0)
        return -1;
    size_t nl = strlen(name);
    const char *p = header;
    while (*p) {
        while (is_ws(*p) || *p == ';')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ';')
            p++;
        const char *ke = p;
        while (ke > k && is_ws(ke[-1]))
            ke--;
        if (*p != '=') { /* a bare name without value: skip it */
            continue;
        }
        p++;
        while (is_ws(*p))
            p++;
        const char *v = p;
        while (*p && *p != ';')
            p++;
        const char *ve = p;
        while (ve > v && is_ws(ve[-1]))
            ve--;
        if ((size_t)(ke - k) == nl && !strncmp(k, name, nl)) {
            size_t vl = (size_t)(ve - v);
            if (vl + 1 > cap)
                return -1;
            for (size_t i = 0; i < vl; i++)
                if ((unsigned char)v[i] < 0x21 || v[i] == 0x7f || v[i] == '"' || v[i] == ',' || v[i] == '\\')
                    return -1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 0;
        }
    }
    return -1;
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

static int token_chars_ok(const char *t, size_t l)
{
    if (l == 0)
        return 0;
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
            return 0;
    return 1;
}

int console_login_token(const char *ctype, const char *body, size_t len, char *out, size_t cap, const char **why)
{
    static const char *const empty = "the token is empty or has spaces or control characters: paste the admin token "
                                     "(DATA/admin.token)";
    if (len > CONSOLE_LOGIN_MAX) {
        *why = "the login body is larger than 4 KiB";
        return -1;
    }
    if (body == NULL)
        body = "";
    if (ctype && !strncasecmp(ctype, "application/json", 16)) {
        json_error_t je;
        json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        json_t *t = json_is_object(j) ? json_object_get(j, "token") : NULL;
        if (!json_is_string(t)) {
            json_decref(j);
            *why = "the login body must be a JSON object with a \"token\" string";
            return -1;
        }
        size_t tl = json_string_length(t);
        const char *tv = json_string_value(t);
        if (tl + 1 > cap || !token_chars_ok(tv, tl) || strlen(tv) != tl) {
            json_decref(j);
            *why = tl + 1 > cap ? "the token is too long: the admin token has 16 to 64 characters" : empty;
            return -1;
        }
        memcpy(out, tv, tl + 1);
        json_decref(j);
        return 0;
    }
    /* form: token=...&... */
    size_t i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && body[i] != '&')
            i++;
        size_t e = i;
        i++;
        if (e - s >= 6 && !memcmp(body + s, "token=", 6)) {
            size_t o = 0;
            for (size_t k = s + 6; k < e; k++) {
                char c = body[k];
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    int h = k + 2 < e ? hexval(body[k + 1]) : -1, l2 = k + 2 < e ? hexval(body[k + 2]) : -1;
                    if (h < 0 || l2 < 0) {
                        *why = "the form body has a bad %-escape in token";
                        return -1;
                    }
                    c = (char)(h * 16 + l2);
                    k += 2;
                }
                if (o + 1 >= cap) {
                    *why = "the token is too long: the admin token has 16 to 64 characters";
                    return -1;
                }
                out[o++] = c;
            }
            out[o] = 0;
            if (!token_chars_ok(out, o) || strlen(out) != o) {
                *why = empty;
                return -1;
            }
            return 0;
        }
    }
    *why = "the login body has no token field: send token=<admin token>";
    return -1;
}

/* "scheme://host[:port]" prefix of a URL: its length, or 0 when malformed. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL || p == url)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (size_t)(p - url);
}

int console_origin_ok(const char *origin, const char *host, const char *public_url)
{
    if (origin == NULL)
        return 1;
    if (host && *host) {
        size_t hl = strlen(host);
        if (!strncmp(origin, "http://", 7) && strlen(origin + 7) == hl && !strcasecmp(origin + 7, host))
            return 1;
        if (!strncmp(origin, "https://", 8) && strlen(origin + 8) == hl && !strcasecmp(origin + 8, host))
            return 1;
    }
    if (public_url && *public_url) {
        size_t ol = origin_len(public_url);
        if (ol > 0 && strlen(origin) == ol && !strncasecmp(origin, public_url, ol))
            return 1;
    }
    return 0;
}
