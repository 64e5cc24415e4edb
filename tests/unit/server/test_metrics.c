/* Unit tests of the metrics counters (server/admin/metrics.c): histogram
 * buckets, the sum of per-thread blocks, block reuse after a thread ends,
 * the minute ring, and the Prometheus text. The counters are process-wide,
 * so every test compares differences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void test_bucket_bounds(void **state)
{
    (void)state;
    for (int h = 0; h < METRICS_H_COUNT; h++) {
        const uint64_t *b = metrics_hist_bounds((metrics_hist)h);
        for (int i = 1; i < METRICS_HIST_BOUNDS; i++)
            assert_true(b[i - 1] < b[i]);
        assert_int_equal(metrics_hist_bucket((metrics_hist)h, 0), 0);
        for (unsigned i = 0; i < METRICS_HIST_BOUNDS; i++) {
            /* a bound belongs to its own bucket (le = less or equal), one more to the next */
            assert_int_equal(metrics_hist_bucket((metrics_hist)h, b[i]), i);
            assert_int_equal(metrics_hist_bucket((metrics_hist)h, b[i] + 1), i + 1);
            if (b[i] > 0 && (i == 0 || b[i] - 1 > b[i - 1]))
                assert_int_equal(metrics_hist_bucket((metrics_hist)h, b[i] - 1), i);
        }
        assert_int_equal(metrics_hist_bucket((metrics_hist)h, UINT64_MAX), METRICS_HIST_BOUNDS);
    }
    /* the check histogram: 30 us lands in the 50 us bucket */
    const uint64_t *c = metrics_hist_bounds(METRICS_H_CHECK);
    assert_int_equal(c[0], 25000);
    assert_int_equal(metrics_hist_bucket(METRICS_H_CHECK, 30000), 1);
}

#define NTHREADS 4
#define PER_THREAD 10000

static pthread_barrier_t barrier;

