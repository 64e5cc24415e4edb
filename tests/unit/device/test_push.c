/*
 * test_push.c — the push line parser (good lines, every bad fixture) and the
 * listener against a scripted push server: identifies itself with IMEI+"\n",
 * runs a valid trigger, ignores a trigger that arrives while the update runs
 * (fota_running guard), drops an over-long line, reconnects, stops; with a
 * push key: HMAC-SHA256 vectors, the answer to a scripted server's nonce, the
 * plain id when no nonce comes, and no identification after a bad nonce.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fota.h"
#include "fota_port_posix.h"
#include "testsrv.h"

static fota_posix_sys g_sys;

static int parse(const char *s, fota_push_msg *m) { return fota_push_parse(s, strlen(s), m); }

static void good_lines(void **st)
{
  (void)st;
  fota_push_msg m;
  assert_int_equal(parse("{\"fota\":\"true\",\"url\":\"http://h/x.bin\",\"version\":\"2012.001.002\"}", &m), 0);
  assert_int_equal(m.fota, 1);
  assert_string_equal(m.url, "http://h/x.bin");
  assert_string_equal(m.version, "2012.001.002");
  /* the seed's form, with spaces, no version */
  assert_int_equal(parse(" { \"fota\": \"true\", \"url\": \"http://a/b\" } \r", &m), 0);
  assert_int_equal(m.fota, 1);
  assert_string_equal(m.version, "");
  /* JSON true; escapes; unknown keys of every scalar kind skipped */
  assert_int_equal(parse("{\"n\":-1.5e3,\"b\":false,\"z\":null,\"fota\":true,\"url\":\"http:\\/\\/h\\/\\u00e9\"}", &m), 0);
  assert_string_equal(m.url, "http://h/\xc3\xa9");
  /* not a trigger */
  assert_int_equal(parse("{\"fota\":\"false\",\"url\":\"http://h/x\"}", &m), 0);
  assert_int_equal(m.fota, 0);
  assert_int_equal(parse("{}", &m), 0);
  assert_int_equal(m.fota, 0);
  /* repeated key: the last wins */
  assert_int_equal(parse("{\"fota\":\"true\",\"url\":\"http://a\",\"url\":\"http://b\"}", &m), 0);
  assert_string_equal(m.url, "http://b");
  /* a very long unknown key is skipped */
  assert_int_equal(parse("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":\"x\",\"fota\":\"true\",\"url\":\"http://a\"}", &m), 0);
}

static void bad_fixtures(void **st)
{
  (void)st;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bad/device_push", OPENFOTA_FIXTURES);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int count = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[1024], buf[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fota_push_msg m;
    int rc = fota_push_parse(buf, n, &m);
    if (rc >= 0)
      fail_msg("push fixture %s was accepted", e->d_name);
    count++;
  }
  closedir(d);
  assert_true(count >= 20);
}

/* ---- listener ---- */
typedef struct dlsrv { int served; int own_version; } dlsrv;
static int dl_handler(int fd, const char *req, size_t n, int idx, void *user)
{
  (void)n; (void)idx;
  dlsrv *d = user;
  if (strstr(req, "GET /a?imei=862419074072001&project_key=K&firmware_name=F&version=2012.001.001 HTTP/1.1"))
    d->own_version++;
  usleep(400 * 1000); /* the update takes a while */
  d->served++;
  testsrv_sendstr(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nPKG");
  return 0;
}

typedef struct pushsrv { uint16_t dl_port; char first[64]; } pushsrv;
static int push_handler(int fd, const char *req, size_t n, int idx, void *user)
{
  (void)idx;
  pushsrv *p = user;
  snprintf(p->first, sizeof p->first, "%.*s", (int)n, req);
  char t[256];
  snprintf(t, sizeof t, "{\"fota\":\"true\",\"url\":\"http://127.0.0.1:%u/a?\",\"version\":\"2012.001.002\"}\n", p->dl_port);
  testsrv_sendstr(fd, t);
  usleep(150 * 1000);
  testsrv_sendstr(fd, t); /* arrives while the first update runs: ignored */
  usleep(1000 * 1000);
  char longline[700];
  memset(longline, 'x', sizeof longline - 2);
  longline[sizeof longline - 2] = '\n';
  longline[sizeof longline - 1] = '\0';
  testsrv_sendstr(fd, longline); /* over FOTA_PUSH_LINE_MAX: dropped */
  testsrv_sendstr(fd, "not json\n");
  testsrv_sendstr(fd, t); /* runs */
  return 1; /* keep the connection until the device goes */
}

typedef struct results { int calls, last; volatile int stop; } results;
static void cb(int result, const fota_report *rep, void *user)
{
  (void)rep;
  results *r = user;
  r->calls++;
  r->last = result;
  if (r->calls == 2)
    r->stop = 1;
}

static void listener(void **st)
{
  (void)st;
  testsrv dl, ps;
  dlsrv d = {0};
  pushsrv p;
  memset(&p, 0, sizeof p);
  assert_int_equal(testsrv_start(&dl, dl_handler, &d, 3), 0);
  p.dl_port = dl.port;
  assert_int_equal(testsrv_start(&ps, push_handler, &p, 1), 0);
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  results r = {0, -1, 0};
  fota_push_opts po = {.host = "127.0.0.1", .port = ps.port, .imei = "862419074072001",
                       .idle_ms = 50, .reconnect_ms = 50, .stop = &r.stop, .max_connects = 3};
  fota_opts base = {.timeout_ms = 5000, .imei = "862419074072001", .project_key = "K",
                    .firmware_name = "F", .version = "2012.001.001"};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb, &r), 0);
  testsrv_stop(&ps);
  testsrv_stop(&dl);
  assert_string_equal(p.first, "862419074072001\n");
  assert_int_equal(r.calls, 2);
  assert_int_equal(r.last, 0);
  assert_int_equal(d.served, 2); /* the trigger sent during the update was ignored */
  assert_int_equal(d.own_version, 2); /* the check reports the device's own version */
}

