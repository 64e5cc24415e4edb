/* Durations, time compression, jitter, the timer heap and the RNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "sim_internal.h"

static void durations(void **st)
{
    (void)st;
    double d;
    assert_int_equal(sim_parse_duration("4h", &d), 0);
    assert_true(d == 14400);
    assert_int_equal(sim_parse_duration("250ms", &d), 0);
    assert_true(fabs(d - 0.25) < 1e-12);
    assert_int_equal(sim_parse_duration("30", &d), 0);
    assert_true(d == 30);
    assert_int_equal(sim_parse_duration("1.5m", &d), 0);
    assert_true(d == 90);
    assert_int_equal(sim_parse_duration("1d", &d), 0);
    assert_true(d == 86400);
    assert_int_equal(sim_parse_duration("0s", &d), 0);
    assert_true(d == 0);
    assert_int_equal(sim_parse_duration("", &d), -1);
    assert_int_equal(sim_parse_duration("-1s", &d), -1);
    assert_int_equal(sim_parse_duration("4 h", &d), -1);
    assert_int_equal(sim_parse_duration("4hours", &d), -1);
    assert_int_equal(sim_parse_duration("nan", &d), -1);
    assert_int_equal(sim_parse_duration("inf", &d), -1);
    assert_int_equal(sim_parse_duration("h", &d), -1);
}

static void time_compression(void **st)
{
    (void)st;
    /* --period 4h --time-scale 3600: four real seconds */
    assert_true(fabs(sim_sched_real(4 * 3600, 3600) - 4.0) < 1e-12);
    assert_true(fabs(sim_sched_real(15, 1) - 15.0) < 1e-12);
    assert_true(sim_sched_real(-3, 1) == 0);
    /* jitter 10%: u=0 -> 0.9 period, u=0.5 -> period, u->1 -> 1.1 period */
    assert_true(fabs(sim_sched_next_period(14400, 0.1, 3600, 0.0) - 3.6) < 1e-9);
    assert_true(fabs(sim_sched_next_period(14400, 0.1, 3600, 0.5) - 4.0) < 1e-9);
    assert_true(fabs(sim_sched_next_period(14400, 0.1, 3600, 0.999999) - 4.4) < 1e-5);
    /* jitter is clamped to 0..1, never a negative delay */
    assert_true(sim_sched_next_period(100, 5, 1, 0.0) >= 0);
    assert_true(fabs(sim_sched_next_period(100, -1, 1, 0.0) - 100) < 1e-9);
}

static void rng(void **st)
{
    (void)st;
    uint64_t a = 5, b = 5;
    for (int i = 0; i < 100; i++)
        assert_true(sim_rng_next(&a) == sim_rng_next(&b));
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = sim_rng_unit(&a);
        assert_true(u >= 0 && u < 1);
        sum += u;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.01);
}

static void heap_orders_and_moves(void **st)
{
    (void)st;
    enum { N = 5000 };
    int32_t *pos = malloc(N * sizeof(*pos));
    sim_heap h;
    assert_int_equal(sim_heap_init(&h, N, pos), 0);
    uint64_t r = 1;
    uint64_t *when = malloc(N * sizeof(*when));
    for (uint32_t i = 0; i < N; i++) {
        when[i] = sim_rng_next(&r) % 1000000;
        sim_heap_set(&h, i, when[i]);
    }
    /* move some, remove some */
    for (uint32_t i = 0; i < N; i += 7) {
        when[i] = sim_rng_next(&r) % 1000000;
        sim_heap_set(&h, i, when[i]);
    }
    for (uint32_t i = 3; i < N; i += 11) {
        sim_heap_remove(&h, i);
        when[i] = UINT64_MAX;
    }
    sim_heap_remove(&h, 3); /* twice: no effect */
    uint64_t last = 0;
    uint32_t popped = 0;
    const sim_heap_ent *e;
    while ((e = sim_heap_top(&h))) {
        assert_true(e->when >= last);
        assert_true(e->when == when[e->id]);
        last = e->when;
        uint32_t id = e->id;
        sim_heap_remove(&h, id);
        assert_int_equal(pos[id], -1);
        popped++;
    }
    uint32_t expect = 0;
    for (uint32_t i = 0; i < N; i++)
        expect += when[i] != UINT64_MAX;
    assert_int_equal(popped, expect);
    sim_heap_free(&h);
    free(when);
    free(pos);
}

static void versions(void **st)
{
    (void)st;
    sim_version v;
    char buf[32];
    assert_int_equal(sim_version_parse("2012.001.000", &v), 0);
    assert_int_equal(v.core, 2012);
    assert_int_equal(v.x, 1);
    assert_int_equal(v.z, 0);
    assert_int_equal(sim_version_format(&v, buf, sizeof(buf)), 12);
    assert_string_equal(buf, "2012.001.000");
    assert_int_equal(sim_version_parse("1.2.3", &v), 0);
    sim_version_format(&v, buf, sizeof(buf));
    assert_string_equal(buf, "1.2.3"); /* as written */
    assert_int_equal(sim_version_parse("2012.1000.0", &v), -1);
    assert_int_equal(sim_version_parse("2012.001", &v), -1);
    assert_int_equal(sim_version_parse("2012.001.000.1", &v), -1);
    assert_int_equal(sim_version_parse("V2012.001.000", &v), -1);
    assert_int_equal(sim_version_parse("", &v), -1);
    assert_int_equal(sim_version_parse(NULL, &v), -1);
    assert_int_equal(sim_version_format(&v, buf, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations), cmocka_unit_test(time_compression), cmocka_unit_test(rng),
        cmocka_unit_test(heap_orders_and_moves), cmocka_unit_test(versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
