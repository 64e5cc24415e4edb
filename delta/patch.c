/*
 * patch.c — the streaming patcher: applies a patch fed in chunks of any size,
 * reading OLD at random offsets and writing NEW strictly in order, inside a
 * workspace the caller provides (no heap). Portable C: nothing from libc but
 * memcpy/memset, so it builds for Cortex-M as it is.
 *
 * Pipeline, for every byte fed:
 *   header bytes → parsed and bounded → workspace laid out → OLD hashed and
 *   compared (before any write)
 *   body bytes → frame buffer; a complete frame is CRC-checked, then decoded
 *   by the LZMA1 decoder (lzma_dec.c) into the dictionary ring
 *   decoded bytes → record parser: three varints (diff length, extra length,
 *   old-position seek), then diff bytes (added to OLD bytes read through the
 *   callback) and extra bytes, all bounded before use
 *   NEW bytes → 256-byte output buffer → write_new callback + SHA-256.
 *
 * Workspace layout (offsets from the aligned start of the workspace):
 *   [struct ofdelta_patch][literal probs][dictionary][PAD | frame | CRC]
 * The state holds no pointers except the callbacks, so save/restore is a copy
 * of the used workspace with a checksum.
 */
#include <string.h>

#include "delta_int.h"

#define PAD LZD_MAX_SYMBOL_INPUT /* room for the tail of the previous frame */
#define OUTBUF 256
#define PATCH_MAGIC 0x5044464fu /* "OFDP" */
#define SAVE_MAGIC 0x5344464fu  /* "OFDS" */
#define SAVE_HDR 16

enum { PH_HEADER = 1, PH_BODY, PH_FINISHED, PH_FAILED };
/* record parser states; the ones up to R_LRUN read a varint */
enum { R_DIFF_LEN, R_EXTRA_LEN, R_SEEK, R_ZRUN, R_LRUN, R_LIT, R_EXTRA };

struct ofdelta_patch {
    uint32_t magic;
    uint32_t used;     /* workspace bytes in use, from the start of this struct */
    uint32_t avail;    /* workspace bytes available, from the start of this struct */
    ofdelta_io io;
    uint8_t phase, rstate, vshift, pad_;
    uint32_t hdr_have;
    uint8_t hdr_raw[OFDELTA_HEADER_MAX];
    ofdelta_header h;
    uint64_t consumed;
    uint32_t payload;  /* bytes the LZMA stream decodes to */
    uint32_t nframes, frames_done, fb_fill, in_pos, in_end, in_final;
    uint32_t off_lit, off_dict, off_fbuf;
    uint32_t cons_pos; /* dictionary index of the next byte for the record parser */
    uint32_t vval, diff_left, extra_left, lit_left, zrun, next_old;
    uint32_t old_pos, new_pos, records_seen, ctrl_seen;
    uint32_t written, out_len;
    uint8_t out[OUTBUF];
    delta_sha256 sha;
    lzd lz;
};

#define ALIGN8(x) (((x) + 7u) & ~(size_t)7u)

static uint8_t *base(ofdelta_patch *p) { return (uint8_t *)p; }

size_t ofdelta_patch_workspace_size(uint32_t window, unsigned lc, unsigned lp, uint32_t frame_size)
{
    return 7 + ALIGN8(sizeof(ofdelta_patch)) + ALIGN8(lzd_lit_probs(lc, lp) * 2u) + window + PAD +
           frame_size + 4;
}

uint32_t ofdelta_window_for_workspace(size_t ws_size, unsigned lc, unsigned lp, uint32_t frame_size)
{
    size_t fixed = ofdelta_patch_workspace_size(0, lc, lp, frame_size);
    if (ws_size < fixed + OFDELTA_MIN_WINDOW)
        return 0;
    return ws_size - fixed > OFDELTA_MAX_WINDOW ? OFDELTA_MAX_WINDOW : (uint32_t)(ws_size - fixed);
}

static ofdelta_patch *place(void *ws, size_t ws_size, size_t *avail)
{
    uintptr_t a = ((uintptr_t)ws + 7u) & ~(uintptr_t)7u;
    size_t skip = (size_t)(a - (uintptr_t)ws);
    if (ws_size < skip + sizeof(ofdelta_patch))
        return NULL;
    *avail = ws_size - skip;
    return (ofdelta_patch *)a;
}

