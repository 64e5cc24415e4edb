/*
 * utf8.c — UTF-8 validation and repair (utf8.h).
 */
#include "utf8.h"

#include <string.h>

/* Length of the valid sequence at in (at most avail bytes), 0 when the
 * bytes there are not one; *truncated = 1 when they are a valid start cut
 * short by the end of the input. */
static size_t seq_len(const unsigned char *in, size_t avail, int *truncated)
{
    *truncated = 0;
    unsigned char c = in[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* over U+10FFFF */
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (i >= avail) {
            *truncated = 1;
            return 0;
        }
        unsigned char b = in[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return 0;
    }
    return n;
}

size_t utf8_clean(char *out, size_t cap, const char *in, size_t inlen)
{
    static const char repl[] = "\xEF\xBF\xBD";
    if (cap == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0, i = 0;
    while (i < inlen) {
        int trunc;
        size_t n = seq_len(p + i, inlen - i, &trunc);
        if (trunc)
            break; /* a character cut by whoever shortened the text: leave it out */
        const char *src = n ? in + i : repl;
        size_t w = n ? n : 3;
        if (o + w + 1 > cap)
            break;
        memcpy(out + o, src, w);
        o += w;
        i += n ? n : 1;
    }
    out[o] = 0;
    return o;
}

void utf8_clean_inplace(char *s, size_t cap)
{
    char tmp[512];
    if (cap == 0)
        return;
    size_t l = strnlen(s, cap - 1);
    if (l >= sizeof tmp)
        l = sizeof tmp - 1;
    if (utf8_valid(s, l)) {
        s[l] = 0;
        return;
    }
    memcpy(tmp, s, l);
    utf8_clean(s, cap, tmp, l);
}

int utf8_valid(const char *in, size_t len)
{
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < len;) {
        int trunc;
        size_t n = seq_len(p + i, len - i, &trunc);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}
