/* First-line parser of the TCP push port, command builder, topic template,
 * device authentication (push key, nonce, auth); every file in
 * fixtures/bad/push must be refused with a reason. */
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

/* The ids a push may name are those a check takes as a device identity. */
static void push_device_ids(void **state)
{
    (void)state;
    static const char *const good[] = {"860000000000009", "86000000000000", "86000000000000912",
                                       "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-01", "0123456789ab",
                                       "0123456789abcdef0123456789ABCDEF", "123456789012"};
    static const char *const bad[] = {"", "123", "BADID", "8600000000000X9", "860000000000009123456789012345678",
                                      "aa:bb:cc:dd:ee", "aa:bb-cc:dd:ee:ff", "aa:bb:cc:dd:ee:fg", "0123456789a",
                                      "abc.def", "0123456789abcdef0123456789ABCDEF0", "dev-1"};
    const char *why;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        why = NULL;
        if (!push_device_id_valid(good[i], strlen(good[i]), &why))
            fail_msg("'%s' refused: %s", good[i], why);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        if (push_device_id_valid(bad[i], strlen(bad[i]), &why))
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(why);
    }
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

/* vectors from Python: hmac.new(master, id, sha256), then
 * hmac.new(device_key, (nonce + id).encode(), sha256) */
static const char MASTER_HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char NONCE[] = "00112233445566778899aabbccddeeff";
static const char DK_IMEI[] = "b24cbe86de895000d602b810d3e75416d2bdf71ee52c08feab29b12d25410c55";
static const char AUTH_IMEI[] = "550689688d7bdba625f71783a35b91d3d7c49314f200c9f532f6f54bbe2061dd";

static void auth_scheme(void **state)
{
    (void)state;
    fleet_config cfg;
    fleet_config_default(&cfg);
    assert_int_equal(cfg.push_key_len, 0); /* off by default */
    const char *why = NULL;
    assert_int_equal(fleet_config_push_key(&cfg, MASTER_HEX, strlen(MASTER_HEX), &why), 0);
    assert_int_equal(cfg.push_key_len, 32);
    const unsigned char *k = cfg.push_key;
    size_t kl = cfg.push_key_len;

    /* device keys: what the operator programs into each device */
    char dk[65];
    assert_int_equal(fleet_push_device_key(k, kl, "860000000000009", dk), 0);
    assert_string_equal(dk, DK_IMEI);
    /* a hex id is keyed in its canonical form (upper case, no separators) */
    char dk2[65];
    assert_int_equal(fleet_push_device_key(k, kl, "01:23:45:67:89:ab", dk), 0);
    assert_int_equal(fleet_push_device_key(k, kl, "0123456789AB", dk2), 0);
    assert_string_equal(dk, dk2);
    assert_string_equal(dk, "b73fa050ca4608e010821272d8bf2e4a4d0f9c187514377cf2bedb8d5ebd449d");
    assert_int_equal(fleet_push_device_key(k, kl, "bad id", dk), FLEET_ERR_INVAL);
    assert_int_equal(fleet_push_device_key(k, 8, "860000000000009", dk), FLEET_ERR_INVAL);

    /* good */
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000009", AUTH_IMEI), 0);
    /* upper-case hex is the same MAC (LuatOS crypto.hmac_sha256 answers in upper case) */
    char up[65];
    for (size_t i = 0; i < 65; i++)
        up[i] = (char)(AUTH_IMEI[i] >= 'a' && AUTH_IMEI[i] <= 'f' ? AUTH_IMEI[i] - 32 : AUTH_IMEI[i]);
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000009", up), 0);
    /* wrong: one digit changed */
    char bad[65];
    memcpy(bad, AUTH_IMEI, sizeof bad);
    bad[10] = bad[10] == '0' ? '1' : '0';
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000009", bad), FLEET_ERR_PROTOCOL);
    /* replayed: the same auth under another nonce */
    assert_int_equal(push_auth_verify(k, kl, "ffeeddccbbaa99887766554433221100", "860000000000009", AUTH_IMEI),
                     FLEET_ERR_PROTOCOL);
    /* another device's id with this device's auth */
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000010", AUTH_IMEI), FLEET_ERR_PROTOCOL);
    /* another master key */
    unsigned char k2[32];
    memcpy(k2, k, 32);
    k2[0] ^= 1;
    assert_int_equal(push_auth_verify(k2, 32, NONCE, "860000000000009", AUTH_IMEI), FLEET_ERR_PROTOCOL);
    /* malformed */
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000009", ""), FLEET_ERR_PROTOCOL);
    assert_int_equal(push_auth_verify(k, kl, NONCE, "860000000000009", "zz"), FLEET_ERR_PROTOCOL);

    /* bad keys */
    fleet_config c2;
    fleet_config_default(&c2);
    why = NULL;
    assert_int_equal(fleet_config_push_key(&c2, "0011", 4, &why), FLEET_ERR_INVAL);
    assert_non_null(why);
    assert_int_equal(fleet_config_push_key(&c2, "zz0102030405060708090a0b0c0d0e0f", 32, &why), FLEET_ERR_INVAL);
    assert_int_equal(fleet_config_push_key(&c2, "00010203040506070809", 20, &why), FLEET_ERR_INVAL);
    assert_int_equal(c2.push_key_len, 0);
    /* blanks and a newline around the digits are fine (a key file) */
    char file[80];
    snprintf(file, sizeof file, "  %s\r\n", "00112233445566778899aabbccddeeff");
    assert_int_equal(fleet_config_push_key(&c2, file, strlen(file), &why), 0);
    assert_int_equal(c2.push_key_len, 16);
}

