/*
 * lzma_dec.c — a minimal LZMA1 decoder for the patcher.
 *
 * Decodes the raw LZMA1 stream (no container, no end marker: the caller knows
 * the uncompressed size) that liblzma's LZMA_FILTER_LZMA1EXT encoder writes
 * for the patch body. It works one symbol at a time so the patcher can stop
 * between any two symbols: the caller guarantees LZD_MAX_SYMBOL_INPUT bytes
 * of input per call (or the true end of the stream), and every read is still
 * bounds-checked so a corrupt stream can never read past `end`.
 *
 * Memory: the fixed probabilities live in struct lzd (~3.7 KB), the literal
 * probabilities (0x300 << (lc + lp) entries of 2 bytes) and the dictionary
 * ring (dict_size bytes) in the caller's workspace. No heap, no libc beyond
 * memset.
 *
 * Written from the LZMA specification (lzma-specification.txt in the LZMA
 * SDK): range coder with 11-bit probabilities, 12-state machine, 4 repeat
 * distances, length coders with low/mid/high trees.
 */
#include <string.h>

#include "delta_int.h"

enum {
    P_IS_MATCH = 0,
    P_IS_REP0_LONG = P_IS_MATCH + LZD_NUM_STATES * LZD_POS_STATES_MAX,
    P_IS_REP = P_IS_REP0_LONG + LZD_NUM_STATES * LZD_POS_STATES_MAX,
    P_IS_REP_G0 = P_IS_REP + LZD_NUM_STATES,
    P_IS_REP_G1 = P_IS_REP_G0 + LZD_NUM_STATES,
    P_IS_REP_G2 = P_IS_REP_G1 + LZD_NUM_STATES,
    P_POS_SLOT = P_IS_REP_G2 + LZD_NUM_STATES,
    P_SPEC_POS = P_POS_SLOT + 4 * 64,
    P_ALIGN = P_SPEC_POS + 114,
    P_LEN = P_ALIGN + 16,
    P_REP_LEN = P_LEN + LZD_LEN_PROBS,
    P_END = P_REP_LEN + LZD_LEN_PROBS,
};
_Static_assert(P_END == LZD_FIXED_PROBS, "probability layout");

typedef struct rcd {
    uint32_t range, code;
    const uint8_t *in, *end;
    int err;
} rcd;

static void rc_norm(rcd *r)
{
    if (r->range < (1u << 24)) {
        r->range <<= 8;
        r->code <<= 8;
        if (r->in < r->end)
            r->code |= *r->in++;
        else
            r->err = 1;
    }
}

static uint32_t rc_bit(rcd *r, uint16_t *p)
{
    rc_norm(r);
    uint32_t bound = (r->range >> 11) * *p;
    if (r->code < bound) {
        r->range = bound;
        *p = (uint16_t)(*p + ((2048u - *p) >> 5));
        return 0;
    }
    r->range -= bound;
    r->code -= bound;
    *p = (uint16_t)(*p - (*p >> 5));
    return 1;
}

static uint32_t rc_tree(rcd *r, uint16_t *p, unsigned bits)
{
    uint32_t m = 1;
    for (unsigned i = 0; i < bits; i++)
        m = (m << 1) | rc_bit(r, p + m);
    return m - (1u << bits);
}

static uint32_t rc_rtree(rcd *r, uint16_t *p, unsigned bits)
{
    uint32_t m = 1, s = 0;
    for (unsigned i = 0; i < bits; i++) {
        uint32_t b = rc_bit(r, p + m);
        m = (m << 1) | b;
        s |= b << i;
    }
    return s;
}

static uint32_t rc_direct(rcd *r, unsigned bits)
{
    uint32_t s = 0;
    while (bits--) {
        rc_norm(r);
        r->range >>= 1;
        uint32_t b = r->code >= r->range;
        if (b)
            r->code -= r->range;
        s = (s << 1) | b;
    }
    return s;
}

static uint32_t dec_len(rcd *r, uint16_t *L, uint32_t ps)
{
    if (!rc_bit(r, &L[0]))
        return rc_tree(r, L + 2 + ps * 8, 3);
    if (!rc_bit(r, &L[1]))
        return 8 + rc_tree(r, L + 2 + 128 + ps * 8, 3);
    return 16 + rc_tree(r, L + 2 + 256, 8);
}

void lzd_reset(lzd *d, uint16_t *lit, uint32_t lc, uint32_t lp, uint32_t pb, uint32_t dict_size)
{
    memset(d, 0, sizeof *d);
    d->lc = lc, d->lp = lp, d->pb = pb, d->dict_size = dict_size;
    d->range = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < LZD_FIXED_PROBS; i++)
        d->probs[i] = 1024;
    for (uint32_t i = 0; i < lzd_lit_probs(lc, lp); i++)
        lit[i] = 1024;
}

int lzd_rc_init(lzd *d, const uint8_t **in, const uint8_t *end)
{
    const uint8_t *p = *in;
    if (end - p < 5 || p[0] != 0)
        return -1;
    d->code = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
    d->range = 0xFFFFFFFFu;
    d->rc_ready = 1;
    *in = p + 5;
    return 0;
}

