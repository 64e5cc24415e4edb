/*
 * metrics.c — per-thread counter blocks, their sum, the minute ring and the
 * Prometheus text (see metrics.h).
 *
 * Writes: the owning thread alone writes its block, so an increment is a
 * relaxed load and a relaxed store of the same word (no lock prefix).
 * Minute slots: a slot holds the Unix minute it counts; the owner re-arms a
 * slot for a new minute by storing 0 as its minute, zeroing the values and
 * storing the new minute (release). A reader takes a slot's values only when
 * the slot's minute reads the same before and after them (a seqlock whose
 * sequence is the minute).
 * A block whose allocation failed is replaced by one shared block updated
 * with atomic additions (correct totals; its minute slots are best effort).
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MV_CHECKS, MV_DELIVERIES, MV_FAILED, MV_CUT, MV_COUNT };

typedef struct minute_slot {
    _Atomic int64_t minute; /* Unix minute counted here; 0 while being re-armed */
    _Atomic uint64_t v[MV_COUNT];
} minute_slot;

typedef struct metrics_block {
    _Atomic uint64_t checks[METRICS_CODES + 1];
    _Atomic uint64_t deliveries, cut, bytes, failed;
    struct {
        _Atomic uint64_t bucket[METRICS_HIST_BOUNDS + 1];
        _Atomic uint64_t sum_ns;
    } hist[METRICS_H_COUNT];
    minute_slot min[METRICS_MINUTES];
    int shared;             /* the fallback block: atomic additions */
    atomic_int owned;       /* a live thread writes this block */
    struct metrics_block *next; /* set before the block is published, then constant */
} metrics_block;

static _Atomic(metrics_block *) blocks; /* the list of every block, newest first */
static metrics_block fallback = {.shared = 1};
static _Thread_local metrics_block *tl;
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static const uint64_t bounds[METRICS_H_COUNT][METRICS_HIST_BOUNDS] = {
    /* a check answers in microseconds; a few ms means the machine is busy */
    [METRICS_H_CHECK] = {25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
                         100000000, 1000000000},
    /* a batch commit is about an fsync */
    [METRICS_H_COMMIT] = {500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000, 250000000,
                          500000000, 1000000000, 5000000000},
};

const uint64_t *metrics_hist_bounds(metrics_hist h) { return bounds[h]; }

