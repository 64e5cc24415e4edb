/* First-line parser of the TCP push port, command builder, topic template;
 * every file in fixtures/bad/push must be refused with a reason. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "offleet.h"
#include "push_mqtt.h"
#include "push_parse.h"

static int parse(const char *s, char *id, char *ver)
{
    const char *why = NULL;
    int rc = push_parse_ident(s, strlen(s), id, ver, &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

static void good_lines(void **state)
{
    (void)state;
    char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1];
    assert_int_equal(parse("860000000000009", id, ver), 0);
    assert_string_equal(id, "860000000000009");
    assert_string_equal(ver, "");
    assert_int_equal(parse("860000000000009\r", id, ver), 0);
    assert_string_equal(id, "860000000000009");
    assert_int_equal(parse("  860000000000009 ", id, ver), 0);
    assert_int_equal(parse("0123456789ab", id, ver), 0);
    assert_string_equal(id, "0123456789AB"); /* the server's canonical form */
    assert_int_equal(parse("{\"mac\":\"c8:c2:c6:8b:0f:10\"}", id, ver), 0);
    assert_string_equal(id, "C8C2C68B0F10");
    assert_int_equal(parse("{\"imei\":\"860000000000010\"}", id, ver), 0);
    assert_string_equal(id, "860000000000010");
    assert_int_equal(parse("{\"imei\":\"860000000000011\",\"version\":\"2012.1.3\"}", id, ver), 0);
    assert_string_equal(ver, "2012.1.3");
    assert_int_equal(parse("{\"mac\":\"C8C2C68B0F10\"}", id, ver), 0);
    assert_string_equal(id, "C8C2C68B0F10");
}

static void bad_lines(void **state)
{
    (void)state;
    char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1];
    const char *bad[] = {
        "", "\r", "hello", "12345", "GET / HTTP/1.1", "{", "{}", "[\"860000000000009\"]",
        "{\"imei\":860000000000009}", "{\"imei\":\"\"}", "{\"imei\":\"86 00\"}", "{\"imei\":\"a/b\"}",
        "{\"imei\":\"1\",\"imei\":\"2\"}", "{\"imei\":\"1\",\"version\":\"x\"}",
        "{\"imei\":\"1\",\"version\":7}", "123456789012345678901", "null", "{\"imei\":\"1\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i], id, ver) == 0)
            fail_msg("accepted bad first line '%s'", bad[i]);
    }
    const char nul[] = "8600\0000000009";
    const char *why = NULL;
    assert_int_equal(push_parse_ident(nul, sizeof nul - 1, id, ver, &why), FLEET_ERR_PROTOCOL);
    assert_non_null(why);
}

static void fixtures_refused(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad/push", OPENFOTA_FIXTURES);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        static char buf[1 << 16];
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        /* the first line is what the listener hands to the parser */
        char *nl = memchr(buf, '\n', len);
        size_t l1 = nl ? (size_t)(nl - buf) : len;
        char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1];
        const char *why = NULL;
        int rc = push_parse_ident(buf, l1, id, ver, &why);
        if (rc == 0)
            fail_msg("fixture %s was accepted as device '%s'", e->d_name, id);
        assert_non_null(why);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

static void command_line(void **state)
{
    (void)state;
    char buf[512];
    int n = push_build_command("http://h:1/api/site/firmware_upgrade?", NULL, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(buf[n - 1], '\n');
    assert_int_equal((int)strlen(buf), n);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "fota")), "true");
    assert_string_equal(json_string_value(json_object_get(j, "url")), "http://h:1/api/site/firmware_upgrade?");
    assert_null(json_object_get(j, "version"));
    json_decref(j);
    n = push_build_command("http://h/u?", "2012.1.4", buf, sizeof buf);
    assert_non_null(strstr(buf, "\"version\":\"2012.1.4\""));
    assert_int_equal(push_build_command("http://h/u?", NULL, buf, 10), FLEET_ERR_LIMIT);
    assert_int_equal(push_build_command("", NULL, buf, sizeof buf), FLEET_ERR_INVAL);
    assert_int_equal(push_build_command("http://h/\xff?", NULL, buf, sizeof buf), FLEET_ERR_INVAL);
}

static void topic_template(void **state)
{
    (void)state;
    char t[128];
    assert_true(push_mqtt_topic("openfota/{project}/{device}/cmd", "demo", "fw", "8600", t, sizeof t) > 0);
    assert_string_equal(t, "openfota/demo/8600/cmd");
    assert_true(push_mqtt_topic("x/{firmware}", "p", "FOTA_LuatOS-SoC_Air780E", "d", t, sizeof t) > 0);
    assert_string_equal(t, "x/FOTA_LuatOS-SoC_Air780E");
    assert_int_equal(push_mqtt_topic("a/{project}", "de+mo", "f", "d", t, sizeof t), FLEET_ERR_INVAL);
    assert_int_equal(push_mqtt_topic("a/{project}", "a/b", "f", "d", t, sizeof t), FLEET_ERR_INVAL);
    assert_int_equal(push_mqtt_topic("a/#", "p", "f", "d", t, sizeof t), FLEET_ERR_INVAL);
    assert_int_equal(push_mqtt_topic("a/{device}", "p", "f", "", t, sizeof t), FLEET_ERR_INVAL);
    assert_int_equal(push_mqtt_topic("{device}{device}", "p", "f", "0123456789", t, 8), FLEET_ERR_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_lines),      cmocka_unit_test(bad_lines),      cmocka_unit_test(fixtures_refused),
        cmocka_unit_test(command_line),    cmocka_unit_test(topic_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
