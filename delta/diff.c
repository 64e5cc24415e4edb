/*
 * diff.c — host side: finds how NEW is made of OLD (bsdiff family).
 *
 * A suffix array of OLD (libdivsufsort) gives, for every position of NEW, the
 * longest exact match in OLD. Exact matches are then grown into approximate
 * ones: a region of NEW is coded as "OLD at some offset plus a bytewise
 * difference" as long as more than half the bytes agree, which is what a
 * recompiled firmware looks like (same code, shifted addresses). Whatever no
 * approximate match covers is "extra" data. The result is a list of records
 * (diff length, extra length, seek in OLD) — see docs/delta-format.md.
 *
 * Memory: 4 bytes per OLD byte for the suffix array, plus the record list.
 */
#include <divsufsort.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* a new exact match replaces the current alignment when it is this many
 * bytes longer than what the current alignment already matches. bsdiff uses
 * 8 with 24-byte control tuples; our control values are varints of one or two
 * bytes, so a new record is cheaper and a smaller margin pays (measured: 1-5 %
 * smaller patches on MCU and ESP8266 firmware, 1.5 % larger on a 3.5 MB
 * aarch64 library). */
#define SLACK 7

/* see delta_diff: when to stop searching at every byte, and the stride then */
#define STREAK_LONG 4096
#define STREAK_STEP 8

static uint32_t matchlen(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    uint32_t n = alen < blen ? alen : blen, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* longest match of nw[0..nlen) among the suffixes of old; position in *pos */
static uint32_t search(const int32_t *sa, const uint8_t *old, uint32_t olen, const uint8_t *nw,
                       uint32_t nlen, uint32_t *pos)
{
    uint32_t lo = 0, hi = olen - 1;
    while (hi - lo >= 2) {
        uint32_t mid = lo + (hi - lo) / 2, s = (uint32_t)sa[mid];
        uint32_t n = olen - s < nlen ? olen - s : nlen;
        int c = memcmp(old + s, nw, n);
        if (c < 0 || (c == 0 && n < nlen))
            lo = mid;
        else
            hi = mid;
    }
    uint32_t x = matchlen(old + sa[lo], olen - (uint32_t)sa[lo], nw, nlen);
    uint32_t y = matchlen(old + sa[hi], olen - (uint32_t)sa[hi], nw, nlen);
    if (x >= y) {
        *pos = (uint32_t)sa[lo];
        return x;
    }
    *pos = (uint32_t)sa[hi];
    return y;
}

static int push(delta_recs *r, uint32_t new_pos, uint32_t old_pos, uint32_t dl, uint32_t el, int64_t seek)
{
    /* a record that moves nothing only carries a seek: fold it into the previous one */
    if (!dl && !el && r->n) {
        r->v[r->n - 1].seek += seek;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        delta_rec *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v, r->cap = cap;
    }
    r->v[r->n++] = (delta_rec){new_pos, old_pos, dl, el, seek};
    return 0;
}

int delta_diff(const uint8_t *old, uint32_t olen, const uint8_t *nw, uint32_t nlen, delta_recs *out)
{
    memset(out, 0, sizeof *out);
    if (olen == 0 || nlen == 0) {
        if (nlen && push(out, 0, 0, 0, nlen, 0))
            return -1;
        return 0;
    }
    int32_t *sa = malloc((size_t)olen * sizeof *sa);
    if (!sa)
        return -1;
    if (divsufsort(old, sa, (int32_t)olen) != 0) {
        free(sa);
        return -1;
    }

    uint32_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0;
    int64_t lastoffset = 0;
    int rc = 0;
    while (scan < nlen) {
        uint32_t oldscore = 0, scsc, streak = 0;
        scsc = scan += len;
        while (scan < nlen) {
            len = search(sa, old, olen, nw + scan, nlen - scan, &pos);
            for (; scsc < scan + len; scsc++)
                if ((int64_t)scsc + lastoffset < olen && old[scsc + lastoffset] == nw[scsc])
                    oldscore++;
            if ((len == oldscore && len != 0) || len > oldscore + SLACK)
                break;
            /* Normally the next search is one byte on. After STREAK_LONG
             * searches in a row that found nothing better than the current
             * alignment (data made of near-identical runs at other alignments,
             * the bsdiff worst case), search only every STREAK_STEP bytes. */
            uint32_t step = ++streak > STREAK_LONG ? STREAK_STEP : 1;
            for (uint32_t k = 0; k < step && scan < nlen; k++, scan++)
                if (scan < scsc && (int64_t)scan + lastoffset < olen && old[scan + lastoffset] == nw[scan])
                    oldscore--;
            if (scsc < scan)
                scsc = scan;
        }
        if (len == oldscore && scan != nlen)
            continue;

        /* grow the previous match forward and this one backward */
        int64_t s = 0, sf = 0;
        uint32_t lenf = 0, lenb = 0;
        for (uint32_t i = 0; lastscan + i < scan && lastpos + i < olen;) {
            if (old[lastpos + i] == nw[lastscan + i])
                s++;
            i++;
            if (s * 2 - i > sf * 2 - lenf)
                sf = s, lenf = i;
        }
        if (scan < nlen) {
            int64_t sb = 0;
            s = 0;
            for (uint32_t i = 1; scan >= lastscan + i && pos >= i; i++) {
                if (old[pos - i] == nw[scan - i])
                    s++;
                if (s * 2 - i > sb * 2 - lenb)
                    sb = s, lenb = i;
            }
        }
        if (lastscan + lenf > scan - lenb) {
            uint32_t overlap = (lastscan + lenf) - (scan - lenb), lens = 0;
            int64_t ss = 0;
            s = 0;
            for (uint32_t i = 0; i < overlap; i++) {
                if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i])
                    s++;
                if (nw[scan - lenb + i] == old[pos - lenb + i])
                    s--;
                if (s > ss)
                    ss = s, lens = i + 1;
            }
            lenf += lens - overlap;
            lenb -= lens;
        }
        uint32_t extra = (scan - lenb) - (lastscan + lenf);
        int64_t seek = scan < nlen ? (int64_t)(pos - lenb) - (int64_t)(lastpos + lenf) : 0;
        if (push(out, lastscan, lastpos, lenf, extra, seek)) {
            rc = -1;
            break;
        }
        lastscan = scan - lenb;
        lastpos = pos - lenb;
        lastoffset = (int64_t)pos - scan;
    }
    free(sa);
    if (rc) {
        free(out->v);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
