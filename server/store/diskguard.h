/*
 * diskguard.h — the data folder kept private and usable when the disk fills:
 *
 *   - permissions: openfota.db (and its -wal/-shm files) and admin.token are
 *     0600, the database file is created 0600 before SQLite opens it;
 *   - a reserve file, <data>/disk-reserve (DISKGUARD_RESERVE_BYTES), made at
 *     start and after each deletion: when the disk is full, a deletion's
 *     commit fails (SQLite needs room for its write-ahead log); the reserve
 *     is then released so the commit goes through, and made again once the
 *     deleted blob has freed its space — removing packages or files always
 *     works on a full disk;
 *   - orphaned blobs (a crash between an upload's file and its row) removed
 *     at start.
 *
 * All functions take the data folder path (borrowed) and keep no pointers.
 */
#ifndef OPENFOTA_SERVER_DISKGUARD_H
#define OPENFOTA_SERVER_DISKGUARD_H

#include "store.h"

#include <stddef.h>

#define DISKGUARD_RESERVE_NAME "disk-reserve"
#define DISKGUARD_RESERVE_BYTES (4u << 20)
#define DISKGUARD_ORPHAN_GRACE_S 3600 /* blob files younger than this are never collected */
#define STORAGE_FULL_HINT \
    "the server's disk is full: free space in the data folder (remove packages or files no longer needed) and retry"

/* Before the store opens: create an empty openfota.db with mode 0600 when
 * missing (SQLite takes an empty file as a new database). */
void diskguard_before_open(const char *data_dir);
/* After the store opened: chmod 0600 the database, its -wal and -shm files
 * and admin.token (a data folder from an older version had them 0644). */
void diskguard_private_files(const char *data_dir);
/* Make the reserve file when missing. 0 ok, -1 no room (logged once). */
int diskguard_reserve_make(const char *data_dir);
/* Release the reserve (the disk is full and a deletion must commit).
 * 1 when it was there and is gone (logged), 0 when there was none. */
int diskguard_reserve_release(const char *data_dir);
/* Remove blob files no row of st references, older than the grace. */
size_t diskguard_collect_orphans(store *st, const char *data_dir);

#endif
