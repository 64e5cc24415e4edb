/*
 * writer.h — the single writer thread: device state and check events are
 * queued by the HTTP threads (never blocking them) and committed in batches
 * (every WRITER_PERIOD_MS or WRITER_BATCH items). History retention runs here:
 * at most retention_events per device, nothing older than retention_days.
 *
 * The event queue is a bounded ring: when full (the disk cannot keep up)
 * further events are dropped and counted, never blocking a device check. A
 * batch the store refuses (locked database, I/O error) goes back to the
 * front of the queue and is tried again, backing off up to 1 s per try; a
 * flush meanwhile reports the failure. Only at stop are unsaved events
 * dropped (and counted).
 * Device state is not queued by value: devtab marks changed devices dirty and
 * the writer saves their latest state, so it is never dropped.
 */
#ifndef OPENFOTA_SERVER_WRITER_H
#define OPENFOTA_SERVER_WRITER_H

#include "devtab.h"
#include "store.h"

#define WRITER_PERIOD_MS 50
#define WRITER_BATCH 500
#define WRITER_QUEUE 8192

typedef struct writer writer;

/* store and devtab must outlive the writer. NULL on failure. */
writer *writer_start(store *st, devtab *dt, unsigned retention_events, unsigned retention_days);
/* Queue an event (copied). Returns 0, or -1 when the queue was full. */
int writer_event(writer *w, const store_event *ev);
/* Wait until everything queued before this call is committed durably.
 * 0 ok, -1 on a storage error or after timeout_ms. */
int writer_flush(writer *w, int timeout_ms);
/* Forget devices never sent a whole package and unseen for days (0: never),
 * checked at start and then hourly (devtab_expire + store devices_delete);
 * each run is logged with its count. */
void writer_set_expiry(writer *w, unsigned days);
/* Events dropped because the queue was full, since start. */
unsigned long long writer_dropped(writer *w);
/* Events queued and not yet committed (for the metrics). */
size_t writer_queue_depth(writer *w);
/* What readiness checks need (GET /readyz): filled under the writer's lock,
 * never waiting on the database. An idle writer tries an empty write every
 * few seconds, so since_ok stays small while the database takes writes. */
typedef struct writer_status {
    size_t queued;                /* events waiting in the ring */
    size_t queue_max;             /* its bound (WRITER_QUEUE): at the bound events are dropped */
    unsigned failing;             /* consecutive failed writes (0: the last one succeeded) */
    int64_t since_ok;             /* seconds since the last successful write */
    int64_t in_write;             /* seconds the write under way has waited for the database, 0 when none */
    unsigned long long dropped;   /* events dropped since start */
} writer_status;
void writer_health(writer *w, writer_status *out);
/* Commit what is queued, stop the thread, free. */
void writer_stop(writer *w);

#endif
