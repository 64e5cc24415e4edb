/*
 * test_http_parse.c — the response parser: every bad-response fixture is
 * refused (never a crash, never a silent success), good responses parse the
 * same when split at every byte boundary, limits hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"
#include "fota_http.h"

typedef struct acc { uint8_t data[4096]; size_t len; } acc;

static int collect(void *user, const uint8_t *d, size_t n)
{
  acc *a = user;
  if (a->len + n > sizeof a->data)
    return FOTA_ERR_TOO_LARGE;
  memcpy(a->data + a->len, d, n);
  a->len += n;
  return 0;
}

/* Parses buf split at `split` (0 = whole); returns 0 and fills p/a, or an error. */
static int parse(const char *buf, size_t len, size_t split, fota_http *p, acc *a)
{
  fota_http_init(p);
  memset(a, 0, sizeof *a);
  int rc;
  if (split && split < len) {
    rc = fota_http_feed(p, (const uint8_t *)buf, split, collect, a);
    if (!rc)
      rc = fota_http_feed(p, (const uint8_t *)buf + split, len - split, collect, a);
  } else {
    rc = fota_http_feed(p, (const uint8_t *)buf, len, collect, a);
  }
  if (rc)
    return rc;
  if (p->state != FOTA_HTTP_DONE)
    return fota_http_eof(p);
  return 0;
}

static void bad_fixtures(void **st)
{
  (void)st;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bad/http_response", OPENFOTA_FIXTURES);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int count = 0;
  struct dirent *e;
  static char buf[65536];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t split = 0; split <= n; split += (n > 64 ? n / 16 : 1)) {
      fota_http p;
      acc a;
      int rc = parse(buf, n, split, &p, &a);
      if (rc >= 0)
        fail_msg("fixture %s (split %zu) was accepted", e->d_name, split);
    }
    count++;
  }
  closedir(d);
  assert_true(count >= 30);
}

static const char *good[] = {
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag: \"abc\"\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\nTrailer: x\r\n\r\n",
  "HTTP/1.1 206 Partial\r\nContent-Range: bytes 10-14/100\r\nContent-Length: 5\r\n\r\nhello",
  "HTTP/1.0 200 OK\nContent-Length: 5\n\nhello",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\ncontent-length:5\r\n\r\nhelloEXTRA-IGNORED",
};

static void good_every_split(void **st)
{
  (void)st;
  for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
    size_t n = strlen(good[g]);
    for (size_t split = 0; split <= n; split++) {
      fota_http p;
      acc a;
      assert_int_equal(parse(good[g], n, split, &p, &a), 0);
      assert_int_equal(a.len, 5);
      assert_memory_equal(a.data, "hello", 5);
      assert_true(p.status == 200 || p.status == 206);
    }
  }
  fota_http p;
  acc a;
  assert_int_equal(parse(good[0], strlen(good[0]), 0, &p, &a), 0);
  assert_string_equal(p.etag, "\"abc\"");
  assert_int_equal(parse(good[2], strlen(good[2]), 0, &p, &a), 0);
  assert_int_equal(p.range_first, 10);
  assert_int_equal(p.range_last, 14);
  assert_int_equal(p.range_total, 100);
}

static void byte_at_a_time(void **st)
{
  (void)st;
  const char *r = good[1];
  fota_http p;
  acc a = {{0}, 0};
  fota_http_init(&p);
  for (size_t i = 0; r[i]; i++)
    assert_int_equal(fota_http_feed(&p, (const uint8_t *)r + i, 1, collect, &a), 0);
  assert_int_equal(p.state, FOTA_HTTP_DONE);
  assert_int_equal(a.len, 5);
}

static void read_to_close_and_no_body(void **st)
{
  (void)st;
  fota_http p;
  acc a;
  const char *r = "HTTP/1.1 200 OK\r\n\r\nbody-until-close";
  assert_int_equal(parse(r, strlen(r), 0, &p, &a), 0);
  assert_int_equal(a.len, 16);
  r = "HTTP/1.1 204 No Content\r\n\r\n";
  assert_int_equal(parse(r, strlen(r), 0, &p, &a), 0);
  assert_int_equal(a.len, 0);
  /* HEAD: a Content-Length but no body */
  fota_http_init(&p);
  p.head_only = 1;
  r = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  assert_int_equal(fota_http_feed(&p, (const uint8_t *)r, strlen(r), collect, &a), 0);
  assert_int_equal(p.state, FOTA_HTTP_DONE);
  /* an ETag too long to keep is dropped (no resume), not an error */
  char big[400];
  snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nETag: \"%0200d\"\r\nContent-Length: 0\r\n\r\n", 0);
  assert_int_equal(parse(big, strlen(big), 0, &p, &a), 0);
  assert_string_equal(p.etag, "");
}

static void callback_error_stops(void **st)
{
  (void)st;
  fota_http p;
  fota_http_init(&p);
  const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
  acc *a = calloc(1, sizeof *a);
  assert_int_equal(fota_http_feed(&p, (const uint8_t *)r, strlen(r), collect, a), 0);
  static uint8_t body[5000];
  assert_int_equal(fota_http_feed(&p, body, sizeof body, collect, a), FOTA_ERR_TOO_LARGE);
  free(a);
}

/* Retry-After: delta-seconds only, saturated; anything else is "unknown"
 * (-2) and absence is -1 — the agent then uses its own wait. */
static void retry_after_values(void **st)
{
  (void)st;
  static const struct { const char *hdrs; long want; } cases[] = {
    {"", -1},
    {"Retry-After: 30\r\n", 30},
    {"retry-after:7\r\n", 7},
    {"Retry-After:  0 \r\n", 0},
    {"Retry-After: 86400\r\n", 86400},
    {"Retry-After: 86401\r\n", FOTA_HTTP_RETRY_AFTER_MAX},
    {"Retry-After: 123456789012345678901234567890\r\n", FOTA_HTTP_RETRY_AFTER_MAX},
    {"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", -2},
    {"Retry-After: -1\r\n", -2},
    {"Retry-After: 1.5\r\n", -2},
    {"Retry-After: 0x10\r\n", -2},
    {"Retry-After:\r\n", -2},
    {"Retry-After: 5\r\nRetry-After: 5\r\n", -2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char r[256];
    int n = snprintf(r, sizeof r, "HTTP/1.1 503 Busy\r\n%sContent-Length: 2\r\n\r\n{}", cases[i].hdrs);
    fota_http p;
    fota_http_init(&p);
    assert_int_equal(fota_http_feed(&p, (const uint8_t *)r, (size_t)n, NULL, NULL), 0);
    assert_int_equal(p.state, FOTA_HTTP_DONE);
    if (p.retry_after != cases[i].want)
      fail_msg("%s: %ld, want %ld", cases[i].hdrs, p.retry_after, cases[i].want);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(bad_fixtures),   cmocka_unit_test(good_every_split),
    cmocka_unit_test(byte_at_a_time), cmocka_unit_test(read_to_close_and_no_body),
    cmocka_unit_test(callback_error_stops), cmocka_unit_test(retry_after_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
