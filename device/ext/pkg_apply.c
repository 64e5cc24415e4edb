/*
 * pkg_apply.c — fota_apply_ops for signed packages (see fota_pkg.h).
 */
#include "fota_pkg.h"
#include "fota_internal.h"

#include <string.h>

static int pkg_fail(fota_signed_apply *s, ofpkg_err e)
{
  s->pkg_err = (int)e;
  if (e == OFPKG_OK)
    return 0;
  if (!s->msg[0])
    memcpy(s->msg, ofpkg_strerror(e), strnlen(ofpkg_strerror(e), sizeof s->msg - 1));
  return e == OFPKG_ERR_TOO_BIG ? FOTA_ERR_TOO_LARGE : FOTA_ERR_SIGNATURE;
}

static int write_full(fota_signed_apply *s, const uint8_t *d, size_t n)
{
  const fota_storage *st = s->st;
  if (n > s->cap - s->written)
    return FOTA_ERR_TOO_LARGE;
  uint64_t end = s->written + n;
  if (end > s->erased) {
    uint64_t unit = st->erase_unit ? st->erase_unit : 4096;
    uint64_t to = (end + unit - 1) / unit * unit;
    if (to > s->cap)
      to = s->cap;
    if (st->erase(st->ctx, s->dst, s->erased, to - s->erased))
      return FOTA_ERR_STORAGE;
    s->erased = to;
  }
  if (st->write(st->ctx, s->dst, s->written, d, n))
    return FOTA_ERR_STORAGE;
  s->written = end;
  return 0;
}

static int sa_begin(void *ctx, const fota_storage *st, unsigned src, unsigned dst, uint64_t cap)
{
  fota_signed_apply *s = ctx;
  (void)cap;
  if (!st || dst > 1)
    return FOTA_ERR_INVAL;
  ofpkg_verifier_free(&s->v);
  memset(&s->v, 0, sizeof s->v);
  s->st = st;
  s->src = src;
  s->dst = dst;
  s->cap = st->slot_size(st->ctx, dst);
  s->erased = s->written = 0;
  s->head_len = 0;
  s->started = 0;
  s->pkg_err = 0;
  s->msg[0] = '\0';
  return 0;
}

static int start(fota_signed_apply *s)
{
  ofpkg_err e = ofpkg_verifier_init(&s->v, s->head, sizeof s->head, s->msg, sizeof s->msg);
  if (e)
    return pkg_fail(s, e);
  fota_boot_state bs;
  int have = fota_bootstate_load(s->st, &bs) == 0;
  ofpkg_device_state dev;
  memset(&dev, 0, sizeof dev);
  dev.family = s->family;
  dev.suffix = s->suffix;
  dev.hw_id = s->hw_id;
  dev.counter = s->counter;
  dev.slot_size = s->cap;
  dev.installed_sha256 = have ? bs.sha256[bs.active] : NULL;
  dev.installed_len = have ? bs.len[bs.active] : 0;
  e = ofpkg_check_install(&s->v.m, &dev, s->msg, sizeof s->msg);
  if (e)
    return pkg_fail(s, e); /* refused before a payload byte is written */
  if (s->v.m.kind == OFPKG_KIND_DELTA) {
    if (!s->delta)
      return FOTA_ERR_UNSUPPORTED;
    int rc = s->delta->begin(s->delta->ctx, s->st, s->src, s->dst, s->cap);
    if (rc)
      return rc;
  }
  s->started = 1;
  return 0;
}

static int sa_feed(void *ctx, const uint8_t *d, size_t n)
{
  fota_signed_apply *s = ctx;
  if (s->head_len < sizeof s->head) {
    size_t t = sizeof s->head - s->head_len < n ? sizeof s->head - s->head_len : n;
    memcpy(s->head + s->head_len, d, t);
    s->head_len += t;
    d += t;
    n -= t;
    if (s->head_len < sizeof s->head)
      return 0;
    int rc = start(s);
    if (rc)
      return rc;
  }
  if (!n)
    return 0;
  size_t payload = 0;
  ofpkg_err e = ofpkg_verifier_feed(&s->v, d, n, &payload, s->msg, sizeof s->msg);
  if (e)
    return pkg_fail(s, e);
  if (!payload)
    return 0;
  if (s->v.m.kind == OFPKG_KIND_DELTA)
    return s->delta->feed(s->delta->ctx, d, payload);
  return write_full(s, d, payload);
}

static int slot_sha_is(fota_signed_apply *s, uint64_t len, const uint8_t want[32])
{
  fota_sha256 c;
  uint8_t buf[256], got[32];
  fota_sha256_init(&c);
  for (uint64_t off = 0; off < len;) {
    size_t n = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
    if (s->st->read(s->st->ctx, s->dst, off, buf, n))
      return 0;
    fota_sha256_update(&c, buf, n);
    off += n;
  }
  fota_sha256_final(&c, got);
  return memcmp(got, want, 32) == 0;
}

static int sa_finish(void *ctx, uint64_t *image_len)
{
  fota_signed_apply *s = ctx;
  if (!s->started)
    return pkg_fail(s, OFPKG_ERR_TRUNCATED);
  ofpkg_err e = ofpkg_verifier_finish(&s->v, s->pubkey, s->pubkey_len, s->msg, sizeof s->msg);
  if (e)
    return pkg_fail(s, e);
  uint64_t len = s->written;
  if (s->v.m.kind == OFPKG_KIND_DELTA) {
    int rc = s->delta->finish(s->delta->ctx, &len);
    if (rc)
      return rc;
  }
  if (len != s->v.m.result_len || !slot_sha_is(s, len, s->v.m.result_sha256))
    return FOTA_ERR_HASH;
  *image_len = len;
  return 0;
}

static void sa_abort(void *ctx)
{
  fota_signed_apply *s = ctx;
  if (s->started && s->v.m.kind == OFPKG_KIND_DELTA && s->delta && s->delta->abort)
    s->delta->abort(s->delta->ctx);
  ofpkg_verifier_free(&s->v);
  s->started = 0;
}

void fota_signed_apply_init(fota_signed_apply *s, const uint8_t *pubkey, size_t pubkey_len,
                            const char *family, const char *suffix, const char *hw_id,
                            uint64_t counter, const fota_apply_ops *delta)
{
  memset(s, 0, sizeof *s);
  s->pubkey = pubkey;
  s->pubkey_len = pubkey_len;
  s->family = family;
  s->suffix = suffix;
  s->hw_id = hw_id;
  s->counter = counter;
  s->delta = delta;
  s->ops.ctx = s;
  s->ops.begin = sa_begin;
  s->ops.feed = sa_feed;
  s->ops.finish = sa_finish;
  s->ops.abort = sa_abort;
  /* delta packages only with a delta installer behind it */
  s->ops.caps = FOTA_CAP_SIGNED | (delta && (delta->caps & FOTA_CAP_DELTA) ? FOTA_CAP_DELTA : 0u);
}
