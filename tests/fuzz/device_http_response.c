/* Fuzz target: fota_http_feed/eof over arbitrary bytes, fed in two parts
 * split at a position taken from the first byte. Checks the parser's own
 * invariants: body bytes never exceed a declared Content-Length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"
#include "fota_http.h"

static int body(void *user, const uint8_t *d, size_t n)
{
  (void)d;
  *(uint64_t *)user += n;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  size_t split = data[0] % (size);
  data++;
  size--;
  if (split > size)
    split = size;
  fota_http p;
  uint64_t got = 0;
  fota_http_init(&p);
  int rc = fota_http_feed(&p, data, split, body, &got);
  if (!rc)
    rc = fota_http_feed(&p, data + split, size - split, body, &got);
  if (!rc && p.state != FOTA_HTTP_DONE)
    rc = fota_http_eof(&p);
  if (got != p.body_len)
    abort();
  if (p.has_length && !p.chunked && got > p.content_length)
    abort();
  if (p.line_len >= sizeof p.line)
    abort();
  return 0;
}
