/*
 * delta_apply.c — fota_apply_ops over the delta engine's streaming patcher.
 *
 * Glue only: OLD is read from the running slot through the storage port,
 * NEW goes to the target slot with erase-ahead, every ofdelta error becomes
 * FOTA_ERR_DELTA (the precise cause stays in d->delta_err).
 */
#include "fota_delta.h"
#include "fota_internal.h"

#include <string.h>

#include "ofdelta.h"

static int read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
  fota_delta_apply *d = ctx;
  return d->st->read(d->st->ctx, d->src, off, buf, len) ? -1 : 0;
}

static int write_new(void *ctx, uint32_t off, const uint8_t *buf, size_t len)
{
  fota_delta_apply *d = ctx;
  const fota_storage *st = d->st;
  if (off != d->written || len > d->cap - d->written)
    return -1; /* out of order or past the slot */
  uint64_t end = (uint64_t)off + len;
  if (end > d->erased) {
    uint64_t unit = st->erase_unit ? st->erase_unit : 4096;
    uint64_t size = st->slot_size(st->ctx, d->dst);
    uint64_t to = (end + unit - 1) / unit * unit;
    if (to > size)
      to = size;
    if (st->erase(st->ctx, d->dst, d->erased, to - d->erased))
      return -1;
    d->erased = to;
  }
  if (st->write(st->ctx, d->dst, off, buf, len))
    return -1;
  d->written = end;
  return 0;
}

static int map(fota_delta_apply *d, ofdelta_err e)
{
  d->delta_err = (int)e;
  return e == OFDELTA_OK ? 0 : FOTA_ERR_DELTA;
}

static int da_begin(void *ctx, const fota_storage *st, unsigned src, unsigned dst, uint64_t cap)
{
  fota_delta_apply *d = ctx;
  if (!st || src > 1 || dst > 1 || src == dst)
    return FOTA_ERR_INVAL;
  d->st = st;
  d->src = src;
  d->dst = dst;
  d->cap = st->slot_size(st->ctx, dst);
  (void)cap; /* cap bounds the patch bytes; NEW is bounded by the slot */
  d->erased = 0;
  d->written = 0;
  ofdelta_io io = {read_old, write_new, d};
  ofdelta_patch *p = NULL;
  int rc = map(d, ofdelta_patch_init(&p, d->ws, d->ws_size, &io));
  d->patch = p;
  return rc;
}

static int da_feed(void *ctx, const uint8_t *data, size_t len)
{
  fota_delta_apply *d = ctx;
  return map(d, ofdelta_patch_feed((ofdelta_patch *)d->patch, data, len));
}

static int da_finish(void *ctx, uint64_t *image_len)
{
  fota_delta_apply *d = ctx;
  int rc = map(d, ofdelta_patch_finish((ofdelta_patch *)d->patch));
  if (!rc)
    *image_len = ofdelta_patch_written((ofdelta_patch *)d->patch);
  return rc;
}

static void da_abort(void *ctx)
{
  fota_delta_apply *d = ctx;
  d->patch = NULL; /* the patcher lives in the caller's workspace: nothing to free */
}

void fota_delta_apply_init(fota_delta_apply *d, void *ws, size_t ws_size)
{
  memset(d, 0, sizeof *d);
  d->ws = ws;
  d->ws_size = ws_size;
  d->ops.ctx = d;
  d->ops.begin = da_begin;
  d->ops.feed = da_feed;
  d->ops.finish = da_finish;
  d->ops.abort = da_abort;
  d->ops.caps = FOTA_CAP_DELTA;
}

const char *fota_delta_strerror(const fota_delta_apply *d)
{
  return ofdelta_strerror((ofdelta_err)d->delta_err);
}
