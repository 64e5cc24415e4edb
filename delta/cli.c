/*
 * cli.c — `openfota delta make|apply|info`.
 *
 * make  reads OLD and NEW into memory, runs ofdelta_make, writes PATCH.
 * apply streams PATCH through the same patcher a device runs (fixed
 *       workspace, OLD read at offsets, NEW written in order) into OUT.tmp,
 *       then renames it to OUT only when the SHA-256 of the result matched.
 * info  prints and checks a patch header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ofdelta.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: openfota delta make OLD NEW PATCH [--window N | --ram N] [--frame N] [--lc N] [--lp N] [--pb N]\n"
            "       openfota delta apply OLD PATCH OUT [--ram N]\n"
            "       openfota delta info PATCH\n"
            "\n"
            "Makes and applies delta patches between two firmware images.\n"
            "\n"
            "  make   writes PATCH, which turns OLD into NEW. Prints the patch size and the\n"
            "         patcher memory it needs. If a delta is not smaller than NEW alone, the\n"
            "         patch carries NEW compressed and a warning says to ship the full image.\n"
            "           --window N  LZMA window in bytes (default %u, %u..%u); the device\n"
            "                       needs about N + 7 KiB of RAM to apply the patch\n"
            "           --ram N     the largest window whose patch the device applies in N\n"
            "                       bytes of patcher workspace (instead of --window)\n"
            "           --frame N   bytes per CRC-checked frame (default %u, %u..%u)\n"
            "           --lc/--lp/--pb N  LZMA literal context/position bits (default 0 0 0)\n"
            "  apply  applies PATCH to OLD and writes OUT. OLD must be the exact image the\n"
            "         patch was made from (size and SHA-256 are checked before writing).\n"
            "         The result goes to OUT.tmp and is renamed to OUT only when complete\n"
            "         and its SHA-256 matches the patch; exit status 0 means exactly that.\n"
            "           --ram N     refuse patches that need more than N bytes of patcher\n"
            "                       workspace (default: what the patch needs)\n"
            "  info   prints the patch header (sizes, hashes, window) and checks it.\n"
            "\n"
            "Exit status: 0 success, 1 failure or refusal, 2 usage error.\n",
            OFDELTA_DEFAULT_WINDOW, OFDELTA_MIN_WINDOW, OFDELTA_MAX_WINDOW, OFDELTA_DEFAULT_FRAME,
            OFDELTA_MIN_FRAME, OFDELTA_MAX_FRAME);
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "openfota delta: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    while (p) {
        if (n == cap) {
            if (cap >= (size_t)OFDELTA_MAX_IMAGE * 2) {
                fprintf(stderr, "openfota delta: %s is larger than 1 GiB\n", path);
                free(p);
                fclose(f);
                return -1;
            }
            uint8_t *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                p = NULL;
                break;
            }
            p = q, cap *= 2;
        }
        size_t r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = !p || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "openfota delta: cannot read %s\n", path);
        free(p);
        return -1;
    }
    *data = p, *len = n;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* reads up to n bytes (fewer only at end of file); -1 on error */