static void *recorder(void *arg)
{
    int k = (int)(intptr_t)arg;
    pthread_barrier_wait(&barrier); /* all alive at once: each needs a block of its own */
    for (int i = 0; i < PER_THREAD; i++) {
        metrics_check_at(1000000000, i % 3 == 0 ? 0 : 27, 30000); /* bucket 1 */
        if (i % 10 == 0)
            metrics_download_at(1000000000, 1000, 1, 0);
        if (i % 100 == 0)
            metrics_download_at(1000000000, 10, 0, 1);
    }
    metrics_check_at(1000000000, 200 + k, 2000000000ull); /* outside 0..63; +Inf bucket */
    metrics_writer_commit(700000);
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void wave(void)
{
    pthread_t th[NTHREADS];
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, recorder, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
}

static void expect_wave(const metrics_totals *a, const metrics_totals *b, unsigned waves)
{
    uint64_t n = (uint64_t)NTHREADS * waves;
    uint64_t zero = 0, latest = 0;
    for (int i = 0; i < PER_THREAD; i++)
        *(i % 3 == 0 ? &zero : &latest) += 1;
    assert_int_equal(b->checks[0] - a->checks[0], n * zero);
    assert_int_equal(b->checks[27] - a->checks[27], n * latest);
    assert_int_equal(b->checks[METRICS_CODES] - a->checks[METRICS_CODES], n);
    assert_int_equal(b->deliveries - a->deliveries, n * (PER_THREAD / 10));
    assert_int_equal(b->cut - a->cut, n * (PER_THREAD / 100));
    assert_int_equal(b->bytes - a->bytes, n * (PER_THREAD / 10 * 1000 + PER_THREAD / 100 * 10));
    const int H = METRICS_H_CHECK;
    assert_int_equal(b->hist[H].bucket[1] - a->hist[H].bucket[1], n * PER_THREAD);
    assert_int_equal(b->hist[H].bucket[METRICS_HIST_BOUNDS] - a->hist[H].bucket[METRICS_HIST_BOUNDS], n);
    assert_int_equal(b->hist[H].count - a->hist[H].count, n * (PER_THREAD + 1));
    assert_int_equal(b->hist[H].sum_ns - a->hist[H].sum_ns, n * (PER_THREAD * 30000ull + 2000000000ull));
    const int C = METRICS_H_COMMIT;
    assert_int_equal(b->hist[C].bucket[1] - a->hist[C].bucket[1], n); /* 0.7 ms <= 1 ms */
    assert_int_equal(b->hist[C].count - a->hist[C].count, n);
}

static void test_threads_sum(void **state)
{
    (void)state;
    metrics_totals a, b, c;
    metrics_sum(&a);
    wave();
    metrics_sum(&b);
    expect_wave(&a, &b, 1);
    assert_true(b.blocks >= NTHREADS); /* four threads alive at once: four blocks */
    /* a second wave of new threads takes over the blocks the first left:
     * the totals carry on and no block is added */
    wave();
    metrics_sum(&c);
    expect_wave(&a, &c, 2);
    assert_int_equal(c.blocks, b.blocks);
}

static void test_minutes(void **state)
{
    (void)state;
    const int64_t T = 1700000000 / 60 * 60 + 59 * 60 * 1000; /* a minute start far from the other tests */
    metrics_minute m[METRICS_MINUTES];
    metrics_minutes(T + 30, m);
    for (int i = 0; i < METRICS_MINUTES; i++) {
        assert_int_equal(m[i].t, T - (METRICS_MINUTES - 1 - i) * 60);
        assert_int_equal(m[i].checks, 0);
    }
    /* 60 minutes ago: the slot of the current minute */
    metrics_check_at(T - 3600, 27, 1000);
    metrics_minutes(T - 3600 + 1, m);
    assert_int_equal(m[METRICS_MINUTES - 1].checks, 1);
    metrics_minutes(T + 1, m);
    assert_int_equal(m[METRICS_MINUTES - 1].checks, 0); /* not counted as the current minute */
    for (int i = 0; i < 3; i++)
        metrics_check_at(T + 5, 0, 1000); /* re-arms the slot */
    metrics_download_at(T + 6, 100, 1, 0);
    metrics_download_at(T + 7, 50, 0, 1);
    metrics_failed_upgrade_at(T + 8);
    metrics_check_at(T - 60, 27, 1000); /* the minute before */
    metrics_check_at(T - 59 * 60, 27, 1000); /* the oldest shown */
    metrics_minutes(T + 59, m);
    assert_int_equal(m[METRICS_MINUTES - 1].t, T);
    assert_int_equal(m[METRICS_MINUTES - 1].checks, 3);
    assert_int_equal(m[METRICS_MINUTES - 1].deliveries, 1);
    assert_int_equal(m[METRICS_MINUTES - 1].cut, 1);
    assert_int_equal(m[METRICS_MINUTES - 1].failed, 1);
    assert_int_equal(m[METRICS_MINUTES - 2].checks, 1);
    assert_int_equal(m[0].checks, 1);
    assert_int_equal(m[0].t, T - 59 * 60);
    /* the next minute: everything moves one to the left */
    metrics_minutes(T + 60, m);
    assert_int_equal(m[METRICS_MINUTES - 1].checks, 0);
    assert_int_equal(m[METRICS_MINUTES - 2].checks, 3);
    assert_int_equal(m[0].checks, 0); /* T - 59 min has left the window */
}

static void test_render(void **state)
{
    (void)state;
    metrics_totals t;
    memset(&t, 0, sizeof t);
    t.checks[0] = 5;
    t.checks[27] = 7;
    t.checks[40] = 1;
    t.checks[METRICS_CODES] = 2;
    t.deliveries = 4;
    t.cut = 1;
    t.bytes = 123456789012ull;
    t.hist[METRICS_H_CHECK].bucket[0] = 3;
    t.hist[METRICS_H_CHECK].bucket[2] = 2;
    t.hist[METRICS_H_CHECK].bucket[METRICS_HIST_BOUNDS] = 1;
    t.hist[METRICS_H_CHECK].count = 6;
    t.hist[METRICS_H_CHECK].sum_ns = 1500000001ull;
    metrics_gauges g;
    memset(&g, 0, sizeof g);
    g.writer_queue_depth = 9;
    g.rollouts_paused = 2;
    g.devices_banned = 3;
    g.push_connections = 11;
    size_t len = 0;
    char *txt = metrics_render(&t, &g, &len);
    assert_non_null(txt);
    assert_int_equal(strlen(txt), len);
    static const char *const want[] = {
        "# TYPE openfota_checks_total counter\n",
        "\nopenfota_checks_total{code=\"0\"} 5\n",
        "\nopenfota_checks_total{code=\"27\"} 7\n",
        "\nopenfota_checks_total{code=\"40\"} 1\n",
        "\nopenfota_checks_total{code=\"other\"} 2\n",
        "\nopenfota_deliveries_total 4\n",
        "\nopenfota_downloads_cut_total 1\n",
        "\nopenfota_bytes_sent_total 123456789012\n",
        "# TYPE openfota_check_duration_seconds histogram\n",
        "\nopenfota_check_duration_seconds_bucket{le=\"0.000025\"} 3\n",
        "\nopenfota_check_duration_seconds_bucket{le=\"0.00005\"} 3\n",
        "\nopenfota_check_duration_seconds_bucket{le=\"0.0001\"} 5\n",
        "\nopenfota_check_duration_seconds_bucket{le=\"1\"} 5\n",
        "\nopenfota_check_duration_seconds_bucket{le=\"+Inf\"} 6\n",
        "\nopenfota_check_duration_seconds_sum 1.500000001\n",
        "\nopenfota_check_duration_seconds_count 6\n",
        "\nopenfota_writer_queue_depth 9\n",
        "# TYPE openfota_writer_commit_seconds histogram\n",
        "\nopenfota_writer_commit_seconds_count 0\n",
        "\nopenfota_push_connections 11\n",
        "\nopenfota_rollouts{state=\"paused\"} 2\n",
        "\nopenfota_rollouts{state=\"running\"} 0\n",
        "\nopenfota_devices{state=\"banned\"} 3\n",
        "\nopenfota_devices{state=\"failed\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(txt, want[i]) == NULL)
            fail_msg("missing %s in:\n%s", want[i], txt);
    /* codes never seen are left out, except 0 and 27 */
    assert_null(strstr(txt, "code=\"3\""));
    assert_true(txt[len - 1] == '\n');
    free(txt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_bounds),
        cmocka_unit_test(test_threads_sum),
        cmocka_unit_test(test_minutes),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
