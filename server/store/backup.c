/*
 * backup.c — `openfota backup DEST` (backup.h).
 */
#include "backup.h"

#include "blobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BK_PATH 4096
#define BK_DEPTH 8 /* folders nested deeper than this (none today) are not copied */

static int fmt_path(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fmt_path(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, BK_PATH, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= BK_PATH) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static void fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Copy one regular file (new at dst, mode kept), fsynced. 0 ok; -1 with
 * errno; ENOENT when src is gone. *bytes gets its size. */
static int copy_file(const char *src, const char *dst, uint64_t *bytes)
{
    int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0)
        return -1;
    struct stat sb;
    if (fstat(in, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(in);
        errno = EINVAL;
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, sb.st_mode & 07777);
    if (out < 0) {
        int e = errno;
        close(in);
        errno = e;
        return -1;
    }
    uint64_t total = 0;
    int rc = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
            n = read(in, buf, sizeof buf); /* fall back to plain read/write */
            if (n > 0) {
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write(out, buf + off, (size_t)(n - off));
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w < 0) {
                        rc = -1;
                        break;
                    }
                    off += w;
                }
            }
        }
        if (rc < 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
    }
    int e = errno;
    if (rc == 0 && fsync(out) < 0) {
        rc = -1;
        e = errno;
    }
    close(in);
    if (close(out) < 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc < 0) {
        unlink(dst);
        errno = e;
        return -1;
    }
    if (bytes)
        *bytes = total;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- the database ------------------------------------------------------- */

/* One consistent snapshot of src_db into dst_db (replaced). 0 ok. */
static int copy_db(const char *src_db, const char *dst_db, char *err, size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    int rc = -1;
    unlink(dst_db);
    /* read-write without create: a reader of a WAL database uses its -shm */
    if (sqlite3_open_v2(src_db, &src, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", src_db, src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    if (sqlite3_open_v2(dst_db, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create %s: %s", dst_db, dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    for (int attempt = 0;; attempt++) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
        if (b == NULL) {
            snprintf(err, errlen, "cannot start the database copy: %s", sqlite3_errmsg(dst));
            goto out;
        }
        /* all pages in one step: one read transaction, one snapshot (steps
         * of a few pages would restart whenever the server writes) */
        int st = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (st == SQLITE_DONE)
            break;
        if ((st == SQLITE_BUSY || st == SQLITE_LOCKED) && attempt < 20) {
            sqlite3_sleep(250);
            continue;
        }
        snprintf(err, errlen, "copying %s failed: %s", src_db, sqlite3_errstr(st));
        goto out;
    }
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &q, NULL) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
        snprintf(err, errlen, "the copied database fails its check (%s): the source may be damaged; run "
                              "'sqlite3 %s \"PRAGMA integrity_check\"'",
                 q && sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : sqlite3_errmsg(dst),
                 src_db);
        sqlite3_finalize(q);
        goto out;
    }
    sqlite3_finalize(q);
    /* a self-contained file (no -wal/-shm beside it); the server turns WAL
     * on again when it opens it */
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot finish %s: %s", dst_db, sqlite3_errmsg(dst));
        goto out;
    }
    rc = 0;
out:
    sqlite3_close(src);
    sqlite3_close(dst);
    if (rc < 0)
        unlink(dst_db);
    return rc;
}

