/* diff.h — host-side match finder (diff.c), used by make.c. */
#ifndef OPENFOTA_DELTA_DIFF_H
#define OPENFOTA_DELTA_DIFF_H

#include <stddef.h>
#include <stdint.h>

typedef struct delta_rec {
    uint32_t new_pos;   /* where the record starts in NEW */
    uint32_t old_pos;   /* where its diff part reads OLD */
    uint32_t diff_len;  /* bytes coded as NEW - OLD */
    uint32_t extra_len; /* bytes copied from the patch */
    int64_t seek;       /* move of the OLD position after the diff part */
} delta_rec;

typedef struct delta_recs {
    delta_rec *v; /* malloc'd, owned by the struct; free(v) */
    size_t n, cap;
} delta_recs;

/* Fills out with the records turning old into nw. 0 or -1 (out of memory). */
int delta_diff(const uint8_t *old, uint32_t olen, const uint8_t *nw, uint32_t nlen, delta_recs *out);

#endif
