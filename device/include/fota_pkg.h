/*
 * fota_pkg.h — signed openfota packages (pkg/include/ofpkg.h) installed
 * through fota_download. Built into of_device when the package library's
 * device part (of_pkg_device, mbedTLS) is in the build (FOTA_HAVE_PKG).
 *
 *   fota_signed_apply sa;
 *   fota_signed_apply_init(&sa, pubkey_pem, strlen(pubkey_pem) + 1,
 *                          "FOTA2_DEMO", "1", "Air780EHV", installed_counter, &da.ops);
 *   aopts.apply = &sa.ops;
 *
 * While the package streams in: the manifest (first 272 bytes) is parsed and
 * the install policy checked at once (family, layout suffix, hardware id,
 * release counter = anti-rollback, delta base = the running image, sizes
 * against the slot) so a wrong package is refused before its payload is
 * written; the payload goes to the inactive slot (full) or through the delta
 * installer (delta); at the end the signature over header+manifest and the
 * payload SHA-256 are verified, then the installed image's length and
 * SHA-256 are compared with the manifest. Only then does fota_download
 * return 0 — and only then may fota_activate make it bootable.
 */
#ifndef OPENFOTA_FOTA_PKG_H
#define OPENFOTA_FOTA_PKG_H

#include "fota.h"
#include "ofpkg_verify.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fota_signed_apply {
  fota_apply_ops ops;            /* give &ops to fota_agent_opts.apply */
  /* configuration (borrowed pointers, must outlive the download) */
  const uint8_t *pubkey;         /* signer's public key, PEM (with NUL) or DER */
  size_t pubkey_len;
  const char *family, *suffix, *hw_id;
  uint64_t counter;              /* release counter of the installed image */
  const fota_apply_ops *delta;   /* installer for delta payloads; NULL refuses deltas */
  /* state */
  ofpkg_verifier v;
  uint8_t head[OFPKG_SIGNED_LEN];
  size_t head_len;
  int started;
  const fota_storage *st;
  unsigned src, dst;
  uint64_t erased, written, cap;
  int pkg_err;                   /* last ofpkg_err, for diagnostics */
  char msg[160];                 /* its explanation */
} fota_signed_apply;

void fota_signed_apply_init(fota_signed_apply *s, const uint8_t *pubkey, size_t pubkey_len,
                            const char *family, const char *suffix, const char *hw_id,
                            uint64_t counter, const fota_apply_ops *delta);

#ifdef __cplusplus
}
#endif
#endif
