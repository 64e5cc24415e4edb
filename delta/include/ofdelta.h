/*
 * ofdelta.h — openfota delta engine: small binary patches between firmware
 * images, made on the host and applied on a device in a fixed few kilobytes.
 *
 * Two halves share this header:
 *
 *   Host side (delta/diff.c, delta/make.c; needs libdivsufsort and liblzma):
 *     ofdelta_make() turns OLD and NEW into a patch held in memory.
 *
 *   Patcher side (delta/patch.c, delta/lzma_dec.c, delta/sha256.c,
 *   delta/crc32.c; portable C, no heap, no libc beyond memcpy/memset):
 *     the caller hands over a fixed workspace and two callbacks — read the OLD
 *     image at any offset, write the NEW image strictly in order — and feeds
 *     the patch in chunks of any size: ofdelta_patch_init / _feed / _finish.
 *     The state can be saved into a buffer between feeds and restored after a
 *     power loss (ofdelta_patch_save / _restore), so an apply resumes where
 *     it stopped.
 *
 * The patch format is described in docs/delta-format.md.
 *
 * Safety contract of the patcher:
 *   - the header is checked (magic, version, CRC, every size bounded) before
 *     anything else;
 *   - the SHA-256 of OLD (read through the callback) is compared with the
 *     header before the first write;
 *   - the compressed body arrives in frames, each with a CRC-32 that is
 *     checked before a byte of the frame is decoded, so a damaged download
 *     is refused before it causes a wrong write;
 *   - every length and offset taken from the control data is bounded against
 *     the OLD and NEW sizes before use;
 *   - ofdelta_patch_finish() returns OFDELTA_OK only when all of NEW has been
 *     written and its SHA-256 equals the one in the header.
 */
#ifndef OPENFOTA_OFDELTA_H
#define OPENFOTA_OFDELTA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one error enum of the delta engine. */
typedef enum ofdelta_err {
    OFDELTA_OK = 0,
    OFDELTA_ERR_ARG,        /* a NULL pointer or impossible argument from the caller */
    OFDELTA_ERR_NOMEM,      /* host side: out of memory */
    OFDELTA_ERR_TOO_BIG,    /* an image is larger than OFDELTA_MAX_IMAGE */
    OFDELTA_ERR_MAGIC,      /* not an openfota delta patch */
    OFDELTA_ERR_VERSION,    /* patch format version this build does not know */
    OFDELTA_ERR_HEADER,     /* header damaged (CRC) or a header field out of bounds */
    OFDELTA_ERR_WORKSPACE,  /* the patch needs more workspace than the caller gave */
    OFDELTA_ERR_BASE_SIZE,  /* OLD has another size than the one the patch was made from */
    OFDELTA_ERR_BASE_HASH,  /* OLD has another SHA-256 than the one the patch was made from */
    OFDELTA_ERR_FRAME_CRC,  /* a frame of the patch body is damaged (CRC-32 mismatch) */
    OFDELTA_ERR_CORRUPT,    /* compressed body or control data invalid (length out of bounds...) */
    OFDELTA_ERR_TRUNCATED,  /* finish called before the whole patch arrived */
    OFDELTA_ERR_TRAILING,   /* more bytes fed than the patch declares */
    OFDELTA_ERR_RESULT_HASH,/* NEW was fully written but its SHA-256 does not match */
    OFDELTA_ERR_IO,         /* a read or write callback reported failure */
    OFDELTA_ERR_STATE,      /* call out of order (feed after an error or after finish...) */
    OFDELTA_ERR_SAVED,      /* saved state damaged, from another build, or too small a buffer */
    OFDELTA_ERR_LZMA,       /* host side: the LZMA encoder failed */
} ofdelta_err;

/* A short English sentence for an error: what was wrong and what to do. */
const char *ofdelta_strerror(ofdelta_err err);

/* ---------------------------------------------------------------- limits */

