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

/* 1 when a firmware_name is one a LuatOS module's libfota2 builds
 * (<PROJECT>_LuatOS-SoC_<model>): such a module installs only Luat upgrade
 * .bin packages, so the server takes other files for it only when told
 * (raw), and the simulator refuses them as the module does. name is
 * NUL-terminated; NULL gives 0. */
int luatbin_firmware_name(const char *name);

/* 1 if head (len bytes, may be short) starts with a known Luat magic
 * (little-endian 0xEAC37218 or 0xEAF18C16), else 0. */
int luatbin_sniff(const uint8_t *head, size_t len);

/* Parse and check the 92-byte header at buf (len >= 92; bytes after 92 are
 * ignored): magic, header CRC (zip CRC-32 of bytes 8..91, initial value
 * 0xFFFFFFFF, no final XOR), lengths within LUATBIN_MAX_PART_LEN and not both
 * zero, SDKMD5 all zero when SDKDataLen is 0 (CommonMD5 likewise when
 * CommonDataLen is 0). Fills *info (file_size = 0). */
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
 * package (version CORE.X.Z; base_core -1 or 0 for none):
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

/* ======================================================================
 * openfota signed package (docs/package-format.md)
 *
 *   [header 16][manifest 256][payload: payload_len bytes][signature block]
 *
 * The signature (ECDSA P-256, SHA-256, DER as MCUboot stores it) covers
 * SHA-256(header || manifest). The manifest carries the payload's length
 * and SHA-256, so the payload is covered too. Everything here is portable C
 * with no heap and no crypto: it builds for Cortex-M in the device library.
 * ====================================================================== */

#define OFPKG_MAGIC 0x4B50464Fu         /* bytes "OFPK" */
#define OFPKG_SIG_MAGIC 0x4753464Fu     /* bytes "OFSG" */
#define OFPKG_FORMAT_VERSION 1u
#define OFPKG_HEADER_LEN 16u
#define OFPKG_MANIFEST_LEN 256u
#define OFPKG_SIGNED_LEN (OFPKG_HEADER_LEN + OFPKG_MANIFEST_LEN) /* 272: the signed part */
#define OFPKG_SIGBLOCK_HDR 8u
#define OFPKG_SIG_MAX 72u               /* DER ECDSA P-256 signature, at most */
#define OFPKG_SIG_MIN 8u
#define OFPKG_SIGALG_ECDSA_P256_SHA256 1u
#define OFPKG_MAX_IMAGE (1024ull * 1024ull * 1024ull) /* 1 GiB: payload/base/result bound */
#define OFPKG_FAMILY_MAX 32u            /* field sizes in bytes (NUL padded, not terminated) */
#define OFPKG_SUFFIX_MAX 16u
#define OFPKG_HWID_MAX 32u
#define OFPKG_KEY_ID_LEN 8u

typedef enum ofpkg_kind { OFPKG_KIND_FULL = 1, OFPKG_KIND_DELTA = 2 } ofpkg_kind;

/* CORE.X.Z; all zero = none (e.g. the base of a full package). */
typedef struct ofpkg_version {
    uint32_t core;
    uint16_t x, z;
} ofpkg_version;

/* The decoded manifest. Strings are NUL-terminated copies (the caller owns
 * the struct; no pointers into the input are kept). */
typedef struct ofpkg_manifest {
    uint16_t format_version;             /* OFPKG_FORMAT_VERSION */
    char family[OFPKG_FAMILY_MAX + 1];   /* firmware family, required */
    char suffix[OFPKG_SUFFIX_MAX + 1];   /* layout suffix, may be empty */
    char hw_id[OFPKG_HWID_MAX + 1];      /* hardware id, required */
    ofpkg_version target;                /* version after install, required */
    ofpkg_version base;                  /* delta: version it applies to; full: zero */
    uint64_t counter;                    /* monotonic release counter, >= 1 */
    uint8_t kind;                        /* ofpkg_kind */
    uint32_t delta_window;               /* delta: patch window in bytes (0 = not stated); full: 0 */
    uint64_t payload_len;                /* bytes of payload */
    uint64_t result_len;                 /* bytes of the image after install */
    uint64_t base_len;                   /* delta: bytes of the base image; full: 0 */
    uint8_t payload_sha256[32];
    uint8_t base_sha256[32];             /* delta: SHA-256 of the base image; full: zero */
    uint8_t result_sha256[32];           /* SHA-256 of the image after install */
    uint8_t key_id[OFPKG_KEY_ID_LEN];    /* first 8 bytes of SHA-256(signer's SubjectPublicKeyInfo DER) */
} ofpkg_manifest;

/* Parse and check the signed part (header + manifest, the first
 * OFPKG_SIGNED_LEN bytes of buf; more bytes are ignored). Checks magic,
 * format version, lengths, strings (printable ASCII, NUL padded), reserved
 * bytes zero, kind-specific rules and bounds. Does not check the signature. */
ofpkg_err ofpkg_manifest_parse(const uint8_t *buf, size_t len, ofpkg_manifest *m, char *msg,
                               size_t msglen);

/* Check *m by the same rules and write the signed part (OFPKG_SIGNED_LEN
 * bytes) to out. */
ofpkg_err ofpkg_manifest_serialize(const ofpkg_manifest *m, uint8_t out[OFPKG_SIGNED_LEN],
                                   char *msg, size_t msglen);

/* Parse a signature block at buf (len bytes available, must be exactly the
 * block): *sig points into buf (borrowed), *siglen its length. */
ofpkg_err ofpkg_sigblock_parse(const uint8_t *buf, size_t len, const uint8_t **sig, size_t *siglen,
                               char *msg, size_t msglen);

