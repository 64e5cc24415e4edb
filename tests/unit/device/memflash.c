#include "memflash.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mf_size(void *ctx, unsigned slot)
{
  memflash *m = ctx;
  return slot < 4 ? m->size[slot] : 0;
}

/* returns 1 if this op is the one that loses power */
static int tick(memflash *m)
{
  if (m->dead)
    return -1;
  long i = m->ops++;
  if (m->cut_at >= 0 && i == m->cut_at) {
    m->dead = 1;
    return 1;
  }
  return 0;
}

static size_t partial(const memflash *m, size_t len)
{
  switch (m->cut_mode) {
  case 0: return 0;
  case 2: return len ? len - 1 : 0;
  default: return len / 2;
  }
}

static int mf_erase(void *ctx, unsigned slot, uint64_t off, uint64_t len)
{
  memflash *m = ctx;
  if (slot >= 4 || off > m->size[slot] || len > m->size[slot] - off)
    return FOTA_ERR_STORAGE;
  int t = tick(m);
  if (t < 0)
    return FOTA_ERR_STORAGE;
  if (t == 1) { /* half erased, the rest keeps its old bytes */
    memset(m->slot[slot] + off, 0xff, partial(m, (size_t)len));
    return FOTA_ERR_STORAGE;
  }
  memset(m->slot[slot] + off, 0xff, (size_t)len);
  return 0;
}

static int mf_write(void *ctx, unsigned slot, uint64_t off, const void *buf, size_t len)
{
  memflash *m = ctx;
  if (slot >= 4 || off > m->size[slot] || len > m->size[slot] - off)
    return FOTA_ERR_STORAGE;
  int t = tick(m);
  if (t < 0)
    return FOTA_ERR_STORAGE;
  size_t n = t == 1 ? partial(m, len) : len;
  const uint8_t *p = buf;
  for (size_t i = 0; i < n; i++) {
    uint8_t *d = m->slot[slot] + off + i;
    if ((p[i] & ~*d) != 0)
      m->writes_unerased++;
    *d &= p[i];
  }
  return t == 1 ? FOTA_ERR_STORAGE : 0;
}

static int mf_read(void *ctx, unsigned slot, uint64_t off, void *buf, size_t len)
{
  memflash *m = ctx;
  if (m->dead || slot >= 4 || off > m->size[slot] || len > m->size[slot] - off)
    return FOTA_ERR_STORAGE;
  memcpy(buf, m->slot[slot] + off, len);
  return 0;
}

void memflash_init(memflash *m, uint64_t slot_size)
{
  memset(m, 0, sizeof *m);
  for (int i = 0; i < 4; i++) {
    m->size[i] = i < 2 ? slot_size : MEMFLASH_UNIT;
    m->slot[i] = malloc((size_t)m->size[i]);
    memset(m->slot[i], 0xff, (size_t)m->size[i]);
  }
  m->cut_at = -1;
  m->cut_mode = 1;
  m->st.ctx = m;
  m->st.slot_size = mf_size;
  m->st.erase = mf_erase;
  m->st.write = mf_write;
  m->st.read = mf_read;
  m->st.erase_unit = MEMFLASH_UNIT;
}

void memflash_free(memflash *m)
{
  for (int i = 0; i < 4; i++)
    free(m->slot[i]);
}

void memflash_reboot(memflash *m)
{
  m->dead = 0;
  m->cut_at = -1;
  m->cut_mode = 1;
}
