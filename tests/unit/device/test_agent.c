/*
 * test_agent.c — extended download against a scripted server on 127.0.0.1:
 * resume after a reset (Range + If-Range), a package replaced on the server
 * while resuming (200 → restart), no ETag → no splicing, more bytes than
 * announced, announced length over the cap, a server dripping bytes, hash
 * mismatch, resume across a reboot, status reports; server-made deltas:
 * the X-Openfota-Agent header (only with an installer that can take signed
 * deltas; never in libfota2 mode) and code-43 answers waited out on a fake
 * clock (Retry-After honoured and bounded, a bounded number of waits, other
 * 503s still errors).
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

typedef struct statsrv { char body[1024]; char req[2048]; } statsrv;
static int status_handler(int fd, const char *req, size_t len, int idx, void *user)
{
  (void)len; (void)idx;
  statsrv *s = user;
  snprintf(s->req, sizeof s->req, "%s", req);
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
  assert_null(strstr(ss.req, "X-Openfota-Auth"));
  /* signed: time and HMAC-SHA256(key, time + "\n" + body) in two headers */
  static const uint8_t key[32] = {1, 2, 3};
  assert_int_equal(testsrv_start(&s, status_handler, &ss, 1), 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/device/status", s.port);
  assert_int_equal(fota_status_report_signed(&p, url, key, 32, 1796400000123ull, "8624", "1.2.3", "failed", "x",
                                             NULL, 5000),
                   204);
  testsrv_stop(&s);
  char want[65];
  fota_status_sign(key, 32, 1796400000123ull, ss.body, strlen(ss.body), want);
  char line[120];
  snprintf(line, sizeof line, "X-Openfota-Time: 1796400000123\r\nX-Openfota-Auth: %s\r\n", want);
  assert_non_null(strstr(ss.req, line));
  /* the HMAC of RFC 4231 test case 2 through the same code */
  uint8_t mac[32];
  fota_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, mac);
  assert_int_equal(mac[0], 0x5b);
  assert_int_equal(mac[31], 0x43);
}

/* ---- server-made deltas: X-Openfota-Agent and code 43 ---- */

/* Fake clock over the real one: sleep_ms records the wait and moves the
 * clock forward without sleeping. */
static uint64_t g_virt;
static unsigned g_sleeps[16];
static int g_nsleeps;
static uint64_t fk_now(void *c) { (void)c; return g_sys.system.now_ms(&g_sys) + g_virt; }
static void fk_sleep(void *c, unsigned ms)
{
  (void)c;
  if (g_nsleeps < 16)
    g_sleeps[g_nsleeps] = ms;
  g_nsleeps++;
  g_virt += ms;
}
static const fota_system g_fake = {NULL, fk_now, fk_sleep, NULL, NULL, NULL, NULL};

/* Installer that writes the body verbatim, with the capabilities it claims. */
typedef struct rawinst {
  fota_apply_ops ops;
  const fota_storage *st;
  unsigned dst;
  uint64_t off;
} rawinst;
static int ri_begin(void *ctx, const fota_storage *st, unsigned src, unsigned dst, uint64_t cap)
{
  (void)src;
  rawinst *r = ctx;
  r->st = st;
  r->dst = dst;
  r->off = 0;
  return st->erase(st->ctx, dst, 0, cap) ? FOTA_ERR_STORAGE : 0;
}
static int ri_feed(void *ctx, const uint8_t *d, size_t n)
{
  rawinst *r = ctx;
  if (r->st->write(r->st->ctx, r->dst, r->off, d, n))
    return FOTA_ERR_STORAGE;
  r->off += n;
  return 0;
}
static int ri_finish(void *ctx, uint64_t *len)
{
  *len = ((rawinst *)ctx)->off;
  return 0;
}
static void rawinst_init(rawinst *r, unsigned caps)
{
  memset(r, 0, sizeof *r);
  r->ops.ctx = r;
  r->ops.begin = ri_begin;
  r->ops.feed = ri_feed;
  r->ops.finish = ri_finish;
  r->ops.caps = caps;
}

typedef struct srv43 {
  int n43;              /* code-43 answers before the package; -1: always */
  int status;           /* status of those answers (503) */
  const char *hdrs;     /* extra header lines of those answers (Retry-After) */
  const char *body;     /* their body */
  char reqs[8][1024];
  int n;
} srv43;

