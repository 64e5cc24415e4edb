/*
 * test_agent.c — extended download against a scripted server on 127.0.0.1:
 * resume after a reset (Range + If-Range), a package replaced on the server
 * while resuming (200 → restart), no ETag → no splicing, more bytes than
 * announced, announced length over the cap, a server dripping bytes, hash
 * mismatch, resume across a reboot, status reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota.h"
#include "fota_port_posix.h"
#include "memflash.h"
#include "testsrv.h"

#define IMG_LEN 20000u
static uint8_t img1[IMG_LEN], img2[IMG_LEN];
static uint8_t sha1[32], sha2[32];
static fota_posix_sys g_sys;

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
  fota_sha256 c;
  fota_sha256_init(&c);
  fota_sha256_update(&c, p, n);
  fota_sha256_final(&c, out);
}

typedef struct script {
  int mode;
  size_t cut;          /* bytes of body sent before the reset on conn 0 */
  char reqs[4][1024];  /* requests seen */
  int n;
} script;

enum { M_RESUME, M_CHANGED, M_NOETAG, M_MORE, M_BIGANNOUNCE, M_DRIP, M_PLAIN, M_CUT_ONLY, M_SERVE, M_NOLEN, M_PIECES };

static void send_head(int fd, int status, const char *etag, size_t cl, const char *extra)
{
  char h[512];
  snprintf(h, sizeof h, "HTTP/1.1 %d X\r\n%s%s%sContent-Length: %zu\r\n%s\r\n", status,
           etag ? "ETag: " : "", etag ? etag : "", etag ? "\r\n" : "", cl, extra ? extra : "");
  testsrv_sendstr(fd, h);
}

static size_t range_from(const char *req)
{
  const char *r = strstr(req, "Range: bytes=");
  return r ? (size_t)strtoul(r + 13, NULL, 10) : 0;
}

static int handler(int fd, const char *req, size_t len, int idx, void *user)
{
  (void)len;
  script *s = user;
  if (idx < 4)
    snprintf(s->reqs[idx], sizeof s->reqs[idx], "%s", req);
  s->n = idx + 1;
  size_t from = range_from(req);
  switch (s->mode) {
  case M_RESUME:
  case M_NOETAG:
  case M_CUT_ONLY:
  case M_SERVE: {
    const char *etag = s->mode == M_NOETAG ? NULL : "\"v1\"";
    if ((idx == 0 && s->mode != M_SERVE) || s->mode == M_CUT_ONLY) {
      send_head(fd, 200, etag, IMG_LEN, NULL);
      testsrv_send(fd, img1, s->cut);
      return 0; /* close mid-body */
    }
    if (from) {
      char cr[96];
      snprintf(cr, sizeof cr, "Content-Range: bytes %zu-%u/%u\r\n", from, IMG_LEN - 1, IMG_LEN);
      send_head(fd, 206, etag, IMG_LEN - from, cr);
      testsrv_send(fd, img1 + from, IMG_LEN - from);
    } else {
      send_head(fd, 200, etag, IMG_LEN, NULL);
      testsrv_send(fd, img1, IMG_LEN);
    }
    return 0;
  }
  case M_CHANGED:
    if (idx == 0) {
      send_head(fd, 200, "\"v1\"", IMG_LEN, NULL);
      testsrv_send(fd, img1, s->cut);
      return 0;
    }
    /* If-Range no longer matches: the whole new package */
    send_head(fd, 200, "\"v2\"", IMG_LEN, NULL);
    testsrv_send(fd, img2, IMG_LEN);
    return 0;
  case M_MORE:
    send_head(fd, 200, "\"v1\"", 1000, NULL);
    testsrv_send(fd, img1, IMG_LEN); /* 19000 bytes too many */
    return 0;
  case M_BIGANNOUNCE:
    send_head(fd, 200, "\"v1\"", 10u * 1024 * 1024, NULL);
    testsrv_send(fd, img1, IMG_LEN);
    return 0;
  case M_PIECES: { /* a server that answers ranges 5000 bytes at a time */
    size_t last = from + 5000 > IMG_LEN ? IMG_LEN - 1 : from + 4999;
    char cr[96];
    snprintf(cr, sizeof cr, "Content-Range: bytes %zu-%zu/%u\r\n", from, last, IMG_LEN);
    send_head(fd, 206, "\"v1\"", last - from + 1, cr);
    testsrv_send(fd, img1 + from, last - from + 1);
    return 0;
  }
  case M_NOLEN: /* no Content-Length, no chunking: runs to the close, cut short */
    testsrv_sendstr(fd, "HTTP/1.1 200 OK\r\n\r\n");
    testsrv_send(fd, img1, IMG_LEN / 2);
    return 0;
  case M_DRIP:
    send_head(fd, 200, "\"v1\"", IMG_LEN, NULL);
    for (int i = 0; i < 8; i++) { /* the client gives up long before the end */
      testsrv_send(fd, img1 + i, 1);
      usleep(300 * 1000);
    }
    return 0;
  default:
    send_head(fd, 200, "\"v1\"", IMG_LEN, NULL);
    testsrv_send(fd, img1, IMG_LEN);
    return 0;
  }
}

