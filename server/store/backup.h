/*
 * backup.h — `openfota backup DEST`: a consistent copy of a data folder,
 * made while the server keeps running on it (docs/operations.md).
 *
 * A local command: it reads the data folder (--data DIR, default ./var)
 * directly, as the admin commands find it, and needs no token and no
 * running server. The copy holds:
 *   - openfota.db, copied with SQLite's online backup API in one step (one
 *     read transaction: a consistent snapshot; in WAL mode the server's
 *     writers are never blocked);
 *   - every blob the copied database refers to (packages, static files,
 *     generated deltas); a blob removed between the snapshot and its copy
 *     (its package was deleted meanwhile) makes the snapshot be taken again,
 *     up to BACKUP_ROUNDS times;
 *   - the other files of the folder: admin.token, push.key, fleet/ state and
 *     any other settings file (not serve.json, disk-reserve, tmp/, hidden or *.tmp/.lock/
 *     .pid/.sock files).
 * It is built in DEST.partial-PID next to DEST, flushed to disk, then renamed
 * to DEST (which must not exist or be an empty folder): DEST is either
 * complete or absent. `openfota serve --data DEST` then serves the same
 * projects, packages, devices, history and tokens.
 */
#ifndef OPENFOTA_SERVER_BACKUP_H
#define OPENFOTA_SERVER_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#define BACKUP_ROUNDS 5

typedef struct backup_stats {
    long long projects, packages, devices, events; /* rows in the copied database */
    uint64_t db_bytes;                             /* size of the copied database file */
    unsigned long blobs;                           /* blobs copied */
    uint64_t blob_bytes;
    unsigned long files;                           /* other files copied (token, fleet state, ...) */
    unsigned rounds;                               /* database snapshots taken (1 unless blobs vanished) */
} backup_stats;

/* Copy data_dir into dest (both paths are only read). 0 ok, -1 with a
 * message in err (nothing is left at dest then). */
int backup_run(const char *data_dir, const char *dest, backup_stats *st, char *err, size_t errlen);

/* `openfota backup` (argv[0] is "backup"). Exit status 0, 1, 2. */
int server_cli_backup(int argc, char **argv);

#endif
