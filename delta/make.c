/*
 * make.c — host side: builds a patch (ofdelta_make) and applies one held in
 * memory (ofdelta_apply_mem).
 *
 * The records from diff.c become the body payload: per record three varints
 * (diff length, extra length, zigzag seek), then the diff bytes (NEW - OLD,
 * mod 256), then the extra bytes. The payload is compressed as one raw LZMA1
 * stream (liblzma, LZMA_FILTER_LZMA1EXT, no end marker) with a small
 * dictionary so the device decodes it in the window it can afford, and cut
 * into CRC-protected frames. If coding NEW as one extra block is smaller than
 * the delta, that is used instead, so a patch is never larger than NEW
 * compressed with the same settings.
 */
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "delta_int.h"
#include "diff.h"

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_need(buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p, b->cap = cap;
    return 0;
}

static void put_varint(buf *b, uint32_t v)
{
    while (v >= 0x80) {
        b->p[b->n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->n++] = (uint8_t)v;
}

typedef struct payload {
    buf b;
    uint32_t records, ctrl, diff, extra;
} payload;

/* shortest run of equal bytes worth its own (zero run, literal run) pair */
#define ZRUN_MIN 1

/* the diff part of a record: pairs (varint equal-run, varint differ-run,
 * differ-run bytes of NEW - OLD) covering n bytes; an equal run that reaches
 * the end has no differ count after it */
static int put_diff(buf *b, const uint8_t *nw, const uint8_t *old, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint32_t z = i;
        while (z < n && nw[z] == old[z])
            z++;
        uint32_t l = z, run = 0;
        while (l < n) {
            if (nw[l] == old[l]) {
                if (++run >= ZRUN_MIN)
                    break;
            } else {
                run = 0;
            }
            l++;
        }
        if (l < n)
            l -= run - 1; /* leave the run of equal bytes to the next pair */
        else
            l -= run;     /* trailing equal bytes: a final pair (run, 0) codes them */
        if (buf_need(b, 10 + (size_t)(l - z)))
            return -1;
        put_varint(b, z - i);
        if (z == n) /* equal to the end: the differ count is implied */
            break;
        put_varint(b, l - z);
        for (uint32_t k = z; k < l; k++)
            b->p[b->n++] = (uint8_t)(nw[k] - old[k]);
        i = l;
    }
    return 0;
}

static int build_payload(const uint8_t *old, const uint8_t *nw, const delta_recs *r, payload *pl)
{
    memset(pl, 0, sizeof *pl);
    for (size_t i = 0; i < r->n; i++) {
        const delta_rec *x = &r->v[i];
        uint32_t zz = x->seek < 0 ? (uint32_t)((-x->seek - 1) * 2 + 1) : (uint32_t)(x->seek * 2);
        if (buf_need(&pl->b, 15 + (size_t)x->diff_len + x->extra_len))
            return -1;
        size_t c0 = pl->b.n;
        put_varint(&pl->b, x->diff_len);
        put_varint(&pl->b, x->extra_len);
        put_varint(&pl->b, zz);
        pl->ctrl += (uint32_t)(pl->b.n - c0);
        if (put_diff(&pl->b, nw + x->new_pos, old + x->old_pos, x->diff_len))
            return -1;
        if (buf_need(&pl->b, x->extra_len))
            return -1;
        memcpy(pl->b.p + pl->b.n, nw + x->new_pos + x->diff_len, x->extra_len);
        pl->b.n += x->extra_len;
        pl->diff += x->diff_len;
        pl->extra += x->extra_len;
        pl->records++;
    }
    return 0;
}

