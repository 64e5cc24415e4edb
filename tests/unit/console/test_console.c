/* test_console.c — the console's session store (session.h) and parsers
 * (console_parse.h): expiry, bounds, constant shapes, and every bad input of
 * tests/fixtures/bad/console refused. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "console_parse.h"
#include "session.h"

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void test_session_lifecycle(void **state)
{
    (void)state;
    session_store *st = session_mem_new(4, 100, 1000);
    assert_non_null(st);
    session_info a, b, got;
    assert_int_equal(st->ops->create(st, 10, &a), 0);
    assert_int_equal(st->ops->create(st, 10, &b), 0);
    assert_true(is_hex64(a.id) && is_hex64(a.csrf));
    assert_string_not_equal(a.id, b.id);
    assert_string_not_equal(a.id, a.csrf);
    assert_int_equal(a.expires, 110);
    /* used within the idle time: kept, expiry moves */
    assert_int_equal(st->ops->lookup(st, a.id, 90, &got), 0);
    assert_string_equal(got.csrf, a.csrf);
    assert_int_equal(got.expires, 190);
    /* b idle for 100 s: gone */
    assert_int_equal(st->ops->lookup(st, b.id, 110, &got), -1);
    assert_int_equal(st->ops->lookup(st, b.id, 50, &got), -1); /* removed, not only hidden */
    /* absolute limit even when used all the time */
    for (int64_t t = 150; t < 1000; t += 90)
        assert_int_equal(st->ops->lookup(st, a.id, t, &got), 0);
    assert_int_equal(st->ops->lookup(st, a.id, 1005, &got), 0);
    assert_int_equal(st->ops->lookup(st, a.id, 1010, &got), -1);
    /* wrong lengths and unknown ids */
    assert_int_equal(st->ops->lookup(st, "", 10, &got), -1);
    assert_int_equal(st->ops->lookup(st, "abc", 10, &got), -1);
    char longer[80];
    memset(longer, 'a', sizeof longer - 1);
    longer[79] = 0;
    assert_int_equal(st->ops->lookup(st, longer, 10, &got), -1);
    /* logout */
    assert_int_equal(st->ops->create(st, 2000, &a), 0);
    assert_int_equal(st->ops->destroy(st, a.id), 0);
    assert_int_equal(st->ops->lookup(st, a.id, 2001, &got), -1);
    assert_int_equal(st->ops->destroy(st, a.id), -1);
    st->ops->close(st);
}

static void test_session_bound(void **state)
{
    (void)state;
    session_store *st = session_mem_new(3, 100, 1000);
    session_info s[4], got;
    for (int i = 0; i < 3; i++)
        assert_int_equal(st->ops->create(st, 10 + i, &s[i]), 0);
    assert_int_equal(st->ops->count(st, 20), 3);
    /* s[0] used last: s[1] is now the least recently used */
    assert_int_equal(st->ops->lookup(st, s[0].id, 20, &got), 0);
    assert_int_equal(st->ops->create(st, 21, &s[3]), 0);
    assert_int_equal(st->ops->count(st, 21), 3);
    assert_int_equal(st->ops->lookup(st, s[1].id, 22, &got), -1);
    assert_int_equal(st->ops->lookup(st, s[0].id, 22, &got), 0);
    assert_int_equal(st->ops->lookup(st, s[2].id, 22, &got), 0);
    assert_int_equal(st->ops->lookup(st, s[3].id, 22, &got), 0);
    st->ops->close(st);
    assert_null(session_mem_new(0, 1, 1));
}

