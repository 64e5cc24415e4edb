/*
 * test_request_build.c — the request bytes, checked against the request
 * lines of the libfota2 protocol (parameters, order, ###, nil, mac=, legacy
 * order, leading zeros, url_done reuse, Host with port, Basic auth, body).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "fota.h"

static char buf[4096];

static const char *build(const fota_opts *o)
{
  fota_target t;
  int n = fota_build_request(o, buf, sizeof buf, &t);
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(buf));
  return buf;
}

static void default_request(void **st)
{
  (void)st;
  char ver[FOTA_VERSION_MAX];
  assert_int_equal(fota_version_string("V2035", "001.000.002", ver), 12);
  assert_string_equal(ver, "2035.001.002");
  fota_opts o = {.url = "http://127.0.0.1:8080/upgrade?", .imei = "862419074072001",
                 .project_key = "KEY123", .firmware_name = "FOTA2_DEMO_LuatOS-SoC_Air780EHV",
                 .version = ver};
  assert_string_equal(build(&o),
                      "GET /upgrade?imei=862419074072001&project_key=KEY123&firmware_name="
                      "FOTA2_DEMO_LuatOS-SoC_Air780EHV&version=2035.001.002 HTTP/1.1\r\n"
                      "Host: 127.0.0.1:8080\r\n"
                      "Connection: Close\r\n\r\n");
}

static void vendor_default_url(void **st)
{
  (void)st;
  fota_opts o = {.imei = "1", .project_key = "K", .firmware_name = "F", .version = "2012.001.001"};
  fota_target t;
  int n = fota_build_request(&o, buf, sizeof buf, &t);
  assert_true(n > 0);
  assert_string_equal(buf, "GET /api/site/firmware_upgrade?imei=1&project_key=K&firmware_name=F"
                           "&version=2012.001.001 HTTP/1.1\r\nHost: iot.openluat.com:80\r\n"
                           "Connection: Close\r\n\r\n");
  assert_string_equal(t.host, "iot.openluat.com");
  assert_int_equal(t.port, 80);
  assert_int_equal(t.tls, 0);
  assert_memory_equal(buf + t.path_off, "/api/site/firmware_upgrade?imei=1", 33);
}

static void triple_hash_raw(void **st)
{
  (void)st;
  /* ### : stripped, nothing appended, no project_key needed */
  fota_opts o = {.url = "###http://airtest.openluat.com:2900/download/"
                        "FOTA2_DEMO_2012.001.001_LuatOS-SoC_Air8000.bin"};
  assert_string_equal(build(&o), "GET /download/FOTA2_DEMO_2012.001.001_LuatOS-SoC_Air8000.bin "
                                 "HTTP/1.1\r\nHost: airtest.openluat.com:2900\r\n"
                                 "Connection: Close\r\n\r\n");
}

static void nil_identity(void **st)
{
  (void)st;
  fota_opts o = {.url = "http://h/u?", .project_key = "K", .firmware_name = "F", .version = "1.2.3",
                 .model = "SomeBoard"};
  assert_string_equal(build(&o), "GET /u?nil&project_key=K&firmware_name=F&version=1.2.3 HTTP/1.1\r\n"
                                 "Host: h:80\r\nConnection: Close\r\n\r\n");
  o.model = NULL;
  assert_non_null(strstr(build(&o), "?nil&project_key=K"));
}

static void mac_identity(void **st)
{
  (void)st;
  fota_opts o = {.url = "http://h/u?", .project_key = "K", .firmware_name = "F", .version = "1.2.3",
                 .model = "Air8101", .mac = "C8C2C6AABBCC"};
  assert_non_null(strstr(build(&o), "GET /u?mac=C8C2C6AABBCC&project_key=K&"));
  o.model = "Air1601";
  o.mac = "0123456789ABCDEF";
  assert_non_null(strstr(build(&o), "?mac=0123456789ABCDEF&"));
  /* an imei always wins */
  o.imei = "860000000000001";
  assert_non_null(strstr(build(&o), "?imei=860000000000001&"));
  /* cellular model without imei: the caller must pass it */
  fota_opts c = {.url = "http://h/u?", .project_key = "K", .firmware_name = "F", .version = "1.2.3",
                 .model = "Air780EHV"};
  assert_int_equal(fota_build_request(&c, buf, sizeof buf, NULL), FOTA_ERR_NO_IDENTITY);
  /* Wi-Fi model without mac */
  c.model = "Air8101";
  assert_int_equal(fota_build_request(&c, buf, sizeof buf, NULL), FOTA_ERR_NO_IDENTITY);
}