static ofdelta_err compress(const payload *pl, const ofdelta_make_opts *o, buf *out)
{
    lzma_options_lzma lz;
    if (lzma_lzma_preset(&lz, 9 | LZMA_PRESET_EXTREME))
        return OFDELTA_ERR_LZMA;
    lz.dict_size = o->window;
    lz.lc = (uint32_t)o->lc, lz.lp = (uint32_t)o->lp, lz.pb = (uint32_t)o->pb;
    lz.nice_len = 273;
    lz.ext_flags = 0; /* no end marker: the header gives the size */
    lz.ext_size_low = (uint32_t)pl->b.n;
    lz.ext_size_high = 0;
    lzma_filter f[2] = {{LZMA_FILTER_LZMA1EXT, &lz}, {LZMA_VLI_UNKNOWN, NULL}};
    size_t cap = pl->b.n + pl->b.n / 2 + 1024, pos = 0;
    out->n = 0;
    if (buf_need(out, cap))
        return OFDELTA_ERR_NOMEM;
    lzma_ret r = lzma_raw_buffer_encode(f, NULL, pl->b.p ? pl->b.p : (const uint8_t *)"", pl->b.n, out->p,
                                        &pos, cap);
    if (r != LZMA_OK)
        return r == LZMA_MEM_ERROR ? OFDELTA_ERR_NOMEM : OFDELTA_ERR_LZMA;
    out->n = pos;
    return OFDELTA_OK;
}

static void sha256(const uint8_t *d, size_t n, uint8_t out[32])
{
    delta_sha256 s;
    delta_sha256_init(&s);
    delta_sha256_update(&s, d, n);
    delta_sha256_final(&s, out);
}

ofdelta_err ofdelta_make(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
                         const ofdelta_make_opts *opts, uint8_t **patch, size_t *patch_len,
                         ofdelta_make_stats *stats)
{
    ofdelta_make_opts o = {0, 0, -1, -1, -1};
    delta_recs recs = {0};
    payload pl = {0}, full = {0};
    buf body = {0}, body2 = {0};
    ofdelta_err e = OFDELTA_OK;
    if (!patch || !patch_len || (!old && old_len) || (!nw && new_len))
        return OFDELTA_ERR_ARG;
    if (old_len > OFDELTA_MAX_IMAGE || new_len > OFDELTA_MAX_IMAGE)
        return OFDELTA_ERR_TOO_BIG;
    if (opts)
        o = *opts;
    if (!o.window)
        o.window = OFDELTA_DEFAULT_WINDOW;
    if (!o.frame_size)
        o.frame_size = OFDELTA_DEFAULT_FRAME;
    if (o.lc < 0)
        o.lc = 0;
    if (o.lp < 0)
        o.lp = 0;
    if (o.pb < 0)
        o.pb = 0;
    if (o.window < OFDELTA_MIN_WINDOW || o.window > OFDELTA_MAX_WINDOW || o.frame_size < OFDELTA_MIN_FRAME ||
        o.frame_size > OFDELTA_MAX_FRAME || o.lc > 4 || o.lp > 4 || o.pb > 4 || o.lc + o.lp > 4)
        return OFDELTA_ERR_ARG;

    if (delta_diff(old, (uint32_t)old_len, nw, (uint32_t)new_len, &recs) ||
        build_payload(old, nw, &recs, &pl)) {
        e = OFDELTA_ERR_NOMEM;
        goto out;
    }
    if ((e = compress(&pl, &o, &body)))
        goto out;
    /* NEW as a single extra block: used when it is smaller than the delta
     * (tried only when the delta is not clearly small) */
    if (new_len && body.n > new_len / 16) {
        delta_recs one = {0};
        delta_rec r1 = {0, 0, 0, (uint32_t)new_len, 0};
        one.v = &r1, one.n = 1;
        if (build_payload(old, nw, &one, &full)) {
            e = OFDELTA_ERR_NOMEM;
            goto out;
        }
        if ((e = compress(&full, &o, &body2)))
            goto out;
        if (body2.n < body.n) {
            buf tb = body;
            payload tp = pl;
            body = body2, body2 = tb;
            pl = full, full = tp;
        }
    }

    ofdelta_header h = {0};
    h.version = DELTA_VERSION;
    h.lc = (uint8_t)o.lc, h.lp = (uint8_t)o.lp, h.pb = (uint8_t)o.pb;
    h.window = o.window;
    h.frame_size = o.frame_size;
    h.old_size = (uint32_t)old_len;
    h.new_size = (uint32_t)new_len;
    h.records = pl.records;
    h.ctrl_len = pl.ctrl, h.diff_len = pl.diff, h.extra_len = pl.extra;
    h.body_len = (uint32_t)body.n;
    h.payload_len = (uint32_t)pl.b.n;
    sha256(old ? old : (const uint8_t *)"", old_len, h.old_sha256);
    sha256(nw ? nw : (const uint8_t *)"", new_len, h.new_sha256);

    uint8_t hb[OFDELTA_HEADER_MAX];
    h.header_len = (uint8_t)delta_header_write(&h, hb);
    size_t total = (size_t)ofdelta_patch_size(&h);
    uint8_t *p = malloc(total);
    if (!p) {
        e = OFDELTA_ERR_NOMEM;
        goto out;
    }
    memcpy(p, hb, h.header_len);
    size_t w = h.header_len;
    for (uint32_t i = 0, off = 0; off < body.n; i++) {
        uint32_t n = (uint32_t)(body.n - off < o.frame_size ? body.n - off : o.frame_size);
        memcpy(p + w, body.p + off, n);
        delta_put32(p + w + n, delta_frame_crc(i, body.p + off, n));
        w += n + 4, off += n;
    }
    *patch = p;
    *patch_len = total;
    if (stats) {
        stats->records = pl.records;
        stats->diff_bytes = pl.diff;
        stats->extra_bytes = pl.extra;
        stats->patch_size = total;
        stats->workspace = ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size);
        stats->full_image = old_len && new_len && pl.diff == 0;
    }
