/* Unit tests of http/proxy.c: trusted proxy lists and the client address
 * taken from X-Forwarded-For / X-Real-IP. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"

static proxy_list L;

static int setup(void **state)
{
    (void)state;
    char err[128];
    return proxy_list_parse("127.0.0.1, 10.0.0.0/8,::1 , fd00::/8", &L, err, sizeof err);
}

static void test_parse(void **state)
{
    (void)state;
    proxy_list l;
    char err[160];
    assert_int_equal(L.n, 4);
    assert_int_equal(proxy_list_parse("", &l, err, sizeof err), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(proxy_list_parse("none", &l, err, sizeof err), 0);
    assert_int_equal(proxy_list_parse("10.0.0.0/33", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "0-32"));
    assert_int_equal(proxy_list_parse("10.0.0.0/", &l, err, sizeof err), -1);
    assert_int_equal(proxy_list_parse("proxy.example.com", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "proxy.example.com"));
    assert_int_equal(proxy_list_parse("::/0", &l, err, sizeof err), 0);
    char many[1024] = "";
    for (int i = 0; i < PROXY_NETS_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d,", i);
    assert_int_equal(proxy_list_parse(many, &l, err, sizeof err), -1);
}

static int match4(const char *a)
{
    unsigned char b[16];
    assert_int_equal(inet_pton(AF_INET, a, b), 1);
    return proxy_list_match(&L, AF_INET, b);
}

static int match6(const char *a)
{
    unsigned char b[16];
    assert_int_equal(inet_pton(AF_INET6, a, b), 1);
    return proxy_list_match(&L, AF_INET6, b);
}

static void test_match(void **state)
{
    (void)state;
    assert_true(match4("127.0.0.1"));
    assert_false(match4("127.0.0.2"));
    assert_true(match4("10.200.3.4"));
    assert_false(match4("11.0.0.1"));
    assert_true(match6("::1"));
    assert_true(match6("fd12:3456::1"));
    assert_false(match6("fe80::1"));
    assert_true(match6("::ffff:10.1.2.3")); /* IPv4 on an IPv6 socket */
    assert_false(match6("::ffff:11.1.2.3"));
}

static void expect(const char *xff, const char *real, const char *want)
{
    char out[PROXY_ADDR_TEXT] = "";
    int got = proxy_client(&L, xff, real, out, sizeof out);
    if (want == NULL) {
        if (got)
            fail_msg("xff %s / real %s: expected none, got %s", xff ? xff : "-", real ? real : "-", out);
        return;
    }
    if (!got || strcmp(out, want) != 0)
        fail_msg("xff %s / real %s: expected %s, got %s", xff ? xff : "-", real ? real : "-", want,
                 got ? out : "none");
}

static void test_client(void **state)
{
    (void)state;
    expect("203.0.113.7", NULL, "203.0.113.7");
    /* a client's own forged entries sit left of the proxy's: never taken */
    expect("1.1.1.1, 203.0.113.7", NULL, "203.0.113.7");
    /* a chain of trusted proxies is walked from the right */
    expect("203.0.113.7, 10.0.0.5, 127.0.0.1", NULL, "203.0.113.7");
    expect("2001:db8::7", NULL, "2001:db8::7");
    expect("[2001:db8::7]:4711", NULL, "2001:db8::7");
    expect("203.0.113.7:4711", NULL, "203.0.113.7");
    expect(" 203.0.113.7 ", NULL, "203.0.113.7");
    expect("127.0.0.1", NULL, NULL);
    expect("junk, 203.0.113.7", NULL, "203.0.113.7");
    expect("203.0.113.7, junk", NULL, NULL);
    expect(NULL, "198.51.100.2", "198.51.100.2");
    expect("", "198.51.100.2", "198.51.100.2");
    expect("203.0.113.7", "198.51.100.2", "203.0.113.7"); /* X-Forwarded-For first */
    expect(NULL, "nope", NULL);
    expect(NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
