/*
 * test_ext.c — installers behind fota_apply_ops: delta packages through the
 * delta engine's patcher, signed packages through the package verifier
 * (policy checked before the payload is written, signature and hashes before
 * anything can become bootable).
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
#include "fota_delta.h"
#include "fota_pkg.h"
#include "memflash.h"
#include "ofdelta.h"
#include "ofpkg.h"

#define OLD_LEN 30000u
#define NEW_LEN 32000u
static uint8_t old_img[OLD_LEN], new_img[NEW_LEN];
static uint8_t old_sha[32], new_sha[32];

/* In-memory server: answers 200 with the body, or 206 from the offset of a
 * "Range: bytes=N-" request (when ranges is set); the first connection can
 * be cut after cut_first bytes. */
typedef struct memsrv {
  uint8_t *resp; size_t len, pos;
  const uint8_t *body; size_t body_len;
  uint8_t part[200 * 1024];
  int ranges;
  size_t cut_first;
  int conns;
  int ranged; /* 206 answers given */
  int busy;   /* answer this many requests 503 code 43 first */
  const uint8_t *full; size_t full_len; /* the plain answer */
  char req[1024]; /* last request head */
} memsrv;
static memsrv g_srv;
static int ms_connect(void *ctx, const fota_target *t, const fota_opts *o, unsigned to, fota_conn **out)
{
  (void)t; (void)o; (void)to;
  memsrv *s = ctx;
  s->pos = 0;
  s->conns++;
  *out = (fota_conn *)ctx;
  return 0;
}
static int ms_send(void *ctx, fota_conn *c, const void *b, size_t n, unsigned to)
{
  (void)c; (void)to;
  memsrv *s = ctx;
  char *req = s->req;
  snprintf(req, sizeof s->req, "%.*s", (int)n, (const char *)b);
  const char *r = strstr(req, "Range: bytes=");
  static const char busy[] = "HTTP/1.1 503 Busy\r\nRetry-After: 4\r\nContent-Length: 20\r\n\r\n"
                             "{\"code\":43,\"msg\":\"\"}";
  if (s->busy > 0) {
    s->busy--;
    s->resp = (uint8_t *)busy;
    s->len = sizeof busy - 1;
  } else if (r && s->ranges && s->body) {
    size_t from = strtoul(r + 13, NULL, 10);
    int hl = snprintf((char *)s->part, sizeof s->part,
                      "HTTP/1.1 206 P\r\nContent-Range: bytes %zu-%zu/%zu\r\nContent-Length: %zu\r\n"
                      "ETag: \"e\"\r\n\r\n", from, s->body_len - 1, s->body_len, s->body_len - from);
    memcpy(s->part + hl, s->body + from, s->body_len - from);
    s->pos = 0;
    s->ranged++;
    s->len = (size_t)hl + s->body_len - from;
    s->resp = s->part; /* served from part until the next plain request */
  } else if (s->full) {
    s->resp = (uint8_t *)s->full;
    s->len = s->full_len;
  }
  return 0;
}
static long ms_recv(void *ctx, fota_conn *c, void *buf, size_t cap, unsigned to)
{
  (void)c; (void)to;
  memsrv *s = ctx;
  size_t n = s->len - s->pos;
  if (s->conns == 1 && s->cut_first) {
    if (s->pos >= s->cut_first)
      return 0; /* cut */
    if (n > s->cut_first - s->pos) n = s->cut_first - s->pos;
  }
  if (n > 777) n = 777;
  if (n > cap) n = cap;
  memcpy(buf, s->resp + s->pos, n);
  s->pos += n;
  return (long)n;
}
static void ms_close(void *ctx, fota_conn *c) { (void)ctx; (void)c; }
static const fota_transport g_tr = {&g_srv, ms_connect, ms_send, ms_recv, ms_close};
static uint64_t g_now;
static uint64_t fk_now(void *c) { (void)c; return g_now; }
static void fk_sleep(void *c, unsigned ms) { (void)c; g_now += ms; }
static const fota_system g_sys = {NULL, fk_now, fk_sleep, NULL, NULL, NULL, NULL};

