/* The bytes a simulated device sends: the protocol's exact request lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include "sim_internal.h"

static int build(const char *url, uint64_t resume, const char *etag, char *out, size_t cap,
                 sim_target *t)
{
    sim_version v;
    assert_int_equal(sim_version_parse("2035.001.002", &v), 0);
    sim_req_params p = { .url = url, .imei = "868224650000017", .project_key = "KEY123",
                         .firmware = "FOTA2_DEMO_LuatOS-SoC_Air780EHV", .version = &v,
                         .resume_from = resume, .etag = etag };
    char err[128];
    return sim_request_build(&p, out, cap, t, err, sizeof(err));
}

static void libfota2_request(void **st)
{
    (void)st;
    char buf[2048];
    sim_target t;
    int n = build("http://127.0.0.1:8080/api/site/firmware_upgrade?", 0, NULL, buf, sizeof(buf), &t);
    const char *want =
        "GET /api/site/firmware_upgrade?imei=868224650000017&project_key=KEY123"
        "&firmware_name=FOTA2_DEMO_LuatOS-SoC_Air780EHV&version=2035.001.002 HTTP/1.1\r\n"
        "Host: 127.0.0.1:8080\r\n"
        "Connection: Close\r\n"
        "\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 8080);
    assert_int_equal(t.tls, 0);
    /* no Range, no User-Agent, no Accept */
    assert_null(strstr(buf, "Range"));
    assert_null(strstr(buf, "User-Agent"));
}

static void default_port_in_host(void **st)
{
    (void)st;
    char buf[2048];
    sim_target t;
    assert_true(build("http://localhost/upgrade?", 0, NULL, buf, sizeof(buf), &t) > 0);
    assert_non_null(strstr(buf, "\r\nHost: localhost:80\r\n"));
    assert_int_equal(t.port, 80);
}

static void raw_url(void **st)
{
    (void)st;
    char buf[2048];
    assert_true(build("###http://127.0.0.1:9000/download/fw.bin", 0, NULL, buf, sizeof(buf), NULL) > 0);
    assert_string_equal(buf, "GET /download/fw.bin HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
                             "Connection: Close\r\n\r\n");
}

static void agent_resume(void **st)
{
    (void)st;
    char buf[2048];
    assert_true(build("http://127.0.0.1:8080/upgrade?", 4096, "\"e1\"", buf, sizeof(buf), NULL) > 0);
    const char *tail = "Connection: Close\r\nRange: bytes=4096-\r\nIf-Range: \"e1\"\r\n\r\n";
    assert_non_null(strstr(buf, tail));
    assert_true(build("http://127.0.0.1:8080/upgrade?", 10, "", buf, sizeof(buf), NULL) > 0);
    assert_non_null(strstr(buf, "Range: bytes=10-\r\n\r\n"));
    assert_null(strstr(buf, "If-Range"));
}

static void refusals(void **st)
{
    (void)st;
    char buf[2048];
    assert_true(build("ftp://127.0.0.1/x?", 0, NULL, buf, sizeof(buf), NULL) < 0);
    assert_true(build("http://127.0.0.1:8080/upgrade?", 0, NULL, buf, 40, NULL) < 0);
}

static void loopback(void **st)
{
    (void)st;
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(sim_addr_is_loopback(&a4));
    inet_pton(AF_INET, "127.200.3.4", &a4.sin_addr);
    assert_true(sim_addr_is_loopback(&a4));
    inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
    assert_false(sim_addr_is_loopback(&a4));
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_true(sim_addr_is_loopback(&a6));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    assert_true(sim_addr_is_loopback(&a6));
    inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
    assert_false(sim_addr_is_loopback(&a6));
}

/* This machine's own interface addresses are local (the first screen of a
 * server on 0.0.0.0 prints one); a documentation address is not. */
static void local_addresses(void **st)
{
    (void)st;
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(sim_addr_is_local(&a4));
    inet_pton(AF_INET, "198.51.100.77", &a4.sin_addr); /* TEST-NET-2: no real machine has it */
    assert_false(sim_addr_is_local(&a4));
    struct ifaddrs *ifs = NULL;
    assert_int_equal(getifaddrs(&ifs), 0);
    int seen = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in own;
        memcpy(&own, i->ifa_addr, sizeof(own));
        assert_false(sim_addr_is_loopback(&own));
        assert_true(sim_addr_is_local(&own));
        struct sockaddr_in6 mapped;
        memset(&mapped, 0, sizeof(mapped));
        mapped.sin6_family = AF_INET6;
        mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
        memcpy(mapped.sin6_addr.s6_addr + 12, &own.sin_addr, 4);
        assert_true(sim_addr_is_local(&mapped));
        seen++;
    }
    freeifaddrs(ifs);
    if (!seen)
        print_message("no non-loopback IPv4 interface on this machine: own-address case not run\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libfota2_request), cmocka_unit_test(default_port_in_host),
        cmocka_unit_test(raw_url),          cmocka_unit_test(agent_resume),
        cmocka_unit_test(refusals),         cmocka_unit_test(loopback),
        cmocka_unit_test(local_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
