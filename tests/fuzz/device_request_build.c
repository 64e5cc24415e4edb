/* Fuzz target: the libfota2 request builder. The input is split on NUL
 * bytes into url, imei, project_key, firmware_name, version, model, mac,
 * headers and a flags byte; the output must fit its buffer, end in a blank
 * line, contain no bare CR/LF in the request line, and be reproducible. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char in[2048];
  if (size >= sizeof in)
    return 0;
  memcpy(in, data, size);
  in[size] = '\0';
  const char *f[9] = {0};
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= size && k < 9; i++) {
    if (i == size || in[i] == '\0') {
      f[k++] = in + start;
      start = i + 1;
    }
  }
  fota_opts o;
  memset(&o, 0, sizeof o);
  o.url = f[0];
  o.imei = f[1] && *f[1] ? f[1] : NULL;
  o.project_key = f[2];
  o.firmware_name = f[3];
  o.version = f[4];
  o.model = f[5];
  o.mac = f[6];
  o.headers = f[7] && *f[7] ? f[7] : NULL;
  o.flags = f[8] ? (unsigned)(unsigned char)f[8][0] & 3u : 0;
  static char a[1500], b[1500];
  fota_target t;
  int n = fota_build_request(&o, a, sizeof a, &t);
  if (n >= 0) {
    if ((size_t)n >= sizeof a || a[n] != '\0')
      abort();
    if (n < 4 || memcmp(a + n - 4, "\r\n\r\n", 4) != 0)
      abort();
    char *eol = strstr(a, "\r\n");
    for (char *p = a; p < eol; p++)
      if (*p == '\n' || *p == '\r')
        abort();
    if (t.path_off + t.path_len > (size_t)n)
      abort();
    int m = fota_build_request(&o, b, sizeof b, NULL);
    if (m != n || memcmp(a, b, (size_t)n) != 0)
      abort();
  }
  return 0;
}
