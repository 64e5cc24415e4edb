/* apply_min.c — the patcher alone, as a device runs it, for measuring its
 * heap with valgrind massif: one malloc of exactly the workspace the patch
 * needs, OLD read with pread, NEW written with pwrite, the patch fed in
 * 512-byte pieces from a stack buffer. Built by bench/delta/run.sh.
 * usage: apply_min OLD PATCH OUT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ofdelta.h"

static int rd(void *ctx, uint32_t off, uint8_t *b, size_t len)
{
    return pread(*(int *)ctx, b, len, off) == (ssize_t)len ? 0 : -1;
}

static int wr(void *ctx, uint32_t off, const uint8_t *b, size_t len)
{
    return pwrite(((int *)ctx)[1], b, len, off) == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int fds[2] = {open(argv[1], O_RDONLY), open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644)};
    int pf = open(argv[2], O_RDONLY);
    uint8_t buf[512];
    ofdelta_header h;
    ssize_t n = pread(pf, buf, OFDELTA_HEADER_MAX, 0);
    if (fds[0] < 0 || fds[1] < 0 || n < 0 || ofdelta_header_parse(buf, (size_t)n, &h))
        return 1;
    size_t need = ofdelta_patch_workspace_size(h.window, h.lc, h.lp, h.frame_size);
    void *ws = malloc(need);
    ofdelta_io io = {rd, wr, fds};
    ofdelta_patch *p;
    ofdelta_err e = ofdelta_patch_init(&p, ws, need, &io);
    while (!e && (n = read(pf, buf, sizeof buf)) > 0)
        e = ofdelta_patch_feed(p, buf, (size_t)n);
    if (!e)
        e = ofdelta_patch_finish(p);
    free(ws);
    if (e)
        fprintf(stderr, "apply_min: %s\n", ofdelta_strerror(e));
    return e ? 1 : 0;
}
