/*
 * writer.c — batched persistence of device state and history (writer.h).
 */
#include "writer.h"

#include "log.h"
#include "metrics.h"
#include "utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_AGE_EVERY_S 60
#define DROP_LOG_EVERY_S 10 /* at most one "events dropped" log line per this many seconds */
#define PRUNE_DEVICE_SLACK 10 /* prune a device's history every N new events */
#define PROBE_IDLE_S 5        /* idle this long: prove the database still takes writes */

struct writer {
    store *st;
    devtab *dt;
    unsigned keep_events;
    unsigned keep_days;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_cond_t done;
    store_event *ring;
    size_t head, count;
    unsigned long long dropped;
    unsigned long long flush_req;  /* generation asked for */
    unsigned long long flush_done; /* generation committed */
    int flush_error;
    int stop;
    int kicked;
    unsigned failing_now; /* consecutive failed writes, for writer_health */
    int64_t last_ok;      /* CLOCK_MONOTONIC seconds of the last successful write */
    int64_t write_since;  /* CLOCK_MONOTONIC seconds the write under way began, 0 when none */
    unsigned expire_days; /* under mu */
    /* per-device counters for the per-device retention (small open table) */
    struct prune_slot {
        char id[DEVICE_ID_MAX];
        unsigned n;
    } *slots;
    size_t nslots;
};

