/* test_query.c — the raw device check query and identity rules, plus the
 * static download name rule (bad-inputs.md "Device check parameters"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"
#include "server.h"

static dev_query parse(const char *q)
{
    dev_query d;
    assert_int_equal(query_parse(q, strlen(q), &d), QUERY_OK);
    return d;
}

static int slice_is(qslice s, const char *v)
{
    return s.p != NULL && s.len == strlen(v) && memcmp(s.p, v, s.len) == 0;
}

static int ident(const char *q, char *out)
{
    dev_query d = parse(q);
    const char *why = NULL;
    int rc = query_identity(&d, out, &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

static void test_libfota2_order(void **state)
{
    (void)state;
    dev_query d = parse("imei=860123456789012&project_key=ABC&firmware_name=FOTA2_DEMO_LuatOS-SoC_Air780EHV&version=2012.001.002");
    assert_int_equal(d.id_kind, QUERY_ID_IMEI);
    assert_true(slice_is(d.id, "860123456789012"));
    assert_true(slice_is(d.project_key, "ABC"));
    assert_true(slice_is(d.firmware_name, "FOTA2_DEMO_LuatOS-SoC_Air780EHV"));
    assert_true(slice_is(d.version, "2012.001.002"));
}

static void test_old_libfota_order(void **state)
{
    (void)state;
    dev_query d = parse("project_key=ABC&firmware_name=F&version=1.2.3&imei=860123456789012");
    assert_int_equal(d.id_kind, QUERY_ID_IMEI);
    assert_true(slice_is(d.project_key, "ABC"));
    assert_true(slice_is(d.version, "1.2.3"));
}

static void test_duplicates_first_wins(void **state)
{
    (void)state;
    dev_query d = parse("imei=860123456789012&imei=999999999999999&project_key=a&project_key=b&version=1.1.1&version=2.2.2");
    assert_true(slice_is(d.id, "860123456789012"));
    assert_true(slice_is(d.project_key, "a"));
    assert_true(slice_is(d.version, "1.1.1"));
    d = parse("mac=AABBCCDDEEFF&imei=860123456789012");
    assert_int_equal(d.id_kind, QUERY_ID_MAC);
}

static void test_identity_rules(void **state)
{
    (void)state;
    char id[DEVICE_ID_MAX];
    assert_int_equal(ident("imei=860123456789012", id), 0);
    assert_string_equal(id, "860123456789012");
    assert_int_equal(ident("imei=86012345678901", id), 0);   /* 14 */
    assert_int_equal(ident("imei=8601234567890123", id), 0); /* 16 IMEISV */
    assert_int_equal(ident("imei=8601234567890", id), -1);   /* 13 */
    assert_int_equal(ident("imei=860123456789012345", id), -1);
    assert_int_equal(ident("imei=86012345678901A", id), -1); /* non-numeric */
    assert_int_equal(ident("imei=", id), -1);
    assert_int_equal(ident("project_key=a&version=1.1.1", id), -1); /* missing */
    assert_int_equal(ident("IMEI=860123456789012", id), -1);        /* imei is lower case */
    assert_int_equal(ident("nil&project_key=a&firmware_name=b&version=1.1.1", id), -1);
    assert_int_equal(ident("imei=860123456789012'--", id), -1);     /* SQL text */
    assert_int_equal(ident("imei=860123456789012%20", id), -1);
    assert_int_equal(ident("mac=aa:bb:cc:dd:ee:0f", id), 0);
    assert_string_equal(id, "AABBCCDDEE0F");
    assert_int_equal(ident("mac=aabbccddee0f", id), 0);
    assert_string_equal(id, "AABBCCDDEE0F");
    assert_int_equal(ident("mac=AA-BB-CC-DD-EE-0F", id), 0);
    assert_string_equal(id, "AABBCCDDEE0F");
    assert_int_equal(ident("mac=0123456789abcdef01234567", id), 0); /* MCU id */
    assert_int_equal(ident("mac=aa:bb-cc:dd:ee:0f", id), -1);
    assert_int_equal(ident("mac=xyz", id), -1);
    assert_int_equal(ident("mac=0123456789abcdef0123456789abcdef0", id), -1); /* 33 */
    dev_query d = parse("nil&project_key=a");
    assert_int_equal(d.id_kind, QUERY_ID_NIL);
}

static void test_limits(void **state)
{
    (void)state;
    char big[QUERY_MAX + 2];
    memset(big, 'a', sizeof big);
    dev_query d;
    assert_int_equal(query_parse(big, sizeof big, &d), QUERY_TOO_LONG);
    char val[200] = "project_key=";
    memset(val + 12, 'k', 150);
    val[162] = 0;
    assert_int_equal(query_parse(val, strlen(val), &d), QUERY_VALUE_TOO_LONG);
    assert_int_equal(query_parse(NULL, 0, &d), QUERY_OK);
    assert_int_equal(d.id_kind, QUERY_ID_NONE);
    d = parse("&&&=&==&imei");
    assert_int_equal(d.id_kind, QUERY_ID_NONE);
    d = parse("version=");
    assert_true(d.has_version);
    assert_int_equal(d.version.len, 0);
}

static void test_path_mistake(void **state)
{
    (void)state;
    size_t off = 0;
    const char *p = "/upgradeimei=860123456789012&project_key=a";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 1);
    assert_int_equal(off, 8);
    p = "/api/site/firmware_upgradeimei=860123456789012";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 1);
    assert_int_equal(off, 26);
    p = "/upgrademac=AABBCCDDEEFF";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 1);
    p = "/upgradenil&project_key=x";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 1);
    p = "/upgrade";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 0);
    p = "/upgrades";
    assert_int_equal(query_path_mistake(p, strlen(p), &off), 0);
}

static void test_device_id_canon(void **state)
{
    (void)state;
    char id[DEVICE_ID_MAX];
    const char *why;
    assert_int_equal(device_id_canon("aa:bb:cc:dd:ee:ff", 17, id, &why), 0);
    assert_string_equal(id, "AABBCCDDEEFF");
    assert_int_equal(device_id_canon("860123456789012", 15, id, &why), 0);
    assert_string_equal(id, "860123456789012");
    assert_int_equal(device_id_canon("../etc", 6, id, &why), -1);
    assert_int_equal(device_id_canon("", 0, id, &why), -1);
}

static void test_static_names(void **state)
{
    (void)state;
    static const char *const good[] = {"a", "update.bin", "LuatOS-SoC_V2012_Air780EHV_1.soc", "x..y"};
    static const char *const bad[] = {"",        ".hidden", "..",        "../etc/passwd", "%2e%2e%2f", "..%5c",
                                      "%252e",   "a/b",     "a\\b",      "\xc0\xae\xc0\xae", "a b",   "a\x01"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(static_name_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (static_name_valid(bad[i], strlen(bad[i])))
            fail_msg("name '%s' accepted", bad[i]);
    char longname[200];
    memset(longname, 'a', sizeof longname);
    assert_false(static_name_valid(longname, 129));
    assert_true(static_name_valid(longname, 128));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libfota2_order), cmocka_unit_test(test_old_libfota_order),
        cmocka_unit_test(test_duplicates_first_wins), cmocka_unit_test(test_identity_rules),
        cmocka_unit_test(test_limits), cmocka_unit_test(test_path_mistake),
        cmocka_unit_test(test_device_id_canon), cmocka_unit_test(test_static_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