static int hb_handler(int fd, const char *req, size_t n, int idx, void *user)
{
  (void)req; (void)n; (void)idx;
  int *beats = user;
  uint64_t end = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  end = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 700;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now >= end)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)(end - now)) <= 0)
      continue;
    char b[64];
    ssize_t r = recv(fd, b, sizeof b, 0);
    if (r <= 0)
      break;
    for (ssize_t i = 0; i < r; i++)
      *beats += b[i] == '\n';
  }
  return 0;
}

static void listener_heartbeat(void **st)
{
  (void)st;
  testsrv ps;
  int beats = 0;
  assert_int_equal(testsrv_start(&ps, hb_handler, &beats, 1), 0);
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  fota_push_opts po = {.host = "127.0.0.1", .port = ps.port, .imei = "1", .idle_ms = 20,
                       .reconnect_ms = 10, .max_connects = 1, .heartbeat_ms = 100};
  fota_opts base = {0};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb, NULL), 0);
  testsrv_stop(&ps);
  assert_true(beats >= 4 && beats <= 8); /* ~one per 100 ms over 700 ms */
}

static void listener_unreachable(void **st)
{
  (void)st;
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  fota_push_opts po = {.host = "127.0.0.1", .port = testsrv_closed_port(), .imei = "1",
                       .reconnect_ms = 10, .max_connects = 2};
  fota_opts base = {0};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb, NULL), FOTA_ERR_CONNECT);
}

/* ---- push key ---- */
static void hexbytes(const char *hex, uint8_t *out)
{
  for (size_t i = 0; hex[2 * i]; i++) {
    unsigned v;
    sscanf(hex + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
}

static void hmac_vectors(void **st)
{
  (void)st;
  /* RFC 4231 test cases 1, 2 and 6 (a key longer than the block) */
  uint8_t out[32], want[32], k[131];
  memset(k, 0x0b, 20);
  fota_hmac_sha256(k, 20, "Hi There", 8, out);
  hexbytes("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want);
  assert_memory_equal(out, want, 32);
  fota_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out);
  hexbytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
  assert_memory_equal(out, want, 32);
  memset(k, 0xaa, sizeof k);
  const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
  fota_hmac_sha256(k, sizeof k, m, strlen(m), out);
  hexbytes("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want);
  assert_memory_equal(out, want, 32);
}

/* A scripted push server that speaks first (as openfota serve with
 * --push-key-file): one connection, sends `hello` (may be NULL: a server
 * without a push key), records the device's first line, then sends `cmd`
 * and waits for the device to go (hangs up at once when cmd is empty). */
typedef struct authsrv {
  int lfd;
  uint16_t port;
  pthread_t th;
  const char *hello;
  char cmd[256];
  char got[512];
} authsrv;

static void *authsrv_run(void *arg)
{
  authsrv *s = arg;
  int fd = accept(s->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  if (s->hello)
    testsrv_sendstr(fd, s->hello);
  size_t n = 0;
  while (n + 1 < sizeof s->got) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0 || recv(fd, s->got + n, 1, 0) != 1)
      break;
    if (s->got[n++] == '\n')
      break;
  }
  s->got[n] = '\0';
  if (!s->cmd[0]) { /* nothing to send: hang up at once */
    close(fd);
    return NULL;
  }
  testsrv_sendstr(fd, s->cmd);
  char tmp[256];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, 5000) > 0 && recv(fd, tmp, sizeof tmp, 0) > 0) {
  }
  close(fd);
  return NULL;
}

static void authsrv_start(authsrv *s, const char *hello)
{
  memset(s, 0, sizeof *s);
  s->hello = hello;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(s->lfd, 4), 0);
  getsockname(s->lfd, (struct sockaddr *)&a, &al);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->th, NULL, authsrv_run, s), 0);
}

