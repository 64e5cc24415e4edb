/*
 * version.c — CORE.X.Z parsing and the script upgrade rule (see version.h).
 */
#include "version.h"

#include <stdio.h>

/* Parse one part of at most 9 digits (enough for 999999 with leading zeros;
 * longer parts are refused before any arithmetic can overflow). */
static version_err part_parse(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    if (len == 0)
        return VERSION_NOT_DIGITS;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return VERSION_NOT_DIGITS;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > max)
            return VERSION_TOO_BIG; /* stops before v can grow: no wraparound */
    }
    *out = (uint32_t)v;
    return VERSION_OK;
}

version_err version_parse(const char *s, size_t len, of_version *v)
{
    if (s == NULL || len == 0)
        return VERSION_EMPTY;
    size_t dots[2];
    int nd = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (nd == 2)
                return VERSION_PARTS;
            dots[nd++] = i;
        }
    }
    if (nd != 2)
        return VERSION_PARTS;
    version_err e;
    if ((e = part_parse(s, dots[0], VERSION_CORE_MAX, &v->core)) != VERSION_OK)
        return e;
    if ((e = part_parse(s + dots[0] + 1, dots[1] - dots[0] - 1, VERSION_PART_MAX, &v->x)) != VERSION_OK)
        return e;
    return part_parse(s + dots[1] + 1, len - dots[1] - 1, VERSION_PART_MAX, &v->z);
}

const char *version_strerror(version_err e)
{
    switch (e) {
    case VERSION_OK: return "ok";
    case VERSION_EMPTY: return "version is missing or empty; expected CORE.X.Z such as 2012.001.001";
    case VERSION_PARTS: return "version must have exactly three parts CORE.X.Z such as 2012.001.001";
    case VERSION_NOT_DIGITS: return "every version part must be decimal digits (CORE.X.Z such as 2012.001.001)";
    case VERSION_TOO_BIG: return "version part too large: core at most 999999, X and Z at most 999";
    }
    return "invalid version";
}

void version_format(const of_version *v, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%u.%03u.%03u", v->core, v->x, v->z);
}

int version_script_upgrade(uint32_t a1, uint32_t c1, uint32_t a2, uint32_t c2)
{
    return (a2 == a1 && c2 > c1) || (a2 > a1 && c2 >= c1);
}

int version_cmp(const of_version *a, const of_version *b)
{
    if (a->core != b->core)
        return a->core < b->core ? -1 : 1;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->z != b->z)
        return a->z < b->z ? -1 : 1;
    return 0;
}
