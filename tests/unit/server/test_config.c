/* test_config.c — config file and listen address parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static int parse(of_config *c, const char *text)
{
    char err[512];
    config_defaults(c);
    int rc = config_parse_text(c, text, strlen(text), err, sizeof err);
    if (rc != 0)
        assert_true(strlen(err) > 0);
    return rc;
}

static void test_good(void **state)
{
    (void)state;
    of_config c;
    assert_int_equal(parse(&c, "# comment\n\nlisten = 127.0.0.1:9000\ndata=/tmp/x  \n"
                                "threads = 4\r\nupload_max = 2M\nlog_level = debug # trailing\n"
                                "public_url = \"http://fota.example.com/\"\nmax_daily_deliveries=3\n"),
                     0);
    assert_string_equal(c.listen, "127.0.0.1:9000");
    assert_string_equal(c.data, "/tmp/x");
    assert_int_equal(c.threads, 4);
    assert_int_equal(c.upload_max, 2u << 20);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_string_equal(c.public_url, "http://fota.example.com");
    assert_int_equal(c.max_daily_deliveries, 3);
}

static void test_bad(void **state)
{
    (void)state;
    of_config c;
    static const char *const bad[] = {
        "listen",           "= 5",                 "nosuch = 1",           "threads = 0",
        "threads = 65",     "threads = -1",        "threads = 1x",         "threads = 99999999999999999999999",
        "upload_max = 5Q",  "upload_max = 0",      "listen = ::1:80",      "listen = [::1]",
        "listen = h:70000", "listen = a b:80",     "log_level = loud",     "public_url = ftp://x",
        "data = ",          "connection_memory = 100",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse(&c, bad[i]) == 0)
            fail_msg("accepted: %s", bad[i]);
    char nul[] = "threads = 2\0x";
    char err[256];
    config_defaults(&c);
    assert_int_equal(config_parse_text(&c, nul, sizeof nul - 1, err, sizeof err), -1);
}

static void test_listen(void **state)
{
    (void)state;
    char host[64];
    unsigned port;
    assert_int_equal(config_split_listen("[::1]:8080", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(config_split_listen("0.0.0.0:0", host, sizeof host, &port), 0);
    assert_int_equal(port, 0);
    assert_int_equal(config_split_listen("8081", host, sizeof host, &port), 0);
    assert_string_equal(host, "0.0.0.0");
    assert_int_equal(config_split_listen("localhost:1", host, sizeof host, &port), 0);
    assert_int_equal(config_split_listen("x:", host, sizeof host, &port), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
