/*
 * datalock.c — the data folder's exclusive lock (datalock.h).
 */
#include "datalock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#define DATALOCK_READ_MAX 4096 /* serve.json and serve.lock are a line each */

/* Up to cap-1 bytes of a small file, NUL-terminated; "" when unreadable. */
static void read_small(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    out[n > 0 ? n : 0] = 0;
}

int datalock_acquire(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/serve.lock", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "the data folder path is too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int busy = errno == EWOULDBLOCK;
        int why = errno;
        close(fd);
        if (!busy) {
            snprintf(err, errlen, "cannot lock %s: %s", path, strerror(why));
            return -1;
        }
        char text[DATALOCK_READ_MAX], url[512] = "", pid[32] = "";
        read_small(path, text, sizeof text);
        long lp = strtol(text, NULL, 10);
        if (lp > 0)
            snprintf(pid, sizeof pid, "%ld", lp);
        char sj[4200];
        snprintf(sj, sizeof sj, "%s/serve.json", dir);
        read_small(sj, text, sizeof text);
        json_t *j = json_loads(text, 0, NULL);
        const char *u = json_string_value(json_object_get(j, "url"));
        if (u)
            snprintf(url, sizeof url, "%s", u);
        json_int_t jp = json_integer_value(json_object_get(j, "pid"));
        if (!pid[0] && jp > 0)
            snprintf(pid, sizeof pid, "%lld", (long long)jp);
        json_decref(j);
        snprintf(err, errlen,
                 "the data folder %s is in use by another openfota server (pid %s%s%s): stop it first, "
                 "or give this one another --data folder",
                 dir, pid[0] ? pid : "unknown", url[0] ? ", " : "", url);
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        /* the lock holds without the pid in it; only the message loses it */
    }
    return fd;
}
