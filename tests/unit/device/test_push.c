/*
 * test_push.c — the push line parser (good lines, every bad fixture) and the
 * listener against a scripted push server: identifies itself with IMEI+"\n",
 * runs a valid trigger, ignores a trigger that arrives while the update runs
 * (fota_running guard), drops an over-long line, reconnects, stops.
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
#include <poll.h>
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

int main(void)
{
  fota_posix_system_init(&g_sys);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(good_lines),
    cmocka_unit_test(bad_fixtures),
    cmocka_unit_test(listener),
    cmocka_unit_test(listener_heartbeat),
    cmocka_unit_test(listener_unreachable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
