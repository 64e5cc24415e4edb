/*
 * ofpkg.h — package formats of openfota.
 *
 * Two formats live here:
 *
 *  1. The LuatOS module upgrade ".bin" (92-byte header, CommonData, SDKData),
 *     validated before any device sees it (luatbin_*). See docs/luat-bin.md.
 *
 *  2. The openfota signed package (manifest, payload, ECDSA P-256 signature),
 *     made on the host and verified by the device library (ofpkg_*).
 *     See docs/package-format.md.
 *
 * Conventions
 *  - Every function returns an ofpkg_err; OFPKG_OK (0) is success.
 *  - Functions taking (char *msg, size_t msglen) write a NUL-terminated,
 *    human-readable reason there on failure (what was wrong, what to do).
 *    msg may be NULL (then msglen is ignored). On success msg is left as "".
 *  - Input buffers are borrowed for the duration of the call only; nothing
 *    keeps a pointer into caller memory after it returns unless stated.
 *  - Output structs are owned by the caller.
 */
#ifndef OPENFOTA_OFPKG_H
#define OPENFOTA_OFPKG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one error enum of the of_pkg library. */
typedef enum ofpkg_err {
    OFPKG_OK = 0,
    OFPKG_ERR_ARG,          /* invalid argument (NULL pointer, bad option) */
    OFPKG_ERR_IO,           /* reading or writing a file failed */
    OFPKG_ERR_NOMEM,        /* out of memory */
    OFPKG_ERR_TRUNCATED,    /* input shorter than its format requires */
    OFPKG_ERR_MAGIC,        /* unknown magic number */
    OFPKG_ERR_CRC,          /* header CRC does not match */
    OFPKG_ERR_LENGTH,       /* lengths in the header do not add up to the file */
    OFPKG_ERR_MD5,          /* an MD5 in the header does not match its data */
    OFPKG_ERR_FIELD,        /* a header/manifest field holds an impossible value */
    OFPKG_ERR_VERSION,      /* versions in the file contradict the declared ones */
    OFPKG_ERR_FORMAT,       /* malformed structure (manifest, key, signature) */
    OFPKG_ERR_UNSUPPORTED,  /* a format version or option this build does not know */
    OFPKG_ERR_HASH,         /* a SHA-256 does not match its data */
    OFPKG_ERR_SIGNATURE,    /* signature does not verify (bad, or another key) */
    OFPKG_ERR_KEY,          /* key file missing, unreadable or of the wrong type */
    OFPKG_ERR_CRYPTO,       /* the crypto library failed unexpectedly */
    OFPKG_ERR_FAMILY,       /* package for another firmware family or layout suffix */
    OFPKG_ERR_HWID,         /* package for another hardware id */
    OFPKG_ERR_ROLLBACK,     /* release counter lower than the installed one */
    OFPKG_ERR_BASE,         /* delta made for another base image */
    OFPKG_ERR_TOO_BIG,      /* payload or image larger than the slot / a limit */
    OFPKG_ERR_STATE         /* API called in the wrong order */
} ofpkg_err;

/* Static English text for an error code; never NULL. */
const char *ofpkg_strerror(ofpkg_err err);

/* ======================================================================
 * LuatOS module upgrade .bin
 * ====================================================================== */

#define LUATBIN_HEADER_LEN 92u
#define LUATBIN_MAGIC_EC7XX 0xEAC37218u  /* Air780EH* / Air8000 family */
#define LUATBIN_MAGIC_EC618 0xEAF18C16u  /* older Air780E script packages */
/* Upper bound for CommonDataLen and SDKDataLen each: modules have at most a
 * few MiB of flash, so anything larger is a corrupt header. */
#define LUATBIN_MAX_PART_LEN (64u * 1024u * 1024u)

/* Decoded header plus what the full check learned. */
typedef struct luatbin_info {
    uint32_t magic, crc, main_version[5], app_version, std_version[5], common_len, sdk_len;
    uint8_t common_md5[16], sdk_md5[16];
    uint64_t file_size;   /* bytes seen by the full check (0 after header-only parse) */
    int script_only;      /* 1 when sdk_len == 0 */
} luatbin_info;

/* 1 if head (len bytes, may be short) starts with a known Luat magic
 * (little-endian 0xEAC37218 or 0xEAF18C16), else 0. */