static void test_cookie(void **state)
{
    (void)state;
    char v[80];
    assert_int_equal(console_cookie_get("a=1; openfota_session=abc; b=2", "openfota_session", v, sizeof v), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(console_cookie_get("openfota_session=x", "openfota_session", v, sizeof v), 0);
    assert_string_equal(v, "x");
    assert_int_equal(console_cookie_get("  openfota_session = y ;", "openfota_session", v, sizeof v), 0);
    assert_string_equal(v, "y");
    assert_int_equal(console_cookie_get("flag; openfota_session=z", "openfota_session", v, sizeof v), 0);
    assert_string_equal(v, "z");
    assert_int_equal(console_cookie_get("a=1", "openfota_session", v, sizeof v), -1);
    assert_int_equal(console_cookie_get(NULL, "openfota_session", v, sizeof v), -1);
    assert_int_equal(console_cookie_get("openfota_session=12345", "openfota_session", v, 5), -1);
    assert_int_equal(console_cookie_get("openfota_session=1234", "openfota_session", v, 5), 0);
}

static void test_login_body(void **state)
{
    (void)state;
    char t[80];
    const char *why = NULL;
    assert_int_equal(console_login_token("application/json", "{\"token\":\"abc123\"}", 18, t, sizeof t, &why), 0);
    assert_string_equal(t, "abc123");
    assert_int_equal(console_login_token("application/json; charset=utf-8", "{\"token\":\"q\"}", 13, t, sizeof t, &why), 0);
    const char *f = "x=1&token=ab%2Fcd&y=2";
    assert_int_equal(console_login_token("application/x-www-form-urlencoded", f, strlen(f), t, sizeof t, &why), 0);
    assert_string_equal(t, "ab/cd");
    assert_int_equal(console_login_token(NULL, "token=zz", 8, t, sizeof t, &why), 0);
    assert_string_equal(t, "zz");
    why = NULL;
    assert_int_equal(console_login_token("application/json", "{}", 2, t, sizeof t, &why), -1);
    assert_non_null(why);
    char big[CONSOLE_LOGIN_MAX + 10];
    memset(big, 'a', sizeof big);
    assert_int_equal(console_login_token(NULL, big, sizeof big, t, sizeof t, &why), -1);
}

static void test_origin(void **state)
{
    (void)state;
    assert_int_equal(console_origin_ok(NULL, "h:1", NULL), 1);
    assert_int_equal(console_origin_ok("http://h:1", "h:1", NULL), 1);
    assert_int_equal(console_origin_ok("https://H:1", "h:1", ""), 1);
    assert_int_equal(console_origin_ok("https://fota.example.com", "10.0.0.2:8080", "https://fota.example.com/x"), 1);
    assert_int_equal(console_origin_ok("https://fota.example.com:8443", "x", "https://fota.example.com"), 0);
    assert_int_equal(console_origin_ok("http://h:1", NULL, NULL), 0);
    assert_int_equal(console_origin_ok("", "h:1", NULL), 0);
}

/* Every file of tests/fixtures/bad/console is refused by its parser
 * (the prefix of its name says which). */
static void test_bad_fixtures(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad/console", OPENFOTA_FIXTURES);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        static char buf[1 << 14];
        size_t len = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[len] = 0;
        char out[80];
        const char *why = NULL;
        int rc;
        if (!strncmp(de->d_name, "cookie-", 7)) {
            rc = console_cookie_get(buf, "openfota_session", out, 65);
        } else if (!strncmp(de->d_name, "login-json-", 11)) {
            rc = console_login_token("application/json", buf, len, out, 65, &why);
            if (rc < 0)
                assert_non_null(why);
        } else if (!strncmp(de->d_name, "login-form-", 11)) {
            rc = console_login_token("application/x-www-form-urlencoded", buf, len, out, 65, &why);
            if (rc < 0)
                assert_non_null(why);
        } else if (!strncmp(de->d_name, "origin-", 7)) {
            char *nl = strchr(buf, '\n');
            assert_non_null(nl);
            *nl = 0;
            rc = console_origin_ok(buf, nl + 1, NULL) ? 0 : -1;
        } else {
            fail_msg("fixture %s: unknown prefix (cookie-, login-json-, login-form-, origin-)", de->d_name);
            rc = 0;
        }
        if (rc != -1)
            fail_msg("fixture %s was accepted", de->d_name);
        n++;
    }
    closedir(d);
    assert_true(n >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_lifecycle), cmocka_unit_test(test_session_bound),
        cmocka_unit_test(test_cookie),            cmocka_unit_test(test_login_body),
        cmocka_unit_test(test_origin),            cmocka_unit_test(test_bad_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