ofdelta_err ofdelta_patch_init(ofdelta_patch **out, void *ws, size_t ws_size, const ofdelta_io *io)
{
    size_t avail;
    ofdelta_patch *p;
    if (!out || !ws || !io || !io->read_old || !io->write_new)
        return OFDELTA_ERR_ARG;
    if (!(p = place(ws, ws_size, &avail)))
        return OFDELTA_ERR_WORKSPACE;
    memset(p, 0, sizeof *p);
    p->magic = PATCH_MAGIC;
    p->used = sizeof *p;
    p->avail = avail > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)avail;
    p->io = *io;
    p->phase = PH_HEADER;
    *out = p;
    return OFDELTA_OK;
}

/* SHA-256 of OLD through the callback, buf as scratch */
static ofdelta_err hash_old(const ofdelta_header *h, const ofdelta_io *io, uint8_t *buf, size_t cap)
{
    delta_sha256 s;
    uint8_t d[32];
    delta_sha256_init(&s);
    for (uint32_t off = 0; off < h->old_size;) {
        uint32_t n = h->old_size - off < cap ? h->old_size - off : (uint32_t)cap;
        if (io->read_old(io->ctx, off, buf, n))
            return OFDELTA_ERR_IO;
        delta_sha256_update(&s, buf, n);
        off += n;
    }
    delta_sha256_final(&s, d);
    return delta_same(d, h->old_sha256, 32) ? OFDELTA_OK : OFDELTA_ERR_BASE_HASH;
}

ofdelta_err ofdelta_check_base(const ofdelta_header *h, const ofdelta_io *io)
{
    uint8_t buf[64];
    if (!h || !io || !io->read_old)
        return OFDELTA_ERR_ARG;
    return hash_old(h, io, buf, sizeof buf);
}

/* lays out the workspace for header h; 0 if it does not fit */
static int layout(ofdelta_patch *p)
{
    const ofdelta_header *h = &p->h;
    uint64_t need = (uint64_t)ofdelta_patch_workspace_size(h->window, h->lc, h->lp, h->frame_size) - 7;
    if (need > p->avail)
        return 0;
    p->off_lit = (uint32_t)ALIGN8(sizeof *p);
    p->off_dict = p->off_lit + (uint32_t)ALIGN8(lzd_lit_probs(h->lc, h->lp) * 2u);
    p->off_fbuf = p->off_dict + h->window;
    p->used = p->off_fbuf + PAD + h->frame_size + 4;
    p->nframes = h->body_len / h->frame_size + (h->body_len % h->frame_size != 0);
    return 1;
}

static ofdelta_err start_body(ofdelta_patch *p)
{
    ofdelta_err e = ofdelta_header_parse(p->hdr_raw, p->hdr_have, &p->h);
    if (e)
        return e;
    if (!layout(p))
        return OFDELTA_ERR_WORKSPACE;
    /* the base is checked before anything is written */
    if ((e = hash_old(&p->h, &p->io, p->out, OUTBUF)))
        return e;
    p->payload = p->h.payload_len;
    lzd_reset(&p->lz, (uint16_t *)(base(p) + p->off_lit), p->h.lc, p->h.lp, p->h.pb, p->h.window);
    delta_sha256_init(&p->sha);
    p->in_pos = p->in_end = PAD;
    p->rstate = R_DIFF_LEN;
    p->phase = PH_BODY;
    return OFDELTA_OK;
}

static ofdelta_err flush(ofdelta_patch *p)
{
    if (!p->out_len)
        return OFDELTA_OK;
    if (p->io.write_new(p->io.ctx, p->written, p->out, p->out_len))
        return OFDELTA_ERR_IO;
    delta_sha256_update(&p->sha, p->out, p->out_len);
    p->written += p->out_len;
    p->out_len = 0;
    return OFDELTA_OK;
}

static void end_record(ofdelta_patch *p)
{
    p->old_pos = p->next_old;
    p->rstate = R_DIFF_LEN;
}

/* after the diff part (or a run pair of it): what comes next */
static void after_pair(ofdelta_patch *p)
{
    if (p->diff_left)
        p->rstate = R_ZRUN;
    else if (p->extra_left)
        p->rstate = R_EXTRA;
    else
        end_record(p);
}

/* n NEW bytes equal to OLD at old_pos + d[i] (d = NULL: a run of zero differences) */
static ofdelta_err emit_diff(ofdelta_patch *p, const uint8_t *d, uint32_t n)
{
    ofdelta_err e;
    while (n) {
        uint32_t m = n < OUTBUF - p->out_len ? n : OUTBUF - p->out_len;
        uint8_t *o = p->out + p->out_len;
        if (p->io.read_old(p->io.ctx, p->old_pos, o, m))
            return OFDELTA_ERR_IO;
        if (d) {
            for (uint32_t i = 0; i < m; i++)
                o[i] = (uint8_t)(o[i] + d[i]);
            d += m;
        }
        p->old_pos += m, p->diff_left -= m, p->out_len += m, p->new_pos += m, n -= m;
        if (p->out_len == OUTBUF && (e = flush(p)))
            return e;
    }
    return OFDELTA_OK;
}