static uint8_t *g_full;
static void serve(const uint8_t *body, size_t n)
{
  free(g_full);
  g_srv.body = body;
  g_srv.body_len = n;
  g_srv.conns = 0;
  g_srv.ranged = 0;
  g_srv.cut_first = 0;
  g_srv.ranges = 0;
  char head[128];
  int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nETag: \"e\"\r\n\r\n", n);
  g_full = malloc((size_t)hl + n);
  memcpy(g_full, head, (size_t)hl);
  memcpy(g_full + hl, body, n);
  g_srv.resp = g_full;
  g_srv.len = (size_t)hl + n;
  g_srv.full = g_full;
  g_srv.full_len = g_srv.len;
  g_srv.busy = 0;
}

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
  fota_sha256 c;
  fota_sha256_init(&c);
  fota_sha256_update(&c, p, n);
  fota_sha256_final(&c, out);
}

static void device(memflash *m)
{
  memflash_init(m, 64 * 1024);
  memcpy(m->slot[FOTA_SLOT_A], old_img, OLD_LEN);
  assert_int_equal(fota_bootstate_init(&m->st, FOTA_SLOT_A, OLD_LEN, old_sha), 0);
}

static int download(memflash *m, const fota_apply_ops *apply, fota_report *rep)
{
  fota_ports p = {&g_tr, &m->st, &g_sys};
  fota_opts o = {.url = "###http://srv/pkg", .timeout_ms = 60000};
  fota_agent_opts ao = {.slot = FOTA_SLOT_AUTO, .apply = apply, .max_attempts = 1};
  return fota_download(&p, &o, &ao, rep);
}

static int slot_untouched(memflash *m, unsigned slot)
{
  for (size_t i = 0; i < m->size[slot]; i++)
    if (m->slot[slot][i] != 0xff)
      return 0;
  return 1;
}

static uint8_t *g_patch;
static size_t g_patch_len;
static uint8_t g_ws[OFDELTA_DEFAULT_WORKSPACE];

static void delta_applies(void **st)
{
  (void)st;
  memflash m;
  device(&m);
  serve(g_patch, g_patch_len);
  fota_delta_apply da;
  fota_delta_apply_init(&da, g_ws, sizeof g_ws);
  fota_report rep;
  assert_int_equal(download(&m, &da.ops, &rep), 0);
  assert_int_equal(rep.total_len, NEW_LEN);
  assert_memory_equal(rep.sha256, new_sha, 32);
  assert_memory_equal(m.slot[FOTA_SLOT_B], new_img, NEW_LEN);
  assert_int_equal(fota_activate(&m.st, rep.slot, rep.total_len, rep.sha256), 0);
  assert_int_equal(fota_boot_select(&m.st, 1), FOTA_SLOT_B);
  assert_int_equal(m.writes_unerased, 0);
  memflash_free(&m);
}

static void delta_other_base_refused_before_write(void **st)
{
  (void)st;
  memflash m;
  device(&m);
  m.slot[FOTA_SLOT_A][1234] ^= 1; /* the running image is not the patch's base */
  serve(g_patch, g_patch_len);
  fota_delta_apply da;
  fota_delta_apply_init(&da, g_ws, sizeof g_ws);
  fota_report rep;
  assert_int_equal(download(&m, &da.ops, &rep), FOTA_ERR_DELTA);
  assert_int_equal(da.delta_err, OFDELTA_ERR_BASE_HASH);
  assert_true(slot_untouched(&m, FOTA_SLOT_B));
  memflash_free(&m);
}