#define OFDELTA_MAX_IMAGE        0x40000000u /* 1 GiB: largest OLD or NEW */
#define OFDELTA_MIN_WINDOW       4096u       /* LZMA dictionary bounds */
#define OFDELTA_MAX_WINDOW       (64u << 20)
#define OFDELTA_DEFAULT_WINDOW   8192u       /* fits the 16 KiB default profile */
#define OFDELTA_MIN_FRAME        64u         /* body frame bounds (bytes of compressed data) */
#define OFDELTA_MAX_FRAME        65536u
#define OFDELTA_DEFAULT_FRAME    1024u
#define OFDELTA_HEADER_MAX       128u        /* longest header; see docs/delta-format.md */
#define OFDELTA_DEFAULT_WORKSPACE 16384u     /* workspace of the default profile (a default patch needs ~15.3 KiB) */

/* ---------------------------------------------------------------- header */

typedef struct ofdelta_header {
    uint8_t  version;        /* format version (1) */
    uint8_t  header_len;     /* bytes of this header in the patch */
    uint8_t  lc, lp, pb;     /* LZMA literal/position parameters of the body */
    uint32_t window;         /* LZMA dictionary size in bytes */
    uint32_t frame_size;     /* compressed bytes per CRC-protected frame */
    uint32_t old_size;       /* bytes of OLD */
    uint32_t new_size;       /* bytes of NEW */
    uint32_t records;        /* number of control records */
    uint32_t ctrl_len;       /* bytes of control data (varints) */
    uint32_t diff_len;       /* bytes of NEW coded as differences against OLD */
    uint32_t extra_len;      /* bytes of NEW carried as extra data */
    uint32_t body_len;       /* bytes of LZMA-compressed body (CRCs excluded) */
    uint32_t payload_len;    /* bytes the body decompresses to */
    uint8_t  old_sha256[32]; /* SHA-256 of OLD */
    uint8_t  new_sha256[32]; /* SHA-256 of NEW */
} ofdelta_header;

/* Parses and bounds-checks the header at the start of a patch (buf holds the
 * first len bytes; OFDELTA_ERR_TRUNCATED when the header is longer). buf is
 * only read (caller owns it); h is filled on success. */
ofdelta_err ofdelta_header_parse(const uint8_t *buf, size_t len, ofdelta_header *h);

/* Total size of the patch file that h describes (header + body + frame CRCs). */
uint64_t ofdelta_patch_size(const ofdelta_header *h);

/* ---------------------------------------------------------------- device I/O */

/* Callbacks of the patcher. Each returns 0 on success, anything else is
 * reported as OFDELTA_ERR_IO and stops the apply. Buffers passed to them are
 * owned by the patcher and valid only during the call. */
typedef struct ofdelta_io {
    /* read len bytes of OLD at offset off into buf; off + len <= old_size */
    int (*read_old)(void *ctx, uint32_t off, uint8_t *buf, size_t len);
    /* write len bytes of NEW at offset off; calls come in increasing,
     * contiguous order, except that after ofdelta_patch_restore the bytes
     * after the saved point are written again */
    int (*write_new)(void *ctx, uint32_t off, const uint8_t *buf, size_t len);
    void *ctx;               /* passed back to both callbacks, owned by the caller */
} ofdelta_io;

/* Computes SHA-256 of the first h->old_size bytes of OLD through
 * io->read_old and compares with h->old_sha256. The patcher does the same
 * check itself before its first write; this call lets a device check the
 * base before it starts a download. Uses ~200 bytes of stack. */
ofdelta_err ofdelta_check_base(const ofdelta_header *h, const ofdelta_io *io);

/* ---------------------------------------------------------------- patcher */

typedef struct ofdelta_patch ofdelta_patch; /* lives inside the caller's workspace */

/* Bytes of workspace needed to apply a patch with this window and lc+lp and
 * frame size. A default patch (ofdelta_make with default options) needs at
 * most OFDELTA_DEFAULT_WORKSPACE. */
size_t ofdelta_patch_workspace_size(uint32_t window, unsigned lc, unsigned lp, uint32_t frame_size);

/* Largest window whose patches fit a workspace of ws_size bytes with this
 * lc/lp and frame size (for making patches for a device with a known RAM
 * budget); 0 if even OFDELTA_MIN_WINDOW does not fit. Computed with this
 * build's state size: on a 64-bit host it is a few bytes conservative for a
 * 32-bit device. */
uint32_t ofdelta_window_for_workspace(size_t ws_size, unsigned lc, unsigned lp, uint32_t frame_size);

