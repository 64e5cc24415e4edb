/*
 * pkg_internal.h — helpers shared by the of_pkg sources (not installed).
 */
#ifndef OPENFOTA_PKG_INTERNAL_H
#define OPENFOTA_PKG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ofpkg.h"

#if defined(__GNUC__) || defined(__clang__)
#define PKG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PKG_PRINTF(a, b)
#endif

/* Write a formatted reason into msg (NULL-safe, always NUL-terminated) and
 * return err, so validators can `return pkg__fail(msg, n, ERR, "...")`. */
ofpkg_err pkg__fail(char *msg, size_t msglen, ofpkg_err err, const char *fmt, ...) PKG_PRINTF(4, 5);
/* Clear msg to "" (NULL-safe). */
void pkg__clear(char *msg, size_t msglen);

/* Device builds short of flash may define OFPKG_NO_MESSAGES: every refusal
 * keeps its error code but msg stays "", and the message texts (most of the
 * code size of manifest.c and policy.c) are not compiled in. */
#ifdef OFPKG_NO_MESSAGES
#define pkg__fail(msg, msglen, err, ...) (pkg__clear((msg), (msglen)), (err))
#endif

static inline uint32_t pkg__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t pkg__le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint64_t pkg__le64(const uint8_t *p)
{
    return (uint64_t)pkg__le32(p) | (uint64_t)pkg__le32(p + 4) << 32;
}
static inline void pkg__put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void pkg__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void pkg__put64(uint8_t *p, uint64_t v)
{
    pkg__put32(p, (uint32_t)v);
    pkg__put32(p + 4, (uint32_t)(v >> 32));
}

#endif
