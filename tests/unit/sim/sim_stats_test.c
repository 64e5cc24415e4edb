/* Latency quantiles, --expect expressions, the JSON summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static void quantiles(void **st)
{
    (void)st;
    sim_latency *l = calloc(1, sizeof(*l));
    assert_true(sim_latency_quantile(l, 0.5) == 0);
    for (int i = 1; i <= 1000; i++)
        sim_latency_add(l, (double)i); /* 1..1000 ms */
    double p50 = sim_latency_quantile(l, 0.5), p99 = sim_latency_quantile(l, 0.99);
    assert_true(fabs(p50 - 500) / 500 < 0.02);
    assert_true(fabs(p99 - 990) / 990 < 0.02);
    assert_true(sim_latency_quantile(l, 1.0) <= 1000);
    assert_true(l->max_ms == 1000);
    sim_latency *m = calloc(1, sizeof(*m));
    sim_latency_add(m, 5000);
    sim_latency_merge(l, m);
    assert_int_equal(l->count, 1001);
    assert_true(l->max_ms == 5000);
    free(l);
    free(m);
}

static void expectations(void **st)
{
    (void)st;
    sim_summary s;
    memset(&s, 0, sizeof(s));
    s.devices = 10;
    s.upgraded = 10;
    s.resumes = 3;
    char e[200];
    assert_int_equal(sim_expect_eval("all-upgraded", &s, e, sizeof(e)), 1);
    assert_int_equal(sim_expect_eval("none-failed", &s, e, sizeof(e)), 1);
    assert_int_equal(sim_expect_eval("upgraded=10", &s, e, sizeof(e)), 1);
    assert_int_equal(sim_expect_eval("upgraded=all", &s, e, sizeof(e)), 1);
    assert_int_equal(sim_expect_eval("upgraded=9", &s, e, sizeof(e)), 0);
    assert_int_equal(sim_expect_eval("resumes>=1", &s, e, sizeof(e)), 1);
    assert_int_equal(sim_expect_eval("resumes<=2", &s, e, sizeof(e)), 0);
    assert_int_equal(sim_expect_eval("all-banned", &s, e, sizeof(e)), 0);
    s.failed = 1;
    assert_int_equal(sim_expect_eval("none-failed", &s, e, sizeof(e)), 0);
    assert_int_equal(sim_expect_eval("upgrades=1", &s, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "unknown count"));
    assert_int_equal(sim_expect_eval("upgraded>1", &s, e, sizeof(e)), -1);
    assert_int_equal(sim_expect_eval("upgraded=x", &s, e, sizeof(e)), -1);
    assert_int_equal(sim_expect_eval("=3", &s, e, sizeof(e)), -1);
    assert_int_equal(sim_expect_eval("everything", &s, e, sizeof(e)), -1);
}

static void summary_json(void **st)
{
    (void)st;
    sim_config c;
    sim_config_defaults(&c);
    sim_summary s;
    memset(&s, 0, sizeof(s));
    s.devices = 1000;
    s.upgraded = 990;
    s.failed = 4;
    s.banned = 6;
    s.codes[27] = 990;
    s.codes[40] = 6;
    char *txt = sim_summary_json(&c, &s, 1);
    assert_non_null(txt);
    assert_null(strchr(txt, '\n')); /* one line */
    json_error_t je;
    json_t *o = json_loads(txt, 0, &je);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "devices")), 1000);
    assert_int_equal(json_integer_value(json_object_get(o, "upgraded")), 990);
    assert_int_equal(json_integer_value(json_object_get(o, "failed")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "banned")), 6);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "codes"), "27")), 990);
    assert_true(json_is_true(json_object_get(o, "expect_met")));
    assert_string_equal(json_string_value(json_object_get(o, "profile")), "libfota2");
    json_decref(o);
    free(txt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles),
        cmocka_unit_test(expectations),
        cmocka_unit_test(summary_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
