/*
 * util.c — bounded string builder and ASCII helpers for of_device.
 *
 * Everything here works on caller-provided buffers with explicit sizes; no
 * function writes past cap, and the buffer is always NUL-terminated.
 */
#include "fota_internal.h"

#include <string.h>

void fota__sb_init(fota__sb *b, char *buf, size_t cap)
{
  b->buf = buf;
  b->cap = cap;
  b->len = 0;
  b->over = (cap == 0);
  if (cap)
    buf[0] = '\0';
}

void fota__sb_mem(fota__sb *b, const void *s, size_t n)
{
  if (b->over)
    return;
  if (n >= b->cap - b->len) {
    b->over = 1;
    return;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

void fota__sb_str(fota__sb *b, const char *s)
{
  fota__sb_mem(b, s, strlen(s));
}

void fota__sb_u64(fota__sb *b, uint64_t v)
{
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + (v % 10));
    v /= 10;
  } while (v);
  fota__sb_mem(b, tmp + i, sizeof tmp - i);
}

void fota__sb_hex(fota__sb *b, const uint8_t *p, size_t n)
{
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    char two[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
    fota__sb_mem(b, two, 2);
  }
}

int fota__lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int fota__strncaseeq(const char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (fota__lower((unsigned char)a[i]) != fota__lower((unsigned char)b[i]))
      return 0;
    if (!a[i])
      return 1;
  }
  return 1;
}

size_t fota__strnlen(const char *s, size_t max)
{
  size_t n = 0;
  while (n < max && s[n])
    n++;
  return n;
}

unsigned fota__left_ms(const fota_system *sys, uint64_t deadline)
{
  uint64_t now = sys->now_ms(sys->ctx);
  if (now >= deadline)
    return 0;
  uint64_t d = deadline - now;
  return d > 0x7fffffffu ? 0x7fffffffu : (unsigned)d;
}

/* {"code":N,...} -> N, else -1. Only the first bytes are looked at. */
int fota__vendor_code(const char *b, size_t n)
{
  static const char key[] = "\"code\"";
  for (size_t i = 0; i + sizeof key - 1 <= n; i++) {
    if (memcmp(b + i, key, sizeof key - 1) != 0)
      continue;
    size_t j = i + sizeof key - 1;
    while (j < n && (b[j] == ' ' || b[j] == '\t'))
      j++;
    if (j >= n || b[j++] != ':')
      return -1;
    while (j < n && (b[j] == ' ' || b[j] == '\t'))
      j++;
    int v = 0, digits = 0;
    while (j < n && b[j] >= '0' && b[j] <= '9' && digits < 6) {
      v = v * 10 + (b[j++] - '0');
      digits++;
    }
    return digits ? v : -1;
  }
  return -1;
}

int fota__headers_have(const char *h, const char *name)
{
  size_t n = strlen(name);
  for (const char *line = h; line && *line;) {
    if (fota__strncaseeq(line, name, n))
      return 1;
    line = strchr(line, '\n');
    if (line)
      line++;
  }
  return 0;
}