static void delta_corrupt_refused(void **st)
{
  (void)st;
  memflash m;
  device(&m);
  uint8_t *bad = malloc(g_patch_len);
  memcpy(bad, g_patch, g_patch_len);
  bad[g_patch_len / 2] ^= 0x40;
  serve(bad, g_patch_len);
  free(bad);
  fota_delta_apply da;
  fota_delta_apply_init(&da, g_ws, sizeof g_ws);
  fota_report rep;
  assert_int_equal(download(&m, &da.ops, &rep), FOTA_ERR_DELTA);
  assert_int_equal(rep.slot, ~0u);
  memflash_free(&m);
}

/* Power cut at every flash erase/write while a delta is applied, activated,
 * booted and confirmed: the device always boots OLD or NEW, complete. */
static void delta_power_cut_sweep(void **st)
{
  (void)st;
  long total = -1;
  for (long n = 0; total < 0 || n <= total; n++) {
    memflash m;
    device(&m);
    m.ops = 0;
    m.cut_at = total < 0 ? -1 : n;
    serve(g_patch, g_patch_len);
    fota_delta_apply da;
    fota_delta_apply_init(&da, g_ws, sizeof g_ws);
    fota_report rep;
    if (download(&m, &da.ops, &rep) == 0 &&
        fota_activate(&m.st, rep.slot, rep.total_len, rep.sha256) == 0 &&
        fota_boot_select(&m.st, 1) >= 0)
      (void)fota_confirm(&m.st);
    if (total < 0) {
      total = m.ops; /* first pass: count the operations, no cut */
      n = -1;
      memflash_free(&m);
      continue;
    }
    memflash_reboot(&m);
    int s = fota_boot_select(&m.st, 1);
    assert_true(s == FOTA_SLOT_A || s == FOTA_SLOT_B);
    int old_ok = memcmp(m.slot[s], old_img, OLD_LEN) == 0;
    int new_ok = memcmp(m.slot[s], new_img, NEW_LEN) == 0;
    if (!old_ok && !new_ok)
      fail_msg("cut at op %ld: slot %d holds no valid image", n, s);
    memflash_free(&m);
  }
  assert_true(total > 10);
  print_message("delta power-cut sweep: %ld operations, %ld runs\n", total, total + 1);
}

/* ---- signed packages ---- */
static char g_dir[64];
static char g_pub[8192], g_pub2[8192];
static size_t g_pub_len, g_pub2_len;

static size_t slurp(const char *path, char *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap - 1, f);
  fclose(f);
  buf[n] = '\0';
  return n + 1; /* PEM with its NUL */
}

static uint8_t *sign(const char *key, ofpkg_manifest *m, const uint8_t *payload, size_t n, size_t *out_len)
{
  char path[128], msg[256];
  snprintf(path, sizeof path, "%s/%s.key", g_dir, key);
  ofpkg_signer *s = NULL;
  assert_int_equal(ofpkg_signer_load(path, &s, msg, sizeof msg), OFPKG_OK);
  uint8_t *out = NULL;
  ofpkg_err e = ofpkg_sign_package(s, m, payload, n, &out, out_len, msg, sizeof msg);
  if (e)
    fail_msg("sign: %s", msg);
  ofpkg_signer_free(s);
  return out;
}

static void manifest(ofpkg_manifest *m, int delta, uint64_t counter)
{
  memset(m, 0, sizeof *m);
  m->format_version = OFPKG_FORMAT_VERSION;
  snprintf(m->family, sizeof m->family, "FOTA2_DEMO");
  snprintf(m->suffix, sizeof m->suffix, "1");
  snprintf(m->hw_id, sizeof m->hw_id, "Air780EHV");
  m->target.core = 2035;
  m->target.x = 1;
  m->target.z = 2;
  m->counter = counter;
  m->kind = delta ? OFPKG_KIND_DELTA : OFPKG_KIND_FULL;
  m->result_len = NEW_LEN;
  memcpy(m->result_sha256, new_sha, 32);
  if (delta) {
    m->base.core = 2035;
    m->base.x = 1;
    m->base.z = 1;
    m->base_len = OLD_LEN;
    memcpy(m->base_sha256, old_sha, 32);
    m->delta_window = OFDELTA_DEFAULT_WINDOW;
  }
}

