/* test_version.c — CORE.X.Z parsing and the seed's script rule (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "version.h"

static int rule_text(const char *from, const char *to)
{
    /* "A.B.C" script versions as the seed writes them; B is ignored */
    unsigned a1, b1, c1, a2, b2, c2;
    assert_int_equal(sscanf(from, "%u.%u.%u", &a1, &b1, &c1), 3);
    assert_int_equal(sscanf(to, "%u.%u.%u", &a2, &b2, &c2), 3);
    return version_script_upgrade(a1, c1, a2, c2);
}

static void test_rule_table(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        int upgrade;
    } cases[] = {
        {"001.000.000", "001.000.001", 1},
        {"001.000.001", "001.000.001", 0},
        {"001.000.005", "002.000.003", 0},
        {"001.000.001", "002.000.200", 1},
        {"001.000.001", "030.000.311", 1},
        {"001.000.002", "001.000.001", 0},
        {"002.000.001", "001.000.009", 0},
        {"001.000.001", "002.000.001", 1},
        {"001.005.001", "001.000.002", 1}, /* B has no meaning */
        {"001.000.001", "001.009.001", 0},
        {"000.000.000", "000.000.001", 1},
        {"999.000.998", "999.000.999", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = rule_text(cases[i].from, cases[i].to);
        if (got != cases[i].upgrade)
            fail_msg("%s -> %s: expected %d got %d", cases[i].from, cases[i].to, cases[i].upgrade, got);
    }
}

static void test_parse_ok(void **state)
{
    (void)state;
    of_version a, b;
    assert_int_equal(version_parse("2012.1.1", 8, &a), VERSION_OK);
    assert_int_equal(version_parse("2012.001.001", 12, &b), VERSION_OK);
    assert_int_equal(version_cmp(&a, &b), 0);
    assert_int_equal(a.core, 2012);
    assert_int_equal(a.x, 1);
    assert_int_equal(a.z, 1);
    assert_int_equal(version_parse("999999.999.999", 14, &a), VERSION_OK);
    assert_int_equal(version_parse("0.0.0", 5, &a), VERSION_OK);
    char buf[VERSION_TEXT_MAX];
    version_parse("2035.1.2", 8, &a);
    version_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "2035.001.002");
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        version_err want;
    } cases[] = {
        {"", VERSION_EMPTY},
        {"2012.001", VERSION_PARTS},
        {"2012.001.001.001", VERSION_PARTS},
        {"2012.1000.001", VERSION_TOO_BIG},
        {"2012.001.1000", VERSION_TOO_BIG},
        {"1000000.001.001", VERSION_TOO_BIG},
        {"1e9.001.001", VERSION_NOT_DIGITS},
        {"0x10.001.001", VERSION_NOT_DIGITS},
        {"2012.0x10.001", VERSION_NOT_DIGITS},
        {"18446744073709551616.1.1", VERSION_TOO_BIG},
        {"2012.18446744073709551616.1", VERSION_TOO_BIG},
        {"4294967296.0.0", VERSION_TOO_BIG},
        {"2012..001", VERSION_NOT_DIGITS},
        {".1.1", VERSION_NOT_DIGITS},
        {"1.1.", VERSION_NOT_DIGITS},
        {"-1.1.1", VERSION_NOT_DIGITS},
        {"+1.1.1", VERSION_NOT_DIGITS},
        {" 1.1.1", VERSION_NOT_DIGITS},
        {"1.1.1 ", VERSION_NOT_DIGITS},
        {"1.1.1'--", VERSION_NOT_DIGITS},
        {"V2012.1.1", VERSION_NOT_DIGITS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        of_version v;
        version_err e = version_parse(cases[i].in, strlen(cases[i].in), &v);
        if (e != cases[i].want)
            fail_msg("'%s': expected %d got %d", cases[i].in, cases[i].want, e);
        assert_non_null(version_strerror(e));
    }
    of_version v;
    assert_int_equal(version_parse(NULL, 0, &v), VERSION_EMPTY);
    /* length bounds the read: "1.2.3" inside a longer buffer */
    assert_int_equal(version_parse("1.2.3999", 5, &v), VERSION_OK);
    assert_int_equal(v.z, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
