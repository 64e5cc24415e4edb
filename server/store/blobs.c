/*
 * blobs.c — content-addressed blob storage with durable commit (blobs.h).
 */
#include "blobs.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blob_upload {
    int fd;
    char tmp[4096];
    uint64_t size;
    uint64_t max;
    int over;
    int err;            /* errno of the first failed write; later writes are skipped */
    EVP_MD_CTX *md5;
    EVP_MD_CTX *sha;
    char sha256[65];
};

static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t l = strlen(path);
    if (l >= sizeof buf)
        return -1;
    memcpy(buf, path, l + 1);
    for (size_t i = 1; i <= l; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

/* The folder <data>/blobs/sha256/<first two hex digits>, opened one
 * component at a time with O_NOFOLLOW beneath the data folder: a symbolic
 * link anywhere below it (planted or left by a restore) is refused, never
 * followed out of the data folder. create: make the last folder when
 * missing. An fd (O_DIRECTORY) or -1 with errno (ELOOP/ENOTDIR for a link). */
static int blob_dir_open(const char *data_dir, const char *sha256, int create)
{
    char last[3] = {sha256[0], sha256[0] ? sha256[1] : 0, 0};
    const char *comp[] = {"blobs", "sha256", last};
    int fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; fd >= 0 && i < sizeof comp / sizeof comp[0]; i++) {
        if (i == 2 && create && mkdirat(fd, comp[i], 0700) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        int next = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        fd = next;
        if (fd < 0) {
            if (e == ELOOP || e == ENOTDIR)
                log_error("blobs: %s/blobs/sha256/%s: a symbolic link or non-folder where a folder belongs: refused "
                          "(replace it with a real folder)",
                          data_dir, last);
            errno = e;
        }
    }
    return fd;
}

int blobs_init(const char *data_dir, char *err, size_t errlen)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/blobs/sha256", data_dir);
    if (mkdir_p(p) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
        return -1;
    }
    snprintf(p, sizeof p, "%s/tmp", data_dir);
    if (mkdir_p(p) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
        return -1;
    }
    /* leftovers of uploads cut by a crash */
    DIR *d = opendir(p);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strncmp(de->d_name, "upload-", 7) == 0)
                unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
    }
    return 0;
}

blob_upload *blob_begin(const char *data_dir, uint64_t max)
{
    blob_upload *u = calloc(1, sizeof *u);
    if (u == NULL)
        return NULL;
    u->max = max;
    snprintf(u->tmp, sizeof u->tmp, "%s/tmp/upload-XXXXXX", data_dir);
    u->fd = mkostemp(u->tmp, O_CLOEXEC);
    if (u->fd < 0) {
        log_error("upload: cannot create a temp file in %s/tmp: %s", data_dir, strerror(errno));
        free(u);
        return NULL;
    }
    u->md5 = EVP_MD_CTX_new();
    u->sha = EVP_MD_CTX_new();
    if (!u->md5 || !u->sha || EVP_DigestInit_ex(u->md5, EVP_md5(), NULL) != 1 ||
        EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
        blob_abort(u);
        return NULL;
    }
    return u;
}