static int install_signed(memflash *m, const uint8_t *pkg, size_t n, const char *pub, size_t publen,
                          uint64_t installed_counter, const char *family, fota_signed_apply *sa,
                          fota_report *rep)
{
  static fota_delta_apply da;
  fota_delta_apply_init(&da, g_ws, sizeof g_ws);
  fota_signed_apply_init(sa, (const uint8_t *)pub, publen, family, "1", "Air780EHV",
                         installed_counter, &da.ops);
  serve(pkg, n);
  return download(m, &sa->ops, rep);
}

static void signed_full_and_delta(void **st)
{
  (void)st;
  for (int delta = 0; delta < 2; delta++) {
    ofpkg_manifest mf;
    manifest(&mf, delta, 5);
    size_t n;
    uint8_t *pkg = delta ? sign("a", &mf, g_patch, g_patch_len, &n) : sign("a", &mf, new_img, NEW_LEN, &n);
    memflash m;
    device(&m);
    fota_signed_apply sa;
    fota_report rep;
    int rc = install_signed(&m, pkg, n, g_pub, g_pub_len, 4, "FOTA2_DEMO", &sa, &rep);
    if (rc)
      fail_msg("signed %s: %s / %s", delta ? "delta" : "full", fota_strerror(rc), sa.msg);
    assert_memory_equal(m.slot[FOTA_SLOT_B], new_img, NEW_LEN);
    assert_int_equal(fota_activate(&m.st, rep.slot, rep.total_len, rep.sha256), 0);
    memflash_free(&m);
    free(pkg);
  }
}

static void signed_delta_cut_and_resumed(void **st)
{
  (void)st;
  ofpkg_manifest mf;
  manifest(&mf, 1, 5);
  size_t n;
  uint8_t *pkg = sign("a", &mf, g_patch, g_patch_len, &n);
  for (int ranges = 0; ranges < 2; ranges++) {
    memflash m;
    device(&m);
    static fota_delta_apply da;
    fota_delta_apply_init(&da, g_ws, sizeof g_ws);
    fota_signed_apply sa;
    fota_signed_apply_init(&sa, (const uint8_t *)g_pub, g_pub_len, "FOTA2_DEMO", "1", "Air780EHV", 4, &da.ops);
    serve(pkg, n);
    g_srv.ranges = ranges;
    g_srv.cut_first = 400 + n / 2; /* head + half the package, then the link drops */
    fota_ports p = {&g_tr, &m.st, &g_sys};
    fota_opts o = {.url = "###http://srv/pkg", .timeout_ms = 60000};
    fota_agent_opts ao = {.slot = FOTA_SLOT_AUTO, .apply = &sa.ops, .retry_delay_ms = 1};
    fota_report rep;
    int rc = fota_download(&p, &o, &ao, &rep);
    if (rc)
      fail_msg("%s: %s / %s", ranges ? "resumed" : "restarted", fota_strerror(rc), sa.msg);
    assert_int_equal(g_srv.conns, 2);
    assert_int_equal(g_srv.ranged, ranges); /* resumed with a 206, or restarted from zero */
    assert_memory_equal(m.slot[FOTA_SLOT_B], new_img, NEW_LEN);
    assert_int_equal(fota_activate(&m.st, rep.slot, rep.total_len, rep.sha256), 0);
    memflash_free(&m);
  }
  free(pkg);
}

