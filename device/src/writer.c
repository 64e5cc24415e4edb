/*
 * writer.c — streams image bytes into a storage slot.
 *
 * Flash must be erased before it is programmed; the writer erases ahead in
 * erase units as the data arrives (so a short package only erases what it
 * needs), refuses any byte past its cap, and hashes exactly the bytes it
 * accepted. A power cut at any point leaves a slot that is simply not
 * referenced by the boot state, so it is never booted.
 */
#include "fota_internal.h"

#include <string.h>

void fota__writer_init(fota__writer *w, const fota_storage *st, unsigned slot, uint64_t cap,
                       const fota_apply_ops *apply)
{
  memset(w, 0, sizeof *w);
  w->st = st;
  w->slot = slot;
  w->cap = cap;
  w->apply = apply;
  fota_md5_init(&w->md5);
  fota_sha256_init(&w->sha);
}

static int erase_to(fota__writer *w, uint64_t end)
{
  if (end <= w->erased)
    return 0;
  uint64_t unit = w->st->erase_unit ? w->st->erase_unit : 4096;
  uint64_t size = w->st->slot_size(w->st->ctx, w->slot);
  uint64_t to = (end + unit - 1) / unit * unit;
  if (to > size)
    to = size;
  int rc = w->st->erase(w->st->ctx, w->slot, w->erased, to - w->erased);
  if (rc)
    return FOTA_ERR_STORAGE;
  w->erased = to;
  return 0;
}

int fota__writer_put(fota__writer *w, const uint8_t *d, size_t n)
{
  if (n == 0)
    return 0;
  if (n > w->cap - w->off || w->off > w->cap)
    return FOTA_ERR_TOO_LARGE;
  if (w->apply) {
    int rc = w->apply->feed(w->apply->ctx, d, n);
    if (rc)
      return rc;
  } else if (w->st) {
    int rc = erase_to(w, w->off + n);
    if (rc)
      return rc;
    if (w->st->write(w->st->ctx, w->slot, w->off, d, n))
      return FOTA_ERR_STORAGE;
  }
  fota_md5_update(&w->md5, d, n);
  fota_sha256_update(&w->sha, d, n);
  w->off += n;
  return 0;
}

int fota__writer_rehash(fota__writer *w, uint64_t upto)
{
  uint8_t buf[256];
  if (!w->st || upto > w->cap)
    return FOTA_ERR_INVAL;
  uint64_t unit = w->st->erase_unit ? w->st->erase_unit : 4096;
  /* Resume at an erase-unit boundary: bytes after the saved offset may have
   * been half-programmed before a cut, so that unit is erased and rewritten. */
  upto = upto / unit * unit;
  while (w->off < upto) {
    size_t n = upto - w->off < sizeof buf ? (size_t)(upto - w->off) : sizeof buf;
    if (w->st->read(w->st->ctx, w->slot, w->off, buf, n))
      return FOTA_ERR_STORAGE;
    fota_md5_update(&w->md5, buf, n);
    fota_sha256_update(&w->sha, buf, n);
    w->off += n;
  }
  w->erased = upto;
  return 0;
}