int blob_write(blob_upload *u, const void *data, size_t len)
{
    if (u->over)
        return 1;
    if (u->err)
        return -1; /* logged once, at the first failure */
    if (len > u->max - u->size) {
        u->over = 1;
        return 1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(u->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            u->err = errno;
            log_error("upload: writing %s: %s%s", u->tmp, strerror(errno),
                      errno == ENOSPC ? " (the data folder's disk is full: the upload is refused with 507)" : "");
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    EVP_DigestUpdate(u->md5, data, len);
    EVP_DigestUpdate(u->sha, data, len);
    u->size += len;
    return 0;
}

uint64_t blob_size(const blob_upload *u) { return u->size; }
int blob_error(const blob_upload *u) { return u->err; }
int blob_fd(blob_upload *u) { return u->fd; }

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

int blob_finish(blob_upload *u, char md5[33], char sha256[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(u->md5, d, &n) != 1 || n != 16)
        return -1;
    hex(d, 16, md5);
    if (EVP_DigestFinal_ex(u->sha, d, &n) != 1 || n != 32)
        return -1;
    hex(d, 32, sha256);
    memcpy(u->sha256, sha256, 65);
    return 0;
}

void blob_path(const char *data_dir, const char *sha256, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/blobs/sha256/%.2s/%s", data_dir, sha256, sha256);
}

int blob_commit(blob_upload *u, const char *data_dir)
{
    int rc = -1;
    char dir[4096], path[4200];
    if (fsync(u->fd) < 0) {
        log_error("upload: fsync %s: %s", u->tmp, strerror(errno));
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/blobs/sha256/%.2s", data_dir, u->sha256);
    int dfd = blob_dir_open(data_dir, u->sha256, 1);
    if (dfd < 0) {
        log_error("upload: folder %s: %s", dir, strerror(errno));
        goto out;
    }
    blob_path(data_dir, u->sha256, path, sizeof path);
    if (renameat(AT_FDCWD, u->tmp, dfd, u->sha256) < 0) {
        log_error("upload: rename to %s: %s", path, strerror(errno));
        close(dfd);
        goto out;
    }
    u->tmp[0] = 0;
    fsync(dfd);
    close(dfd);
    rc = 0;
out:;
    int e = errno;
    blob_abort(u);
    errno = e;
    return rc;
}

void blob_abort(blob_upload *u)
{
    if (u == NULL)
        return;
    if (u->fd >= 0)
        close(u->fd);
    if (u->tmp[0])
        unlink(u->tmp);
    EVP_MD_CTX_free(u->md5);
    EVP_MD_CTX_free(u->sha);
    free(u);
}

int blob_open(const char *data_dir, const char *sha256)
{
    int dfd = blob_dir_open(data_dir, sha256, 0);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, sha256, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int e = errno;
    close(dfd);
    errno = e;
    return fd;
}

void blob_remove(const char *data_dir, const char *sha256)
{
    char path[4200];
    blob_path(data_dir, sha256, path, sizeof path);
    int dfd = blob_dir_open(data_dir, sha256, 0);
    if (dfd < 0) {
        if (errno != ENOENT)
            log_warn("cannot remove blob %s: %s", path, strerror(errno));
        return;
    }
    if (unlinkat(dfd, sha256, 0) < 0 && errno != ENOENT)
        log_warn("cannot remove blob %s: %s", path, strerror(errno));
    close(dfd);
}

static int is_hex64(const char *n)
{
    size_t i = 0;
    for (; n[i]; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return 0;
    return i == 64;
}

size_t blobs_collect_orphans(const char *data_dir, int64_t older_than, blob_ref_fn refs, void *ctx)
{
    size_t removed = 0;
    int top = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int b = top < 0 ? -1 : openat(top, "blobs", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int sfd = b < 0 ? -1 : openat(b, "sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top >= 0)
        close(top);
    if (b >= 0)
        close(b);
    DIR *d = sfd < 0 ? NULL : fdopendir(sfd);
    if (d == NULL) {
        if (sfd >= 0)
            close(sfd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *sub = de->d_name;
        if (strlen(sub) != 2)
            continue;
        int fd = openat(dirfd(d), sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *sd = fd < 0 ? NULL : fdopendir(fd);
        if (sd == NULL) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        struct dirent *fe;
        while ((fe = readdir(sd)) != NULL) {
            struct stat st;
            if (!is_hex64(fe->d_name) || strncmp(fe->d_name, sub, 2) != 0)
                continue;
            if (fstatat(dirfd(sd), fe->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
                (int64_t)st.st_mtime >= older_than)
                continue;
            if (refs(ctx, fe->d_name) != 0)
                continue; /* referenced, or unknown: kept */
            if (unlinkat(dirfd(sd), fe->d_name, 0) == 0) {
                removed++;
                log_info("blobs: removed %s/blobs/sha256/%s/%s: no package, file or delta uses it (left by an "
                         "interrupted upload)",
                         data_dir, sub, fe->d_name);
            }
        }
        closedir(sd);
    }
    closedir(d);
    return removed;
}