static void signed_refusals(void **st)
{
  (void)st;
  ofpkg_manifest mf;
  manifest(&mf, 0, 5);
  size_t n;
  uint8_t *pkg = sign("a", &mf, new_img, NEW_LEN, &n);
  fota_signed_apply sa;
  fota_report rep;
  memflash m;
  /* another key */
  device(&m);
  assert_int_equal(install_signed(&m, pkg, n, g_pub2, g_pub2_len, 4, "FOTA2_DEMO", &sa, &rep), FOTA_ERR_SIGNATURE);
  assert_int_equal(rep.slot, ~0u);
  memflash_free(&m);
  /* rollback: installed counter is newer — refused before the payload is written */
  device(&m);
  assert_int_equal(install_signed(&m, pkg, n, g_pub, g_pub_len, 6, "FOTA2_DEMO", &sa, &rep), FOTA_ERR_SIGNATURE);
  assert_int_equal(sa.pkg_err, OFPKG_ERR_ROLLBACK);
  assert_true(slot_untouched(&m, FOTA_SLOT_B));
  memflash_free(&m);
  /* another family */
  device(&m);
  assert_int_equal(install_signed(&m, pkg, n, g_pub, g_pub_len, 4, "OTHER", &sa, &rep), FOTA_ERR_SIGNATURE);
  assert_int_equal(sa.pkg_err, OFPKG_ERR_FAMILY);
  assert_true(slot_untouched(&m, FOTA_SLOT_B));
  memflash_free(&m);
  /* one flipped payload bit */
  device(&m);
  pkg[OFPKG_SIGNED_LEN + 100] ^= 0x04;
  assert_int_equal(install_signed(&m, pkg, n, g_pub, g_pub_len, 4, "FOTA2_DEMO", &sa, &rep), FOTA_ERR_SIGNATURE);
  assert_int_equal(rep.slot, ~0u);
  pkg[OFPKG_SIGNED_LEN + 100] ^= 0x04;
  memflash_free(&m);
  /* truncated */
  device(&m);
  assert_int_equal(install_signed(&m, pkg, n - 10, g_pub, g_pub_len, 4, "FOTA2_DEMO", &sa, &rep), FOTA_ERR_SIGNATURE);
  memflash_free(&m);
  /* signature over another manifest: swap the manifest of a second package */
  ofpkg_manifest mf2;
  manifest(&mf2, 0, 7);
  size_t n2;
  uint8_t *pkg2 = sign("a", &mf2, new_img, NEW_LEN, &n2);
  memcpy(pkg2, pkg, OFPKG_SIGNED_LEN); /* header+manifest of pkg, signature of pkg2 */
  device(&m);
  assert_int_equal(install_signed(&m, pkg2, n2, g_pub, g_pub_len, 4, "FOTA2_DEMO", &sa, &rep), FOTA_ERR_SIGNATURE);
  memflash_free(&m);
  free(pkg2);
  free(pkg);
}

/* The installers say what they can install; with a signed installer that
 * has a delta installer behind it the download announces itself as an
 * agent, and a server still making the delta (503 code 43) is waited out
 * on the fake clock before the signed delta is installed. */
