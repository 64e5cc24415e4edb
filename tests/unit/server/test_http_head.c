/* test_http_head.c — request heads: what real clients send is split
 * exactly (the bad heads of fixtures/bad/http_request are checked with the
 * other parsers' fixtures in test_fixtures.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_head.h"

static unsigned parse(const char *text, http_head *h, char **keep)
{
    size_t len = strlen(text);
    char *b = malloc(len + 1);
    assert_non_null(b);
    memcpy(b, text, len + 1);
    const char *why = NULL;
    assert_int_equal(http_head_length(b, len), len);
    unsigned st = http_head_parse(b, len, h, &why);
    assert_non_null(why);
    if (st != 0)
        assert_true(why[0] != 0); /* a refusal always says why */
    *keep = b;
    return st;
}

/* The bytes a LuatOS module running libfota2 sends (see docs/api.md). */
static void module_request(void **state)
{
    (void)state;
    http_head h;
    char *b;
    assert_int_equal(parse("GET /api/site/firmware_upgrade?imei=860000000000001&project_key=AbC&"
                           "firmware_name=demo_LuatOS-SoC_V1001_EC618&version=2012.001.001 HTTP/1.1\r\n"
                           "Host: 192.168.1.10:8080\r\nConnection: Close\r\n\r\n",
                           &h, &b),
                     0);
    assert_string_equal(h.method, "GET");
    assert_false(h.is_head);
    assert_int_equal(h.http_minor, 1);
    assert_string_equal(h.target, "/api/site/firmware_upgrade?imei=860000000000001&project_key=AbC&"
                                  "firmware_name=demo_LuatOS-SoC_V1001_EC618&version=2012.001.001");
    assert_int_equal(h.nfields, 2);
    assert_string_equal(http_head_get(&h, "host"), "192.168.1.10:8080");
    assert_string_equal(http_head_get(&h, "CONNECTION"), "Close");
    assert_false(h.keep_alive);
    assert_false(h.has_content_length);
    assert_false(h.chunked);
    assert_null(http_head_get(&h, "Range"));
    free(b);
}

/* absolute-form targets (RFC 9112 3.2.2) are reduced to their path and query */
static void absolute_form(void **state)
{
    (void)state;
    static const struct {
        const char *target, *want;
    } cases[] = {
        {"http://10.0.0.1:8080/api/site/firmware_upgrade?imei=1", "/api/site/firmware_upgrade?imei=1"},
        {"HTTPS://example.com/download/a.bin", "/download/a.bin"},
        {"http://host", "/"},
        {"http://host?x=1", "/?x=1"},
        {"/plain/path", "/plain/path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", cases[i].target);
        http_head h;
        char *b;
        assert_int_equal(parse(text, &h, &b), 0);
        assert_string_equal(h.target, cases[i].want);
        assert_int_equal(h.target_len, strlen(cases[i].want));
        free(b);
    }
}

static void keep_alive_rules(void **state)
{
    (void)state;
    http_head h;
    char *b;
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &h, &b), 0);
    assert_true(h.keep_alive);
    free(b);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &b), 0);
    assert_false(h.keep_alive);
    assert_int_equal(h.http_minor, 0);
    free(b);
    assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h, &b), 0);
    assert_true(h.keep_alive);
    free(b);
    /* an Upgrade request is answered as a plain one, then the connection closes */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &h, &b),
                     0);
    assert_false(h.keep_alive);
    free(b);
}

static void values_trimmed_and_bodies(void **state)
{
    (void)state;
    http_head h;
    char *b;
    assert_int_equal(parse("PUT /admin/v1/files/a.bin HTTP/1.1\r\nHost: a\r\nContent-Length:   1048576  \r\n"
                           "Expect: 100-continue\r\nX-Empty:\r\nAuthorization: Bearer t\r\n\r\n",
                           &h, &b),
                     0);
    assert_string_equal(h.method, "PUT");
    assert_true(h.has_content_length);
    assert_int_equal(h.content_length, 1048576);
    assert_true(h.expect_continue);
    assert_string_equal(http_head_get(&h, "Content-Length"), "1048576");
    assert_string_equal(http_head_get(&h, "x-empty"), "");
    assert_string_equal(http_head_get(&h, "authorization"), "Bearer t");
    free(b);
    assert_int_equal(parse("POST /api/v1/device/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
                           &h, &b),
                     0);
    assert_true(h.chunked);
    assert_false(h.has_content_length);
    free(b);
    assert_int_equal(parse("HEAD /download/x HTTP/1.1\r\nHost: a\r\n\r\n", &h, &b), 0);
    assert_true(h.is_head);
    free(b);
    /* HTTP/1.0 has no Expect */
    assert_int_equal(parse("POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n", &h, &b), 0);
    assert_false(h.expect_continue);
    free(b);
    /* the first of two same-named headers is the one read */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nRange: bytes=5-9\r\n\r\n", &h, &b), 0);
    assert_string_equal(http_head_get(&h, "range"), "bytes=0-1");
    free(b);
}

static void head_length(void **state)
{
    (void)state;
    assert_int_equal(http_head_length("GET / HTTP/1.1\r\nHost: a\r\n", 25), 0);
    assert_int_equal(http_head_length("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY", 31), 27);
    assert_int_equal(http_head_length("GET / HTTP/1.0\r\n\r\n", 18), 18);
    /* a bare-LF head is complete (so it can be refused, not waited for) */
    assert_int_equal(http_head_length("GET / HTTP/1.1\nHost: a\n\nX", 25), 24);
    assert_int_equal(http_head_length("", 0), 0);
    assert_int_equal(http_head_length("\r\n", 2), 0);
}

static void limits(void **state)
{
    (void)state;
    /* exactly the maximum number of header lines is taken */
    char big[8192];
    size_t k = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < HTTP_HEAD_MAX_HEADERS; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "X-%d: v\r\n", i);
    snprintf(big + k, sizeof big - k, "\r\n");
    http_head h;
    char *b;
    assert_int_equal(parse(big, &h, &b), 0);
    assert_int_equal(h.nfields, HTTP_HEAD_MAX_HEADERS);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(module_request), cmocka_unit_test(absolute_form), cmocka_unit_test(keep_alive_rules),
        cmocka_unit_test(values_trimmed_and_bodies), cmocka_unit_test(head_length),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
