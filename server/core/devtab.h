/*
 * devtab.h — the in-memory device table: every known device's state, loaded
 * from the store at start, updated by checks and admin actions, persisted by
 * the writer thread. A hash table with striped mutexes: a check locks one
 * stripe for the few microseconds of its decision. An entry is only used
 * while its stripe is locked; devtab_expire frees entries (never dirty ones).
 *
 * Dirty tracking: a changed entry is queued once on an intrusive list; the
 * writer takes the latest state of each dirty entry (coalescing repeated
 * changes of one device into one row write).
 */
#ifndef OPENFOTA_SERVER_DEVTAB_H
#define OPENFOTA_SERVER_DEVTAB_H

#include <pthread.h>

#include "catalog.h"

typedef struct devtab devtab;
typedef struct dev_entry dev_entry;

devtab *devtab_new(void);
void devtab_free(devtab *t);

/* Find (or, when create, insert a zeroed entry for) id and return it with its
 * stripe locked. NULL when absent (or out of memory); then nothing is locked. */
dev_entry *devtab_lock(devtab *t, const char *id, int create);
void devtab_unlock(devtab *t, dev_entry *e);
dev_state *devtab_state(dev_entry *e);
/* Queue e for the writer (stripe must be held). */
void devtab_mark_dirty(devtab *t, dev_entry *e);

/* Insert at load time (no dirty mark). 0 ok, -1 out of memory. */
int devtab_load(devtab *t, const dev_state *st);

/* Writer: copy up to max dirty entries' current state into out, clearing
 * their dirty mark. Returns the count. */
size_t devtab_take_dirty(devtab *t, dev_state *out, size_t max);
size_t devtab_count(devtab *t);

/* Forget devices that never received a whole package (!upgraded), are not
 * forbidden or banned, have no unsaved change, and were last seen before
 * seen_before: up to max of them are removed and freed, their ids copied to
 * ids[]. Returns the count. (Pointers to entries are only used under their
 * stripe lock, and dirty entries are never removed, so this is safe while
 * checks run.) */
size_t devtab_expire(devtab *t, int64_t seen_before, char (*ids)[DEVICE_ID_MAX], size_t max);
/* The longest hash chain (diagnostics and tests: ids are hashed with a
 * random SipHash key per table, so no set of ids chosen from outside can
 * make one chain long). Locks each stripe in turn. */
size_t devtab_max_chain(devtab *t);

/* Copy all states (malloc'ed array into *out, caller frees). -1 on OOM. */
int devtab_snapshot_all(devtab *t, dev_state **out, size_t *n);
/* Call fn on every state in place, one stripe locked at a time: fn must be
 * quick and must not call into the table. Counting without a copy. */
void devtab_foreach(devtab *t, void (*fn)(void *arg, const dev_state *st), void *arg);

#endif
