/*
 * test_misc.c — own MD5/SHA-256 against mbedTLS, the periodic checker with
 * jitter, the manual trigger and its running guard, and the PSM cycle (with
 * a fake clock and an in-memory transport).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

#include "fota.h"

static void hashes_match_mbedtls(void **st)
{
  (void)st;
  static uint8_t buf[5000];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(rand() & 0xff);
  size_t lens[] = {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 4999, 5000};
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
    size_t n = lens[k];
    uint8_t a[32], b[32], c[16], d[16];
    mbedtls_sha256_ret(buf, n, a, 0);
    mbedtls_md5_ret(buf, n, c);
    for (size_t step = 1; step <= 97; step += 32) {
      fota_sha256 s;
      fota_md5 m;
      fota_sha256_init(&s);
      fota_md5_init(&m);
      for (size_t off = 0; off < n; off += step) {
        size_t t = n - off < step ? n - off : step;
        fota_sha256_update(&s, buf + off, t);
        fota_md5_update(&m, buf + off, t);
      }
      fota_sha256_final(&s, b);
      fota_md5_final(&m, d);
      assert_memory_equal(a, b, 32);
      assert_memory_equal(c, d, 16);
    }
  }
  /* known answers */
  uint8_t out[32];
  fota_sha256 s;
  fota_sha256_init(&s);
  fota_sha256_update(&s, "abc", 3);
  fota_sha256_final(&s, out);
  assert_memory_equal(out, "\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde\x5d\xae\x22\x23"
                           "\xb0\x03\x61\xa3\x96\x17\x7a\x9c\xb4\x10\xff\x61\xf2\x00\x15\xad", 32);
}

/* ---- fake system + in-memory transport answering a canned response ---- */
static uint64_t g_now;
static uint32_t g_rand;
static int g_net_after; /* net_ready once g_now >= this */
static int g_reboots;
static uint64_t g_slept;
static uint64_t fk_now(void *c) { (void)c; return g_now; }
static void fk_sleep(void *c, unsigned ms) { (void)c; g_now += ms; }
static uint32_t fk_rand(void *c) { (void)c; return g_rand; }
static void fk_reboot(void *c) { (void)c; g_reboots++; }
static int fk_net(void *c) { (void)c; return g_now >= (uint64_t)g_net_after; }
static void fk_deep(void *c, uint64_t ms) { (void)c; g_slept = ms; g_now += ms; }
static const fota_system g_sys = {NULL, fk_now, fk_sleep, fk_reboot, fk_rand, fk_net, fk_deep};

static const char *g_resp;
static size_t g_pos;
static int g_connects;
static int m_connect(void *x, const fota_target *t, const fota_opts *o, unsigned to, fota_conn **c)
{
  (void)x; (void)t; (void)o; (void)to;
  g_pos = 0;
  g_connects++;
  *c = (fota_conn *)&g_pos;
  return 0;
}
static int m_send(void *x, fota_conn *c, const void *b, size_t n, unsigned to)
{
  (void)x; (void)c; (void)b; (void)n; (void)to;
  return 0;
}
static long m_recv(void *x, fota_conn *c, void *buf, size_t cap, unsigned to)
{
  (void)x; (void)c; (void)to;
  size_t n = strlen(g_resp) - g_pos;
  if (n > cap) n = cap;
  memcpy(buf, g_resp + g_pos, n);
  g_pos += n;
  return (long)n;
}
static void m_close(void *x, fota_conn *c) { (void)x; (void)c; }
static const fota_transport g_tr = {NULL, m_connect, m_send, m_recv, m_close};
static const fota_ports g_ports = {&g_tr, NULL, &g_sys};

static int g_calls, g_last;
static void cb(int r, const fota_report *rep, void *u)
{
  (void)rep; (void)u;
  g_calls++;
  g_last = r;
}

static const fota_opts g_opts = {.url = "http://h/u?", .imei = "1", .project_key = "K",
                                 .firmware_name = "F", .version = "2012.001.001"};