static void legacy_order(void **st)
{
  (void)st;
  fota_opts o = {.url = "http://h/u?", .imei = "862419074072001", .project_key = "K",
                 .firmware_name = "F", .version = "2012.001.001", .flags = FOTA_OPT_LEGACY_ORDER};
  assert_non_null(strstr(build(&o), "GET /u?project_key=K&firmware_name=F&version=2012.001.001"
                                    "&imei=862419074072001 HTTP/1.1\r\n"));
}

static void missing_question_mark(void **st)
{
  (void)st;
  /* The well-known mistake: no '?' — sent as is, the server must explain. */
  fota_opts o = {.url = "http://h/upgrade", .imei = "1", .project_key = "K", .firmware_name = "F",
                 .version = "1.2.3"};
  assert_non_null(strstr(build(&o), "GET /upgradeimei=1&project_key=K&"));
  /* no path at all: "http://h?" sends "/?imei=..." */
  o.url = "http://h:81?";
  assert_non_null(strstr(build(&o), "GET /?imei=1&"));
  assert_non_null(strstr(buf, "Host: h:81\r\n"));
}

static void leading_zeros_kept(void **st)
{
  (void)st;
  char v[FOTA_VERSION_MAX];
  assert_int_equal(fota_version_string("2012", "000.000.000", v), 12);
  assert_string_equal(v, "2012.000.000");
  assert_int_equal(fota_version_string("2012", "1.999.07", v), 9);
  assert_string_equal(v, "2012.1.07");
  assert_int_equal(fota_version_string("V2012", "1.2", v), FOTA_ERR_VERSION);
  assert_int_equal(fota_version_string("V2012", "1.2.3.4", v), FOTA_ERR_VERSION);
  assert_int_equal(fota_version_string("V2012", "1.x.3", v), FOTA_ERR_VERSION);
  assert_int_equal(fota_version_string("V2012", "1..3", v), FOTA_ERR_VERSION);
  assert_int_equal(fota_version_string("Vx", "1.2.3", v), FOTA_ERR_VERSION);
  assert_int_equal(fota_version_string("2012", "1.2.", v), FOTA_ERR_VERSION);
  fota_opts o = {.url = "http://h/?", .imei = "1", .project_key = "K", .firmware_name = "F",
                 .version = "2035.001.002"};
  assert_non_null(strstr(build(&o), "&version=2035.001.002 HTTP/1.1"));
}

static void firmware_name_default(void **st)
{
  (void)st;
  char n[128];
  assert_true(fota_firmware_name("FOTA2_DEMO", "Air780EHV-xyz", n, sizeof n) > 0);
  assert_string_equal(n, "FOTA2_DEMO_LuatOS-SoC_Air780EHV");
  assert_int_equal(fota_firmware_name("P", "M", n, 5), FOTA_ERR_TOOBIG);
}

static void url_done_reuse(void **st)
{
  (void)st;
  fota_opts o = {.url = "http://h/u?", .imei = "1", .project_key = "K", .firmware_name = "F",
                 .version = "1.2.3"};
  char a[1024], b[1024];
  int na = fota_build_request(&o, a, sizeof a, NULL);
  int nb = fota_build_request(&o, b, sizeof b, NULL);
  assert_true(na > 0);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, (size_t)na);
  assert_string_equal(o.url, "http://h/u?"); /* opts untouched: parameters not appended twice */
}

static void local_result5(void **st)
{
  (void)st;
  fota_opts o = {.url = "http://h/u?", .imei = "1", .firmware_name = "F", .version = "1.2.3"};
  int rc = fota_build_request(&o, buf, sizeof buf, NULL);
  assert_int_equal(rc, FOTA_ERR_NO_PROJECT_KEY);
  assert_int_equal(fota_result_from_http(rc, 0, 0), 5);
  o.project_key = "K";
  o.version = NULL;
  rc = fota_build_request(&o, buf, sizeof buf, NULL);
  assert_int_equal(rc, FOTA_ERR_VERSION);
  assert_int_equal(fota_result_from_http(rc, 0, 0), 5);
}