int luatbin_sniff(const uint8_t *head, size_t len);

/* Parse and check the 92-byte header at buf (len >= 92; bytes after 92 are
 * ignored): magic, header CRC (zip CRC-32 of bytes 8..91, initial value
 * 0xFFFFFFFF, no final XOR), lengths within LUATBIN_MAX_PART_LEN and not both
 * zero, SDKMD5 all zero when SDKDataLen is 0. Fills *info (file_size = 0). */
ofpkg_err luatbin_parse_header(const uint8_t *buf, size_t len, luatbin_info *info, char *msg,
                               size_t msglen);

/* Full check of an open file from its start (the fd is read from offset 0
 * when it is seekable, otherwise from its current position to EOF): header,
 * 92 + CommonDataLen + SDKDataLen == file size, CommonMD5 and SDKMD5.
 * Streams in fixed 64 KiB chunks. The fd stays open and owned by the caller. */
ofpkg_err luatbin_check_fd(int fd, luatbin_info *info, char *msg, size_t msglen);

/* Same full check on a whole file held in memory. */
ofpkg_err luatbin_check_buf(const uint8_t *buf, size_t len, luatbin_info *info, char *msg,
                            size_t msglen);

/* Streaming form of the full check, for data arriving in pieces (an upload).
 * new → feed (the file's bytes in order, any chunk sizes) → finish → free.
 * The checker owns its state; free it with luatbin_checker_free (NULL ok). */
typedef struct luatbin_checker luatbin_checker;
ofpkg_err luatbin_checker_new(luatbin_checker **out);
ofpkg_err luatbin_checker_feed(luatbin_checker *c, const uint8_t *data, size_t len, char *msg,
                               size_t msglen);
ofpkg_err luatbin_checker_finish(luatbin_checker *c, luatbin_info *info, char *msg, size_t msglen);
void luatbin_checker_free(luatbin_checker *c);

/* How a 5-word version field of the header is read (see docs/luat-bin.md).
 * Returns 1 and sets *core when the field states a core version, 0 when it
 * states nothing (all zero, or holds something that is not a plausible
 * version, such as an MD5). */
int luatbin_version_core(const uint32_t v[5], unsigned *core);

/* Encoder used by the builder (inverse of luatbin_version_core): the core
 * number goes to word 4, words 0..3 (an MD5 slot in the vendor's tool) stay 0. */
void luatbin_encode_core(unsigned core, uint32_t out[5]);

/* Compare the header's versions with what the operator declared for the
 * package (version CORE.X.Z, base core or -1 for none):
 *  - MainVersion (target core), where it states one, must equal core;
 *  - STDVersion (base core), where it states one, must equal base_core for a
 *    package with a core part, or core for a script-only package;
 *  - a core part (SDKDataLen > 0) needs a declared base core, and a
 *    script-only package must not declare a base core other than its core.
 * A declared 0 means "not stated" and is accepted, and so are header fields
 * that state nothing. AppVersion is not compared: its encoding is not
 * established (docs/luat-bin.md); script_x/script_z are accepted for when it is. */
ofpkg_err luatbin_check_declared(const luatbin_info *info, unsigned core, unsigned script_x,
                                 unsigned script_z, int base_core, char *msg, size_t msglen);

/* Options of luatbin_build; zero-initialise and set what you need. */
typedef struct luatbin_build_opts {
    uint32_t magic;            /* 0 → LUATBIN_MAGIC_EC7XX */
    uint32_t main_version[5];  /* raw header words (see luatbin_encode_core) */
    uint32_t app_version;
    uint32_t std_version[5];
} luatbin_build_opts;

/* Build a valid upgrade .bin from CommonData (the script image) and optional
 * SDKData (sdk may be NULL when sdk_len is 0). opts may be NULL (defaults).
 * On success *out is a malloc'ed buffer of *out_len bytes owned by the
 * caller (free()). Used by tests so they need no vendor files. */
ofpkg_err luatbin_build(const luatbin_build_opts *opts, const uint8_t *common, size_t common_len,
                        const uint8_t *sdk, size_t sdk_len, uint8_t **out, size_t *out_len);

/* CRC used by the header (exposed for tests and tools). */
uint32_t luatbin_header_crc(const uint8_t *hdr92);

#ifdef __cplusplus
}
#endif

#endif /* OPENFOTA_OFPKG_H */
