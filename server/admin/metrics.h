/*
 * metrics.h — the server's counters and histograms (docs/metrics.md):
 * recorded on the hot path without a lock, summed when read.
 *
 * Every thread that records gets its own counter block (a thread-local
 * pointer to a block in a global list). Only that thread writes its block,
 * with relaxed atomic loads and stores (no locked instruction, no shared
 * cache line); readers sum all blocks with atomic loads. A block outlives its
 * thread: when the thread ends the block is released and the next new thread
 * takes it over, so totals never go back. Blocks are freed only at exit.
 *
 * Besides the totals, each block keeps a ring of METRICS_MINUTES one-minute
 * slots (checks, deliveries, failed upgrades, cut downloads) for the
 * console's overview (GET /admin/v1/stats).
 *
 * Reading (metrics_sum, metrics_minutes, metrics_render) takes no lock the
 * recording threads use; it runs on the admin worker.
 */
#ifndef OPENFOTA_SERVER_METRICS_H
#define OPENFOTA_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_CODES 64      /* answer codes 0..63 counted one by one, others as "other" */
#define METRICS_MINUTES 60    /* minute slots of the ring */
#define METRICS_HIST_BOUNDS 12 /* finite bucket bounds of a histogram (+Inf comes on top) */

typedef enum metrics_hist {
    METRICS_H_CHECK,  /* device check: complete request to answer queued */
    METRICS_H_COMMIT, /* writer thread: one batch written to the store */
    METRICS_H_COUNT
} metrics_hist;

/* Upper bounds in nanoseconds of a histogram's buckets (ascending, static). */
const uint64_t *metrics_hist_bounds(metrics_hist h);
/* Bucket index of a duration: the first bound >= ns, METRICS_HIST_BOUNDS
 * (the +Inf bucket) past the last. */
unsigned metrics_hist_bucket(metrics_hist h, uint64_t ns);

/* ---- recording (any thread; lock-free, allocation once per thread) ------ */

/* One device check answered with vendor code `code` (0: a package is being
 * sent), ns from the complete request to the answer queued. */
void metrics_check(int code, uint64_t ns);
/* A package download started by a check ended: bytes of its body sent;
 * complete: the whole package went out (a delivery); cut: the connection
 * ended before the answer was sent (a download cut short). */
void metrics_download(uint64_t bytes, int complete, int cut);
/* A failed upgrade: detected at a check (the device still runs the version
 * it had when it got a whole package) or reported by the device. */
void metrics_failed_upgrade(void);
/* The writer committed one batch in ns. */
void metrics_writer_commit(uint64_t ns);

/* The same with an explicit Unix time for the minute ring (tests). */
void metrics_check_at(int64_t now, int code, uint64_t ns);
void metrics_download_at(int64_t now, uint64_t bytes, int complete, int cut);
void metrics_failed_upgrade_at(int64_t now);

/* Monotonic clock in nanoseconds, for durations. */
uint64_t metrics_now_ns(void);

/* ---- reading ------------------------------------------------------------ */

typedef struct metrics_totals {
    uint64_t checks[METRICS_CODES + 1]; /* [METRICS_CODES]: codes outside 0..63 */
    uint64_t deliveries, cut, bytes, failed;
    struct {
        uint64_t bucket[METRICS_HIST_BOUNDS + 1]; /* per bucket, not cumulative; last = +Inf */
        uint64_t count;                           /* sum of the buckets */
        uint64_t sum_ns;
    } hist[METRICS_H_COUNT];
    unsigned blocks; /* counter blocks summed (threads that ever recorded) */
} metrics_totals;

/* Sum every thread's block into *out. */
void metrics_sum(metrics_totals *out);

typedef struct metrics_minute {
    int64_t t; /* Unix time of the minute's start */
    uint64_t checks, deliveries, failed, cut;
} metrics_minute;

/* The last METRICS_MINUTES minutes up to the one holding `now`, oldest
 * first (out[METRICS_MINUTES - 1] is the current minute). */
void metrics_minutes(int64_t now, metrics_minute out[METRICS_MINUTES]);

/* What the server knows besides the counters, read at scrape time. */
typedef struct metrics_gauges {
    uint64_t writer_queue_depth;
    uint64_t events_dropped;
    uint64_t push_connections;
    uint64_t rollouts_running, rollouts_paused, rollouts_cancelled;
    uint64_t devices_known, devices_banned, devices_forbidden, devices_failed;
    int64_t started; /* Unix time the server started */
} metrics_gauges;

/* The Prometheus text exposition (version 0.0.4) of t and g: a malloc'ed
 * NUL-terminated text the caller frees, its length in *len. NULL when out of
 * memory. */
char *metrics_render(const metrics_totals *t, const metrics_gauges *g, size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