static ssize_t read_full(int fd, uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmd_make(int argc, char **argv)
{
    const char *pos[3];
    int np = 0;
    ofdelta_make_opts o = {0, 0, -1, -1, -1};
    long ram = 0;
    for (int i = 1; i < argc; i++) {
        long v;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--ram")) {
            if (i + 1 >= argc || parse_num(argv[i + 1], 1024, 1L << 30, &ram)) {
                fprintf(stderr, "openfota delta make: --ram needs a byte count from 1024 to 1073741824\n");
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--window") || !strcmp(a, "--frame") || !strcmp(a, "--lc") || !strcmp(a, "--lp") ||
                   !strcmp(a, "--pb")) {
            int isw = !strcmp(a, "--window"), isf = !strcmp(a, "--frame");
            long lo = isw ? OFDELTA_MIN_WINDOW : isf ? OFDELTA_MIN_FRAME : 0;
            long hi = isw ? OFDELTA_MAX_WINDOW : isf ? OFDELTA_MAX_FRAME : 4;
            if (i + 1 >= argc || parse_num(argv[i + 1], lo, hi, &v)) {
                fprintf(stderr, "openfota delta make: %s needs a number from %ld to %ld\n", a, lo, hi);
                return 2;
            }
            i++;
            if (isw)
                o.window = (uint32_t)v;
            else if (isf)
                o.frame_size = (uint32_t)v;
            else if (!strcmp(a, "--lc"))
                o.lc = (int)v;
            else if (!strcmp(a, "--lp"))
                o.lp = (int)v;
            else
                o.pb = (int)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "openfota delta make: unknown option %s (see --help)\n", a);
            return 2;
        } else if (np < 3) {
            pos[np++] = a;
        } else {
            fprintf(stderr, "openfota delta make: too many arguments (see --help)\n");
            return 2;
        }
    }
    if (np != 3) {
        fprintf(stderr, "openfota delta make: needs OLD NEW PATCH (see --help)\n");
        return 2;
    }
    if ((o.lc >= 0 ? o.lc : 0) + (o.lp >= 0 ? o.lp : 0) > 4) {
        fprintf(stderr, "openfota delta make: --lc plus --lp must be at most 4\n");
        return 2;
    }
    if (ram) {
        if (o.window) {
            fprintf(stderr, "openfota delta make: give --window or --ram, not both\n");
            return 2;
        }
        o.window = ofdelta_window_for_workspace((size_t)ram, o.lc > 0 ? (unsigned)o.lc : 0,
                                                o.lp > 0 ? (unsigned)o.lp : 0,
                                                o.frame_size ? o.frame_size : OFDELTA_DEFAULT_FRAME);
        if (!o.window) {
            fprintf(stderr, "openfota delta make: --ram %ld is too small for any patch (at least %zu bytes)\n", ram,
                    ofdelta_patch_workspace_size(OFDELTA_MIN_WINDOW, o.lc > 0 ? (unsigned)o.lc : 0,
                                                 o.lp > 0 ? (unsigned)o.lp : 0,
                                                 o.frame_size ? o.frame_size : OFDELTA_DEFAULT_FRAME));
            return 1;
        }
    }
    uint8_t *old = NULL, *nw = NULL, *patch = NULL;
    size_t ol, nl, pl;
    int rc = 1;
    if (read_file(pos[0], &old, &ol) || read_file(pos[1], &nw, &nl))
        goto out;
    ofdelta_make_stats st;
    double t0 = now();
    ofdelta_err e = ofdelta_make(old, ol, nw, nl, &o, &patch, &pl, &st);
    double dt = now() - t0;
    if (e) {
        fprintf(stderr, "openfota delta make: %s\n", ofdelta_strerror(e));
        goto out;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", pos[2]) >= (int)sizeof tmp) {
        fprintf(stderr, "openfota delta make: path too long\n");
        goto out;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write_all(fd, patch, pl) || fsync(fd) || close(fd) || rename(tmp, pos[2])) {
        fprintf(stderr, "openfota delta make: cannot write %s: %s\n", pos[2], strerror(errno));
        if (fd >= 0)
            unlink(tmp);
        goto out;
    }
    printf("patch %s: %zu bytes (%.2f%% of new image %zu bytes), %u records, %u diff + %u extra bytes, "
           "patcher workspace %zu bytes, %.2f s\n",
           pos[2], pl, nl ? 100.0 * pl / nl : 0.0, nl, st.records, st.diff_bytes, st.extra_bytes, st.workspace,
           dt);
    if (st.full_image)
        fprintf(stderr, "openfota delta make: warning: no part of NEW was found in OLD, so the patch is NEW "
                        "compressed; ship the full image instead of a delta\n");
    rc = 0;
out:
    free(old);
    free(nw);
    free(patch);
    return rc;
}

