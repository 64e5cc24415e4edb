/*
 * range.c — single byte-range parsing with overflow-safe arithmetic (range.h).
 */
#include "range.h"

#include <string.h>
#include <strings.h>

#define RANGE_NUM_MAX ((uint64_t)INT64_MAX)

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parse decimal digits at *pp into *out; -1 on no digit or over 63 bits. */
static int parse_num(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return -1;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (RANGE_NUM_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return 0;
}

/* One spec "a-b", "a-" or "-n". kind: 0 a-b, 1 a-, 2 suffix. */
static int parse_spec(const char **pp, int *kind, uint64_t *a, uint64_t *b)
{
    const char *p = skip_ws(*pp);
    if (*p == '-') {
        p++;
        if (parse_num(&p, b) < 0)
            return -1;
        *kind = 2;
    } else {
        if (parse_num(&p, a) < 0)
            return -1;
        if (*p != '-')
            return -1;
        p++;
        if (*p >= '0' && *p <= '9') {
            if (parse_num(&p, b) < 0)
                return -1;
            *kind = 0;
        } else {
            *kind = 1;
        }
    }
    *pp = skip_ws(p);
    return 0;
}

range_result range_parse(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len)
{
    if (hdr == NULL)
        return RANGE_NONE;
    if (strncasecmp(hdr, "bytes=", 6) != 0)
        return RANGE_NONE; /* other units are ignored (RFC 9110 14.2) */
    if (strlen(hdr) > RANGE_HEADER_MAX)
        return RANGE_UNSATISFIABLE;
    const char *p = hdr + 6;
    int count = 0, kind = 0;
    uint64_t a = 0, b = 0, fa = 0, fb = 0;
    int fkind = 0;
    for (;;) {
        if (parse_spec(&p, &kind, &a, &b) < 0)
            return RANGE_UNSATISFIABLE;
        if (kind == 0 && a > b)
            return RANGE_UNSATISFIABLE; /* bytes=5-1 */
        if (count == 0) {
            fkind = kind;
            fa = a;
            fb = b;
        }
        count++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != 0)
            return RANGE_UNSATISFIABLE;
        break;
    }
    if (count > 1)
        return RANGE_NONE; /* multiple ranges: full body */
    if (size == 0)
        return RANGE_UNSATISFIABLE;
    if (fkind == 2) {
        if (fb == 0)
            return RANGE_UNSATISFIABLE; /* bytes=-0 */
        if (fb > size)
            fb = size;
        *start = size - fb;
        *len = fb;
        return RANGE_PARTIAL;
    }
    if (fa >= size)
        return RANGE_UNSATISFIABLE;
    uint64_t end = (fkind == 1 || fb >= size) ? size - 1 : fb;
    *start = fa;
    *len = end - fa + 1;
    return RANGE_PARTIAL;
}

range_result range_decide(const char *range, const char *if_range, const char *etag, uint64_t size,
                          uint64_t *start, uint64_t *len)
{
    if (range == NULL)
        return RANGE_NONE;
    if (if_range != NULL && (etag == NULL || strcmp(if_range, etag) != 0))
        return RANGE_NONE; /* stale validator (or a date): whole current file */
    return range_parse(range, size, start, len);
}
