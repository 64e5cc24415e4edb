/*
 * sim_version.c — versions "CORE.X.Z" as devices send them (the core build
 * number, then the first and third parts of the script version, leading
 * zeros kept as written).
 */
#include "sim_internal.h"

#include <stdio.h>

static int part(const char **s, unsigned maxdig, uint32_t *v, uint8_t *w)
{
    uint32_t x = 0;
    unsigned n = 0;
    while (**s >= '0' && **s <= '9') {
        if (++n > maxdig)
            return -1;
        x = x * 10 + (uint32_t)(**s - '0');
        (*s)++;
    }
    if (n == 0)
        return -1;
    *v = x;
    *w = (uint8_t)n;
    return 0;
}

int sim_version_parse(const char *s, sim_version *out)
{
    uint32_t c, x, z;
    uint8_t cw, xw, zw;
    if (!s || part(&s, 9, &c, &cw) || *s++ != '.' || part(&s, 3, &x, &xw) || *s++ != '.' ||
        part(&s, 3, &z, &zw) || *s)
        return -1;
    out->core = c;
    out->x = (uint16_t)x;
    out->z = (uint16_t)z;
    out->xw = xw;
    out->zw = zw;
    return 0;
}

int sim_version_format(const sim_version *v, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%u.%0*u.%0*u", (unsigned)v->core, v->xw ? v->xw : 1,
                     (unsigned)v->x, v->zw ? v->zw : 1, (unsigned)v->z);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}
