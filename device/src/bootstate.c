/*
 * bootstate.c — A/B slots with trial boots and automatic rollback.
 *
 * The boot-state record (96 bytes, little endian, CRC-32 at the end) lives in
 * two copies, each in its own erase unit (storage slots FOTA_SLOT_STATE0/1).
 * A write always goes to the copy that is NOT the newest valid one, with a
 * sequence number one higher, so a power cut during the erase or the write
 * leaves the newest valid copy untouched: a reader sees either the old state
 * or the new one, never a mix.
 *
 * Life of an update:
 *   download into the inactive slot (never referenced by the state, so a cut
 *   there is harmless) -> fota_activate() re-hashes it and records it as
 *   pending -> fota_boot_select() boots the pending slot at most
 *   FOTA_BOOT_TRIES times, counting each boot before handing over ->
 *   fota_confirm() from the new image makes it active; if it never does, the
 *   next boot after the last try clears `pending` and boots the old image.
 */
#include "fota_internal.h"

#include <string.h>

#define REC_SIZE 96
#define REC_MAGIC 0x54534f46u /* "FOST" */

static uint32_t crc32(const uint8_t *p, size_t n)
{
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void encode(const fota_boot_state *s, uint8_t r[REC_SIZE])
{
  memset(r, 0, REC_SIZE);
  put32(r, REC_MAGIC);
  put32(r + 4, s->seq);
  r[8] = s->active;
  r[9] = s->pending;
  r[10] = s->tries;
  r[11] = s->rolled_back;
  for (int i = 0; i < 2; i++) {
    put32(r + 12 + 8 * i, (uint32_t)s->len[i]);
    put32(r + 16 + 8 * i, (uint32_t)(s->len[i] >> 32));
    memcpy(r + 28 + 32 * i, s->sha256[i], 32);
  }
  put32(r + 92, crc32(r, 92));
}

static int decode(const uint8_t r[REC_SIZE], fota_boot_state *s)
{
  if (get32(r) != REC_MAGIC || get32(r + 92) != crc32(r, 92))
    return FOTA_ERR_BOOTSTATE;
  s->seq = get32(r + 4);
  s->active = r[8];
  s->pending = r[9];
  s->tries = r[10];
  s->rolled_back = r[11];
  if (s->active > 1 || (s->pending != 0xff && s->pending > 1))
    return FOTA_ERR_BOOTSTATE;
  for (int i = 0; i < 2; i++) {
    s->len[i] = get32(r + 12 + 8 * i) | (uint64_t)get32(r + 16 + 8 * i) << 32;
    memcpy(s->sha256[i], r + 28 + 32 * i, 32);
  }
  return 0;
}

/* Loads both copies; returns the index of the newest valid one or -1. */
static int load_both(const fota_storage *st, fota_boot_state s[2], int valid[2])
{
  int best = -1;
  for (int i = 0; i < 2; i++) {
    uint8_t r[REC_SIZE];
    valid[i] = st->read(st->ctx, FOTA_SLOT_STATE0 + (unsigned)i, 0, r, sizeof r) == 0 &&
               decode(r, &s[i]) == 0;
    if (valid[i] && (best < 0 || (int32_t)(s[i].seq - s[best].seq) > 0))
      best = i;
  }
  return best;
}

int fota_bootstate_load(const fota_storage *st, fota_boot_state *out)
{
  if (!st || !out)
    return FOTA_ERR_INVAL;
  fota_boot_state s[2];
  int valid[2];
  int b = load_both(st, s, valid);
  if (b < 0)
    return FOTA_ERR_BOOTSTATE;
  *out = s[b];
  return 0;
}

int fota_bootstate_store(const fota_storage *st, fota_boot_state *ns)
{
  if (!st || !ns)
    return FOTA_ERR_INVAL;
  fota_boot_state s[2];
  int valid[2];
  int b = load_both(st, s, valid);
  unsigned target = b < 0 ? 0u : (unsigned)(1 - b);
  ns->seq = b < 0 ? 1u : s[b].seq + 1u;
  uint8_t r[REC_SIZE];
  encode(ns, r);
  unsigned slot = FOTA_SLOT_STATE0 + target;
  uint64_t unit = st->erase_unit ? st->erase_unit : 4096;
  uint64_t size = st->slot_size(st->ctx, slot);
  if (size < REC_SIZE)
    return FOTA_ERR_STORAGE;
  if (st->erase(st->ctx, slot, 0, unit < size ? unit : size))
    return FOTA_ERR_STORAGE;
  if (st->write(st->ctx, slot, 0, r, sizeof r))
    return FOTA_ERR_STORAGE;
  return 0;
}

int fota_bootstate_init(const fota_storage *st, unsigned slot, uint64_t len, const uint8_t sha256[32])
{
  if (slot > 1 || !sha256)
    return FOTA_ERR_INVAL;
  fota_boot_state s;
  memset(&s, 0, sizeof s);
  s.active = (uint8_t)slot;
  s.pending = 0xff;
  s.len[slot] = len;
  memcpy(s.sha256[slot], sha256, 32);
  return fota_bootstate_store(st, &s);
}

/* SHA-256 of the first len bytes of slot equals want? */
static int image_ok(const fota_storage *st, unsigned slot, uint64_t len, const uint8_t want[32])
{
  if (len == 0 || len > st->slot_size(st->ctx, slot))
    return 0;
  fota_sha256 c;
  uint8_t buf[256], got[32];
  fota_sha256_init(&c);
  for (uint64_t off = 0; off < len;) {
    size_t n = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
    if (st->read(st->ctx, slot, off, buf, n))
      return 0;
    fota_sha256_update(&c, buf, n);
    off += n;
  }
  fota_sha256_final(&c, got);
  return memcmp(got, want, 32) == 0;
}

int fota_activate(const fota_storage *st, unsigned slot, uint64_t len, const uint8_t sha256[32])
{
  if (!st || slot > 1 || !sha256 || len == 0)
    return FOTA_ERR_INVAL;
  fota_boot_state s;
  int rc = fota_bootstate_load(st, &s);
  if (rc)
    return rc;
  if (slot == s.active)
    return FOTA_ERR_INVAL; /* never overwrite the running image's record */
  if (!image_ok(st, slot, len, sha256))
    return FOTA_ERR_HASH; /* truncated, corrupt, or larger than the slot */
  s.pending = (uint8_t)slot;
  s.tries = 0;
  s.rolled_back = 0;
  s.len[slot] = len;
  memcpy(s.sha256[slot], sha256, 32);
  return fota_bootstate_store(st, &s);
}

int fota_boot_select(const fota_storage *st, int verify)
{
  fota_boot_state s;
  int rc = fota_bootstate_load(st, &s);
  if (rc)
    return rc;
  if (s.pending != 0xff) {
    int good = !verify || image_ok(st, s.pending, s.len[s.pending], s.sha256[s.pending]);
    if (good && s.tries < FOTA_BOOT_TRIES) {
      s.tries++;
      rc = fota_bootstate_store(st, &s); /* count the try before handing over */
      if (rc)
        return rc;
      return s.pending;
    }
    s.pending = 0xff; /* never confirmed (or corrupt): roll back */
    s.tries = 0;
    s.rolled_back = 1;
    rc = fota_bootstate_store(st, &s);
    if (rc)
      return rc;
  }
  if (verify && !image_ok(st, s.active, s.len[s.active], s.sha256[s.active]))
    return FOTA_ERR_BOOTSTATE;
  return s.active;
}

int fota_confirm(const fota_storage *st)
{
  fota_boot_state s;
  int rc = fota_bootstate_load(st, &s);
  if (rc)
    return rc;
  if (s.pending == 0xff)
    return FOTA_ERR_NOT_FOUND;
  s.active = s.pending;
  s.pending = 0xff;
  s.tries = 0;
  return fota_bootstate_store(st, &s);
}

int fota_inactive_slot(const fota_storage *st)
{
  fota_boot_state s;
  int rc = fota_bootstate_load(st, &s);
  if (rc)
    return rc;
  unsigned other = s.active ? 0u : 1u;
  if (s.pending == other)
    return FOTA_ERR_BUSY; /* the other slot holds an image on trial */
  return (int)other;
}
