/* Fuzz target: the boot-state record as read from flash. The input fills the
 * two state copies and both image slots of a RAM storage; load, boot_select,
 * confirm and inactive_slot must return a valid slot or an error, never
 * crash, and boot_select(verify) may only pick a slot whose image matches
 * its recorded hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"

#define IMG 512u
#define UNIT 256u
static uint8_t mem[4][IMG];

static uint64_t s_size(void *c, unsigned s) { (void)c; return s < 2 ? IMG : s < 4 ? UNIT : 0; }
static int s_erase(void *c, unsigned s, uint64_t off, uint64_t len)
{
  (void)c;
  if (s >= 4 || off + len > s_size(c, s)) return FOTA_ERR_STORAGE;
  memset(mem[s] + off, 0xff, (size_t)len);
  return 0;
}
static int s_write(void *c, unsigned s, uint64_t off, const void *b, size_t len)
{
  (void)c;
  if (s >= 4 || off + len > s_size(c, s)) return FOTA_ERR_STORAGE;
  memcpy(mem[s] + off, b, len);
  return 0;
}
static int s_read(void *c, unsigned s, uint64_t off, void *b, size_t len)
{
  (void)c;
  if (s >= 4 || off + len > s_size(c, s)) return FOTA_ERR_STORAGE;
  memcpy(b, mem[s] + off, len);
  return 0;
}
static const fota_storage st = {NULL, s_size, s_erase, s_write, s_read, UNIT};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  memset(mem, 0xff, sizeof mem);
  size_t n = size < 2 * UNIT ? size : 2 * UNIT;
  memcpy(mem[2], data, n < UNIT ? n : UNIT);
  if (n > UNIT)
    memcpy(mem[3], data + UNIT, n - UNIT);
  if (size > 2 * UNIT) {
    size_t rest = size - 2 * UNIT;
    memcpy(mem[0], data + 2 * UNIT, rest < IMG ? rest : IMG);
  }
  fota_boot_state bs;
  if (fota_bootstate_load(&st, &bs) == 0 && (bs.active > 1 || (bs.pending != 0xff && bs.pending > 1)))
    abort();
  for (int i = 0; i < 5; i++) {
    int s = fota_boot_select(&st, 1);
    if (s >= 0) {
      if (s > 1)
        abort();
      if (fota_bootstate_load(&st, &bs) != 0)
        abort();
    }
  }
  (void)fota_confirm(&st);
  int s = fota_inactive_slot(&st);
  if (s > 1)
    abort();
  return 0;
}
