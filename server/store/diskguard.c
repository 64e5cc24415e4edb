/*
 * diskguard.c — private data files, the disk reserve, orphaned blobs
 * (diskguard.h).
 */
#include "diskguard.h"

#include "blobs.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void diskguard_before_open(const char *data_dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/openfota.db", data_dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        close(fd);
}

void diskguard_private_files(const char *data_dir)
{
    static const char *const names[] = {"openfota.db", "openfota.db-wal", "openfota.db-shm", "admin.token",
                                        DISKGUARD_RESERVE_NAME};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", data_dir, names[i]);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
            if (chmod(p, 0600) == 0)
                log_info("%s could be read by other users: now 0600", p);
            else
                log_warn("%s can be read by other users and chmod failed: %s", p, strerror(errno));
        }
    }
}

int diskguard_reserve_make(const char *data_dir)
{
    static int warned;
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data_dir, DISKGUARD_RESERVE_NAME);
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_blocks * 512 >= DISKGUARD_RESERVE_BYTES)
        return 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = fd < 0 ? errno : posix_fallocate(fd, 0, DISKGUARD_RESERVE_BYTES);
    if (fd >= 0 && rc == 0 && fsync(fd) < 0)
        rc = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        unlink(p); /* a partial reserve would only take space */
        if (!warned)
            log_warn("cannot keep the %u MiB disk reserve %s: %s (removing packages on a full disk may fail until "
                     "there is room)",
                     DISKGUARD_RESERVE_BYTES >> 20, p, strerror(rc));
        warned = 1;
        return -1;
    }
    if (warned)
        log_info("disk reserve %s made again", p);
    warned = 0;
    return 0;
}

int diskguard_reserve_release(const char *data_dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", data_dir, DISKGUARD_RESERVE_NAME);
    if (unlink(p) < 0)
        return 0;
    log_warn("disk full: released the %u MiB disk reserve so a deletion can commit; free space in %s",
             DISKGUARD_RESERVE_BYTES >> 20, data_dir);
    return 1;
}

static int refs_of(void *ctx, const char *sha256)
{
    store *st = ctx;
    long long n = 1;
    if (st->ops->blob_refs(st, sha256, &n) != STORE_OK)
        return -1;
    return n > 0;
}

size_t diskguard_collect_orphans(store *st, const char *data_dir)
{
    size_t n = blobs_collect_orphans(data_dir, (int64_t)time(NULL) - DISKGUARD_ORPHAN_GRACE_S, refs_of, st);
    if (n)
        log_info("blobs: %zu orphaned blob file(s) removed at start", n);
    return n;
}
