/*
 * metrics_cost.c — what counting one device check costs (server/admin/metrics.c),
 * free of the noise of a whole HTTP benchmark: a loop doing exactly what the
 * check path adds (two monotonic clock reads, metrics_check with its Unix
 * time, histogram and minute slot), on 1 and on 2 threads at once (the
 * blocks share nothing), plus the cost of one scrape's sum and text.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -pthread -Iserver/admin bench/http/metrics_cost.c \
 *      server/admin/metrics.c -o build/metrics_cost && build/metrics_cost [N]
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long n_iter = 20000000;

static void *loop(void *arg)
{
    uint64_t *ns_out = arg;
    uint64_t t0 = metrics_now_ns();
    for (long i = 0; i < n_iter; i++) {
        uint64_t a = metrics_now_ns();
        metrics_check(i % 7 ? 27 : 0, metrics_now_ns() - a);
    }
    *ns_out = metrics_now_ns() - t0;
    return NULL;
}

static uint64_t bare(void)
{
    /* the loop's own cost without counting: two clock reads */
    volatile uint64_t sink = 0;
    uint64_t t0 = metrics_now_ns();
    for (long i = 0; i < n_iter; i++) {
        uint64_t a = metrics_now_ns();
        sink += metrics_now_ns() - a;
    }
    (void)sink;
    return metrics_now_ns() - t0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        n_iter = atol(argv[1]);
    /* the least of 5 runs each: the machine's other work only adds time */
    uint64_t b = UINT64_MAX, one = UINT64_MAX, two = UINT64_MAX;
    for (int rep = 0; rep < 5; rep++) {
        uint64_t x = bare(), y, z[2];
        loop(&y);
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, loop, &z[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        if (x < b)
            b = x;
        if (y < one)
            one = y;
        uint64_t zz = z[0] > z[1] ? z[0] : z[1];
        if (zz < two)
            two = zz;
    }
    metrics_totals t;
    metrics_gauges g = {0};
    uint64_t s0 = metrics_now_ns();
    int scrapes = 1000;
    size_t len = 0, total = 0;
    for (int i = 0; i < scrapes; i++) {
        metrics_sum(&t);
        char *txt = metrics_render(&t, &g, &len);
        total += len;
        free(txt);
    }
    uint64_t sc = metrics_now_ns() - s0;
    double n = (double)n_iter;
    printf("%ld iterations per thread, least of 5 runs\n", n_iter);
    printf("two clock reads alone:                    %6.1f ns\n", (double)b / n);
    printf("clock reads + metrics_check, 1 thread:     %6.1f ns (counting: %+.1f ns)\n", (double)one / n,
           ((double)one - (double)b) / n);
    printf("the same, 2 threads at once (slower one): %6.1f ns per check\n", (double)two / n);
    printf("one scrape (sum of %u blocks + text of %zu bytes): %.1f us\n", t.blocks, total / scrapes,
           (double)sc / scrapes / 1000);
    return 0;
}