static void auth_lines(void **state)
{
    (void)state;
    char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1], auth[PUSH_AUTH_HEX + 1];
    const char *why = NULL;
    char line[256];
    int n = snprintf(line, sizeof line, "{\"imei\":\"860000000000009\",\"auth\":\"%s\"}", AUTH_IMEI);
    assert_int_equal(push_parse_ident_auth(line, (size_t)n, id, ver, auth, &why), 0);
    assert_string_equal(id, "860000000000009");
    assert_string_equal(auth, AUTH_IMEI);
    /* without a key the auth member is accepted and not needed */
    assert_int_equal(push_parse_ident(line, (size_t)n, id, ver, &why), 0);
    /* plain lines carry no auth: a server with a key refuses them */
    assert_int_equal(push_parse_ident_auth("860000000000009", 15, id, ver, auth, &why), 0);
    assert_string_equal(auth, "");
    assert_int_equal(push_parse_ident_auth("{\"imei\":\"860000000000009\"}", 26, id, ver, auth, &why), 0);
    assert_string_equal(auth, "");
    /* malformed auth members are bad first lines, with or without a key */
    static const char *badauth[] = {
        "{\"imei\":\"860000000000009\",\"auth\":\"\"}",
        "{\"imei\":\"860000000000009\",\"auth\":\"abc\"}",
        "{\"imei\":\"860000000000009\",\"auth\":123}",
        "{\"imei\":\"860000000000009\",\"auth\":null}",
        "{\"imei\":\"860000000000009\",\"auth\":\"550689688d7bdba625f71783a35b91d3d7c49314f200c9f532f6f54bbe2061dg\"}",
        "{\"imei\":\"860000000000009\",\"auth\":\"550689688d7bdba625f71783a35b91d3d7c49314f200c9f532f6f54bbe2061dd0\"}",
    };
    for (size_t i = 0; i < sizeof badauth / sizeof badauth[0]; i++) {
        why = NULL;
        if (push_parse_ident_auth(badauth[i], strlen(badauth[i]), id, ver, auth, &why) == 0)
            fail_msg("accepted bad auth line '%s'", badauth[i]);
        assert_non_null(why);
        if (push_parse_ident(badauth[i], strlen(badauth[i]), id, ver, &why) == 0)
            fail_msg("accepted bad auth line '%s' without a key", badauth[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_lines),      cmocka_unit_test(bad_lines),      cmocka_unit_test(fixtures_refused),
        cmocka_unit_test(command_line),    cmocka_unit_test(topic_template),
        cmocka_unit_test(auth_scheme),     cmocka_unit_test(auth_lines),     cmocka_unit_test(push_device_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
