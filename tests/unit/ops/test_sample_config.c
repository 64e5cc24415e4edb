/* test_sample_config.c — dist/openfota.conf (installed as
 * /etc/openfota/openfota.conf) parses with the real config parser: as
 * shipped, and with each commented "# key = value" line switched on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, CONFIG_FILE_MAX, f);
    fclose(f);
    buf[*len] = 0;
    return buf;
}

static void test_as_shipped(void **state)
{
    (void)state;
    of_config c, d;
    char err[512] = "";
    config_defaults(&c);
    int rc = config_load_file(&c, OPENFOTA_SAMPLE_CONF, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    /* the service's settings: the StateDirectory, all interfaces */
    assert_string_equal(c.data, "/var/lib/openfota");
    assert_string_equal(c.listen, "0.0.0.0:8080");
    /* everything else stays at the defaults the comments show */
    config_defaults(&d);
    memcpy(d.data, c.data, sizeof d.data);
    assert_memory_equal(&c, &d, sizeof c);
}

/* "# key = value" lines uncommented: each must be a real key with a value the
 * parser takes, and the defaults it shows must be the real defaults. */
static void test_every_commented_setting(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp(OPENFOTA_SAMPLE_CONF, &len);
    unsigned shown = 0, same_as_default = 0;
    char *line = text;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        const char *p = line;
        if (p[0] == '#' && p[1] == ' ' && p[2] >= 'a' && p[2] <= 'z' && strstr(p, " = ") != NULL &&
            strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_") == (size_t)(strstr(p, " = ") - (p + 2))) {
            of_config c, d;
            char err[512] = "";
            config_defaults(&c);
            config_defaults(&d);
            if (config_parse_text(&c, p + 2, strlen(p + 2), err, sizeof err) != 0)
                fail_msg("sample line '%s' does not parse: %s", p, err);
            shown++;
            if (memcmp(&c, &d, sizeof c) == 0)
                same_as_default++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    /* every setting of `openfota serve --help` but listen and data (set
     * above); tests/integration/ops_install.py checks none is missing */
    assert_int_equal(shown, 42);
    /* the lines that claim a default leave the configuration as it was: all
     * but the examples of optional settings (public_url, trusted_proxies, tls_listen,
     * tls_cert, tls_key, tls_client_ca, tls_ciphers, push, mqtt,
     * push_key_file, signing_key, signing_pubkey, webhook_url,
     * webhook_secret_file, db) and push_rate (stored as 0,
     * "the fleet's default", which is the 50 shown) */
    assert_int_equal(same_as_default, 26);
}

static void test_a_broken_copy_is_refused(void **state)
{
    (void)state;
    size_t len;
    char *text = slurp(OPENFOTA_SAMPLE_CONF, &len);
    char *p = strstr(text, "# threads = 2");
    assert_non_null(p);
    memcpy(p, "threadz = 2  ", 13); /* an operator's typo, uncommented */
    of_config c;
    char err[512] = "";
    config_defaults(&c);
    assert_int_equal(config_parse_text(&c, text, len, err, sizeof err), -1);
    assert_non_null(strstr(err, "threadz"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_shipped),
        cmocka_unit_test(test_every_commented_setting),
        cmocka_unit_test(test_a_broken_copy_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