/* a complete varint; bounded before it is used */
static ofdelta_err ctrl_value(ofdelta_patch *p, uint32_t v)
{
    const ofdelta_header *h = &p->h;
    switch (p->rstate) {
    case R_DIFF_LEN:
        if (p->records_seen >= h->records || v > h->new_size - p->new_pos || v > h->old_size - p->old_pos)
            return OFDELTA_ERR_CORRUPT;
        p->diff_left = v;
        p->rstate = R_EXTRA_LEN;
        return OFDELTA_OK;
    case R_EXTRA_LEN:
        if (v > h->new_size - p->new_pos - p->diff_left)
            return OFDELTA_ERR_CORRUPT;
        p->extra_left = v;
        p->rstate = R_SEEK;
        return OFDELTA_OK;
    case R_SEEK: { /* zigzag-coded signed move of the old position */
        uint32_t from = p->old_pos + p->diff_left, mag = v >> 1;
        if (v & 1) {
            if (mag >= from)
                return OFDELTA_ERR_CORRUPT;
            p->next_old = from - mag - 1;
        } else {
            if (mag > h->old_size - from)
                return OFDELTA_ERR_CORRUPT;
            p->next_old = from + mag;
        }
        p->records_seen++;
        after_pair(p);
        return OFDELTA_OK;
    }
    case R_ZRUN: /* bytes equal to OLD */
        if (v > p->diff_left)
            return OFDELTA_ERR_CORRUPT;
    {
        ofdelta_err e;
        p->zrun = v;
        p->rstate = R_LRUN;
        if ((e = emit_diff(p, NULL, v)))
            return e;
        if (!p->diff_left) /* the run ended the diff part: no differ count follows */
            after_pair(p);
        return OFDELTA_OK;
    }
    default: /* R_LRUN: bytes that differ from OLD, coded as NEW - OLD */
        if (v > p->diff_left || (!v && !p->zrun))
            return OFDELTA_ERR_CORRUPT;
        p->lit_left = v;
        if (v)
            p->rstate = R_LIT;
        else
            after_pair(p);
        return OFDELTA_OK;
    }
}

/* decoded bytes [src, src + k) into the record parser */
static ofdelta_err records(ofdelta_patch *p, const uint8_t *src, uint32_t k)
{
    ofdelta_err e;
    while (k) {
        if (p->rstate <= R_LRUN) {
            uint8_t b = *src++;
            k--;
            if ((p->rstate <= R_SEEK && ++p->ctrl_seen > p->h.ctrl_len) || (p->vshift == 28 && (b & 0x70)))
                return OFDELTA_ERR_CORRUPT;
            p->vval |= (uint32_t)(b & 0x7f) << p->vshift;
            if (b & 0x80) {
                if (p->vshift == 28)
                    return OFDELTA_ERR_CORRUPT;
                p->vshift += 7;
                continue;
            }
            e = ctrl_value(p, p->vval);
            p->vval = 0, p->vshift = 0;
            if (e)
                return e;
            continue;
        }
        if (p->rstate == R_LIT) {
            uint32_t m = k < p->lit_left ? k : p->lit_left;
            if ((e = emit_diff(p, src, m)))
                return e;
            src += m, k -= m, p->lit_left -= m;
            if (!p->lit_left)
                after_pair(p);
            continue;
        }
        /* R_EXTRA */
        uint32_t m = k < p->extra_left ? k : p->extra_left;
        if (m > OUTBUF - p->out_len)
            m = OUTBUF - p->out_len;
        memcpy(p->out + p->out_len, src, m);
        src += m, k -= m, p->extra_left -= m;
        p->out_len += m, p->new_pos += m;
        if (p->out_len == OUTBUF && (e = flush(p)))
            return e;
        if (!p->extra_left)
            end_record(p);
    }
    return OFDELTA_OK;
}

