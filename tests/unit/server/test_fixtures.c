/* test_fixtures.c — every bad-input fixture of the server's parsers (config,
 * range, query, HTTP request heads) gets the documented refusal (the same
 * files are the fuzz corpora). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "http_head.h"
#include "proxy.h"
#include "query.h"
#include "range.h"
#include "version.h"

typedef void (*fixture_fn)(const char *name, const char *data, size_t len);

static int for_each(const char *folder, fixture_fn fn)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/bad/%s", OPENFOTA_FIXTURES, folder);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char f[1400];
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        FILE *fp = fopen(f, "rb");
        assert_non_null(fp);
        static char buf[1 << 16];
        size_t len = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[len] = 0;
        fn(de->d_name, buf, len);
        n++;
    }
    closedir(d);
    return n;
}

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static void one_config(const char *name, const char *data, size_t len)
{
    of_config c;
    char err[512] = "";
    config_defaults(&c);
    if (config_parse_text(&c, data, len, err, sizeof err) == 0)
        fail_msg("config fixture %s was accepted", name);
    if (strncmp(err, "line ", 5) != 0 && strstr(err, "larger") == NULL)
        fail_msg("config fixture %s: error does not name the line: %s", name, err);
}

static void one_range(const char *name, const char *data, size_t len)
{
    (void)len;
    uint64_t start = 0, n = 0;
    range_result r = range_parse(data, 1000, &start, &n);
    if (r == RANGE_PARTIAL && (n == 0 || start + n > 1000))
        fail_msg("range fixture %s: out of bounds %llu+%llu", name, (unsigned long long)start,
                 (unsigned long long)n);
    /* documented: these are never a partial answer */
    if ((starts(name, "suffix-zero") || starts(name, "start-after-end") || starts(name, "huge-start") ||
         starts(name, "overflow") || starts(name, "at-eof") || starts(name, "one-past-eof") ||
         starts(name, "letters") || starts(name, "empty")) &&
        r != RANGE_UNSATISFIABLE)
        fail_msg("range fixture %s: expected 416, got %d", name, r);
    if ((starts(name, "two-ranges") || starts(name, "other-unit")) && r != RANGE_NONE)
        fail_msg("range fixture %s: expected a full 200, got %d", name, r);
    /* hundreds of ranges: never a partial answer (a full 200, or 416 past 1024 bytes of header) */
    if (starts(name, "hundreds") && r == RANGE_PARTIAL)
        fail_msg("range fixture %s: partial answer to hundreds of ranges", name);
}

static void one_query(const char *name, const char *data, size_t len)
{
    (void)len;
    const char *path = data;
    const char *q = strchr(data, '?');
    size_t plen = q ? (size_t)(q - data) : strlen(data);
    size_t off = 0;
    int mistake = query_path_mistake(path, plen, &off);
    if (starts(name, "url-without-question-mark")) {
        if (!mistake)
            fail_msg("query fixture %s: the missing '?' was not recognised", name);
        return;
    }
    dev_query d;
    query_err qe = query_parse(q ? q + 1 : "", q ? strlen(q + 1) : 0, &d);
    if (starts(name, "value-too-long")) {
        assert_int_equal(qe, QUERY_VALUE_TOO_LONG);
        return;
    }
    assert_int_equal(qe, QUERY_OK);
    char id[DEVICE_ID_MAX];
    const char *why = NULL;
    int idrc = query_identity(&d, id, &why);
    if ((starts(name, "imei-") || starts(name, "identity-") || starts(name, "mac-") || starts(name, "sql-in-imei") ||
         starts(name, "empty-pairs") || starts(name, "percent-encoded")) &&
        idrc == 0)
        fail_msg("query fixture %s: identity accepted (%s)", name, id);
    of_version v;
    if (starts(name, "version-") && version_parse(d.version.p, d.version.len, &v) == VERSION_OK)
        fail_msg("query fixture %s: version accepted", name);
    if (starts(name, "duplicate-imei"))
        assert_memory_equal(d.id.p, "860123456789012", 15);
    if (starts(name, "duplicate-version"))
        assert_memory_equal(d.version.p, "2012.001.001", 12);
    if (starts(name, "old-libfota-order"))
        assert_int_equal(idrc, 0);
}

/* fixtures/bad/http_request: the file name starts with the status the head
 * must get (400-..., 417-..., 431-..., 501-..., 505-...) */
static void one_http_request(const char *name, const char *data, size_t len)
{
    unsigned want = (unsigned)strtoul(name, NULL, 10);
    char *b = malloc(len + 1);
    assert_non_null(b);
    memcpy(b, data, len);
    size_t hl = http_head_length(b, len);
    if (hl == 0)
        fail_msg("http_request fixture %s: head not complete", name);
    http_head h;
    const char *why = NULL;
    unsigned st = http_head_parse(b, hl, &h, &why);
    if (st != want)
        fail_msg("http_request fixture %s: status %u (%s), wanted %u", name, st, why ? why : "", want);
    if (why == NULL || why[0] == 0)
        fail_msg("http_request fixture %s: refused without a reason", name);
    free(b);
}

/* fixtures/bad/xff: no address is taken from any of them (the direct
 * peer stays the client). */
static void one_xff(const char *name, const char *data, size_t len)
{
    (void)len;
    proxy_list l;
    char err[128], out[PROXY_ADDR_TEXT];
    assert_int_equal(proxy_list_parse("127.0.0.1, ::1", &l, err, sizeof err), 0);
    if (proxy_client(&l, data, NULL, out, sizeof out))
        fail_msg("xff fixture %s: took the address %s", name, out);
    if (proxy_client(&l, NULL, data, out, sizeof out) && strcmp(name, "only-trusted-proxy") != 0)
        fail_msg("xff fixture %s as X-Real-IP: took the address %s", name, out);
}

static void test_xff_fixtures(void **state)
{
    (void)state;
    assert_true(for_each("xff", one_xff) >= 10);
}

static void test_http_request_fixtures(void **state)
{
    (void)state;
    assert_true(for_each("http_request", one_http_request) >= 30);
}

static void test_config_fixtures(void **state)
{
    (void)state;
    assert_true(for_each("config", one_config) >= 15);
}

static void test_range_fixtures(void **state)
{
    (void)state;
    assert_true(for_each("range", one_range) >= 15);
}

static void test_query_fixtures(void **state)
{
    (void)state;
    assert_true(for_each("query", one_query) >= 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_fixtures),
        cmocka_unit_test(test_range_fixtures),
        cmocka_unit_test(test_query_fixtures),
        cmocka_unit_test(test_http_request_fixtures),
        cmocka_unit_test(test_xff_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
