/* Response head parsing, JSON codes and the libfota2 result mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "sim_internal.h"

static sim_http_rc parse(const char *s, sim_http_head *h)
{
    size_t end = sim_http_head_end(s, strlen(s));
    assert_true(end > 0);
    return sim_http_parse_head(s, end, h);
}

static void head_end(void **st)
{
    (void)st;
    const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    assert_int_equal(sim_http_head_end(a, strlen(a)), strlen(a) - 3);
    const char *b = "HTTP/1.1 200 OK\nX: y\n\nabc";
    assert_int_equal(sim_http_head_end(b, strlen(b)), strlen(b) - 3);
    assert_int_equal(sim_http_head_end("HTTP/1.1 200 OK\r\nX: y\r\n", 24), 0);
    assert_int_equal(sim_http_head_end("", 0), 0);
}

static void package_head(void **st)
{
    (void)st;
    sim_http_head h;
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: \"abc\"\r\n"
                           "Accept-Ranges: bytes\r\nX-Openfota-Version: 2012.001.001\r\n\r\n",
                           &h),
                     SIM_HTTP_OK);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.content_length, 1234);
    assert_string_equal(h.etag, "\"abc\"");
    assert_string_equal(h.version, "2012.001.001");
    assert_int_equal(h.range_start, -1);
    assert_int_equal(h.chunked, 0);
}

static void partial_head(void **st)
{
    (void)st;
    sim_http_head h;
    assert_int_equal(parse("HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 100-199/200\r\n"
                           "content-length:100\r\n\r\n", &h),
                     SIM_HTTP_OK);
    assert_int_equal(h.status, 206);
    assert_int_equal(h.range_start, 100);
    assert_int_equal(h.range_total, 200);
    assert_int_equal(h.content_length, 100);
    assert_int_equal(parse("HTTP/1.1 206 x\r\nContent-Range: bytes 0-9/*\r\n\r\n", &h), SIM_HTTP_OK);
    assert_int_equal(h.range_start, 0);
    assert_int_equal(h.range_total, -1);
}

static void error_head(void **st)
{
    (void)st;
    sim_http_head h;
    assert_int_equal(parse("HTTP/1.0 503 Busy\r\nRetry-After: 120\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
                     SIM_HTTP_OK);
    assert_int_equal(h.status, 503);
    assert_int_equal(h.retry_after, 120);
    assert_int_equal(h.chunked, 1);
    assert_int_equal(h.content_length, -1);
}

static void bad_heads(void **st)
{
    (void)st;
    sim_http_head h;
    assert_int_equal(parse("HTTX/1.1 200 OK\r\n\r\n", &h), SIM_HTTP_BAD_STATUS);
    assert_int_equal(parse("HTTP/1.1 2000 OK\r\n\r\n", &h), SIM_HTTP_BAD_STATUS);
    assert_int_equal(parse("HTTP/1.1 099 OK\r\n\r\n", &h), SIM_HTTP_BAD_STATUS);
    assert_int_equal(parse("HTTP/1.1 20x OK\r\n\r\n", &h), SIM_HTTP_BAD_STATUS);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", &h), SIM_HTTP_BAD_HEADER);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", &h), SIM_HTTP_BAD_HEADER);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", &h), SIM_HTTP_BAD_LENGTH);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", &h), SIM_HTTP_BAD_LENGTH);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h),
                     SIM_HTTP_BAD_LENGTH);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", &h),
                     SIM_HTTP_BAD_LENGTH);
    const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
    assert_int_equal(sim_http_parse_head(nul, sizeof(nul) - 1, &h), SIM_HTTP_BAD_HEADER);
    /* an over-long ETag is dropped (no resume), not truncated */
    char big[400];
    strcpy(big, "HTTP/1.1 200 OK\r\nETag: \"");
    size_t at = strlen(big);
    memset(big + at, 'e', 200);
    strcpy(big + at + 200, "\"\r\n\r\n");
    assert_int_equal(parse(big, &h), SIM_HTTP_OK);
    assert_string_equal(h.etag, "");
}

