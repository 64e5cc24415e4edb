/*
 * store_file.c — the default fleet store: one JSON file per object in a
 * folder, fleet-<kind>-<id>.json, replaced atomically (write a temporary
 * file, fsync, rename). Used when the server gives no store of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet_internal.h"
#include "push_parse.h"

#define STORE_FILE_MAX (256u * 1024u * 1024u)

struct file_store {
    char *dir;
};

void *fleet_file_store_open(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return NULL;
    struct file_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->dir = strdup(dir);
    if (!s->dir) {
        free(s);
        return NULL;
    }
    return s;
}

void fleet_file_store_close(void *v)
{
    struct file_store *s = v;
    if (!s)
        return;
    free(s->dir);
    free(s);
}

static int safe_name(const char *s)
{
    return s && push_id_valid(s, strlen(s)) && s[0] != '.';
}

static int fs_put(void *ctx, const char *kind, const char *id, const char *json)
{
    struct file_store *s = ctx;
    if (!safe_name(kind) || !safe_name(id))
        return -1;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/fleet-%s-%s.json", s->dir, kind, id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(json), off = 0;
    while (off < len) {
        ssize_t n = write(fd, json + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int fs_del(void *ctx, const char *kind, const char *id)
{
    struct file_store *s = ctx;
    if (!safe_name(kind) || !safe_name(id))
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/fleet-%s-%s.json", s->dir, kind, id);
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int fs_load(void *ctx, const char *kind, int (*each)(void *arg, const char *id, const char *json),
                   void *arg)
{
    struct file_store *s = ctx;
    DIR *d = opendir(s->dir);
    if (!d)
        return -1;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "fleet-%s-", kind);
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl <= pl + 5 || strncmp(e->d_name, prefix, pl) || strcmp(e->d_name + nl - 5, ".json"))
            continue;
        char id[128];
        if (nl - pl - 5 >= sizeof id)
            continue;
        memcpy(id, e->d_name + pl, nl - pl - 5);
        id[nl - pl - 5] = '\0';
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        struct stat st;
        if (fstat(fileno(fp), &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > STORE_FILE_MAX) {
            fclose(fp);
            continue;
        }
        char *buf = malloc((size_t)st.st_size + 1);
        if (buf && fread(buf, 1, (size_t)st.st_size, fp) == (size_t)st.st_size) {
            buf[st.st_size] = '\0';
            each(arg, id, buf);
        }
        free(buf);
        fclose(fp);
    }
    closedir(d);
    return 0;
}

const fleet_store_ops fleet_file_store_ops = {fs_put, fs_del, fs_load};
