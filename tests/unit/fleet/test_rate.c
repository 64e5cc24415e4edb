/* Rate controller (token bucket) on a hand-driven clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate.h"

static void starts_full_then_refuses(void **state)
{
    (void)state;
    struct fleet_rate r;
    rate_init(&r, 10, 5, 100.0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rate_try_take(&r, 100.0), 1);
    assert_int_equal(rate_try_take(&r, 100.0), 0);
    assert_int_equal(r.granted, 5);
    assert_int_equal(r.denied, 1);
}

static void refills_at_rate(void **state)
{
    (void)state;
    struct fleet_rate r;
    rate_init(&r, 50, 2, 0.0);
    assert_int_equal(rate_try_take(&r, 0.0), 1);
    /* over 10 simulated seconds, polled every millisecond: the one token left
     * plus 500 new ones */
    int got = 0;
    for (int ms = 1; ms <= 10000; ms++)
        got += rate_try_take(&r, ms / 1000.0);
    assert_in_range(got, 500, 502);
}

static void wait_says_when(void **state)
{
    (void)state;
    struct fleet_rate r;
    rate_init(&r, 4, 1, 0.0);
    assert_true(rate_wait(&r, 0.0) == 0.0);
    assert_int_equal(rate_try_take(&r, 0.0), 1);
    double w = rate_wait(&r, 0.0);
    assert_true(w > 0.249 && w < 0.251);
    assert_int_equal(rate_try_take(&r, 0.2), 0);
    assert_int_equal(rate_try_take(&r, 0.26), 1);
}

static void clock_backwards_and_clamps(void **state)
{
    (void)state;
    struct fleet_rate r;
    rate_init(&r, -5, 0, 10.0); /* clamped to 0.001/s, burst 1 */
    assert_int_equal(rate_try_take(&r, 10.0), 1);
    assert_int_equal(rate_try_take(&r, 5.0), 0); /* backwards: nothing added */
    assert_int_equal(rate_try_take(&r, 10.5), 0);
    rate_set(&r, 1000, 10, 10.5);
    assert_int_equal(rate_try_take(&r, 10.6), 1);
    assert_true(rate_tokens(&r, 1000.0) <= 10.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_full_then_refuses),
        cmocka_unit_test(refills_at_rate),
        cmocka_unit_test(wait_says_when),
        cmocka_unit_test(clock_backwards_and_clamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