static void method_body_headers_auth(void **st)
{
  (void)st;
  fota_opts o = {.url = "###https://alice:s3cret@example.com/fw", .method = "POST",
                 .headers = "X-Dev: 7\r\nContent-Type: text/plain\r\n", .body = "hello", .body_len = 5};
  fota_target t;
  int n = fota_build_request(&o, buf, sizeof buf, &t);
  assert_true(n > 0);
  assert_string_equal(buf, "POST /fw HTTP/1.1\r\nHost: example.com:443\r\nConnection: Close\r\n"
                           "Authorization: Basic YWxpY2U6czNjcmV0\r\n"
                           "X-Dev: 7\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  assert_int_equal(t.tls, 1);
  assert_int_equal(t.port, 443);
  assert_string_equal(t.host, "example.com");
  /* a Host line in the caller's headers replaces the default one */
  o.headers = "Host: cdn.example\r\n";
  o.body = NULL;
  o.body_len = 0;
  n = fota_build_request(&o, buf, sizeof buf, &t);
  assert_true(n > 0);
  assert_null(strstr(buf, "example.com:443"));
  assert_non_null(strstr(buf, "Host: cdn.example\r\n"));
}

static void ipv6_host(void **st)
{
  (void)st;
  fota_opts o = {.url = "###http://[::1]:8080/x"};
  fota_target t;
  assert_true(fota_build_request(&o, buf, sizeof buf, &t) > 0);
  assert_string_equal(t.host, "::1");
  assert_non_null(strstr(buf, "Host: [::1]:8080\r\n"));
}

static void bad_inputs(void **st)
{
  (void)st;
  fota_opts o = {.url = "###ftp://h/x"};
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_URL);
  assert_int_equal(fota_result_from_http(FOTA_ERR_URL, 0, 0), 1);
  o.url = "###http://h:99999/x";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_URL);
  o.url = "###http://h/x\r\nEvil: 1";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_URL);
  o.url = "###http:///x";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_URL);
  /* port glued to the parameters: http://h:8080 + imei=... is not a port */
  fota_opts p = {.url = "http://h:8080", .imei = "1", .project_key = "K", .firmware_name = "F",
                 .version = "1.2.3"};
  assert_int_equal(fota_build_request(&p, buf, sizeof buf, NULL), FOTA_ERR_URL);
  o.url = "###http://h/x";
  o.headers = "NoCRLF";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_INVAL);
  o.headers = "A: 1\r\n\r\nB: 2\r\n";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_INVAL);
  o.headers = NULL;
  o.method = "get me";
  assert_int_equal(fota_build_request(&o, buf, sizeof buf, NULL), FOTA_ERR_INVAL);
  o.method = NULL;
  /* every buffer size below the need fails cleanly, never overflows */
  char small[64];
  fota_opts q = {.url = "http://host.example/upgrade?", .imei = "862419074072001", .project_key = "K",
                 .firmware_name = "FOTA2_DEMO_LuatOS-SoC_Air780EHV", .version = "2035.001.002"};
  int need = fota_build_request(&q, buf, sizeof buf, NULL);
  assert_true(need > 64);
  for (size_t cap = 0; cap < sizeof small; cap++)
    assert_int_equal(fota_build_request(&q, small, cap, NULL), cap < 2 ? FOTA_ERR_INVAL : FOTA_ERR_TOOBIG);
  for (size_t cap = (size_t)need - 4; cap <= (size_t)need + 1; cap++) {
    char *b = malloc(cap);
    int r = fota_build_request(&q, b, cap, NULL);
    assert_int_equal(r, cap > (size_t)need ? need : FOTA_ERR_TOOBIG);
    free(b);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(default_request),     cmocka_unit_test(vendor_default_url),
    cmocka_unit_test(triple_hash_raw),     cmocka_unit_test(nil_identity),
    cmocka_unit_test(mac_identity),        cmocka_unit_test(legacy_order),
    cmocka_unit_test(missing_question_mark), cmocka_unit_test(leading_zeros_kept),
    cmocka_unit_test(firmware_name_default), cmocka_unit_test(url_done_reuse),
    cmocka_unit_test(local_result5),       cmocka_unit_test(method_body_headers_auth),
    cmocka_unit_test(ipv6_host),           cmocka_unit_test(bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