/* decodes as much of the verified input as is safe */
static ofdelta_err run(ofdelta_patch *p)
{
    uint8_t *fb = base(p) + p->off_fbuf, *dict = base(p) + p->off_dict;
    uint16_t *lit = (uint16_t *)(base(p) + p->off_lit);
    while (p->lz.total < p->payload) {
        const uint8_t *in = fb + p->in_pos, *end = fb + p->in_end;
        if (!p->in_final && p->in_end - p->in_pos < PAD)
            break;
        if (!p->lz.rc_ready) {
            if (lzd_rc_init(&p->lz, &in, end))
                return OFDELTA_ERR_CORRUPT;
            p->in_pos = (uint32_t)(in - fb);
            continue;
        }
        int n = lzd_symbol(&p->lz, lit, dict, &in, end, p->payload - p->lz.total);
        if (n < 0)
            return OFDELTA_ERR_CORRUPT;
        p->in_pos = (uint32_t)(in - fb);
        for (uint32_t left = (uint32_t)n; left;) {
            uint32_t span = p->h.window - p->cons_pos;
            if (span > left)
                span = left;
            ofdelta_err e = records(p, dict + p->cons_pos, span);
            if (e)
                return e;
            p->cons_pos += span;
            if (p->cons_pos == p->h.window)
                p->cons_pos = 0;
            left -= span;
        }
    }
    /* keep the undecoded tail just before the next frame */
    uint32_t k = p->in_end - p->in_pos;
    if (p->lz.total == p->payload)
        k = 0;
    for (uint32_t i = 0; i < k; i++) /* to a lower address: a forward copy is safe */
        fb[PAD - k + i] = fb[p->in_pos + i];
    p->in_pos = PAD - k;
    p->in_end = PAD;
    return OFDELTA_OK;
}

static uint32_t frame_len(const ofdelta_patch *p)
{
    uint32_t start = p->frames_done * p->h.frame_size, left = p->h.body_len - start;
    return left < p->h.frame_size ? left : p->h.frame_size;
}

ofdelta_err ofdelta_patch_feed(ofdelta_patch *p, const uint8_t *data, size_t len)
{
    ofdelta_err e = OFDELTA_OK;
    if (!p || p->magic != PATCH_MAGIC || (!data && len))
        return OFDELTA_ERR_ARG;
    if (p->phase != PH_HEADER && p->phase != PH_BODY)
        return OFDELTA_ERR_STATE;
    while (len && !e) {
        size_t take;
        if (p->phase == PH_HEADER) {
            /* 8 fixed bytes first; they give the header length */
            uint32_t want = p->hdr_have < 8 ? 8 : p->hdr_raw[5];
            if (want > OFDELTA_HEADER_MAX || want <= p->hdr_have) {
                e = OFDELTA_ERR_HEADER;
                break;
            }
            take = want - p->hdr_have;
            take = take < len ? take : len;
            memcpy(p->hdr_raw + p->hdr_have, data, take);
            p->hdr_have += (uint32_t)take;
            if (p->hdr_have == 8 && (e = ofdelta_header_parse(p->hdr_raw, 8, &p->h)) == OFDELTA_ERR_TRUNCATED)
                e = OFDELTA_OK; /* magic and version fine so far */
            else if (p->hdr_have > 8 && p->hdr_have == want)
                e = start_body(p);
        } else {
            if (p->frames_done == p->nframes) {
                e = OFDELTA_ERR_TRAILING;
                break;
            }
            uint32_t flen = frame_len(p), need = flen + 4;
            uint8_t *fb = base(p) + p->off_fbuf + PAD;
            take = need - p->fb_fill;
            take = take < len ? take : len;
            memcpy(fb + p->fb_fill, data, take);
            p->fb_fill += (uint32_t)take;
            if (p->fb_fill == need) {
                if (delta_get32(fb + flen) != delta_frame_crc(p->frames_done, fb, flen)) {
                    e = OFDELTA_ERR_FRAME_CRC;
                    break;
                }
                p->frames_done++;
                p->fb_fill = 0;
                p->in_end = PAD + flen;
                p->in_final = p->frames_done == p->nframes;
                e = run(p);
            }
        }
        data += take, len -= take;
        p->consumed += take;
    }
    if (e)
        p->phase = PH_FAILED;
    return e;
}

ofdelta_err ofdelta_patch_finish(ofdelta_patch *p)
{
    ofdelta_err e;
    uint8_t d[32];
    if (!p || p->magic != PATCH_MAGIC)
        return OFDELTA_ERR_ARG;
    if (p->phase != PH_HEADER && p->phase != PH_BODY)
        return OFDELTA_ERR_STATE;
    int truncated = p->phase == PH_HEADER || p->frames_done < p->nframes;
    p->phase = PH_FAILED;
    if (truncated)
        return OFDELTA_ERR_TRUNCATED;
    if (p->lz.total != p->payload || p->rstate != R_DIFF_LEN || p->vshift || p->new_pos != p->h.new_size ||
        p->records_seen != p->h.records || p->ctrl_seen != p->h.ctrl_len)
        return OFDELTA_ERR_CORRUPT;
    if ((e = flush(p)))
        return e;
    delta_sha256_final(&p->sha, d);
    if (!delta_same(d, p->h.new_sha256, 32))
        return OFDELTA_ERR_RESULT_HASH;
    p->phase = PH_FINISHED;
    return OFDELTA_OK;
}

