/* Fuzz target: fota_push_parse over arbitrary lines; an accepted trigger
 * must carry a NUL-terminated, non-empty url within its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fota_push_msg m;
  int rc = fota_push_parse((const char *)data, size, &m);
  if (rc == 0 && m.fota) {
    size_t n = strnlen(m.url, sizeof m.url);
    if (n == 0 || n >= sizeof m.url)
      abort();
  }
  if (strnlen(m.version, sizeof m.version) >= sizeof m.version)
    abort();
  return 0;
}
