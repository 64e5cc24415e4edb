/* test_limits.c — the bounded token-bucket tables of the flood limits:
 * burst then rate, one streak count per burst, bounded memory under
 * millions of keys, concurrency slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    lim_table *t = lim_new(1024, 0.1, 10); /* 10 in a row, then one per 10 s */
    assert_non_null(t);
    lim_verdict v;
    for (int i = 0; i < 10; i++) {
        lim_take(t, "dev", 3, 100.0, &v);
        assert_true(v.allowed);
    }
    for (int i = 0; i < 5; i++) {
        lim_take(t, "dev", 3, 100.0 + i, &v);
        assert_false(v.allowed);
        assert_int_equal(v.refused_run, i + 1);
        assert_true(v.retry_after >= 1 && v.retry_after <= 10);
    }
    lim_take(t, "other", 5, 104.0, &v);
    assert_true(v.allowed);
    lim_take(t, "dev", 3, 110.5, &v); /* one token back after 10 s */
    assert_true(v.allowed);
    assert_int_equal(v.streak, 5);
    assert_true(v.streak_first == 100.0);
    lim_take(t, "dev", 3, 110.6, &v);
    assert_false(v.allowed);
    assert_int_equal(v.refused_run, 1);
    lim_free(t);
}

static void test_off(void **state)
{
    (void)state;
    lim_table *t = lim_new(64, 0, 0);
    lim_verdict v;
    for (int i = 0; i < 1000; i++) {
        lim_take(t, "x", 1, 1.0, &v);
        assert_true(v.allowed);
    }
    lim_free(t);
}

static void test_bounded(void **state)
{
    (void)state;
    lim_table *t = lim_new(4096, 1, 5);
    lim_verdict v;
    char k[32];
    for (int i = 0; i < 300000; i++) {
        int n = snprintf(k, sizeof k, "86%013d", i);
        lim_take(t, k, (size_t)n, 1000.0 + i / 1000.0, &v);
        assert_true(v.allowed);
    }
    lim_stats st;
    lim_get_stats(t, &st);
    assert_true(st.entries <= 4096);
    /* a key that keeps being refused is not forgotten by idle churn */
    for (int i = 0; i < 6; i++)
        lim_take(t, "hot", 3, 2000.0, &v);
    assert_false(v.allowed);
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(k, sizeof k, "x%d", i);
        lim_take(t, k, (size_t)n, 2000.0 + i * 1e-6, &v);
    }
    lim_take(t, "hot", 3, 2000.01, &v);
    lim_get_stats(t, &st);
    assert_true(!v.allowed || st.evicted_busy > 0);
    lim_free(t);
}

static void test_slots(void **state)
{
    (void)state;
    lim_table *t = lim_new(64, 0, 0);
    unsigned char a[16] = {1}, b[16] = {2};
    assert_int_equal(lim_acquire(t, a, 16, 2, 1.0), 1);
    assert_int_equal(lim_acquire(t, a, 16, 2, 1.0), 1);
    assert_int_equal(lim_acquire(t, a, 16, 2, 1.0), 0);
    assert_int_equal(lim_acquire(t, b, 16, 2, 1.0), 1);
    lim_release(t, a, 16);
    assert_int_equal(lim_acquire(t, a, 16, 2, 1.0), 1);
    assert_int_equal(lim_acquire(t, a, 16, 0, 1.0), 1); /* 0: no cap */
    lim_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
