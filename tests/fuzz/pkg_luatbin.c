/*
 * pkg_luatbin.c — libFuzzer target: the Luat .bin header parser, the full
 * check on a buffer, and the streaming checker fed in input-chosen chunks;
 * the three must agree and never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ofpkg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    luatbin_info info;
    char msg[256];
    ofpkg_err h = luatbin_parse_header(data, size, &info, msg, sizeof msg);
    if (msg[0] == '\0' && h)
        abort(); /* every refusal must say why */
    (void)luatbin_sniff(data, size);

    ofpkg_err full = luatbin_check_buf(data, size, &info, msg, sizeof msg);
    if (full == OFPKG_OK) {
        if (h || info.file_size != size)
            abort();
        (void)luatbin_check_declared(&info, 2012, 1, 1, size & 1 ? 2011 : -1, msg, sizeof msg);
    } else if (msg[0] == '\0') {
        abort();
    }

    /* streaming with chunk sizes taken from the first byte */
    luatbin_checker *c;
    if (luatbin_checker_new(&c))
        return 0;
    size_t step = size ? (size_t)data[0] % 97 + 1 : 1;
    ofpkg_err s = OFPKG_OK;
    for (size_t off = 0; off < size && !s; off += step)
        s = luatbin_checker_feed(c, data + off, size - off < step ? size - off : step, NULL, 0);
    ofpkg_err f = luatbin_checker_finish(c, NULL, NULL, 0);
    if (!s)
        s = f;
    luatbin_checker_free(c);
    if (s != full)
        abort();
    return 0;
}
