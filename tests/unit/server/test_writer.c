/* test_writer.c — the writer thread against a store that fails on purpose
 * (fault injection behind the store interface): events that could not be
 * saved are saved later, once each and in order; a flush reports the
 * failure; stopping while the store keeps failing ends after one try (the
 * events are counted as dropped) instead of retrying for minutes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devtab.h"
#include "store.h"
#include "writer.h"

typedef struct fake_store {
    store base;
    pthread_mutex_t mu;
    int fail_next;      /* batches still to refuse (-1: refuse forever) */
    store_err fail_with;
    int calls, failed;
    int64_t *seen;      /* event times saved, in order */
    size_t nseen, cap;
} fake_store;

static store_err fake_write_batch(store *s, const dev_state *devs, size_t ndev, const store_event *evs, size_t nev,
                                  int durable)
{
    (void)devs;
    (void)ndev;
    (void)durable;
    fake_store *f = (fake_store *)s;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    if (f->fail_next != 0) {
        if (f->fail_next > 0)
            f->fail_next--;
        f->failed++;
        pthread_mutex_unlock(&f->mu);
        return f->fail_with;
    }
    for (size_t i = 0; i < nev; i++) {
        if (f->nseen == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 1024;
            f->seen = realloc(f->seen, f->cap * sizeof *f->seen);
            assert_non_null(f->seen);
        }
        f->seen[f->nseen++] = evs[i].time;
    }
    pthread_mutex_unlock(&f->mu);
    return STORE_OK;
}

static store_err fake_prune_age(store *s, int64_t older_than)
{
    (void)s;
    (void)older_than;
    return STORE_OK;
}

static store_err fake_prune_device(store *s, const char *id, unsigned keep)
{
    (void)s;
    (void)id;
    (void)keep;
    return STORE_OK;
}

static const store_ops fake_ops = {
    .write_batch = fake_write_batch,
    .prune_age = fake_prune_age,
    .prune_device = fake_prune_device,
};

static void fake_init(fake_store *f, int fail_next, store_err with)
{
    memset(f, 0, sizeof *f);
    f->base.ops = &fake_ops;
    pthread_mutex_init(&f->mu, NULL);
    f->fail_next = fail_next;
    f->fail_with = with;
}

static void queue(writer *w, int n, int64_t t0)
{
    for (int i = 0; i < n; i++) {
        store_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.device_id, sizeof ev.device_id, "8600000000%05d", i % 37);
        ev.time = t0 + i;
        assert_int_equal(writer_event(w, &ev), 0);
    }
}