static void checker_jitter_and_period(void **st)
{
  (void)st;
  g_now = 1000;
  g_resp = "HTTP/1.1 404 X\r\nContent-Length: 0\r\n\r\n";
  fota_checker c;
  g_rand = 0;
  fota_checker_init(&c, &g_ports, &g_opts, cb, NULL, 0);
  /* default: 4 h +- 10% */
  uint32_t lo = fota_checker_delay(&c);
  g_rand = 0xffffffffu;
  uint32_t hi = fota_checker_delay(&c);
  assert_true(lo >= FOTA_CHECK_PERIOD_MS - FOTA_CHECK_PERIOD_MS / 10);
  assert_true(hi <= FOTA_CHECK_PERIOD_MS + FOTA_CHECK_PERIOD_MS / 10);
  assert_true(hi > lo);
  c.period_ms = 1000;
  c.jitter_ms = 100;
  for (uint32_t r = 0; r < 1000; r += 7) {
    g_rand = r * 2654435761u;
    uint32_t d = fota_checker_delay(&c);
    assert_true(d >= 900 && d <= 1100);
  }
  /* first check after one jittered default period */
  g_calls = 0;
  assert_int_equal(fota_checker_poll(&c), 0);
  g_now = c.next_ms;
  assert_int_equal(fota_checker_poll(&c), 1);
  assert_int_equal(g_calls, 1);
  assert_int_equal(g_last, 4);
  assert_true(fota_checker_wait_ms(&c) >= 900 && fota_checker_wait_ms(&c) <= 1100);
  assert_int_equal(fota_checker_poll(&c), 0);
  /* manual trigger (MQTT / button): runs at the next poll */
  assert_int_equal(fota_trigger_check(), 0);
  assert_int_equal(fota_checker_wait_ms(&c), 0);
  assert_int_equal(fota_checker_poll(&c), 1);
  assert_int_equal(g_calls, 2);
  /* ignored while an update runs */
  extern int fota__guard_enter(void);
  extern void fota__guard_leave(void);
  assert_int_equal(fota__guard_enter(), 0);
  assert_int_equal(fota_trigger_check(), FOTA_ERR_BUSY);
  g_now = c.next_ms;
  assert_int_equal(fota_checker_poll(&c), FOTA_ERR_BUSY);
  fota__guard_leave();
  assert_int_equal(g_calls, 2);
}

static void psm_cycle(void **st)
{
  (void)st;
  g_now = 0;
  g_net_after = 3500; /* the network comes up after 3.5 s */
  g_calls = 0;
  g_reboots = 0;
  g_resp = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nPKG";
  fota_psm_opts po = {.reboot_on_success = 1};
  assert_int_equal(fota_psm_cycle(&g_ports, &g_opts, &po, cb, NULL), 0);
  assert_int_equal(g_calls, 1);
  assert_int_equal(g_reboots, 1);
  assert_int_equal(g_slept, FOTA_CHECK_PERIOD_MS);
  /* "already latest": no reboot, sleep again */
  g_resp = "HTTP/1.1 403 X\r\nContent-Length: 11\r\n\r\n{\"code\":27}";
  assert_int_equal(fota_psm_cycle(&g_ports, &g_opts, &po, cb, NULL), 4);
  assert_int_equal(g_reboots, 1);
  /* no network within net_wait: result 1 to the callback, then sleep */
  g_net_after = (int)0x7fffffff;
  uint64_t t0 = g_now;
  po.net_wait_ms = 5000;
  po.period_ms = 60000;
  assert_int_equal(fota_psm_cycle(&g_ports, &g_opts, &po, cb, NULL), FOTA_ERR_CONNECT);
  assert_int_equal(g_last, 1);
  assert_int_equal(g_slept, 60000);
  assert_true(g_now - t0 >= 5000 + 60000);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(hashes_match_mbedtls),
    cmocka_unit_test(checker_jitter_and_period),
    cmocka_unit_test(psm_cycle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