/* Split a whole package held in memory: manifest, payload and signature.
 * *payload and *sig point into buf (borrowed). The total length must be
 * exactly header + manifest + payload_len + signature block. */
ofpkg_err ofpkg_package_parse(const uint8_t *buf, size_t len, ofpkg_manifest *m,
                              const uint8_t **payload, const uint8_t **sig, size_t *siglen,
                              char *msg, size_t msglen);

/* What the device knows about itself, for ofpkg_check_install. Pointers are
 * borrowed for the call. */
typedef struct ofpkg_device_state {
    const char *family;              /* firmware family of this device */
    const char *suffix;              /* its layout suffix ("" or NULL for none) */
    const char *hw_id;               /* its hardware id */
    uint64_t counter;                /* release counter of the installed image */
    uint64_t slot_size;              /* bytes of the slot the payload/new image goes to */
    const uint8_t *installed_sha256; /* SHA-256 of the running image (NULL: unknown → deltas refused) */
    uint64_t installed_len;          /* its length (0: unknown, not compared) */
} ofpkg_device_state;

/* The install policy, on a manifest whose signature has been (or will be)
 * verified: refuses another family or layout suffix (FAMILY), another
 * hardware id (HWID), a counter lower than the installed one (ROLLBACK; an
 * equal counter is a reinstall and allowed), a delta for another base image
 * (BASE), a payload or result image larger than the slot (TOO_BIG). */
ofpkg_err ofpkg_check_install(const ofpkg_manifest *m, const ofpkg_device_state *dev, char *msg,
                              size_t msglen);

/* Printable forms. hex: 2*n+1 bytes. */
void ofpkg_hex(const uint8_t *d, size_t n, char *out);
const char *ofpkg_kind_name(uint8_t kind); /* "full", "delta" or "unknown" */

/* ---------------------------------------------------------------------
 * Device-side verification (pkg/verify_mbedtls.c, mbedTLS). The streaming
 * verifier lives in ofpkg_verify.h because its state embeds mbedTLS types.
 * Keys are an EC P-256 SubjectPublicKeyInfo in DER or PEM.
 * --------------------------------------------------------------------- */

/* Verify a DER ECDSA P-256 signature over a 32-byte SHA-256 hash. */
ofpkg_err ofpkg_verify(const uint8_t *pubkey_der_or_pem, size_t keylen,
                       const uint8_t signed_part_hash32[32], const uint8_t *sig, size_t siglen,
                       char *msg, size_t msglen);

/* Key id of a public key: first 8 bytes of SHA-256 of its DER
 * SubjectPublicKeyInfo. */
ofpkg_err ofpkg_key_id(const uint8_t *pubkey_der_or_pem, size_t keylen,
                       uint8_t out[OFPKG_KEY_ID_LEN], char *msg, size_t msglen);

/* SHA-256 of the signed part (header + manifest) as the signature covers it. */
ofpkg_err ofpkg_signed_hash(const uint8_t signed_part[OFPKG_SIGNED_LEN], uint8_t out[32]);

/* Whole package in memory: parse, check the key id, the signature and the
 * payload SHA-256. *m is filled when the manifest parses. */
ofpkg_err ofpkg_verify_package(const uint8_t *buf, size_t len, const uint8_t *pubkey,
                               size_t keylen, ofpkg_manifest *m, char *msg, size_t msglen);

/* ---------------------------------------------------------------------
 * Host-side signing (pkg/sign_openssl.c, OpenSSL libcrypto).
 * --------------------------------------------------------------------- */

typedef struct ofpkg_signer ofpkg_signer; /* opaque; owns an EVP_PKEY */

/* Write a new ECDSA P-256 private key (PKCS#8 PEM, mode 0600) to priv_path
 * and its public key (SubjectPublicKeyInfo PEM) to pub_path. Refuses to
 * overwrite an existing private key file. */
ofpkg_err ofpkg_keygen(const char *priv_path, const char *pub_path, char *msg, size_t msglen);

/* Load a P-256 private key (PEM). Free with ofpkg_signer_free (NULL ok). */
ofpkg_err ofpkg_signer_load(const char *priv_pem_path, ofpkg_signer **out, char *msg,
                            size_t msglen);
void ofpkg_signer_free(ofpkg_signer *s);
void ofpkg_signer_key_id(const ofpkg_signer *s, uint8_t out[OFPKG_KEY_ID_LEN]);

/* Sign a 32-byte hash; sig receives at most OFPKG_SIG_MAX bytes of DER. */
ofpkg_err ofpkg_signer_sign(ofpkg_signer *s, const uint8_t hash32[32], uint8_t *sig,
                            size_t *siglen, char *msg, size_t msglen);

/* Build a signed package in memory. m is the manifest without its payload
 * fields: payload_len, payload_sha256 and key_id are filled here (m is
 * updated). *out is malloc'ed (caller frees). */
ofpkg_err ofpkg_sign_package(ofpkg_signer *s, ofpkg_manifest *m, const uint8_t *payload,
                             size_t payload_len, uint8_t **out, size_t *out_len, char *msg,
                             size_t msglen);

/* Same, streaming from payload_path to out_path (written through a temp
 * file and renamed, so a failure leaves no partial package). */
ofpkg_err ofpkg_sign_file(ofpkg_signer *s, ofpkg_manifest *m, const char *payload_path,
                          const char *out_path, char *msg, size_t msglen);

/* SHA-256 and length of a file (host helper for base/result hashes). */
ofpkg_err ofpkg_sha256_file(const char *path, uint8_t out[32], uint64_t *len, char *msg,
                            size_t msglen);

#ifdef __cplusplus
}
#endif

#endif /* OPENFOTA_OFPKG_H */