static void json_codes(void **st)
{
    (void)st;
    const char *a = "{\"code\":27,\"msg\":\"already latest\"}";
    assert_int_equal(sim_http_json_code(a, strlen(a)), 27);
    const char *b = "{\"msg\":\"x\",\"code\":40}";
    assert_int_equal(sim_http_json_code(b, strlen(b)), 40);
    assert_int_equal(sim_http_json_code("{\"code\":\"27\"}", 13), -1);
    assert_int_equal(sim_http_json_code("[27]", 4), -1);
    assert_int_equal(sim_http_json_code("{\"code\":27", 10), -1); /* cut */
    assert_int_equal(sim_http_json_code("<html>", 6), -1);
    assert_int_equal(sim_http_json_code(NULL, 0), -1);
    assert_int_equal(sim_http_json_code("{\"code\":-5}", 11), -1);
}

static sim_exchange ok_head(int status, int64_t cl, uint64_t got, int complete)
{
    sim_exchange x;
    memset(&x, 0, sizeof(x));
    x.head_done = 1;
    x.status = status;
    x.content_length = cl;
    x.body_bytes = got;
    x.body_complete = complete;
    return x;
}

/* Every row of the protocol's result table. */
static void classify_table(void **st)
{
    (void)st;
    sim_exchange x;
    x = ok_head(200, 10, 10, 1);
    assert_int_equal(sim_http_classify(&x), 0); /* 200 + non-empty body */
    x = ok_head(206, 5, 5, 1);
    assert_int_equal(sim_http_classify(&x), 0); /* 206 + non-empty body */
    x = ok_head(200, -1, 7, 1);
    assert_int_equal(sim_http_classify(&x), 0); /* read to close */
    x = ok_head(200, 0, 0, 1);
    assert_int_equal(sim_http_classify(&x), 4); /* 200 with Content-Length: 0 */
    x = ok_head(200, 10, 4, 0);
    assert_int_equal(sim_http_classify(&x), 4); /* cut inside the body */
    for (int s = 300; s < 600; s += 1) {
        x = ok_head(s, 20, 20, 1);
        assert_int_equal(sim_http_classify(&x), 4); /* any 3xx/4xx/5xx */
    }
    x = ok_head(204, 0, 0, 1);
    assert_int_equal(sim_http_classify(&x), 4);
    memset(&x, 0, sizeof(x));
    x.refused = 1;
    assert_int_equal(sim_http_classify(&x), 1); /* refused */
    memset(&x, 0, sizeof(x));
    assert_int_equal(sim_http_classify(&x), 3); /* closed before the head */
    x.timed_out = 1;
    assert_int_equal(sim_http_classify(&x), 4); /* timeout */
    memset(&x, 0, sizeof(x));
    x.head_bad = 1;
    assert_int_equal(sim_http_classify(&x), 4); /* malformed or oversized head */
}

/* Every bad answer in the fixture folder is refused or read without harm:
 * no crash, bounded fields, no package status from a malformed head. */
static void bad_fixtures(void **st)
{
    (void)st;
#ifdef OPENFOTA_FIXTURES
    DIR *d = opendir(OPENFOTA_FIXTURES "/bad/sim_http");
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/bad/sim_http/%s", OPENFOTA_FIXTURES, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char buf[4096];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        size_t end = sim_http_head_end(buf, len);
        sim_http_head h;
        sim_http_rc rc = end ? sim_http_parse_head(buf, end, &h) : SIM_HTTP_BAD_STATUS;
        if (rc == SIM_HTTP_OK) {
            /* parsed: whatever was bad must not have become usable data */
            assert_true(strlen(h.etag) < sizeof(h.etag));
            assert_true(strlen(h.version) < sizeof(h.version));
            assert_true(h.range_start < 0 || h.range_start <= (int64_t)1 << 60);
            if (strstr(e->d_name, "json"))
                assert_int_equal(sim_http_json_code(buf + end, len - end), -1);
            if (strstr(e->d_name, "too-long"))
                assert_true(h.etag[0] == '\0' && h.version[0] == '\0');
            if (strstr(e->d_name, "content-range"))
                assert_int_equal(h.range_start, -1);
        }
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(head_end),     cmocka_unit_test(package_head),
        cmocka_unit_test(partial_head), cmocka_unit_test(error_head),
        cmocka_unit_test(bad_heads),    cmocka_unit_test(json_codes),
        cmocka_unit_test(classify_table), cmocka_unit_test(bad_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