/* index of the byte `back` positions behind the write position (1 <= back <= dict_size) */
static uint32_t behind(const lzd *d, uint32_t back)
{
    return d->dict_pos >= back ? d->dict_pos - back : d->dict_pos + d->dict_size - back;
}

int lzd_symbol(lzd *d, uint16_t *lit, uint8_t *dict, const uint8_t **in, const uint8_t *end,
               uint32_t max_out)
{
    rcd r = {d->range, d->code, *in, end, 0};
    uint16_t *P = d->probs;
    uint32_t ps = d->total & ((1u << d->pb) - 1);
    uint32_t st = d->state, len, n;

    if (max_out == 0 || st >= LZD_NUM_STATES)
        return -1;
    if (!rc_bit(&r, &P[P_IS_MATCH + (st << 4) + ps])) {
        uint32_t prev = d->total ? dict[behind(d, 1)] : 0;
        uint32_t ctx = ((d->total & ((1u << d->lp) - 1)) << d->lc) + (prev >> (8 - d->lc));
        uint16_t *lp = lit + 0x300 * ctx;
        uint32_t sym = 1;
        if (st >= 7) {
            if (d->rep[0] >= d->total || d->rep[0] >= d->dict_size)
                return -1;
            uint32_t mb = dict[behind(d, d->rep[0] + 1)];
            do {
                uint32_t mbit = (mb >> 7) & 1;
                mb <<= 1;
                uint32_t b = rc_bit(&r, &lp[0x100 + (mbit << 8) + sym]);
                sym = (sym << 1) | b;
                if (mbit != b)
                    break;
            } while (sym < 0x100);
        }
        while (sym < 0x100)
            sym = (sym << 1) | rc_bit(&r, &lp[sym]);
        dict[d->dict_pos] = (uint8_t)sym;
        if (++d->dict_pos == d->dict_size)
            d->dict_pos = 0;
        d->state = st < 4 ? 0 : st < 10 ? st - 3 : st - 6;
        n = 1;
        goto out;
    }
    if (!rc_bit(&r, &P[P_IS_REP + st])) {
        len = dec_len(&r, P + P_LEN, ps);
        st = st < 7 ? 7 : 10;
        uint32_t slot = rc_tree(&r, P + P_POS_SLOT + (len < 4 ? len : 3) * 64, 6), dist;
        if (slot < 4) {
            dist = slot;
        } else {
            uint32_t nd = (slot >> 1) - 1;
            dist = (2 | (slot & 1)) << nd;
            if (slot < 14) {
                dist += rc_rtree(&r, P + P_SPEC_POS + dist - slot - 1, nd);
            } else {
                dist += rc_direct(&r, nd - 4) << 4;
                dist += rc_rtree(&r, P + P_ALIGN, 4);
            }
        }
        d->rep[3] = d->rep[2], d->rep[2] = d->rep[1], d->rep[1] = d->rep[0], d->rep[0] = dist;
    } else {
        if (!rc_bit(&r, &P[P_IS_REP_G0 + st])) {
            if (!rc_bit(&r, &P[P_IS_REP0_LONG + (st << 4) + ps])) {
                if (d->rep[0] >= d->total || d->rep[0] >= d->dict_size)
                    return -1;
                dict[d->dict_pos] = dict[behind(d, d->rep[0] + 1)];
                if (++d->dict_pos == d->dict_size)
                    d->dict_pos = 0;
                d->state = st < 7 ? 9 : 11;
                n = 1;
                goto out;
            }
        } else {
            uint32_t dist;
            if (!rc_bit(&r, &P[P_IS_REP_G1 + st])) {
                dist = d->rep[1];
            } else {
                if (!rc_bit(&r, &P[P_IS_REP_G2 + st])) {
                    dist = d->rep[2];
                } else {
                    dist = d->rep[3];
                    d->rep[3] = d->rep[2];
                }
                d->rep[2] = d->rep[1];
            }
            d->rep[1] = d->rep[0];
            d->rep[0] = dist;
        }
        len = dec_len(&r, P + P_REP_LEN, ps);
        st = st < 7 ? 8 : 11;
    }
    /* copy a match of len + 2 bytes from rep0 + 1 bytes back */
    len += 2;
    if (d->rep[0] >= d->total || d->rep[0] >= d->dict_size || len > max_out)
        return -1; /* includes the end marker (0xFFFFFFFF), not allowed here */
    {
        uint32_t src = behind(d, d->rep[0] + 1);
        for (uint32_t i = 0; i < len; i++) {
            dict[d->dict_pos] = dict[src];
            if (++src == d->dict_size)
                src = 0;
            if (++d->dict_pos == d->dict_size)
                d->dict_pos = 0;
        }
    }
    d->state = st;
    n = len;
out:
    if (r.err)
        return -1;
    d->range = r.range;
    d->code = r.code;
    d->total += n;
    *in = r.in;
    return (int)n;
}