static long long count_rows(sqlite3 *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *q = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
        n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Every blob a database refers to. Keep in step with the tables holding a
 * sha256 of a file under blobs/ (store_sqlite.c). */
static const char blob_refs_sql[] = "SELECT sha256 FROM packages UNION SELECT sha256 FROM files"
                                    " UNION SELECT sha256 FROM deltas WHERE sha256 <> ''";

static int sha_ok(const char *h)
{
    if (h == NULL || strlen(h) != 64)
        return 0;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

/* Copy the blobs dst_db refers to. Returns the number still missing (their
 * source vanished), or -1 on an error (err set). */
static long copy_blobs(const char *data, const char *work, const char *dst_db, backup_stats *st, char *missing,
                       size_t mcap, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    long lost = 0;
    if (sqlite3_open_v2(dst_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, blob_refs_sql, -1, &q, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot read the copied database: %s", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_finalize(q);
        sqlite3_close(db);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(q, 0);
        if (!sha_ok(h))
            continue;
        char src[BK_PATH], dir[BK_PATH], dst[BK_PATH];
        if (fmt_path(dir, "%s/blobs/sha256/%.2s", work, h) < 0 || fmt_path(dst, "%s/%s", dir, h) < 0) {
            snprintf(err, errlen, "path too long under %s", work);
            lost = -1;
            break;
        }
        blob_path(data, h, src, sizeof src);
        struct stat sb;
        if (stat(dst, &sb) == 0)
            continue; /* copied in an earlier round: blobs never change */
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            lost = -1;
            break;
        }
        uint64_t n = 0;
        if (copy_file(src, dst, &n) < 0) {
            if (errno == ENOENT) {
                if (lost++ == 0)
                    snprintf(missing, mcap, "%s", h);
                continue;
            }
            snprintf(err, errlen, "cannot copy %s to %s: %s", src, dst, strerror(errno));
            lost = -1;
            break;
        }
        st->blobs++;
        st->blob_bytes += n;
    }
    if (lost >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(err, errlen, "cannot read the copied database: %s", sqlite3_errmsg(db));
        lost = -1;
    }
    if (lost >= 0) {
        st->projects = count_rows(db, "projects");
        st->packages = count_rows(db, "packages");
        st->devices = count_rows(db, "devices");
        st->events = count_rows(db, "events");
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return lost;
}

/* --- other files -------------------------------------------------------- */

static int skip_name(const char *n, int top)
{
    if (n[0] == '.')
        return 1; /* ., .., hidden files, temporary files being written */
    size_t l = strlen(n);
    static const char *const ends[] = {".tmp", ".lock", ".pid", ".sock", ".partial"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t el = strlen(ends[i]);
        if (l >= el && !strcmp(n + l - el, ends[i]))
            return 1;
    }
    if (!top)
        return 0;
    static const char *const top_skip[] = {"openfota.db", "openfota.db-wal", "openfota.db-shm", "openfota.db-journal",
                                           "serve.json", "blobs", "tmp",
                                           "disk-reserve" /* diskguard.h: 4 MiB of nothing, made again at start */};
    for (size_t i = 0; i < sizeof top_skip / sizeof top_skip[0]; i++)
        if (!strcmp(n, top_skip[i]))
            return 1;
    return 0;
}

/* Copy the regular files and folders of src into dst (which exists). */
static int copy_tree(const char *src, const char *dst, int depth, backup_stats *st, char *err, size_t errlen)
{
    DIR *d = opendir(src);
    if (d == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", src, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (skip_name(de->d_name, depth == 0))
            continue;
        char s[BK_PATH], t[BK_PATH];
        if (fmt_path(s, "%s/%s", src, de->d_name) < 0 || fmt_path(t, "%s/%s", dst, de->d_name) < 0) {
            snprintf(err, errlen, "path too long under %s", src);
            rc = -1;
            break;
        }
        struct stat sb;
        if (lstat(s, &sb) < 0)
            continue; /* vanished meanwhile (a state file replaced by rename) */
        if (S_ISDIR(sb.st_mode)) {
            if (depth + 1 >= BK_DEPTH)
                continue;
            if (mkdir(t, sb.st_mode & 07777) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", t, strerror(errno));
                rc = -1;
                break;
            }
            rc = copy_tree(s, t, depth + 1, st, err, errlen);
            if (rc == 0)
                fsync_path(t, 1);
        } else if (S_ISREG(sb.st_mode)) {
            if (copy_file(s, t, NULL) < 0) {
                if (errno == ENOENT)
                    continue;
                snprintf(err, errlen, "cannot copy %s to %s: %s", s, t, strerror(errno));
                rc = -1;
                break;
            }
            st->files++;
        } /* sockets, fifos, symlinks: not part of the data */
    }
    closedir(d);
    return rc;
}

/* --- the whole ---------------------------------------------------------- */

static int dest_usable(const char *dest, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(dest, &sb) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", dest, strerror(errno)), -1);
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a folder: give a new folder name", dest);
        return -1;
    }
    DIR *d = opendir(dest);
    if (d == NULL) {
        snprintf(err, errlen, "%s: %s", dest, strerror(errno));
        return -1;
    }
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = 0;
    closedir(d);
    if (!empty) {
        snprintf(err, errlen, "%s is not empty: give a new folder name (a backup never overwrites)", dest);
        return -1;
    }
    return 0;
}

int backup_run(const char *data, const char *dest, backup_stats *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    char src_db[BK_PATH], work[BK_PATH], dst_db[BK_PATH], dparent[BK_PATH];
    size_t dl = strlen(dest);
    while (dl > 1 && dest[dl - 1] == '/')
        dl--;
    if (dl == 0 || fmt_path(src_db, "%s/openfota.db", data) < 0 ||
        fmt_path(work, "%.*s.partial-%ld", (int)dl, dest, (long)getpid()) < 0 ||
        fmt_path(dst_db, "%s/openfota.db", work) < 0 || fmt_path(dparent, "%.*s/..", (int)dl, dest) < 0) {
        snprintf(err, errlen, "path too long or empty");
        return -1;
    }
    struct stat sb;
    if (stat(src_db, &sb) < 0) {
        snprintf(err, errlen, "no database at %s (%s): is --data the server's data folder?", src_db,
                 strerror(errno));
        return -1;
    }
    char rs[PATH_MAX], rd[PATH_MAX];
    if (realpath(data, rs) != NULL && realpath(dest, rd) != NULL && !strcmp(rs, rd)) {
        snprintf(err, errlen, "DEST is the data folder itself: give a new folder");
        return -1;
    }
    if (dest_usable(dest, err, errlen) < 0)
        return -1;
    if (mkdir(work, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", work, strerror(errno));
        return -1;
    }
    char p[BK_PATH];
    if (fmt_path(p, "%s/blobs", work) < 0 || mkdir(p, 0755) < 0 || fmt_path(p, "%s/blobs/sha256", work) < 0 ||
        mkdir(p, 0755) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
        goto fail;
    }
    /* the database, then the blobs it names; a blob deleted in between
     * (its package removed after the snapshot) means a new snapshot, which
     * no longer names it */
    char missing[65] = "";
    long lost = 1;
    for (st->rounds = 1; st->rounds <= BACKUP_ROUNDS; st->rounds++) {
        if (copy_db(src_db, dst_db, err, errlen) < 0)
            goto fail;
        lost = copy_blobs(data, work, dst_db, st, missing, sizeof missing, err, errlen);
        if (lost < 0)
            goto fail;
        if (lost == 0)
            break;
    }
    if (lost > 0) {
        st->rounds = BACKUP_ROUNDS;
        snprintf(err, errlen, "%ld file(s) the database refers to are missing from %s/blobs (e.g. %s), in %u "
                              "snapshots: the data folder is damaged; check 'openfota package list' for packages "
                              "whose downloads fail",
                 lost, data, missing, BACKUP_ROUNDS);
        goto fail;
    }
    if (st->rounds > BACKUP_ROUNDS)
        st->rounds = BACKUP_ROUNDS;
    if (copy_tree(data, work, 0, st, err, errlen) < 0)
        goto fail;
    if (stat(dst_db, &sb) == 0)
        st->db_bytes = (uint64_t)sb.st_size;
    /* flush the folders, then make the copy appear at once */
    DIR *bd;
    if (fmt_path(p, "%s/blobs/sha256", work) == 0 && (bd = opendir(p)) != NULL) {
        struct dirent *de;
        while ((de = readdir(bd)) != NULL) {
            char sub[BK_PATH];
            if (de->d_name[0] != '.' && fmt_path(sub, "%s/%s", p, de->d_name) == 0)
                fsync_path(sub, 1);
        }
        closedir(bd);
        fsync_path(p, 1);
    }
    fmt_path(p, "%s/blobs", work);
    fsync_path(p, 1);
    fsync_path(work, 1);
    if (rename(work, dest) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", work, dest, strerror(errno));
        goto fail;
    }
    fsync_path(dparent, 1);
    return 0;
fail:
    rm_tree(work);
    return -1;
}

/* --- the command -------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: openfota backup [--data DIR] DEST\n"
            "\n"
            "Copy the server's data folder to the new folder DEST while the server keeps\n"
            "running: the database (one consistent snapshot), the package and file blobs\n"
            "it refers to, the admin token, the push key and the push/rollout state.\n"
            "'openfota serve --data DEST' then serves the same projects, packages,\n"
            "devices, history and tokens.\n"
            "\n"
            "options:\n"
            "  --data DIR   the data folder to copy (default ./var); run as a user that can\n"
            "               read it and write its database's -shm file (the server's user)\n"
            "  -q, --quiet  print nothing on success\n"
            "  -h, --help   this help\n"
            "\n"
            "DEST must not exist (or be an empty folder); it is built next to it as\n"
            "DEST.partial-PID and renamed when complete, so DEST is complete or absent.\n"
            "Exit status: 0 copied, 1 failed (nothing left at DEST), 2 usage error.\n"
            "See docs/operations.md (backups and restore).\n");
}

int server_cli_backup(int argc, char **argv)
{
    const char *data = "./var", *dest = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--data")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "openfota backup: --data needs a folder\n");
                return 2;
            }
            data = argv[++i];
        } else if (!strncmp(a, "--data=", 7)) {
            data = a + 7;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "openfota backup: unknown option '%s' (see openfota backup --help)\n", a);
            return 2;
        } else if (dest == NULL) {
            dest = a;
        } else {
            fprintf(stderr, "openfota backup: one DEST only ('%s' is extra; see openfota backup --help)\n", a);
            return 2;
        }
    }
    if (dest == NULL || !dest[0] || !data[0]) {
        fprintf(stderr, "openfota backup: which folder should the copy go to? usage: openfota backup [--data DIR] "
                        "DEST\n");
        return 2;
    }
    backup_stats st;
    char err[1024];
    if (backup_run(data, dest, &st, err, sizeof err) < 0) {
        fprintf(stderr, "openfota backup: %s\n", err);
        return 1;
    }
    if (!quiet) {
        printf("backup of %s written to %s\n", data, dest);
        printf("  database   %.1f MB: %lld projects, %lld packages, %lld devices, %lld history events\n",
               (double)st.db_bytes / 1e6, st.projects, st.packages, st.devices, st.events);
        printf("  blobs      %lu files, %.1f MB\n", st.blobs, (double)st.blob_bytes / 1e6);
        printf("  settings   %lu files (admin token, push key, push/rollout state)\n", st.files);
        printf("Serve it with: openfota serve --data %s\n", dest);
    }
    return 0;
}