/* Starts an apply. ws is the caller's workspace (any alignment; it stays owned
 * by the caller and must live until the apply is over); *out points into it.
 * io is copied. If the patch needs more workspace than ws_size, feed returns
 * OFDELTA_ERR_WORKSPACE once the header has arrived. */
ofdelta_err ofdelta_patch_init(ofdelta_patch **out, void *ws, size_t ws_size, const ofdelta_io *io);

/* Feeds the next len bytes of the patch (any len, including 0 and 1). Bytes
 * are copied; data stays owned by the caller. On the first error the patcher
 * stops for good and every later call returns OFDELTA_ERR_STATE. */
ofdelta_err ofdelta_patch_feed(ofdelta_patch *p, const uint8_t *data, size_t len);

/* Declares the end of the patch. OFDELTA_OK only when NEW is complete,
 * flushed through write_new, and its SHA-256 matched the header. */
ofdelta_err ofdelta_patch_finish(ofdelta_patch *p);

/* The header once it has arrived (NULL before). Points into the workspace. */
const ofdelta_header *ofdelta_patch_header(const ofdelta_patch *p);

/* Patch bytes accepted so far: after a restore, feed the patch from here. */
uint64_t ofdelta_patch_consumed(const ofdelta_patch *p);

/* NEW bytes handed to write_new so far. */
uint32_t ofdelta_patch_written(const ofdelta_patch *p);

/* Bytes ofdelta_patch_save needs for the current state: the used workspace
 * plus 16 (about 15.3 KiB in the default profile). */
size_t ofdelta_patch_save_size(const ofdelta_patch *p);

/* Flushes pending output through write_new, then copies the whole state into
 * buf (caller owns it, cap bytes). *len gets the bytes used. Once the
 * writes done so far are durable, storing buf is enough to resume. */
ofdelta_err ofdelta_patch_save(ofdelta_patch *p, uint8_t *buf, size_t cap, size_t *len);

/* Rebuilds a patcher from a saved state into workspace ws (same rules as
 * init; ws_size must be at least what the saved patch needs). The caller then
 * feeds the patch from byte ofdelta_patch_consumed(). */
ofdelta_err ofdelta_patch_restore(ofdelta_patch **out, void *ws, size_t ws_size, const ofdelta_io *io,
                                  const uint8_t *buf, size_t len);

/* ---------------------------------------------------------------- host side */

typedef struct ofdelta_make_opts {
    uint32_t window;      /* LZMA dictionary, 0 = OFDELTA_DEFAULT_WINDOW */
    uint32_t frame_size;  /* 0 = OFDELTA_DEFAULT_FRAME */
    int lc, lp, pb;       /* -1 = default (0, 0, 0: the decoder fits the 16 KiB profile) */
} ofdelta_make_opts;

typedef struct ofdelta_make_stats {
    uint32_t records;     /* control records */
    uint32_t diff_bytes;  /* bytes of NEW coded as differences against OLD */
    uint32_t extra_bytes; /* bytes of NEW coded as fresh data */
    size_t   patch_size;  /* bytes of the patch */
    size_t   workspace;   /* patcher workspace this patch needs */
    int      full_image;  /* 1: no delta was smaller than NEW alone, so the patch
                           * carries NEW compressed; ship the full image instead */
} ofdelta_make_stats;

/* Makes a patch from old (old_len bytes) to new (new_len bytes). On success
 * *patch is a malloc'd buffer of *patch_len bytes that the caller frees with
 * free(). opts and stats may be NULL. Inputs are only read. No global state:
 * calls may run in parallel threads. CPU-bound (about 0.3 s per MB of NEW)
 * and needs about 8 bytes of memory per byte of NEW: run it off any request
 * path. If stats->full_image is set, ship the full image instead. */
ofdelta_err ofdelta_make(const uint8_t *old, size_t old_len, const uint8_t *new_img, size_t new_len,
                         const ofdelta_make_opts *opts, uint8_t **patch, size_t *patch_len,
                         ofdelta_make_stats *stats);

/* Host helper: applies a whole patch held in memory. *out is malloc'd (caller
 * frees). Uses the streaming patcher with a heap workspace. */
ofdelta_err ofdelta_apply_mem(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                              uint8_t **out, size_t *out_len);

/* openfota delta make|apply|info (argv[0] == "delta"). */
int delta_cli_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
