/*
 * pkg_cli_util.c — argument parsing and whole-file I/O for the pkg CLIs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg_cli_util.h"

int pkgcli_parse_opts(const char *cmd, int argc, char **argv, const pkgcli_opt *opts, size_t n,
                      const char **pos, const char *pos_name)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
        size_t k;
        for (k = 0; k < n; k++)
            if (!strcmp(argv[i], opts[k].name))
                break;
        if (k < n) {
            if (i + 1 >= argc) {
                fprintf(stderr, "openfota %s: %s needs a value\n", cmd, argv[i]);
                return 2;
            }
            *opts[k].dst = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "openfota %s: unknown option '%s' (see --help)\n", cmd, argv[i]);
            return 2;
        } else if (!*pos) {
            *pos = argv[i];
        } else {
            fprintf(stderr, "openfota %s: one %s only (see --help)\n", cmd, pos_name);
            return 2;
        }
    }
    return 0;
}

int pkgcli_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || strlen(s) > 20)
        return -1;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int pkgcli_parse_version(const char *s, unsigned *core, unsigned *x, unsigned *z)
{
    char buf[64];
    if (!s || strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *d1 = strchr(buf, '.');
    if (!d1)
        return -1;
    *d1++ = '\0';
    char *d2 = strchr(d1, '.');
    if (!d2)
        return -1;
    *d2++ = '\0';
    unsigned long a, b, c;
    if (pkgcli_parse_ulong(buf, 99999, &a) || pkgcli_parse_ulong(d1, 999, &b) ||
        pkgcli_parse_ulong(d2, 999, &c))
        return -1;
    *core = (unsigned)a;
    *x = (unsigned)b;
    *z = (unsigned)c;
    return 0;
}

int pkgcli_read_file(const char *path, size_t max, uint8_t **out, size_t *len, char *err,
                     size_t errlen)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errlen, "%s is %lld bytes, over the limit of %zu bytes", path,
                 (long long)st.st_size, max);
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        snprintf(err, errlen, "out of memory reading %s", path);
        close(fd);
        return -1;
    }
    size_t have = 0;
    while (have < n) {
        ssize_t r = read(fd, b + have, n - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "reading %s failed: %s", path,
                     r < 0 ? strerror(errno) : "file shrank while reading");
            free(b);
            close(fd);
            return -1;
        }
        have += (size_t)r;
    }
    close(fd);
    *out = b;
    *len = n;
    return 0;
}

int pkgcli_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
            goto fail;
        }
        done += (size_t)w;
    }
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, errlen, "writing %s failed: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}