typedef struct file_io {
    int old_fd, out_fd;
} file_io;

static int f_read(void *ctx, uint32_t off, uint8_t *b, size_t len)
{
    file_io *f = ctx;
    while (len) {
        ssize_t r = pread(f->old_fd, b, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r, len -= (size_t)r, off += (uint32_t)r;
    }
    return 0;
}

static int f_write(void *ctx, uint32_t off, const uint8_t *b, size_t len)
{
    file_io *f = ctx;
    if (lseek(f->out_fd, off, SEEK_SET) < 0)
        return -1;
    return write_all(f->out_fd, b, len);
}

static int cmd_apply(int argc, char **argv)
{
    const char *pos[3];
    int np = 0;
    long ram = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--ram")) {
            if (i + 1 >= argc || parse_num(argv[i + 1], 1024, 1L << 30, &ram)) {
                fprintf(stderr, "openfota delta apply: --ram needs a byte count from 1024 to 1073741824\n");
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "openfota delta apply: unknown option %s (see --help)\n", a);
            return 2;
        } else if (np < 3) {
            pos[np++] = a;
        } else {
            fprintf(stderr, "openfota delta apply: too many arguments (see --help)\n");
            return 2;
        }
    }
    if (np != 3) {
        fprintf(stderr, "openfota delta apply: needs OLD PATCH OUT (see --help)\n");
        return 2;
    }
    int rc = 1, created = 0;
    char tmp[4096];
    file_io f = {-1, -1};
    int pf = -1;
    void *ws = NULL;
    uint8_t hb[OFDELTA_HEADER_MAX], chunk[4096];
    ofdelta_header h;
    ofdelta_err e;
    struct stat sb;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", pos[2]) >= (int)sizeof tmp) {
        fprintf(stderr, "openfota delta apply: path too long\n");
        return 1;
    }
    if ((f.old_fd = open(pos[0], O_RDONLY)) < 0 || fstat(f.old_fd, &sb)) {
        fprintf(stderr, "openfota delta apply: cannot open %s: %s\n", pos[0], strerror(errno));
        goto out;
    }
    if ((pf = open(pos[1], O_RDONLY)) < 0) {
        fprintf(stderr, "openfota delta apply: cannot open %s: %s\n", pos[1], strerror(errno));
        goto out;
    }
    ssize_t got = read_full(pf, hb, sizeof hb);
    if (got < 0) {
        fprintf(stderr, "openfota delta apply: cannot read %s: %s\n", pos[1], strerror(errno));
        goto out;
    }
    size_t hn = (size_t)got;
    if ((e = ofdelta_header_parse(hb, hn, &h))) {
        fprintf(stderr, "openfota delta apply: %s: %s\n", pos[1], ofdelta_strerror(e));
        goto out;
    }
    if ((uint64_t)sb.st_size != h.old_size) {
        fprintf(stderr, "openfota delta apply: %s is %lld bytes, the patch was made for %u bytes: %s\n", pos[0],
                (long long)sb.st_size, h.old_size, ofdelta_strerror(OFDELTA_ERR_BASE_SIZE));
        goto out;
    }
    size_t need = ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size);
    if (ram && need > (size_t)ram) {
        fprintf(stderr, "openfota delta apply: patch needs %zu bytes of patcher workspace, more than --ram %ld: %s\n",
                need, ram, ofdelta_strerror(OFDELTA_ERR_WORKSPACE));
        goto out;
    }
    if (!(ws = malloc(need))) {
        fprintf(stderr, "openfota delta apply: out of memory\n");
        goto out;
    }
    if ((f.out_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        fprintf(stderr, "openfota delta apply: cannot create %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    created = 1;
    ofdelta_io io = {f_read, f_write, &f};
    ofdelta_patch *p;
    if ((e = ofdelta_patch_init(&p, ws, need, &io)) || (e = ofdelta_patch_feed(p, hb, hn)))
        goto fail;
    for (;;) {
        ssize_t n = read_full(pf, chunk, sizeof chunk);
        if (n < 0) {
            fprintf(stderr, "openfota delta apply: cannot read %s: %s\n", pos[1], strerror(errno));
            goto out;
        }
        if (n && (e = ofdelta_patch_feed(p, chunk, (size_t)n)))
            goto fail;
        if ((size_t)n < sizeof chunk)
            break;
    }
    if ((e = ofdelta_patch_finish(p)))
        goto fail;
    if (fsync(f.out_fd) || close(f.out_fd)) {
        f.out_fd = -1;
        fprintf(stderr, "openfota delta apply: cannot write %s: %s\n", tmp, strerror(errno));
        goto out;
    }
    f.out_fd = -1;
    if (rename(tmp, pos[2])) {
        fprintf(stderr, "openfota delta apply: cannot rename %s to %s: %s\n", tmp, pos[2], strerror(errno));
        goto out;
    }
    printf("wrote %s: %u bytes, SHA-256 verified\n", pos[2], h.new_size);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "openfota delta apply: %s\n", ofdelta_strerror(e));
out:
    if (f.out_fd >= 0)
        close(f.out_fd);
    if (rc && created)
        unlink(tmp); /* never leave a partial result behind */
    if (f.old_fd >= 0)
        close(f.old_fd);
    if (pf >= 0)
        close(pf);
    free(ws);
    return rc;
}

static void hex(const uint8_t *d)
{
    for (int i = 0; i < 32; i++)
        printf("%02x", d[i]);
    printf("\n");
}

static int cmd_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "openfota delta info: needs PATCH (see --help)\n");
        return 2;
    }
    uint8_t hb[OFDELTA_HEADER_MAX];
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "openfota delta info: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    size_t n = fread(hb, 1, sizeof hb, f);
    long long size = -1;
    if (!fseek(f, 0, SEEK_END))
        size = ftell(f);
    fclose(f);
    ofdelta_header h;
    ofdelta_err e = ofdelta_header_parse(hb, n, &h);
    if (e) {
        fprintf(stderr, "openfota delta info: %s: %s\n", argv[1], ofdelta_strerror(e));
        return 1;
    }
    printf("format version   %u\n", h.version);
    printf("old size         %u\n", h.old_size);
    printf("new size         %u\n", h.new_size);
    printf("old sha256       "), hex(h.old_sha256);
    printf("new sha256       "), hex(h.new_sha256);
    printf("window           %u\n", h.window);
    printf("lzma lc/lp/pb    %u/%u/%u\n", h.lc, h.lp, h.pb);
    printf("frame size       %u\n", h.frame_size);
    printf("records          %u\n", h.records);
    printf("streams          control %u, diff %u, extra %u bytes (before compression)\n", h.ctrl_len, h.diff_len,
           h.extra_len);
    printf("body             %u bytes compressed\n", h.body_len);
    printf("patch size       %llu bytes declared, %lld on disk\n", (unsigned long long)ofdelta_patch_size(&h),
           size);
    printf("patcher RAM      %zu bytes of workspace\n",
           ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size));
    if ((unsigned long long)size != ofdelta_patch_size(&h)) {
        fprintf(stderr, "openfota delta info: %s: file size does not match the header (%s)\n", argv[1],
                (unsigned long long)size < ofdelta_patch_size(&h) ? "truncated" : "trailing data");
        return 1;
    }
    return 0;
}

int delta_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "make"))
        return cmd_make(argc - 1, argv + 1);
    if (!strcmp(c, "apply"))
        return cmd_apply(argc - 1, argv + 1);
    if (!strcmp(c, "info"))
        return cmd_info(argc - 1, argv + 1);
    fprintf(stderr, "openfota delta: unknown subcommand '%s' (make, apply, info; see --help)\n", c);
    return 2;
}