const ofdelta_header *ofdelta_patch_header(const ofdelta_patch *p)
{
    return p && p->phase == PH_BODY ? &p->h : NULL;
}

uint64_t ofdelta_patch_consumed(const ofdelta_patch *p) { return p ? p->consumed : 0; }

uint32_t ofdelta_patch_written(const ofdelta_patch *p) { return p ? p->written : 0; }

size_t ofdelta_patch_save_size(const ofdelta_patch *p) { return p ? SAVE_HDR + p->used : 0; }

ofdelta_err ofdelta_patch_save(ofdelta_patch *p, uint8_t *buf, size_t cap, size_t *len)
{
    ofdelta_err e;
    if (!p || p->magic != PATCH_MAGIC || !buf || !len)
        return OFDELTA_ERR_ARG;
    if (p->phase != PH_HEADER && p->phase != PH_BODY)
        return OFDELTA_ERR_STATE;
    if (cap < SAVE_HDR + p->used)
        return OFDELTA_ERR_SAVED;
    if ((e = flush(p))) {
        p->phase = PH_FAILED;
        return e;
    }
    delta_put32(buf, SAVE_MAGIC);
    delta_put32(buf + 4, (uint32_t)sizeof *p);
    delta_put32(buf + 8, p->used);
    memcpy(buf + SAVE_HDR, p, p->used);
    delta_put32(buf + 12, delta_crc32(0, buf + SAVE_HDR, p->used));
    *len = SAVE_HDR + p->used;
    return OFDELTA_OK;
}

/* a restored state must be self-consistent before any index in it is used */
static int sane(ofdelta_patch *p)
{
    ofdelta_header h;
    const lzd *z = &p->lz;
    memset(&h, 0, sizeof h); /* padding compared by memcmp below */
    if (p->magic != PATCH_MAGIC || p->out_len > OUTBUF || p->hdr_have > OFDELTA_HEADER_MAX)
        return 0;
    if (p->phase == PH_HEADER)
        return p->used == sizeof *p && (p->hdr_have < 8 || p->hdr_have < p->hdr_raw[5]);
    if (p->phase != PH_BODY || ofdelta_header_parse(p->hdr_raw, p->hdr_have, &h) ||
        !delta_same(&h, &p->h, sizeof h))
        return 0;
    uint32_t used = p->used, payload = h.payload_len;
    if (!layout(p) || used != p->used)
        return 0;
    return payload == p->payload && z->lc == h.lc && z->lp == h.lp && z->pb == h.pb &&
           z->dict_size == h.window && z->state < LZD_NUM_STATES && z->dict_pos < h.window &&
           z->total <= payload && p->cons_pos < h.window && p->in_pos <= p->in_end &&
           p->in_end <= PAD + h.frame_size && p->fb_fill < h.frame_size + 4 &&
           p->frames_done <= p->nframes && p->rstate <= R_EXTRA && p->vshift <= 28 && p->lit_left <= p->diff_left &&
           p->old_pos <= h.old_size && p->next_old <= h.old_size && p->new_pos <= h.new_size &&
           p->diff_left <= h.old_size - p->old_pos && p->written + p->out_len == p->new_pos;
}

ofdelta_err ofdelta_patch_restore(ofdelta_patch **out, void *ws, size_t ws_size, const ofdelta_io *io,
                                  const uint8_t *buf, size_t len)
{
    size_t avail;
    ofdelta_patch *p;
    if (!out || !ws || !io || !io->read_old || !io->write_new || !buf)
        return OFDELTA_ERR_ARG;
    if (len < SAVE_HDR || delta_get32(buf) != SAVE_MAGIC || delta_get32(buf + 4) != sizeof *p ||
        delta_get32(buf + 8) < sizeof *p || len != SAVE_HDR + (size_t)delta_get32(buf + 8) ||
        delta_get32(buf + 12) != delta_crc32(0, buf + SAVE_HDR, len - SAVE_HDR))
        return OFDELTA_ERR_SAVED;
    if (!(p = place(ws, ws_size, &avail)) || avail < len - SAVE_HDR)
        return OFDELTA_ERR_WORKSPACE;
    memcpy(p, buf + SAVE_HDR, len - SAVE_HDR);
    p->io = *io;
    p->avail = avail > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)avail;
    if (!sane(p)) {
        memset(p, 0, sizeof *p);
        return OFDELTA_ERR_SAVED;
    }
    *out = p;
    return OFDELTA_OK;
}