static void agent_caps_header_and_code43(void **st)
{
  (void)st;
  static fota_delta_apply da;
  fota_delta_apply_init(&da, g_ws, sizeof g_ws);
  assert_int_equal(da.ops.caps, FOTA_CAP_DELTA);
  fota_signed_apply sa;
  fota_signed_apply_init(&sa, (const uint8_t *)g_pub, g_pub_len, "FOTA2_DEMO", "1", "Air780EHV", 4, NULL);
  assert_int_equal(sa.ops.caps, FOTA_CAP_SIGNED);
  /* signed, no delta installer: no header (it could not take the delta) */
  ofpkg_manifest mf;
  manifest(&mf, 0, 5);
  size_t n;
  uint8_t *pkg = sign("a", &mf, new_img, NEW_LEN, &n);
  memflash m;
  device(&m);
  serve(pkg, n);
  fota_report rep;
  assert_int_equal(download(&m, &sa.ops, &rep), 0);
  assert_null(strstr(g_srv.req, "X-Openfota-Agent"));
  memflash_free(&m);
  free(pkg);
  /* plain delta installer: not a signed package either */
  device(&m);
  serve(g_patch, g_patch_len);
  assert_int_equal(download(&m, &da.ops, &rep), 0);
  assert_null(strstr(g_srv.req, "X-Openfota-Agent"));
  memflash_free(&m);
  /* signed + delta: the header, and two 43s waited out */
  fota_signed_apply_init(&sa, (const uint8_t *)g_pub, g_pub_len, "FOTA2_DEMO", "1", "Air780EHV", 4, &da.ops);
  assert_int_equal(sa.ops.caps, FOTA_CAP_SIGNED | FOTA_CAP_DELTA);
  manifest(&mf, 1, 5);
  pkg = sign("a", &mf, g_patch, g_patch_len, &n);
  device(&m);
  serve(pkg, n);
  g_srv.busy = 2;
  uint64_t t0 = g_now;
  assert_int_equal(download(&m, &sa.ops, &rep), 0);
  assert_int_equal(g_srv.conns, 3);
  assert_int_equal(g_now - t0, 8000); /* 2 x Retry-After: 4 */
  assert_non_null(strstr(g_srv.req, "\r\nX-Openfota-Agent: signed,delta\r\n"));
  assert_memory_equal(m.slot[FOTA_SLOT_B], new_img, NEW_LEN);
  assert_int_equal(fota_activate(&m.st, rep.slot, rep.total_len, rep.sha256), 0);
  memflash_free(&m);
  /* still making it after the allowed waits: a clear error, nothing written */
  device(&m);
  serve(pkg, n);
  g_srv.busy = 100;
  assert_int_equal(download(&m, &sa.ops, &rep), FOTA_ERR_DELTA_PENDING);
  assert_int_equal(g_srv.conns, (int)FOTA_DELTA_WAITS + 1);
  assert_int_equal(rep.vendor_code, 43);
  assert_true(slot_untouched(&m, FOTA_SLOT_B));
  memflash_free(&m);
  free(pkg);
}

int main(void)
{
  for (size_t i = 0; i < OLD_LEN; i++)
    old_img[i] = (uint8_t)((i * 7) ^ (i >> 5));
  memcpy(new_img, old_img, OLD_LEN);
  for (size_t i = 0; i < NEW_LEN; i += 97)
    new_img[i] = (uint8_t)(i * 3);
  for (size_t i = OLD_LEN; i < NEW_LEN; i++)
    new_img[i] = (uint8_t)(i * 11);
  sha(old_img, OLD_LEN, old_sha);
  sha(new_img, NEW_LEN, new_sha);
  assert_true(ofdelta_make(old_img, OLD_LEN, new_img, NEW_LEN, NULL, &g_patch, &g_patch_len, NULL) == OFDELTA_OK);
  snprintf(g_dir, sizeof g_dir, "/tmp/of-dev-ext-XXXXXX");
  if (!mkdtemp(g_dir))
    return 1;
  char a[128], b[128], msg[256];
  for (int k = 0; k < 2; k++) {
    snprintf(a, sizeof a, "%s/%s.key", g_dir, k ? "b" : "a");
    snprintf(b, sizeof b, "%s/%s.pub", g_dir, k ? "b" : "a");
    if (ofpkg_keygen(a, b, msg, sizeof msg) != OFPKG_OK) {
      fprintf(stderr, "keygen: %s\n", msg);
      return 1;
    }
  }
  snprintf(b, sizeof b, "%s/a.pub", g_dir);
  g_pub_len = slurp(b, g_pub, sizeof g_pub);
  snprintf(b, sizeof b, "%s/b.pub", g_dir);
  g_pub2_len = slurp(b, g_pub2, sizeof g_pub2);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(delta_applies),
    cmocka_unit_test(delta_other_base_refused_before_write),
    cmocka_unit_test(delta_corrupt_refused),
    cmocka_unit_test(delta_power_cut_sweep),
    cmocka_unit_test(signed_full_and_delta),
    cmocka_unit_test(signed_refusals),
    cmocka_unit_test(signed_delta_cut_and_resumed),
    cmocka_unit_test(agent_caps_header_and_code43),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(g_patch);
  free(g_full);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
