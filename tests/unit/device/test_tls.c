/*
 * test_tls.c — the mbedTLS transport against a local HTTPS server that
 * requires a client certificate (python3 ssl, test CA made with openssl):
 * server CA honoured, client certificate with an encrypted key and its
 * password, wrong CA / missing client certificate / wrong password refused
 * (result 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota.h"
#include "fota_port_posix.h"

static char g_dir[64];
static char g_ca[8192], g_other_ca[8192], g_cert[8192], g_key[8192];
static unsigned g_port;
static FILE *g_srv;
static fota_posix_sys g_sys;

static void slurp(const char *name, char *buf, size_t cap)
{
  char p[256];
  snprintf(p, sizeof p, "%s/%s", g_dir, name);
  FILE *f = fopen(p, "rb");
  if (!f) {
    fprintf(stderr, "missing %s\n", p);
    exit(1);
  }
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
  fclose(f);
}

static int sh(const char *cmd)
{
  char full[2048];
  snprintf(full, sizeof full, "cd '%s' && (%s) >/dev/null 2>&1", g_dir, cmd);
  return system(full);
}

static int setup(void **st)
{
  (void)st;
  snprintf(g_dir, sizeof g_dir, "/tmp/of-dev-tls-XXXXXX");
  if (!mkdtemp(g_dir))
    return -1;
  const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  char c[1024];
  snprintf(c, sizeof c, "openssl req -x509 %s -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca", ec);
  if (sh(c)) return -1;
  snprintf(c, sizeof c, "openssl req -x509 %s -keyout other.key -out other.crt -days 2 -subj /CN=other-ca", ec);
  if (sh(c)) return -1;
  snprintf(c, sizeof c, "openssl req %s -keyout server.key -out server.csr -subj /CN=localhost && "
                        "printf 'subjectAltName=DNS:localhost\\n' > san.ext && "
                        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                        "-out server.crt -days 2 -extfile san.ext", ec);
  if (sh(c)) return -1;
  snprintf(c, sizeof c, "openssl req %s -keyout client.plain -out client.csr -subj /CN=device && "
                        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                        "-out client.crt -days 2 && "
                        "openssl ec -in client.plain -aes256 -passout pass:s3cret -out client.key", ec);
  if (sh(c)) return -1;
  slurp("ca.crt", g_ca, sizeof g_ca);
  slurp("other.crt", g_other_ca, sizeof g_other_ca);
  slurp("client.crt", g_cert, sizeof g_cert);
  slurp("client.key", g_key, sizeof g_key);
  if (!strstr(g_key, "ENCRYPTED"))
    return -1;
  snprintf(c, sizeof c, "python3 '%s/tls_server.py' '%s'", TESTS_DIR, g_dir);
  g_srv = popen(c, "w");
  if (!g_srv)
    return -1;
  /* the server writes its port to DIR/port and exits when our pipe closes */
  char pf[128];
  snprintf(pf, sizeof pf, "%s/port", g_dir);
  for (int i = 0; i < 100 && !g_port; i++) {
    FILE *f = fopen(pf, "r");
    if (f) {
      if (fscanf(f, "%u", &g_port) != 1)
        g_port = 0;
      fclose(f);
    }
    if (!g_port)
      usleep(100 * 1000);
  }
  return g_port ? 0 : -1;
}

static int teardown(void **st)
{
  (void)st;
  if (g_srv)
    pclose(g_srv);
  char c[128];
  snprintf(c, sizeof c, "rm -rf '%s'", g_dir);
  return system(c) ? -1 : 0;
}

static int g_calls;
static void cb(int r, const fota_report *rep, void *u)
{
  (void)r; (void)rep; (void)u;
  g_calls++;
}

static int fetch(const char *ca, const char *cert, const char *key, const char *pw, fota_report *out)
{
  char url[128];
  snprintf(url, sizeof url, "###https://localhost:%u/pkg.bin", g_port);
  fota_opts o = {.url = url, .timeout_ms = 8000, .server_cert = ca, .client_cert = cert,
                 .client_key = key, .client_password = pw};
  fota_ports p = {fota_posix_transport(), NULL, &g_sys.system};
  (void)out;
  return fota_request_ex(&p, &o, cb, NULL);
}

static void mutual_tls(void **st)
{
  (void)st;
  assert_int_equal(fetch(g_ca, g_cert, g_key, "s3cret", NULL), 0);
  /* no server verification (libfota2's default) still works with the client cert */
  assert_int_equal(fetch(NULL, g_cert, g_key, "s3cret", NULL), 0);
}

static void refusals(void **st)
{
  (void)st;
  assert_int_equal(fetch(g_other_ca, g_cert, g_key, "s3cret", NULL), 1); /* wrong CA */
  assert_int_equal(fetch(g_ca, NULL, NULL, NULL, NULL), 1);             /* no client cert */
  assert_int_equal(fetch(g_ca, g_cert, g_key, "wrong", NULL), 1);       /* wrong password */
  assert_int_equal(fetch("not a pem", g_cert, g_key, "s3cret", NULL), 1);
}

int main(void)
{
  fota_posix_system_init(&g_sys);
  signal(SIGPIPE, SIG_IGN);
  if (setup(NULL)) {
    fprintf(stderr, "device_tls: could not create test certificates (openssl, python3 needed)\n");
    teardown(NULL);
    return 1;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(mutual_tls),
    cmocka_unit_test(refusals),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (teardown(NULL))
    rc = 1;
  return rc;
}