static int handler43(int fd, const char *req, size_t len, int idx, void *user)
{
  (void)len;
  srv43 *s = user;
  if (idx < 8)
    snprintf(s->reqs[idx], sizeof s->reqs[idx], "%s", req);
  s->n = idx + 1;
  if (s->n43 < 0 || idx < s->n43) {
    char h[512];
    snprintf(h, sizeof h, "HTTP/1.1 %d Busy\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
             s->status, s->hdrs, strlen(s->body));
    testsrv_sendstr(fd, h);
    testsrv_sendstr(fd, s->body);
    return 0;
  }
  send_head(fd, 200, "\"d1\"", IMG_LEN, NULL);
  testsrv_send(fd, img1, IMG_LEN);
  return 0;
}

#define BODY43 "{\"code\":43,\"msg\":\"the delta package for this device is being generated: try again in a little while\"}"

typedef struct rig43 {
  testsrv srv;
  srv43 sc;
  memflash mf;
  fota_ports ports;
  char url[128];
  fota_opts o;
  fota_agent_opts ao;
  rawinst inst;
} rig43;

static void rig43_start(rig43 *r, int n43, const char *hdrs, unsigned caps)
{
  memset(r, 0, sizeof *r);
  r->sc.n43 = n43;
  r->sc.status = 503;
  r->sc.hdrs = hdrs;
  r->sc.body = BODY43;
  assert_int_equal(testsrv_start(&r->srv, handler43, &r->sc, 8), 0);
  memflash_init(&r->mf, 64 * 1024);
  uint8_t z[32] = {0};
  assert_int_equal(fota_bootstate_init(&r->mf.st, FOTA_SLOT_A, 1, z), 0);
  r->ports.transport = fota_posix_transport();
  r->ports.storage = &r->mf.st;
  r->ports.system = &g_fake;
  snprintf(r->url, sizeof r->url, "###http://127.0.0.1:%u/api/site/firmware_upgrade?x=1", r->srv.port);
  r->o.url = r->url;
  r->o.timeout_ms = 20000;
  r->ao.slot = FOTA_SLOT_AUTO;
  r->ao.retry_delay_ms = 10;
  r->ao.read_timeout_ms = 5000;
  rawinst_init(&r->inst, caps);
  r->ao.apply = caps == ~0u ? NULL : &r->inst.ops;
  g_virt = 0;
  g_nsleeps = 0;
}

