/*
 * range.h — the HTTP Range header (single byte range) and If-Range.
 *
 * Policy (docs/api.md, "Ranges"):
 *  - Not "bytes=..." (other unit or absent): ignored, full 200.
 *  - One range: 206 with Content-Range, or 416 with "bytes * /SIZE" when it
 *    cannot be satisfied: start >= size, start > end, "bytes=-0", an empty
 *    file, any malformed spec, any number that does not fit in 63 bits.
 *    end >= size is clamped to size-1; a suffix longer than the file means
 *    the whole file (as nginx after CVE-2017-7529).
 *  - Two or more ranges (well-formed): ignored, full 200 (no multipart, no
 *    amplification, Apache CVE-2011-3192).
 *  - If-Range not equal to the current strong ETag: ignored, full 200.
 * The header is bounded: more than RANGE_HEADER_MAX bytes is unsatisfiable.
 */
#ifndef OPENFOTA_SERVER_RANGE_H
#define OPENFOTA_SERVER_RANGE_H

#include <stddef.h>
#include <stdint.h>

#define RANGE_HEADER_MAX 1024

typedef enum range_result {
    RANGE_NONE = 0,      /* serve the whole file with 200 */
    RANGE_PARTIAL,       /* serve [start, start+len) with 206 */
    RANGE_UNSATISFIABLE, /* answer 416 with Content-Range: bytes * /size */
} range_result;

/* hdr: the Range header value (NUL-terminated) or NULL. size: file size. */
range_result range_parse(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len);

/* Whole decision including If-Range: if_range (or NULL) is compared with etag
 * (the quoted strong ETag of the file); on mismatch the Range is ignored. */
range_result range_decide(const char *range, const char *if_range, const char *etag, uint64_t size,
                          uint64_t *start, uint64_t *len);

#endif
