/*
 * proxy.c — trusted proxies and X-Forwarded-For (proxy.h).
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One address (no brackets, no port) into family/addr. 0 ok, -1 not one. */
static int addr_parse(const char *s, size_t len, int *family, unsigned char addr[16])
{
    char buf[PROXY_ADDR_TEXT];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

int proxy_list_parse(const char *text, proxy_list *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (text == NULL || !strcmp(text, "") || !strcmp(text, "none"))
        return 0;
    const char *p = text;
    while (*p) {
        while (is_space(*p) || *p == ',')
            p++;
        if (*p == 0)
            break;
        const char *e = p;
        while (*e && *e != ',' && !is_space(*e))
            e++;
        const char *slash = memchr(p, '/', (size_t)(e - p));
        proxy_net n;
        memset(&n, 0, sizeof n);
        if (addr_parse(p, (size_t)((slash ? slash : e) - p), &n.family, n.addr) < 0) {
            snprintf(err, errlen, "trusted_proxies: '%.*s' is not an IPv4 or IPv6 address (ADDR or ADDR/BITS)",
                     (int)(e - p > 60 ? 60 : e - p), p);
            return -1;
        }
        unsigned max = n.family == AF_INET ? 32 : 128;
        n.prefix = max;
        if (slash) {
            unsigned v = 0;
            const char *q = slash + 1;
            if (q == e || e - q > 3) {
                snprintf(err, errlen, "trusted_proxies: '%.*s': the network size after '/' must be 0-%u bits",
                         (int)(e - p > 60 ? 60 : e - p), p, max);
                return -1;
            }
            for (; q < e; q++) {
                if (*q < '0' || *q > '9') {
                    v = 999;
                    break;
                }
                v = v * 10 + (unsigned)(*q - '0');
            }
            if (v > max) {
                snprintf(err, errlen, "trusted_proxies: '%.*s': the network size after '/' must be 0-%u bits",
                         (int)(e - p > 60 ? 60 : e - p), p, max);
                return -1;
            }
            n.prefix = v;
        }
        if (out->n == PROXY_NETS_MAX) {
            snprintf(err, errlen, "trusted_proxies: at most %d entries", PROXY_NETS_MAX);
            return -1;
        }
        out->nets[out->n++] = n;
        p = e;
    }
    return 0;
}

static int in_net(const proxy_net *n, int family, const unsigned char *addr)
{
    if (n->family != family)
        return 0;
    unsigned full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(n->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (addr[full] & mask);
}

int proxy_list_match(const proxy_list *l, int family, const unsigned char *addr)
{
    /* an IPv4 client on an IPv6 socket arrives as ::ffff:a.b.c.d */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    int f4 = family == AF_INET6 && memcmp(addr, mapped, 12) == 0;
    for (size_t i = 0; i < l->n; i++)
        if (in_net(&l->nets[i], family, addr) || (f4 && in_net(&l->nets[i], AF_INET, addr + 12)))
            return 1;
    return 0;
}

/* One list entry, trimmed, with an optional [v6]:port or v4:port form
 * reduced to the address. 0 ok. */
static int entry_addr(const char *s, size_t len, int *family, unsigned char addr[16])
{
    while (len && is_space(*s)) {
        s++;
        len--;
    }
    while (len && is_space(s[len - 1]))
        len--;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        return addr_parse(s + 1, (size_t)(close - s - 1), family, addr);
    }
    if (addr_parse(s, len, family, addr) == 0)
        return 0;
    const char *colon = memchr(s, ':', len);
    if (colon && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) /* a.b.c.d:port */
        return addr_parse(s, (size_t)(colon - s), family, addr) == 0 && *family == AF_INET ? 0 : -1;
    return -1;
}

static int to_text(int family, const unsigned char *addr, char *out, size_t cap)
{
    char b[INET6_ADDRSTRLEN];
    if (inet_ntop(family, addr, b, sizeof b) == NULL)
        return 0;
    return snprintf(out, cap, "%s", b) < (int)cap;
}

int proxy_client(const proxy_list *l, const char *xff, const char *real_ip, char *out, size_t cap)
{
    int family;
    unsigned char addr[16];
    if (xff && xff[0]) {
        size_t len = strnlen(xff, PROXY_XFF_MAX + 1);
        if (len > PROXY_XFF_MAX)
            return 0;
        /* right to left: the first entry that is not a trusted proxy */
        size_t end = len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && xff[start - 1] != ',')
                start--;
            if (entry_addr(xff + start, end - start, &family, addr) < 0)
                return 0; /* a malformed entry: trust nothing left of it */
            if (!proxy_list_match(l, family, addr))
                return to_text(family, addr, out, cap);
            if (start == 0)
                break;
            end = start - 1;
        }
        return 0;
    }
    if (real_ip && real_ip[0] && strnlen(real_ip, PROXY_ADDR_TEXT) < PROXY_ADDR_TEXT &&
        entry_addr(real_ip, strlen(real_ip), &family, addr) == 0)
        return to_text(family, addr, out, cap);
    return 0;
}
