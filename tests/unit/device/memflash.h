/*
 * memflash.h — a RAM "NOR flash" storage port for tests: erase sets 0xff,
 * programming can only clear bits (a write to unerased flash shows up as
 * corruption), and a simulated power cut at the Nth erase/write does half of
 * that operation (none, half, or all but one byte: cut_mode), then fails every later call until memflash_reboot().
 */
#ifndef MEMFLASH_H
#define MEMFLASH_H

#include <stdint.h>
#include "fota.h"

#define MEMFLASH_UNIT 4096u

typedef struct memflash {
  uint8_t *slot[4];
  uint64_t size[4];
  long ops;        /* erase+write calls so far */
  long cut_at;     /* op index that loses power (-1 never) */
  int cut_mode;    /* how much of that op happens: 0 none, 1 half, 2 all but the last byte */
  int dead;        /* power is off */
  long writes_unerased; /* programming a 0 bit to 1 attempted */
  fota_storage st;
} memflash;

void memflash_init(memflash *m, uint64_t slot_size);
void memflash_free(memflash *m);
void memflash_reboot(memflash *m);

#endif