typedef struct rig {
  testsrv srv;
  script sc;
  memflash mf;
  fota_ports ports;
  char url[128];
  fota_opts o;
  fota_agent_opts ao;
} rig;

static void rig_start(rig *r, int mode, size_t cut, int conns)
{
  memset(r, 0, sizeof *r);
  r->sc.mode = mode;
  r->sc.cut = cut;
  assert_int_equal(testsrv_start(&r->srv, handler, &r->sc, conns), 0);
  memflash_init(&r->mf, 64 * 1024);
  uint8_t z[32] = {0};
  assert_int_equal(fota_bootstate_init(&r->mf.st, FOTA_SLOT_A, 1, z), 0);
  r->ports.transport = fota_posix_transport();
  r->ports.storage = &r->mf.st;
  r->ports.system = &g_sys.system;
  snprintf(r->url, sizeof r->url, "###http://127.0.0.1:%u/pkg.bin", r->srv.port);
  r->o.url = r->url;
  r->o.timeout_ms = 20000;
  r->ao.slot = FOTA_SLOT_AUTO;
  r->ao.retry_delay_ms = 10;
  r->ao.read_timeout_ms = 5000;
}

static int slot_untouched_b(rig *r)
{
  for (size_t i = 0; i < 64 * 1024; i++)
    if (r->mf.slot[FOTA_SLOT_B][i] != 0xff)
      return 0;
  return 1;
}

static void rig_stop(rig *r)
{
  testsrv_stop(&r->srv);
  assert_int_equal(r->mf.writes_unerased, 0);
  memflash_free(&r->mf);
}

static void resume_after_reset(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_RESUME, 7777, 2);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(r.sc.n, 2);
  assert_non_null(strstr(r.sc.reqs[1], "\r\nRange: bytes=7777-\r\nIf-Range: \"v1\"\r\n"));
  assert_null(strstr(r.sc.reqs[0], "Range:"));
  assert_int_equal(rep.total_len, IMG_LEN);
  assert_memory_equal(rep.sha256, sha1, 32);
  assert_memory_equal(r.mf.slot[FOTA_SLOT_B], img1, IMG_LEN);
  assert_int_equal(rep.slot, FOTA_SLOT_B);
  /* and it activates */
  assert_int_equal(fota_activate(&r.mf.st, rep.slot, rep.total_len, rep.sha256), 0);
  rig_stop(&r);
}

static void changed_while_resuming(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_CHANGED, 9000, 2);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_non_null(strstr(r.sc.reqs[1], "If-Range: \"v1\""));
  assert_memory_equal(rep.sha256, sha2, 32); /* never a splice of v1 and v2 */
  assert_memory_equal(r.mf.slot[FOTA_SLOT_B], img2, IMG_LEN);
  rig_stop(&r);
}

static void no_etag_no_splice(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_NOETAG, 5000, 2);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_null(strstr(r.sc.reqs[1], "Range:")); /* no validator: start over */
  assert_memory_equal(rep.sha256, sha1, 32);
  rig_stop(&r);
}

static void more_than_announced(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_MORE, 0, 1);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(rep.total_len, 1000);
  assert_int_equal(r.mf.slot[FOTA_SLOT_B][1000], 0xff); /* nothing past the length */
  rig_stop(&r);
}

static void over_the_cap(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_BIGANNOUNCE, 0, 1);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_TOO_LARGE);
  for (size_t i = 0; i < 64 * 1024; i++)
    if (r.mf.slot[FOTA_SLOT_B][i] != 0xff)
      fail_msg("byte %zu written although the announced length is over the slot", i);
  rig_stop(&r);
  /* max_len below the real size: refused at the announced length */
  rig_start(&r, M_PLAIN, 0, 1);
  r.ao.max_len = 1000;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_TOO_LARGE);
  rig_stop(&r);
}

static void drip_is_abandoned(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_DRIP, 0, 1);
  r.ao.read_timeout_ms = 150; /* a byte every 300 ms is too slow */
  r.ao.max_attempts = 1;
  uint64_t t0 = g_sys.system.now_ms(&g_sys);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_TIMEOUT);
  assert_true(g_sys.system.now_ms(&g_sys) - t0 < 2000);
  rig_stop(&r);
  /* fast enough per read, but the overall deadline ends it */
  rig_start(&r, M_DRIP, 0, 1);
  r.ao.read_timeout_ms = 1000;
  r.ao.deadline_ms = 800;
  r.ao.max_attempts = 1;
  t0 = g_sys.system.now_ms(&g_sys);
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_TIMEOUT);
  uint64_t dt = g_sys.system.now_ms(&g_sys) - t0;
  assert_true(dt >= 700 && dt < 2500);
  rig_stop(&r);
}

