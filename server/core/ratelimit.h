/*
 * ratelimit.h — bounded tables of token buckets and concurrency counters,
 * keyed by short byte strings (a device id, a client address), for the
 * flood limits of the device check (docs/server.md, "Limits").
 *
 * Memory is fixed at creation: max_entries slots in 8-way sets, allocated
 * once; a key is placed by SipHash-2-4 under a random key per table (no one
 * outside can aim many keys at one set). A new key takes a free slot of its
 * set, else the least recently used idle one (its bucket full again, no
 * refusal streak open, no download running: forgetting it changes nothing),
 * else the least recently used one without downloads running (counted in
 * lim_stats.evicted_busy: the table is too small for the traffic). Locking:
 * one of 64 stripe mutexes per call, held for a set scan.
 *
 * A table with rate <= 0 or burst <= 0 allows every take (limit off) but
 * still counts concurrency (lim_acquire).
 */
#ifndef OPENFOTA_SERVER_RATELIMIT_H
#define OPENFOTA_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define LIM_KEY_MAX 32 /* longer keys are cut (device ids are at most 32 bytes) */

typedef struct lim_table lim_table;

typedef struct lim_verdict {
    int allowed;
    unsigned retry_after;  /* refused: whole seconds until the next token (>= 1) */
    unsigned streak;       /* allowed: refusals in the streak this take ended (0: none) */
    double streak_first;   /* allowed, streak > 0: time of the streak's first refusal */
    unsigned refused_run;  /* refused: refusals so far in this streak, this one included */
} lim_verdict;

typedef struct lim_stats {
    size_t entries;
    unsigned long long evicted_busy;
} lim_stats;

/* NULL when out of memory. rate in tokens per second, burst in tokens. */
lim_table *lim_new(size_t max_entries, double rate, double burst);
void lim_free(lim_table *t);

/* Take one token for key at time now (seconds, any monotonic origin). */
void lim_take(lim_table *t, const void *key, size_t klen, double now, lim_verdict *v);

/* Start one of at most max concurrent activities of key (max 0: no cap).
 * 1 started (call lim_release later), 0 refused. */
int lim_acquire(lim_table *t, const void *key, size_t klen, unsigned max, double now);
void lim_release(lim_table *t, const void *key, size_t klen);

void lim_get_stats(lim_table *t, lim_stats *out);

#endif
