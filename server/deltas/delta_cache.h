/*
 * delta_cache.h — which deltas between signed releases exist, are being
 * made, or were found not worth serving; and the pure decision a device check
 * takes from that (docs/server.md, "Deltas").
 *
 * The cache is an in-memory sorted array keyed by (base package id, target
 * package id) behind a rwlock: a check takes the read lock for one binary
 * search and copies the entry out; nothing on that path touches the disk.
 * Rows of generated deltas (ready or not smaller) are also in the store and
 * loaded at start; queued/generating/failed entries live only in memory.
 */
#ifndef OPENFOTA_SERVER_DELTA_CACHE_H
#define OPENFOTA_SERVER_DELTA_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Entry states; DC_READY and DC_NOT_SMALLER equal DELTA_READY / DELTA_NOT_SMALLER. */
enum { DC_NONE = 0, DC_READY = 1, DC_NOT_SMALLER = 2, DC_QUEUED = 3, DC_GENERATING = 4, DC_FAILED = 5 };

/* A failed generation is tried again after this many seconds. */
#define DC_RETRY_FAILED_S 600

typedef struct dc_entry {
    int64_t base_id, target_id;
    int state;          /* DC_* */
    uint64_t size;      /* bytes of the signed delta package (ready / not smaller) */
    uint64_t full_size; /* bytes of the target's full package */
    char sha256[65];    /* blob of the delta package when ready */
    int64_t created;    /* when made (ready / not smaller) or when it failed */
} dc_entry;

typedef struct dcache {
    pthread_rwlock_t lock;
    dc_entry *e; /* sorted by (base_id, target_id), owned */
    size_t n, cap;
} dcache;

/* NULL when out of memory. */
dcache *dcache_new(void);
void dcache_free(dcache *c);

/* Copy the entry of (base, target) into *out: 1 found, 0 not. */
int dcache_get(dcache *c, int64_t base, int64_t target, dc_entry *out);
/* Insert or replace. 0 ok, -1 out of memory. */
int dcache_put(dcache *c, const dc_entry *e);
/* Insert a DC_QUEUED entry unless one exists that is not a failure older than
 * retry_after seconds (now given). 1 inserted (the caller submits the job), 0
 * not needed, -1 out of memory. */
int dcache_claim(dcache *c, int64_t base, int64_t target, uint64_t full_size, int64_t now, int64_t retry_after);
/* Change the state of an existing entry; 0 when it was gone. */
int dcache_set_state(dcache *c, int64_t base, int64_t target, int state, int64_t when);
void dcache_remove(dcache *c, int64_t base, int64_t target);
/* Entries that have package id as base or target, copied into a malloc'ed
 * array *out (caller frees; NULL when none). drop=1 also removes them. */
size_t dcache_for_package(dcache *c, int64_t id, int drop, dc_entry **out);

/* ---- the decision of a check (pure) ------------------------------------- */

typedef enum delta_action {
    DD_FULL = 0, /* send the full package */
    DD_DELTA,    /* send the cached delta package */
    DD_WAIT,     /* answer code 43 (503 + Retry-After): being generated */
} delta_action;

typedef struct delta_in {
    int target_release;      /* the chosen package is a signed full package */
    int have_base;           /* the device's version is another signed release of the same firmware */
    int can_sign;            /* the server has a signing key */
    const dc_entry *cached;  /* the cache entry of (base, target), NULL when none */
    uint64_t full_size;      /* bytes of the target's full package */
    double margin;           /* a delta is served when size <= margin x full_size */
    int agent;               /* the client said it is an agent (it waits and retries) */
    int full_while_generating; /* config: libfota2-style clients get the full package meanwhile */
    int64_t now;
} delta_in;

typedef struct delta_out {
    delta_action action;
    int enqueue;     /* the delta should be generated (not in the cache, or failed long ago) */
    const char *why; /* static text for logs and history */
} delta_out;

void delta_decide(const delta_in *in, delta_out *out);

/* Is size at most margin x full? (integer-exact for the common margins) */
int delta_small_enough(uint64_t size, uint64_t full, double margin);

#endif
