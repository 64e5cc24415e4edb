/* test_range.c — Range / If-Range decisions (bad-inputs.md "Downloads and Range"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "range.h"

static void check(const char *hdr, uint64_t size, range_result want, uint64_t wstart, uint64_t wlen)
{
    uint64_t s = 77, l = 77;
    range_result r = range_parse(hdr, size, &s, &l);
    if (r != want)
        fail_msg("'%s' size %llu: expected %d got %d", hdr ? hdr : "(null)", (unsigned long long)size, want, r);
    if (r == RANGE_PARTIAL && (s != wstart || l != wlen))
        fail_msg("'%s': expected %llu+%llu got %llu+%llu", hdr, (unsigned long long)wstart, (unsigned long long)wlen,
                 (unsigned long long)s, (unsigned long long)l);
}

static void test_ranges(void **state)
{
    (void)state;
    check(NULL, 100, RANGE_NONE, 0, 0);
    check("bytes=0-9", 100, RANGE_PARTIAL, 0, 10);
    check("bytes=10-", 100, RANGE_PARTIAL, 10, 90);
    check("bytes=-10", 100, RANGE_PARTIAL, 90, 10);
    check("bytes=90-200", 100, RANGE_PARTIAL, 90, 10);  /* end clamped */
    check("bytes=99-99", 100, RANGE_PARTIAL, 99, 1);    /* last byte */
    check("bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0); /* exactly at EOF */
    check("bytes=101-", 100, RANGE_UNSATISFIABLE, 0, 0); /* one past EOF */
    check("bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=5-1", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=999999999999-", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=-999999999999", 100, RANGE_PARTIAL, 0, 100); /* suffix > size: whole file */
    check("bytes=-9223372036854775807", 100, RANGE_PARTIAL, 0, 100);
    check("bytes=-9223372036854775808", 100, RANGE_UNSATISFIABLE, 0, 0); /* over 63 bits */
    check("bytes=0-18446744073709551616", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=18446744073709551615-", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=--5", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=abc", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=1-2x", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes= 1 - 2", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes= 1-2 ", 100, RANGE_PARTIAL, 1, 2);
    check("BYTES=1-2", 100, RANGE_PARTIAL, 1, 2);
    check("items=1-2", 100, RANGE_NONE, 0, 0);
    check("bytes=0-0", 0, RANGE_UNSATISFIABLE, 0, 0); /* empty file */
    check("bytes=-5", 0, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=0-1,2-3", 100, RANGE_NONE, 0, 0);    /* several ranges: whole file */
    check("bytes=0-1,5-1", 100, RANGE_UNSATISFIABLE, 0, 0);
    check("bytes=0-1,", 100, RANGE_UNSATISFIABLE, 0, 0);
}

static void test_many_overlapping(void **state)
{
    (void)state;
    char buf[RANGE_HEADER_MAX + 100];
    size_t n = (size_t)snprintf(buf, sizeof buf, "bytes=0-10");
    while (n < 900)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ",0-10");
    check(buf, 100, RANGE_NONE, 0, 0); /* hundreds of ranges: plain 200, no amplification */
    while (n < RANGE_HEADER_MAX + 10)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ",0-1");
    check(buf, 100, RANGE_UNSATISFIABLE, 0, 0); /* over the header bound */
}

static void test_if_range(void **state)
{
    (void)state;
    uint64_t s, l;
    const char *etag = "\"0123456789abcdef\"";
    assert_int_equal(range_decide("bytes=1-2", etag, etag, 100, &s, &l), RANGE_PARTIAL);
    assert_int_equal(range_decide("bytes=1-2", "\"ffffffffffffffff\"", etag, 100, &s, &l), RANGE_NONE);
    assert_int_equal(range_decide("bytes=1-2", "Wed, 21 Oct 2015 07:28:00 GMT", etag, 100, &s, &l), RANGE_NONE);
    assert_int_equal(range_decide("bytes=1-2", NULL, etag, 100, &s, &l), RANGE_PARTIAL);
    assert_int_equal(range_decide(NULL, etag, etag, 100, &s, &l), RANGE_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_many_overlapping),
        cmocka_unit_test(test_if_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
