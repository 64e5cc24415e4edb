/*
 * fota_delta.h — delta packages through the delta engine's streaming patcher
 * (of_delta_patch, delta/include/ofdelta.h). Built into of_device when the
 * delta engine is part of the build (FOTA_HAVE_DELTA is then defined).
 *
 * Use:
 *   static uint8_t ws[OFDELTA_DEFAULT_WORKSPACE];   // the "delta window"
 *   fota_delta_apply da;
 *   fota_delta_apply_init(&da, ws, sizeof ws);
 *   aopts.apply = &da.ops;        // fota_download feeds the patch to it
 *
 * The patcher reads the running image (OLD) from the active slot, checks its
 * SHA-256 against the patch header before the first write (a delta for
 * another base is refused before anything is written), writes NEW in order
 * into the target slot (erased ahead, never past the slot), and succeeds only
 * when NEW's SHA-256 equals the one in the patch header. A download cut
 * in the middle restarts the patch from byte zero (the patcher state is not
 * persisted across reboots by this adapter).
 */
#ifndef OPENFOTA_FOTA_DELTA_H
#define OPENFOTA_FOTA_DELTA_H

#include "fota.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fota_delta_apply {
  fota_apply_ops ops;         /* give &ops to fota_agent_opts.apply */
  void *ws;                   /* caller's workspace, borrowed for the apply */
  size_t ws_size;
  void *patch;                /* ofdelta_patch *, inside ws */
  const fota_storage *st;
  unsigned src, dst;
  uint64_t cap;               /* NEW may not exceed this (slot size) */
  uint64_t erased;            /* dst bytes erased so far */
  uint64_t written;           /* NEW bytes written */
  int delta_err;              /* last ofdelta_err (0 = none), for diagnostics */
} fota_delta_apply;

/* Prepares d; ws (ws_size bytes, e.g. OFDELTA_DEFAULT_WORKSPACE) is owned by
 * the caller and must stay valid until the download returns. */
void fota_delta_apply_init(fota_delta_apply *d, void *ws, size_t ws_size);

/* The delta engine's sentence for d->delta_err. */
const char *fota_delta_strerror(const fota_delta_apply *d);

#ifdef __cplusplus
}
#endif
#endif
