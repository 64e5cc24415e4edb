/*
 * snapshot.h — an immutable, in-memory view of the catalog for the hot path.
 *
 * A snapshot is built from a catalog (taking ownership of it), never changed
 * afterwards, and swapped in whole after every admin change. Readers take a
 * reference (a shared rwlock held only for the pointer load and an atomic
 * increment: readers never wait on SQLite or on a rebuild) and drop it when
 * done; the last reference frees it. Lookups are binary searches over sorted
 * arrays and never allocate.
 */
#ifndef OPENFOTA_SERVER_SNAPSHOT_H
#define OPENFOTA_SERVER_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>

#include "catalog.h"

typedef struct snap_firmware {
    const cat_firmware *fw;
    const cat_package **pkgs; /* packages of this firmware, any order */
    size_t npkgs;
} snap_firmware;

typedef struct snap_project {
    const cat_project *p;
    snap_firmware *fws; /* sorted by name */
    size_t nfw;
    const cat_listed *listed; /* sorted by device id, slice of the catalog */
    size_t nlisted;
    size_t npackages;
} snap_project;

typedef struct snapshot {
    atomic_int refs;
    catalog cat;
    snap_project *projects;     /* sorted by key */
    size_t nprojects;
    snap_project **projects_by_id;
    const cat_package **pkgs_by_id;
    const cat_file **files_by_name;
    snap_firmware *fw_storage;
    const cat_package **pkg_storage;
} snapshot;

/* Build from *cat (its arrays now belong to the snapshot; *cat is zeroed).
 * Returns a snapshot with one reference, or NULL when out of memory (then
 * *cat is freed). */
snapshot *snapshot_build(catalog *cat);
void snapshot_ref(snapshot *s);
void snapshot_unref(snapshot *s);

const snap_project *snap_project_by_key(const snapshot *s, const char *key, size_t len);
const snap_project *snap_project_by_id(const snapshot *s, int64_t id);
const snap_firmware *snap_firmware_by_name(const snap_project *p, const char *name, size_t len);
const cat_package *snap_package_by_id(const snapshot *s, int64_t id);
const cat_file *snap_file_by_name(const snapshot *s, const char *name, size_t len);
int snap_is_listed(const snap_project *p, const char *device_id);

/* The current snapshot, shared by all threads. */
typedef struct snap_holder {
    pthread_rwlock_t lock;
    snapshot *cur;
} snap_holder;

void snap_holder_init(snap_holder *h, snapshot *first);
/* A reference to the current snapshot; release with snapshot_unref. */
snapshot *snap_acquire(snap_holder *h);
/* Install next (its reference passes to the holder); the old one is unref'ed. */
void snap_swap(snap_holder *h, snapshot *next);
void snap_holder_destroy(snap_holder *h);

#endif