static void rig43_stop(rig43 *r)
{
  testsrv_stop(&r->srv);
  assert_int_equal(r->mf.writes_unerased, 0);
  memflash_free(&r->mf);
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

#define AGENT_LINE "\r\nX-Openfota-Agent: signed,delta\r\n"
#define CAPS_ALL (FOTA_CAP_SIGNED | FOTA_CAP_DELTA)

static void agent_header_only_when_it_can_take_deltas(void **st)
{
  (void)st;
  static const struct { unsigned caps; int sent; } cases[] = {
    {CAPS_ALL, 1}, {~0u /* no installer */, 0}, {0, 0}, {FOTA_CAP_SIGNED, 0}, {FOTA_CAP_DELTA, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig43 r;
    rig43_start(&r, 0, "", cases[i].caps);
    fota_report rep;
    assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
    assert_int_equal(r.sc.n, 1);
    if (cases[i].sent != (strstr(r.sc.reqs[0], AGENT_LINE) != NULL))
      fail_msg("caps 0x%x: header %s expected\n%s", cases[i].caps, cases[i].sent ? "" : "not", r.sc.reqs[0]);
    assert_int_equal(count(r.sc.reqs[0], "X-Openfota-Agent"), cases[i].sent);
    assert_memory_equal(rep.sha256, sha1, 32);
    rig43_stop(&r);
  }
  /* the caller's own line wins (e.g. "0" to opt out): never two */
  rig43 r;
  rig43_start(&r, 0, "", CAPS_ALL);
  r.o.headers = "x-openfota-agent: 0\r\n";
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(count(r.sc.reqs[0], "penfota-Agent") + count(r.sc.reqs[0], "penfota-agent"), 1);
  assert_non_null(strstr(r.sc.reqs[0], "\r\nx-openfota-agent: 0\r\n"));
  rig43_stop(&r);
}

static void libfota2_request_has_no_agent_header(void **st)
{
  (void)st;
  rig43 r;
  rig43_start(&r, 0, "", CAPS_ALL);
  r.o.url = NULL;
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/upgrade?", r.srv.port);
  fota_opts o = {.url = url, .imei = "862419074072001", .project_key = "K",
                 .firmware_name = "F_LuatOS-SoC_Air780EHV", .version = "2035.001.002", .timeout_ms = 20000};
  assert_int_equal(fota_request_ex(&r.ports, &o, NULL, NULL), FOTA_RESULT_OK);
  char want[1024];
  assert_true(fota_build_request(&o, want, sizeof want, NULL) > 0);
  assert_string_equal(r.sc.reqs[0], want); /* byte for byte the libfota2 request */
  assert_null(strstr(r.sc.reqs[0], "Agent"));
  rig43_stop(&r);
  /* and a 43 is result 4 with vendor code 43 at once: no wait in libfota2 mode */
  rig43_start(&r, -1, "Retry-After: 5\r\n", CAPS_ALL);
  snprintf(url, sizeof url, "http://127.0.0.1:%u/upgrade?", r.srv.port);
  o.url = url;
  assert_int_equal(fota_request_ex(&r.ports, &o, NULL, NULL), FOTA_RESULT_RECV);
  assert_int_equal(r.sc.n, 1);
  assert_int_equal(g_nsleeps, 0);
  rig43_stop(&r);
}

static void code43_then_package(void **st)
{
  (void)st;
  rig43 r;
  rig43_start(&r, 1, "Retry-After: 7\r\n", CAPS_ALL);
  r.ao.deadline_ms = 3000; /* shorter than the wait: waiting does not use it up */
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(r.sc.n, 2);
  assert_int_equal(g_nsleeps, 1);
  assert_int_equal(g_sleeps[0], 7000);
  assert_non_null(strstr(r.sc.reqs[0], AGENT_LINE));
  assert_non_null(strstr(r.sc.reqs[1], AGENT_LINE));
  assert_int_equal(rep.status, 200);
  assert_int_equal(rep.vendor_code, -1);
  assert_int_equal(rep.total_len, IMG_LEN);
  assert_memory_equal(rep.sha256, sha1, 32);
  assert_memory_equal(r.mf.slot[FOTA_SLOT_B], img1, IMG_LEN);
  assert_int_equal(fota_activate(&r.mf.st, rep.slot, rep.total_len, rep.sha256), 0);
  rig43_stop(&r);
  /* without an installer too (the server may answer 43 to any device) */
  rig43_start(&r, 2, "Retry-After: 2\r\n", ~0u);
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(r.sc.n, 3);
  assert_int_equal(g_nsleeps, 2);
  assert_int_equal(g_sleeps[1], 2000);
  rig43_stop(&r);
}

static void code43_forever_gives_up(void **st)
{
  (void)st;
  static const struct { unsigned waits; int reqs; } cases[] = {
    {0, (int)FOTA_DELTA_WAITS + 1}, {1, 2}, {5, 6}, {FOTA_DELTA_NO_WAIT, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig43 r;
    rig43_start(&r, -1, "Retry-After: 30\r\n", CAPS_ALL);
    r.ao.delta_waits = cases[i].waits;
    fota_report rep;
    assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_DELTA_PENDING);
    assert_int_equal(r.sc.n, cases[i].reqs);
    assert_int_equal(g_nsleeps, cases[i].reqs - 1);
    assert_int_equal(g_virt, (uint64_t)(cases[i].reqs - 1) * 30000u);
    assert_int_equal(rep.err, FOTA_ERR_DELTA_PENDING);
    assert_int_equal(rep.status, 503);
    assert_int_equal(rep.vendor_code, 43);
    assert_int_equal(rep.result, FOTA_RESULT_RECV);
    assert_int_equal(rep.slot, ~0u);
    for (size_t j = 0; j < 64 * 1024; j++)
      if (r.mf.slot[FOTA_SLOT_B][j] != 0xff)
        fail_msg("byte %zu of slot B written", j);
    assert_non_null(strstr(fota_strerror(FOTA_ERR_DELTA_PENDING), "code 43"));
    rig43_stop(&r);
  }
}

static void retry_after_defensive(void **st)
{
  (void)st;
  static const struct { const char *hdrs; unsigned max_s; unsigned want_ms; } cases[] = {
    {"", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000},                       /* missing */
    {"Retry-After: abc\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000},    /* not a number */
    {"Retry-After: Fri, 31 Dec 1999 23:59:59 GMT\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000}, /* a date */
    {"Retry-After: -5\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000},
    {"Retry-After: 12abc\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000},
    {"Retry-After:\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000},          /* empty */
    {"Retry-After: 5\r\nRetry-After: 6\r\n", 0, FOTA_DELTA_WAIT_DEFAULT_S * 1000}, /* repeated */
    {"Retry-After: 99999999999999999999999999\r\n", 0, FOTA_DELTA_WAIT_MAX_S * 1000}, /* huge */
    {"Retry-After: 301\r\n", 0, FOTA_DELTA_WAIT_MAX_S * 1000},
    {"Retry-After: 300\r\n", 0, 300000},
    {"Retry-After: 4000\r\n", 10, 10000},                               /* own cap */
    {"Retry-After: 4000\r\n", 4000000000u, 4000000u},
    {"Retry-After: 99999999\r\n", 4000000000u, 86400000u},              /* cap of the cap: a day */
    {"Retry-After: 5\r\n", 10, 5000},
    {"Retry-After:   9  \r\n", 0, 9000},
    {"Retry-After: 0\r\n", 0, 1000},                                    /* at least a second */
    {"Retry-After: 1\r\n", 0, 1000},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig43 r;
    rig43_start(&r, 1, cases[i].hdrs, CAPS_ALL);
    r.ao.delta_wait_max_s = cases[i].max_s;
    fota_report rep;
    int rc = fota_download(&r.ports, &r.o, &r.ao, &rep);
    if (rc || g_nsleeps != 1 || g_sleeps[0] != cases[i].want_ms)
      fail_msg("case %zu (%s): rc %d, %d waits, first %u ms, want %u ms", i, cases[i].hdrs, rc, g_nsleeps,
               g_nsleeps ? g_sleeps[0] : 0, cases[i].want_ms);
    assert_memory_equal(rep.sha256, sha1, 32);
    rig43_stop(&r);
  }
}

static void other_answers_stay_errors(void **st)
{
  (void)st;
  static const struct { int status; const char *body; int code; } cases[] = {
    {503, "{\"code\":0,\"msg\":\"server out of memory\"}", 0},
    {503, "overloaded", -1},
    {503, "", -1},
    {503, "{\"code\":430}", 430},
    {404, BODY43, 43},            /* 43 but not a 503 */
    {500, BODY43, 43},
    {404, "{\"code\":27,\"msg\":\"already the latest version, no upgrade needed\"}", 27},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig43 r;
    rig43_start(&r, -1, "Retry-After: 1\r\n", CAPS_ALL);
    r.sc.status = cases[i].status;
    r.sc.body = cases[i].body;
    fota_report rep;
    assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), FOTA_ERR_HTTP_STATUS);
    assert_int_equal(r.sc.n, 1);
    assert_int_equal(g_nsleeps, 0);
    assert_int_equal(rep.status, cases[i].status);
    assert_int_equal(rep.vendor_code, cases[i].code);
    assert_int_equal(rep.result, FOTA_RESULT_RECV);
    rig43_stop(&r);
  }
  /* a long 43 body is cut after its start and still understood */
  rig43 r;
  rig43_start(&r, 1, "Retry-After: 3\r\n", CAPS_ALL);
  static char big[4096];
  memset(big, ' ', sizeof big - 1);
  memcpy(big, BODY43, sizeof BODY43 - 2); /* without the closing brace */
  r.sc.body = big;
  fota_report rep;
  assert_int_equal(fota_download(&r.ports, &r.o, &r.ao, &rep), 0);
  assert_int_equal(g_nsleeps, 1);
  assert_int_equal(g_sleeps[0], 3000);
  rig43_stop(&r);
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
    cmocka_unit_test(agent_header_only_when_it_can_take_deltas),
    cmocka_unit_test(libfota2_request_has_no_agent_header),
    cmocka_unit_test(code43_then_package),
    cmocka_unit_test(code43_forever_gives_up),
    cmocka_unit_test(retry_after_defensive),
    cmocka_unit_test(other_answers_stay_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