static void authsrv_stop(authsrv *s)
{
  shutdown(s->lfd, SHUT_RDWR);
  close(s->lfd);
  pthread_join(s->th, NULL);
}

static void cb_stop(int result, const fota_report *rep, void *user)
{
  (void)rep;
  results *r = user;
  r->calls++;
  r->last = result;
  r->stop = 1;
}

/* device key of 860000000000009 under master 000102…1f, and its auth for
 * nonce 00112233445566778899aabbccddeeff (Python hmac; docs/fleet.md) */
static const char DK[] = "b24cbe86de895000d602b810d3e75416d2bdf71ee52c08feab29b12d25410c55";
static const char AUTH_LINE[] =
    "{\"imei\":\"860000000000009\",\"auth\":\"550689688d7bdba625f71783a35b91d3d7c49314f200c9f532f6f54bbe2061dd\"}\n";

static void listener_auth(void **st)
{
  (void)st;
  testsrv dl;
  dlsrv d = {0};
  assert_int_equal(testsrv_start(&dl, dl_handler, &d, 1), 0);
  authsrv s;
  authsrv_start(&s, "{\"nonce\":\"00112233445566778899aabbccddeeff\"}\r\n");
  snprintf(s.cmd, sizeof s.cmd, "{\"fota\":\"true\",\"url\":\"http://127.0.0.1:%u/a?\"}\n", dl.port);
  uint8_t key[32];
  hexbytes(DK, key);
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  results r = {0, -1, 0};
  fota_push_opts po = {.host = "127.0.0.1", .port = s.port, .imei = "860000000000009", .idle_ms = 50,
                       .reconnect_ms = 50, .stop = &r.stop, .max_connects = 1, .key = key, .key_len = 32};
  fota_opts base = {.timeout_ms = 5000, .imei = "860000000000009", .project_key = "K",
                    .firmware_name = "F", .version = "2012.001.001"};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb_stop, &r), 0);
  authsrv_stop(&s);
  testsrv_stop(&dl);
  assert_string_equal(s.got, AUTH_LINE);
  assert_int_equal(r.calls, 1); /* the command after authentication ran */
  assert_int_equal(d.served, 1);
}

static void listener_auth_no_nonce(void **st)
{
  (void)st;
  /* a server without a push key says nothing: after nonce_wait_ms the
   * device identifies as it always did */
  authsrv s;
  authsrv_start(&s, NULL);
  uint8_t key[32];
  hexbytes(DK, key);
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  fota_push_opts po = {.host = "127.0.0.1", .port = s.port, .imei = "860000000000009", .idle_ms = 20,
                       .reconnect_ms = 10, .max_connects = 1, .key = key, .key_len = 32,
                       .nonce_wait_ms = 200};
  fota_opts base = {0};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb, NULL), 0);
  authsrv_stop(&s);
  assert_string_equal(s.got, "860000000000009\n");
}

static void listener_auth_bad_nonce(void **st)
{
  (void)st;
  /* something that is not a nonce: the device does not identify at all */
  static const char *bad[] = {"{\"nonce\":\"xyz\"}\n", "{\"nonce\":\"0011\"}\n", "{\"nonce\":12}\n",
                              "{\"error\":\"x\"}\n", "hello\n", "{\"nonce\":\"00112233445566778899aabbccddeeff\"\n"};
  uint8_t key[32];
  hexbytes(DK, key);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    authsrv s;
    authsrv_start(&s, bad[i]);
    fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
    fota_push_opts po = {.host = "127.0.0.1", .port = s.port, .imei = "860000000000009", .idle_ms = 20,
                         .reconnect_ms = 10, .max_connects = 1, .key = key, .key_len = 32,
                         .nonce_wait_ms = 500};
    fota_opts base = {0};
    assert_int_equal(fota_push_listen(&ports, &po, &base, cb, NULL), 0);
    authsrv_stop(&s);
    if (s.got[0])
      fail_msg("answered '%s' with '%s'", bad[i], s.got);
  }
  /* an id that cannot go into the JSON line is refused up front */
  fota_ports ports = {fota_posix_transport(), NULL, &g_sys.system};
  fota_push_opts po = {.host = "127.0.0.1", .port = 1, .imei = "86\"0", .key = key, .key_len = 32};
  fota_opts base = {0};
  assert_int_equal(fota_push_listen(&ports, &po, &base, cb, NULL), FOTA_ERR_INVAL);
}

int main(void)
{
  fota_posix_system_init(&g_sys);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(good_lines),
    cmocka_unit_test(bad_fixtures),
    cmocka_unit_test(listener),
    cmocka_unit_test(listener_heartbeat),
    cmocka_unit_test(listener_unreachable),
    cmocka_unit_test(hmac_vectors),
    cmocka_unit_test(listener_auth),
    cmocka_unit_test(listener_auth_no_nonce),
    cmocka_unit_test(listener_auth_bad_nonce),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