int writer_event(writer *w, const store_event *in)
{
    /* notes and versions carry device text: store only valid UTF-8, or the
     * event could not be rendered as JSON later */
    store_event cleaned;
    const store_event *ev = in;
    if (!utf8_valid(in->note, strnlen(in->note, sizeof in->note)) ||
        !utf8_valid(in->version, strnlen(in->version, sizeof in->version))) {
        cleaned = *in;
        utf8_clean_inplace(cleaned.note, sizeof cleaned.note);
        utf8_clean_inplace(cleaned.version, sizeof cleaned.version);
        ev = &cleaned;
    }
    pthread_mutex_lock(&w->mu);
    if (w->count == WRITER_QUEUE) {
        w->dropped++;
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->ring[(w->head + w->count) % WRITER_QUEUE] = *ev;
    w->count++;
    if (w->count >= WRITER_BATCH)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void writer_set_expiry(writer *w, unsigned days)
{
    pthread_mutex_lock(&w->mu);
    w->expire_days = days;
    pthread_mutex_unlock(&w->mu);
}

#define EXPIRE_EVERY_S 3600
#define EXPIRE_BATCH 500

/* 0 ran, -1 expiry is off */
static int expire_devices(writer *w, time_t now)
{
    pthread_mutex_lock(&w->mu);
    unsigned days = w->expire_days;
    pthread_mutex_unlock(&w->mu);
    if (days == 0 || w->st->ops->devices_delete == NULL)
        return -1;
    char(*ids)[DEVICE_ID_MAX] = malloc(EXPIRE_BATCH * sizeof *ids);
    if (ids == NULL)
        return 0;
    size_t total = 0, n;
    int64_t cutoff = (int64_t)now - (int64_t)days * 86400;
    do {
        n = devtab_expire(w->dt, cutoff, ids, EXPIRE_BATCH);
        if (n && w->st->ops->devices_delete(w->st, (const char(*)[DEVICE_ID_MAX])ids, n) != STORE_OK) {
            log_warn("devices: %zu expired devices could not be deleted from the database; they come back at the "
                     "next start and expire again",
                     n);
        }
        total += n;
    } while (n == EXPIRE_BATCH);
    free(ids);
    if (total)
        log_info("devices: %zu devices forgotten: never sent a whole package and unseen for %u days "
                 "(device_expire_days)",
                 total, days);
    return 0;
}

unsigned long long writer_dropped(writer *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned long long d = w->dropped;
    pthread_mutex_unlock(&w->mu);
    return d;
}

static void count_for_prune(writer *w, const store_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* hash into a fixed table; collisions only make pruning earlier */
        uint64_t h = 1469598103934665603ull;
        for (const char *p = evs[i].device_id; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        struct prune_slot *s = &w->slots[h % w->nslots];
        if (strcmp(s->id, evs[i].device_id) != 0) {
            memcpy(s->id, evs[i].device_id, sizeof s->id);
            s->n = 0;
        }
        s->n++;
    }
}

static void prune_devices(writer *w)
{
    for (size_t i = 0; i < w->nslots; i++) {
        struct prune_slot *s = &w->slots[i];
        if (s->id[0] && s->n >= PRUNE_DEVICE_SLACK) {
            w->st->ops->prune_device(w->st, s->id, w->keep_events);
            s->n = 0;
        }
    }
}

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

void writer_health(writer *w, writer_status *out)
{
    pthread_mutex_lock(&w->mu);
    out->queued = w->count;
    out->queue_max = WRITER_QUEUE;
    out->failing = w->failing_now;
    out->since_ok = mono_s() - w->last_ok;
    out->in_write = w->write_since ? mono_s() - w->write_since : 0;
    out->dropped = w->dropped;
    pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    dev_state *devs = malloc(WRITER_BATCH * sizeof *devs);
    store_event *evs = malloc(WRITER_BATCH * sizeof *evs);
    time_t last_prune = 0, last_dev_prune = 0, last_drop_log = 0, last_expire = 0;
    unsigned long long drops_logged = 0; /* dropped events already said in the log */
    time_t started = time(NULL);
    unsigned failing = 0; /* consecutive failed batches */
    if (devs == NULL || evs == NULL) {
        log_error("writer: out of memory; device state will not be saved");
        free(devs);
        free(evs);
        return NULL;
    }
    pthread_mutex_lock(&w->mu);
    for (;;) {
        /* after a failed batch, back off (up to 1 s) instead of spinning on
         * a store that keeps failing; when stopping, go on at once */
        if (!w->stop && (failing || (w->count < WRITER_BATCH && w->flush_req == w->flush_done))) {
            long wait_ms = failing ? (failing < 20 ? (long)failing * WRITER_PERIOD_MS : 1000L) : WRITER_PERIOD_MS;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->wake, &w->mu, &ts);
        }
        unsigned long long gen = w->flush_req;
        int stopping = w->stop;
        size_t nev = w->count < WRITER_BATCH ? w->count : WRITER_BATCH;
        for (size_t i = 0; i < nev; i++)
            evs[i] = w->ring[(w->head + i) % WRITER_QUEUE];
        w->head = (w->head + nev) % WRITER_QUEUE;
        w->count -= nev;
        int more = w->count > 0;
        pthread_mutex_unlock(&w->mu);

        size_t ndev = devtab_take_dirty(w->dt, devs, WRITER_BATCH);
        more = more || ndev == WRITER_BATCH;
        int durable = gen != w->flush_done || stopping;
        store_err e = STORE_OK;
        /* an idle writer proves now and then that the database still takes
         * writes (an empty batch takes the write lock and commits), so
         * writer_health does not report a stale success */
        int probe = !ndev && !nev && !durable && !stopping && mono_s() - w->last_ok >= PROBE_IDLE_S;
        if (ndev || nev || durable || probe) {
            int tries = 0;
            pthread_mutex_lock(&w->mu);
            w->write_since = mono_s();
            pthread_mutex_unlock(&w->mu);
            do {
                uint64_t t0 = metrics_now_ns();
                e = w->st->ops->write_batch(w->st, devs, ndev, evs, nev, durable);
                metrics_writer_commit(metrics_now_ns() - t0);
            } while (e == STORE_BUSY && ++tries < (stopping ? 1 : 5));
            pthread_mutex_lock(&w->mu);
            w->write_since = 0;
            if (e == STORE_OK) {
                w->failing_now = 0;
                w->last_ok = mono_s();
            } else {
                w->failing_now++;
            }
            pthread_mutex_unlock(&w->mu);
            if (e != STORE_OK) {
                if (failing++ == 0)
                    log_error("writer: could not save %zu device states and %zu events: %s; retrying", ndev, nev,
                              store_strerror(e));
                /* device states stay correct in memory; mark them for retry */
                for (size_t i = 0; i < ndev; i++) {
                    dev_entry *de = devtab_lock(w->dt, devs[i].id, 0);
                    if (de) {
                        devtab_mark_dirty(w->dt, de);
                        devtab_unlock(w->dt, de);
                    }
                }
                /* the events go back to the front of the queue, in order,
                 * for the next round; only when stopping, or when new events
                 * took their room, are they dropped (and counted) */
                pthread_mutex_lock(&w->mu);
                size_t room = stopping ? 0 : WRITER_QUEUE - w->count;
                size_t keep = nev < room ? nev : room;
                w->head = (w->head + WRITER_QUEUE - keep) % WRITER_QUEUE;
                for (size_t i = 0; i < keep; i++)
                    w->ring[(w->head + i) % WRITER_QUEUE] = evs[i];
                w->count += keep;
                w->dropped += nev - keep;
                if (stopping) {
                    /* one failed try at stop: what is still queued is not
                     * tried again (a locked database must not hold the stop
                     * for minutes) */
                    w->dropped += w->count;
                    w->head = (w->head + w->count) % WRITER_QUEUE;
                    w->count = 0;
                    more = 0;
                }
                pthread_mutex_unlock(&w->mu);
                more = more || keep > 0;
            } else {
                if (failing)
                    log_info("writer: saving again after %u failed attempts", failing);
                failing = 0;
                count_for_prune(w, evs, nev);
            }
        }
        time_t now = time(NULL);
        if (now - last_drop_log >= DROP_LOG_EVERY_S) {
            /* never silent: say how many events were lost, and since when */
            pthread_mutex_lock(&w->mu);
            unsigned long long d = w->dropped;
            pthread_mutex_unlock(&w->mu);
            if (d > drops_logged) {
                log_warn("writer: %llu history events dropped in the last %lld s (%llu since start): the event "
                         "queue (%d) was full because the disk could not keep up; device state is kept",
                         d - drops_logged, (long long)(now - (last_drop_log ? last_drop_log : started)), d,
                         WRITER_QUEUE);
                drops_logged = d;
                last_drop_log = now;
            }
        }
        if (now != last_dev_prune || stopping) {
            last_dev_prune = now; /* once a second: devices with PRUNE_DEVICE_SLACK new events */
            prune_devices(w);
        }
        if (now - last_expire >= EXPIRE_EVERY_S && !stopping && !failing && expire_devices(w, now) == 0)
            last_expire = now;
        if (now - last_prune >= PRUNE_AGE_EVERY_S || stopping) {
            last_prune = now;
            w->st->ops->prune_age(w->st, (int64_t)now - (int64_t)w->keep_days * 86400);
        }
        pthread_mutex_lock(&w->mu);
        if (!more || stopping) {
            if (gen > w->flush_done) {
                w->flush_done = gen;
                w->flush_error = e != STORE_OK;
                pthread_cond_broadcast(&w->done);
            }
        }
        if (stopping && w->count == 0 && !more)
            break;
    }
    pthread_mutex_unlock(&w->mu);
    free(devs);
    free(evs);
    return NULL;
}

writer *writer_start(store *st, devtab *dt, unsigned retention_events, unsigned retention_days)
{
    writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->st = st;
    w->dt = dt;
    w->keep_events = retention_events;
    w->keep_days = retention_days;
    w->last_ok = mono_s(); /* the store was just opened (and written) */
    w->ring = malloc(WRITER_QUEUE * sizeof *w->ring);
    w->nslots = 4096;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    if (w->ring == NULL || w->slots == NULL) {
        free(w->ring);
        free(w->slots);
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        free(w->ring);
        free(w->slots);
        free(w);
        return NULL;
    }
    return w;
}

int writer_flush(writer *w, int timeout_ms)
{
    pthread_mutex_lock(&w->mu);
    unsigned long long gen = ++w->flush_req;
    pthread_cond_signal(&w->wake);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    while (w->flush_done < gen) {
        if (pthread_cond_timedwait(&w->done, &w->mu, &ts) == ETIMEDOUT) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && w->flush_error)
        rc = -1;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

size_t writer_queue_depth(writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->count;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void writer_stop(writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (w->dropped)
        log_warn("writer: %llu history events were dropped because the disk could not keep up", w->dropped);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w->ring);
    free(w->slots);
    free(w);
}