unsigned metrics_hist_bucket(metrics_hist h, uint64_t ns)
{
    unsigned lo = 0, hi = METRICS_HIST_BOUNDS; /* first bound >= ns in [lo, hi] */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (bounds[h][mid] >= ns)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint64_t metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the thread's block -------------------------------------------------- */

/* The thread ends (or could not register its block): the block is free for
 * the next thread; anything this thread still counts goes to the shared one. */
static void release_block(void *p)
{
    metrics_block *b = p;
    tl = &fallback;
    atomic_store_explicit(&b->owned, 0, memory_order_release);
}

static void key_init(void) { (void)pthread_key_create(&tl_key, release_block); }

/* A block a finished thread left (its totals carry on), else a new one
 * pushed on the list. */
static metrics_block *claim_block(void)
{
    for (metrics_block *b = atomic_load_explicit(&blocks, memory_order_acquire); b; b = b->next) {
        int expected = 0;
        if (atomic_load_explicit(&b->owned, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&b->owned, &expected, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            return b;
    }
    metrics_block *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    atomic_store_explicit(&b->owned, 1, memory_order_relaxed);
    metrics_block *head = atomic_load_explicit(&blocks, memory_order_relaxed);
    do
        b->next = head;
    while (!atomic_compare_exchange_weak_explicit(&blocks, &head, b, memory_order_release, memory_order_relaxed));
    return b;
}

static metrics_block *my_block(void)
{
    metrics_block *b = tl;
    if (b != NULL)
        return b;
    pthread_once(&tl_once, key_init);
    b = claim_block();
    if (b == NULL || pthread_setspecific(tl_key, b) != 0) {
        if (b != NULL)
            release_block(b);
        b = &fallback;
    }
    tl = b;
    return b;
}

static inline void add(const metrics_block *b, _Atomic uint64_t *p, uint64_t n)
{
    if (b->shared)
        atomic_fetch_add_explicit(p, n, memory_order_relaxed);
    else
        atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n, memory_order_relaxed);
}

static void minute_add(metrics_block *b, int64_t now, int field)
{
    int64_t m = now / 60;
    if (m <= 0)
        return;
    minute_slot *s = &b->min[m % METRICS_MINUTES];
    if (atomic_load_explicit(&s->minute, memory_order_relaxed) != m) {
        atomic_store_explicit(&s->minute, 0, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        for (int i = 0; i < MV_COUNT; i++)
            atomic_store_explicit(&s->v[i], 0, memory_order_relaxed);
        atomic_store_explicit(&s->minute, m, memory_order_release);
    }
    add(b, &s->v[field], 1);
}

static void hist_add(metrics_block *b, metrics_hist h, uint64_t ns)
{
    add(b, &b->hist[h].bucket[metrics_hist_bucket(h, ns)], 1);
    add(b, &b->hist[h].sum_ns, ns);
}

/* ---- recording ------------------------------------------------------------ */

void metrics_check_at(int64_t now, int code, uint64_t ns)
{
    metrics_block *b = my_block();
    add(b, &b->checks[code >= 0 && code < METRICS_CODES ? code : METRICS_CODES], 1);
    hist_add(b, METRICS_H_CHECK, ns);
    minute_add(b, now, MV_CHECKS);
}

void metrics_download_at(int64_t now, uint64_t bytes, int complete, int cut)
{
    metrics_block *b = my_block();
    add(b, &b->bytes, bytes);
    if (complete) {
        add(b, &b->deliveries, 1);
        minute_add(b, now, MV_DELIVERIES);
    }
    if (cut) {
        add(b, &b->cut, 1);
        minute_add(b, now, MV_CUT);
    }
}

void metrics_failed_upgrade_at(int64_t now)
{
    metrics_block *b = my_block();
    add(b, &b->failed, 1);
    minute_add(b, now, MV_FAILED);
}

void metrics_check(int code, uint64_t ns) { metrics_check_at((int64_t)time(NULL), code, ns); }
void metrics_download(uint64_t bytes, int complete, int cut)
{
    metrics_download_at((int64_t)time(NULL), bytes, complete, cut);
}
void metrics_failed_upgrade(void) { metrics_failed_upgrade_at((int64_t)time(NULL)); }

void metrics_writer_commit(uint64_t ns)
{
    metrics_block *b = my_block();
    hist_add(b, METRICS_H_COMMIT, ns);
}

/* ---- reading ---------------------------------------------------------------- */

#define LOAD(p) atomic_load_explicit((p), memory_order_relaxed)

static void sum_block(const metrics_block *b, metrics_totals *out)
{
    for (int i = 0; i <= METRICS_CODES; i++)
        out->checks[i] += LOAD(&b->checks[i]);
    out->deliveries += LOAD(&b->deliveries);
    out->cut += LOAD(&b->cut);
    out->bytes += LOAD(&b->bytes);
    out->failed += LOAD(&b->failed);
    for (int h = 0; h < METRICS_H_COUNT; h++) {
        for (int i = 0; i <= METRICS_HIST_BOUNDS; i++) {
            uint64_t v = LOAD(&b->hist[h].bucket[i]);
            out->hist[h].bucket[i] += v;
            out->hist[h].count += v;
        }
        out->hist[h].sum_ns += LOAD(&b->hist[h].sum_ns);
    }
}

void metrics_sum(metrics_totals *out)
{
    memset(out, 0, sizeof *out);
    for (metrics_block *b = atomic_load_explicit(&blocks, memory_order_acquire); b; b = b->next) {
        sum_block(b, out);
        out->blocks++;
    }
    sum_block(&fallback, out);
}

static void minutes_block(metrics_block *b, int64_t first, metrics_minute *out)
{
    for (int i = 0; i < METRICS_MINUTES; i++) {
        int64_t m = first + i;
        if (m <= 0)
            continue;
        minute_slot *s = &b->min[m % METRICS_MINUTES];
        if (atomic_load_explicit(&s->minute, memory_order_acquire) != m)
            continue;
        uint64_t v[MV_COUNT];
        for (int k = 0; k < MV_COUNT; k++)
            v[k] = LOAD(&s->v[k]);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->minute, memory_order_relaxed) != m)
            continue; /* re-armed meanwhile: the minute is gone from this slot */
        out[i].checks += v[MV_CHECKS];
        out[i].deliveries += v[MV_DELIVERIES];
        out[i].failed += v[MV_FAILED];
        out[i].cut += v[MV_CUT];
    }
}

void metrics_minutes(int64_t now, metrics_minute out[METRICS_MINUTES])
{
    int64_t first = now / 60 - (METRICS_MINUTES - 1);
    memset(out, 0, sizeof(metrics_minute) * METRICS_MINUTES);
    for (int i = 0; i < METRICS_MINUTES; i++)
        out[i].t = (first + i) * 60;
    for (metrics_block *b = atomic_load_explicit(&blocks, memory_order_acquire); b; b = b->next)
        minutes_block(b, first, out);
    minutes_block(&fallback, first, out);
}

/* ---- the text format ---------------------------------------------------------- */

typedef struct tbuf {
    char *p;
    size_t len, cap;
    int oom;
} tbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(tbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void family(tbuf *b, const char *name, const char *type, const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(tbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    put(b, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(tbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "gauge", help);
    put(b, "%s %llu\n", name, (unsigned long long)v);
}

/* Seconds from nanoseconds, exactly enough for the text format. */
static void secs(char *out, size_t cap, uint64_t ns)
{
    snprintf(out, cap, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
             (unsigned long long)(ns % 1000000000u));
}

static void histogram(tbuf *b, const metrics_totals *t, metrics_hist h, const char *name, const char *help)
{
    family(b, name, "histogram", help);
    uint64_t cum = 0;
    char le[40];
    for (int i = 0; i < METRICS_HIST_BOUNDS; i++) {
        cum += t->hist[h].bucket[i];
        secs(le, sizeof le, bounds[h][i]);
        /* trailing zeros off: 0.000025000 -> 0.000025 */
        size_t l = strlen(le);
        while (l > 0 && le[l - 1] == '0')
            le[--l] = 0;
        if (l > 0 && le[l - 1] == '.')
            le[--l] = 0;
        put(b, "%s_bucket{le=\"%s\"} %llu\n", name, le, (unsigned long long)cum);
    }
    cum += t->hist[h].bucket[METRICS_HIST_BOUNDS];
    put(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    secs(le, sizeof le, t->hist[h].sum_ns);
    put(b, "%s_sum %s\n%s_count %llu\n", name, le, name, (unsigned long long)cum);
}

char *metrics_render(const metrics_totals *t, const metrics_gauges *g, size_t *len)
{
    tbuf b = {.cap = 8192};
    b.p = malloc(b.cap);
    if (b.p == NULL)
        return NULL;
    b.p[0] = 0;
    family(&b, "openfota_checks_total", "counter",
           "Device checks answered, by the answer's vendor code (0: a package was sent).");
    for (int i = 0; i < METRICS_CODES; i++)
        if (t->checks[i] || i == 0 || i == 27)
            put(&b, "openfota_checks_total{code=\"%d\"} %llu\n", i, (unsigned long long)t->checks[i]);
    if (t->checks[METRICS_CODES])
        put(&b, "openfota_checks_total{code=\"other\"} %llu\n", (unsigned long long)t->checks[METRICS_CODES]);
    counter(&b, "openfota_deliveries_total", "Packages sent whole to a device.", t->deliveries);
    counter(&b, "openfota_downloads_cut_total", "Package downloads the device's connection ended before the end.",
            t->cut);
    counter(&b, "openfota_bytes_sent_total", "Package bytes sent to devices (deliveries, resumes and cut downloads).",
            t->bytes);
    counter(&b, "openfota_failed_upgrades_total",
            "Failed upgrades: detected at a check (a whole package sent, the device still on its old version) or "
            "reported by the device.",
            t->failed);
    histogram(&b, t, METRICS_H_CHECK, "openfota_check_duration_seconds",
              "Time from a device check's complete request to its answer queued.");
    gauge(&b, "openfota_writer_queue_depth", "History events waiting for the writer thread.", g->writer_queue_depth);
    counter(&b, "openfota_writer_events_dropped_total", "History events dropped because the queue was full.",
            g->events_dropped);
    histogram(&b, t, METRICS_H_COMMIT, "openfota_writer_commit_seconds",
              "Time the writer thread took to write one batch to the store.");
    gauge(&b, "openfota_push_connections", "Devices connected to the TCP push port.", g->push_connections);
    family(&b, "openfota_rollouts", "gauge", "Staged rollouts by state.");
    put(&b, "openfota_rollouts{state=\"running\"} %llu\nopenfota_rollouts{state=\"paused\"} %llu\n"
            "openfota_rollouts{state=\"cancelled\"} %llu\n",
        (unsigned long long)g->rollouts_running, (unsigned long long)g->rollouts_paused,
        (unsigned long long)g->rollouts_cancelled);
    family(&b, "openfota_devices", "gauge",
           "Known devices that are banned (loop guard), forbidden (by an operator), or had a failed upgrade.");
    put(&b, "openfota_devices{state=\"banned\"} %llu\nopenfota_devices{state=\"forbidden\"} %llu\n"
            "openfota_devices{state=\"failed\"} %llu\n",
        (unsigned long long)g->devices_banned, (unsigned long long)g->devices_forbidden,
        (unsigned long long)g->devices_failed);
    gauge(&b, "openfota_devices_known", "Devices the server knows.", g->devices_known);
    gauge(&b, "openfota_start_time_seconds", "Unix time the server started.", (uint64_t)g->started);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