static void hash_mismatch(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_PLAIN, 0, 1);
  r.ao.expect_sha256 = sha2;
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_HASH);
  assert_int_equal(rep.slot, ~0u);
  rig_stop(&r);
  rig_start(&r, M_PLAIN, 0, 1);
  r.ao.expect_sha256 = sha1;
  r.ao.expect_len = IMG_LEN;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  rig_stop(&r);
}

static void ranges_in_pieces(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_PIECES, 0, 4);
  r.ao.max_attempts = 2; /* fewer than the pieces: progress keeps it going */
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(r.sc.n, 4);
  assert_non_null(strstr(r.sc.reqs[3], "Range: bytes=15000-\r\n"));
  assert_memory_equal(rep.sha256, sha1, 32);
  rig_stop(&r);
}

static void no_length_refused(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_NOLEN, 0, 1);
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_PROTOCOL);
  assert_true(slot_untouched_b(&r));
  rig_stop(&r);
  /* with the expected length the same truncated body is caught as such */
  rig_start(&r, M_NOLEN, 0, 1);
  r.ao.expect_len = IMG_LEN;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_HASH);
  assert_int_equal(rep.slot, ~0u);
  rig_stop(&r);
}

static void resume_across_reboot(void **st)
{
  (void)st;
  rig r;
  rig_start(&r, M_CUT_ONLY, 12345, 1);
  fota_resume res;
  memset(&res, 0, sizeof res);
  r.ao.resume = &res;
  r.ao.max_attempts = 1;
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_CLOSED_BODY);
  assert_int_equal(res.offset, 12345);
  assert_string_equal(res.etag, "\"v1\"");
  testsrv_stop(&r.srv);
  /* "reboot": new server, same flash, persisted resume point */
  r.sc.mode = M_SERVE;
  r.sc.n = 0;
  assert_int_equal(testsrv_start(&r.srv, handler, &r.sc, 1), 0);
  snprintf(r.url, sizeof r.url, "###http://127.0.0.1:%u/pkg.bin", r.srv.port);
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  /* resumed from the erase-unit boundary below 12345, with the saved ETag;
   * the bytes already in flash were re-hashed */
  assert_non_null(strstr(r.sc.reqs[0], "Range: bytes=12288-\r\nIf-Range: \"v1\"\r\n"));
  assert_memory_equal(rep.sha256, sha1, 32);
  assert_memory_equal(r.mf.slot[FOTA_SLOT_B], img1, IMG_LEN);
  rig_stop(&r);
}

typedef struct statsrv { char body[1024]; } statsrv;
static int status_handler(int fd, const char *req, size_t len, int idx, void *user)
{
  (void)len; (void)idx;
  statsrv *s = user;
  const char *b = strstr(req, "\r\n\r\n");
  snprintf(s->body, sizeof s->body, "%s", b ? b + 4 : "");
  assert_non_null(strstr(req, "POST /api/v1/device/status HTTP/1.1\r\n"));
  assert_non_null(strstr(req, "Content-Type: application/json\r\n"));
  testsrv_sendstr(fd, "HTTP/1.1 204 No Content\r\n\r\n");
  return 0;
}

static void status_reports(void **st)
{
  (void)st;
  char j[512];
  assert_true(fota_status_json(j, sizeof j, "8624", "2035.001.002", "failed", "bad \"x\"\n", NULL) > 0);
  assert_string_equal(j, "{\"id\":\"8624\",\"version\":\"2035.001.002\",\"state\":\"failed\","
                         "\"reason\":\"bad \\\"x\\\"\\u000a\",\"sha256\":\"\"}");
  assert_int_equal(fota_status_json(j, 20, "8624", "v", "failed", NULL, NULL), FOTA_ERR_TOOBIG);
  testsrv s;
  statsrv ss;
  assert_int_equal(testsrv_start(&s, status_handler, &ss, 1), 0);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/device/status", s.port);
  fota_ports p = {fota_posix_transport(), NULL, &g_sys.system};
  assert_int_equal(fota_status_report(&p, url, "8624", "1.2.3", "installed", NULL, "ab", 5000), 204);
  testsrv_stop(&s);
  assert_string_equal(ss.body, "{\"id\":\"8624\",\"version\":\"1.2.3\",\"state\":\"installed\","
                               "\"reason\":\"\",\"sha256\":\"ab\"}");
}

int main(void)
{
  fota_posix_system_init(&g_sys);
  for (size_t i = 0; i < IMG_LEN; i++) {
    img1[i] = (uint8_t)(i * 31 + 7);
    img2[i] = (uint8_t)(i * 17 + 3);
  }
  sha(img1, IMG_LEN, sha1);
  sha(img2, IMG_LEN, sha2);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(resume_after_reset),  cmocka_unit_test(changed_while_resuming),
    cmocka_unit_test(no_etag_no_splice),   cmocka_unit_test(more_than_announced),
    cmocka_unit_test(over_the_cap),        cmocka_unit_test(drip_is_abandoned),
    cmocka_unit_test(hash_mismatch),       cmocka_unit_test(resume_across_reboot),
    cmocka_unit_test(no_length_refused),   cmocka_unit_test(ranges_in_pieces),
    cmocka_unit_test(status_reports),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