out:
    free(recs.v);
    free(pl.b.p);
    free(full.b.p);
    free(body.p);
    free(body2.p);
    return e;
}

/* ---- in-memory apply (host helper, tests, CLI) */

typedef struct mem_io {
    const uint8_t *old;
    size_t old_len;
    uint8_t *out;
    size_t cap;
} mem_io;

static int mem_read(void *ctx, uint32_t off, uint8_t *b, size_t len)
{
    mem_io *m = ctx;
    if (off > m->old_len || len > m->old_len - off)
        return -1;
    memcpy(b, m->old + off, len);
    return 0;
}

static int mem_write(void *ctx, uint32_t off, const uint8_t *b, size_t len)
{
    mem_io *m = ctx;
    if (off > m->cap || len > m->cap - off)
        return -1;
    memcpy(m->out + off, b, len);
    return 0;
}

ofdelta_err ofdelta_apply_mem(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                              uint8_t **out, size_t *out_len)
{
    ofdelta_header h;
    ofdelta_patch *p;
    ofdelta_err e;
    if (!patch || !out || !out_len || (!old && old_len))
        return OFDELTA_ERR_ARG;
    if ((e = ofdelta_header_parse(patch, patch_len, &h)))
        return e;
    if (h.old_size != old_len)
        return OFDELTA_ERR_BASE_SIZE;
    size_t wsn = ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size);
    void *ws = malloc(wsn);
    mem_io m = {old, old_len, malloc(h.new_size ? h.new_size : 1), h.new_size};
    if (!ws || !m.out) {
        free(ws);
        free(m.out);
        return OFDELTA_ERR_NOMEM;
    }
    ofdelta_io io = {mem_read, mem_write, &m};
    if (!(e = ofdelta_patch_init(&p, ws, wsn, &io)) && !(e = ofdelta_patch_feed(p, patch, patch_len)))
        e = ofdelta_patch_finish(p);
    free(ws);
    if (e) {
        free(m.out);
        return e;
    }
    *out = m.out;
    *out_len = h.new_size;
    return OFDELTA_OK;
}