static size_t saved(fake_store *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->nseen;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void wait_saved(fake_store *f, size_t n)
{
    for (int i = 0; i < 1000 && saved(f) < n; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void retried_until_saved(store_err with)
{
    fake_store f;
    fake_init(&f, 3, with);
    devtab *dt = devtab_new();
    assert_non_null(dt);
    writer *w = writer_start(&f.base, dt, 100, 30);
    assert_non_null(w);
    queue(w, 1200, 1000000);
    wait_saved(&f, 1200);
    assert_int_equal(writer_flush(w, 5000), 0);
    assert_int_equal(saved(&f), 1200);
    for (size_t i = 0; i < f.nseen; i++)
        assert_int_equal(f.seen[i], 1000000 + (int64_t)i); /* each once, in order */
    assert_int_equal(f.failed, 3);
    assert_int_equal(writer_dropped(w), 0);
    writer_stop(w);
    devtab_free(dt);
    free(f.seen);
}

static void error_batches_are_retried(void **state)
{
    (void)state;
    retried_until_saved(STORE_ERROR);
}

static void busy_batches_are_retried(void **state)
{
    (void)state;
    retried_until_saved(STORE_BUSY);
}

static void unavailable_batches_are_retried(void **state)
{
    (void)state;
    retried_until_saved(STORE_UNAVAILABLE); /* PostgreSQL away for a while */
}

/* An outage longer than the queue holds: the events beyond it are dropped
 * and counted, those kept are saved once the store is back, each once and
 * in order; nothing is lost without being counted. */
static void outage_longer_than_the_queue(void **state)
{
    (void)state;
    fake_store f;
    fake_init(&f, -1, STORE_UNAVAILABLE);
    devtab *dt = devtab_new();
    assert_non_null(dt);
    writer *w = writer_start(&f.base, dt, 100, 30);
    assert_non_null(w);
    const int total = WRITER_QUEUE + 1000;
    int refused = 0;
    for (int i = 0; i < total; i++) {
        store_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.device_id, sizeof ev.device_id, "8600000000%05d", i % 37);
        ev.time = 1000000 + i;
        if (writer_event(w, &ev) != 0)
            refused++;
    }
    assert_true(refused >= 1000 - WRITER_BATCH);
    pthread_mutex_lock(&f.mu);
    f.fail_next = 0; /* the database is back */
    pthread_mutex_unlock(&f.mu);
    for (int i = 0; i < 1000 && saved(&f) + writer_dropped(w) < (size_t)total; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(writer_flush(w, 5000), 0);
    assert_int_equal(saved(&f) + writer_dropped(w), total);
    assert_true(saved(&f) >= WRITER_QUEUE - WRITER_BATCH);
    for (size_t i = 1; i < f.nseen; i++)
        assert_true(f.seen[i] > f.seen[i - 1]);
    writer_stop(w);
    devtab_free(dt);
    free(f.seen);
}

static void flush_reports_a_failing_store(void **state)
{
    (void)state;
    fake_store f;
    fake_init(&f, -1, STORE_ERROR);
    devtab *dt = devtab_new();
    writer *w = writer_start(&f.base, dt, 100, 30);
    queue(w, 10, 5000);
    assert_int_equal(writer_flush(w, 300), -1); /* nothing acknowledged as saved */
    pthread_mutex_lock(&f.mu);
    f.fail_next = 0; /* the disk is back */
    pthread_mutex_unlock(&f.mu);
    wait_saved(&f, 10);
    assert_int_equal(writer_flush(w, 5000), 0);
    assert_int_equal(saved(&f), 10);
    writer_stop(w);
    devtab_free(dt);
    free(f.seen);
}

static void stop_while_failing_ends(void **state)
{
    (void)state;
    fake_store f;
    fake_init(&f, -1, STORE_ERROR);
    devtab *dt = devtab_new();
    writer *w = writer_start(&f.base, dt, 100, 30);
    queue(w, 700, 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    writer_stop(w); /* returns: one failed try, then the 700 events are dropped and counted */
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(saved(&f), 0);
    assert_true(f.failed >= 1);
    assert_true(b.tv_sec - a.tv_sec < 3); /* no retry rounds at stop */
    devtab_free(dt);
    free(f.seen);
}

/* issue 11: drops are said in the log with their count, not only at stop */
static void drops_are_logged(void **state)
{
    (void)state;
    fake_store f;
    fake_init(&f, -1, STORE_ERROR);
    devtab *dt = devtab_new();
    char path[] = "/tmp/openfota-writer-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved_err = dup(2);
    dup2(fd, 2);
    writer *w = writer_start(&f.base, dt, 100, 30);
    int refused = 0;
    for (int i = 0; i < WRITER_QUEUE + 300; i++) {
        store_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.device_id, sizeof ev.device_id, "8600000000%05d", i % 37);
        ev.time = 1000 + i;
        refused += writer_event(w, &ev) < 0;
    }
    assert_true(refused >= 300 - WRITER_BATCH);
    char buf[8192] = "";
    for (int i = 0; i < 300 && !strstr(buf, "history events dropped"); i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = 0;
    }
    dup2(saved_err, 2);
    close(saved_err);
    writer_stop(w);
    close(fd);
    unlink(path);
    assert_non_null(strstr(buf, "history events dropped in the last"));
    devtab_free(dt);
    free(f.seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_batches_are_retried),
        cmocka_unit_test(busy_batches_are_retried),
        cmocka_unit_test(unavailable_batches_are_retried),
        cmocka_unit_test(outage_longer_than_the_queue),
        cmocka_unit_test(flush_reports_a_failing_store),
        cmocka_unit_test(stop_while_failing_ends),
        cmocka_unit_test(drops_are_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
