/*
 * fota.h — openfota device library (of_device).
 *
 * Two faces:
 *
 *  1. libfota2 behaviour, for devices that already speak it: fota_request()
 *     sends exactly the request a LuatOS libfota2 module sends for the same
 *     options (URL with the "###" rule and parameter appending, Host with
 *     port, Connection: Close, Basic auth from user:pw@, method/headers/body)
 *     and reports the same result codes 0–5 with the same meanings.
 *
 *  2. Extended (agent) mode for devices we control: fota_download() resumes a
 *     cut download (Range + If-Range with the saved ETag), computes MD5 and
 *     SHA-256 while streaming, caps the length, enforces an overall deadline
 *     and a per-read timeout, writes to the inactive slot; fota_activate(),
 *     fota_boot_select() and fota_confirm() then switch slots with automatic
 *     rollback when a new image is never confirmed.
 *
 * Porting is through three small vtables (transport, storage, system). The
 * core library uses no libc I/O, no malloc and no threads; the POSIX and
 * mbedTLS ports live in separate files (device/port/) and are declared in
 * fota_port_posix.h.
 *
 * Ownership: unless a comment says otherwise, every pointer passed in is
 * borrowed for the duration of the call only; the library keeps none of them
 * after the call returns and never frees caller memory. Strings are
 * NUL-terminated UTF-8/ASCII.
 *
 * Errors: library functions return 0 (FOTA_OK) or a negative fota_err.
 * libfota2 result codes (0–5) are a separate, positive space: fota_result.
 */
#ifndef OPENFOTA_FOTA_H
#define OPENFOTA_FOTA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors and result codes                                             */
/* ------------------------------------------------------------------ */

/* The one error enum of the library. All values are <= 0. */
typedef enum fota_err {
  FOTA_OK = 0,
  FOTA_ERR_INVAL = -1,          /* a required argument is NULL or out of range */
  FOTA_ERR_TOOBIG = -2,         /* an output buffer is too small / a bounded field overflowed */
  FOTA_ERR_URL = -3,            /* URL not http:// or https://, bad host or port, CR/LF in it */
  FOTA_ERR_NO_PROJECT_KEY = -4, /* no project_key and the URL does not start with ### */
  FOTA_ERR_VERSION = -5,        /* version missing or not "X.Y.Z" digits */
  FOTA_ERR_NO_IDENTITY = -6,    /* cellular/Wi-Fi model without imei/mac */
  FOTA_ERR_CONNECT = -7,        /* DNS failure, connection refused, unreachable */
  FOTA_ERR_TLS = -8,            /* TLS handshake or certificate failure */
  FOTA_ERR_TIMEOUT = -9,        /* per-read timeout or overall deadline passed */
  FOTA_ERR_CLOSED_HEADERS = -10,/* peer closed before or inside the response headers */
  FOTA_ERR_CLOSED_BODY = -11,   /* peer closed before the announced body was complete */
  FOTA_ERR_IO = -12,            /* send/recv error other than a timeout */
  FOTA_ERR_PROTOCOL = -13,      /* malformed HTTP response (status line, header, chunk) */
  FOTA_ERR_HTTP_STATUS = -14,   /* status other than 200/206 ("no upgrade" or an error) */
  FOTA_ERR_EMPTY = -15,         /* 200/206 with an empty body */
  FOTA_ERR_TOO_LARGE = -16,     /* body longer than the cap (announced length or slot size) */
  FOTA_ERR_HASH = -17,          /* MD5/SHA-256 of the received image does not match */
  FOTA_ERR_STORAGE = -18,       /* storage port erase/write/read failed */
  FOTA_ERR_BUSY = -19,          /* an update is already running */
  FOTA_ERR_UNSUPPORTED = -20,   /* feature not built in (TLS, delta, signature check) */
  FOTA_ERR_CHANGED = -21,       /* resume refused: the package changed on the server */
  FOTA_ERR_BOOTSTATE = -22,     /* no valid boot-state record / no valid image */
  FOTA_ERR_SIGNATURE = -23,     /* package signature or install policy rejected it */
  FOTA_ERR_DELTA = -24,         /* delta package could not be applied */
  FOTA_ERR_NOT_FOUND = -25,     /* nothing to confirm / no pending image */
  FOTA_ERR_DELTA_PENDING = -26, /* agent: the server still answers 503 code 43 (delta being made)
                                   after the allowed waits; check again later */
} fota_err;

/* A short English sentence for err: what was wrong and what to do. Never NULL;
 * points to static storage. */
const char *fota_strerror(int err);

/* libfota2 result codes, identical numbers and meanings. */
typedef enum fota_result {
  FOTA_RESULT_OK = 0,       /* 200/206 with a non-empty body: package received */
  FOTA_RESULT_CONNECT = 1,  /* connect failed: DNS, refused, bad scheme/URL, TLS */
  FOTA_RESULT_URL = 2,      /* "url error": never produced (kept for the number) */
  FOTA_RESULT_CLOSED = 3,   /* server closed before or inside the headers */
  FOTA_RESULT_RECV = 4,     /* status>=300 (no upgrade), empty body, timeout, receive error */
  FOTA_RESULT_VERSION = 5,  /* local: version not X.Y.Z or project_key missing; nothing sent */
} fota_result;

/* ------------------------------------------------------------------ */
/* Options (the libfota2 opts table) and the request builder          */
/* ------------------------------------------------------------------ */

#define FOTA_DEFAULT_URL "http://iot.openluat.com/api/site/firmware_upgrade?"
#define FOTA_DEFAULT_TIMEOUT_MS 300000u       /* libfota2's default */
#define FOTA_DEFAULT_FLASH_TIMEOUT_MS 600000u /* libfota2's default when the body streams to flash */
#define FOTA_HOST_MAX 256        /* host name incl. NUL */
#define FOTA_VERSION_MAX 48      /* "core.X.Z" incl. NUL */
#ifndef FOTA_REQUEST_MAX
#define FOTA_REQUEST_MAX 2048    /* request head bytes fota_request() can build (stack) */
#endif

/* Flags for fota_opts.flags */
#define FOTA_OPT_LEGACY_ORDER 0x1u /* old `libfota`: project_key, firmware_name, version, imei */
#define FOTA_OPT_RAW_URL 0x2u      /* use url as is, as if it started with ### */

/* All fields optional unless noted; all strings borrowed for the call. */
typedef struct fota_opts {
  const char *url;            /* NULL: FOTA_DEFAULT_URL. "###" prefix: used as-is */
  const char *version;        /* "core.X.Z" as sent (see fota_version_string); required unless ### */
  const char *project_key;    /* required unless ### (else result 5) */
  const char *imei;           /* identity; with it the key is always imei= */
  const char *firmware_name;  /* "<PROJECT>_LuatOS-SoC_<model>" (see fota_firmware_name); required unless ### */
  const char *model;          /* e.g. "Air780EHV"; decides imei= vs mac= vs nil when imei is NULL */
  const char *mac;            /* identity for Wi-Fi/MCU models (Air8101, Air1601/1602/1780) */
  const char *method;         /* NULL: "GET" */
  const char *headers;        /* extra header lines "K: V\r\n…", sent after Host */
  const char *body;           /* request body (bytes, body_len long), adds Content-Length */
  size_t body_len;
  unsigned timeout_ms;        /* overall, like libfota2; 0: 600 s when a storage port takes
                                 the body, else 300 s (FOTA_DEFAULT_*_TIMEOUT_MS) */
  const char *server_cert, *client_cert, *client_key, *client_password; /* PEM, for https:// */
  unsigned flags;             /* FOTA_OPT_* */
} fota_opts;

/* Where the request goes. Filled by fota_build_request. */
typedef struct fota_target {
  char host[FOTA_HOST_MAX]; /* without brackets for IPv6 literals, without user:pw@ */
  uint16_t port;            /* 80/443 when the URL has none */
  int tls;                  /* 1 for https:// */
  size_t path_off;          /* request-target position inside the built buffer */
  size_t path_len;
} fota_target;

/*
 * Builds the exact request bytes a libfota2 module sends for opts:
 *
 *   <METHOD> <path> HTTP/1.1\r\n
 *   Host: <host>:<port>\r\n                  (omitted if opts->headers has a Host line)
 *   Connection: Close\r\n
 *   Authorization: Basic <b64(user:pw)>\r\n  (only with user:pw@ in the URL)
 *   <opts->headers>
 *   Content-Length: <body_len>\r\n           (only with a body)
 *   \r\n
 *   <body>
 *
 * Unless the URL starts with "###", the URL gets (no separator, no encoding)
 * "imei=<ID>&project_key=<KEY>&firmware_name=<NAME>&version=<VER>" appended
 * (FOTA_OPT_LEGACY_ORDER: "project_key=..&firmware_name=..&version=..&imei=..").
 * The identity pair is "imei=<imei>" when opts->imei is set; otherwise
 * "mac=<mac>" for Wi-Fi/MCU models, FOTA_ERR_NO_IDENTITY for cellular models,
 * and the literal "nil" for unknown/absent models. opts is never modified,
 * so building twice from the same opts gives the same bytes (libfota2's
 * url_done guard).
 *
 * buf (caller-owned, cap bytes) receives the request, NUL-terminated.
 * Returns the length written (excluding the NUL) or a negative fota_err
 * (FOTA_ERR_TOOBIG when cap is too small). target (may be NULL) is filled.
 */
int fota_build_request(const fota_opts *opts, char *buf, size_t cap, fota_target *target);

/* Same request, without the body: what fota_request() sends before streaming
 * opts->body. Same return convention. */
int fota_build_request_head(const fota_opts *opts, char *buf, size_t cap, fota_target *target);

/*
 * The libfota2 default version: core build number + "." + X + "." + Z of the
 * script version "X.Y.Z" (Y dropped, parts kept as written, leading zeros
 * included). core may carry a leading 'V' ("V2035" or "2035").
 *   fota_version_string("2035", "001.000.002", out) -> "2035.001.002"
 * out must hold FOTA_VERSION_MAX bytes. Returns the length or FOTA_ERR_VERSION
 * (what libfota2 reports as result 5) / FOTA_ERR_TOOBIG.
 */
int fota_version_string(const char *core, const char *script_version, char out[FOTA_VERSION_MAX]);

/* libfota2's default firmware name: "<project>_LuatOS-SoC_<model cut at the first '-'>".
 * Returns the length written to out (cap bytes, NUL-terminated) or a negative fota_err. */
int fota_firmware_name(const char *project, const char *model, char *out, size_t cap);

/* ------------------------------------------------------------------ */
/* Result-code mapping                                                 */
/* ------------------------------------------------------------------ */

/*
 * Maps the outcome of one libfota2 exchange to its result code.
 *   err       FOTA_OK when a whole response was read, else the fota_err that ended it
 *   status    HTTP status when the status line was read, else 0
 *   body_len  body bytes received
 *
 * | err / status                                          | result |
 * |-------------------------------------------------------|--------|
 * | FOTA_OK, status 200 or 206, body_len > 0              | 0      |
 * | FOTA_OK, status 200 or 206, body_len == 0             | 4      |
 * | FOTA_OK, any other status (1xx/204/3xx/4xx/5xx)        | 4      |
 * | FOTA_ERR_CONNECT, FOTA_ERR_URL, FOTA_ERR_TLS          | 1      |
 * | FOTA_ERR_CLOSED_HEADERS                               | 3      |
 * | FOTA_ERR_TIMEOUT, CLOSED_BODY, IO, PROTOCOL, EMPTY,   | 4      |
 * |   HTTP_STATUS, TOO_LARGE, HASH, STORAGE, other errors |        |
 * | FOTA_ERR_VERSION, FOTA_ERR_NO_PROJECT_KEY,            | 5      |
 * |   FOTA_ERR_NO_IDENTITY (nothing was sent)             |        |
 * Result 2 is never returned.
 */
int fota_result_from_http(int err, int status, uint64_t body_len);

/* ------------------------------------------------------------------ */
/* Ports                                                               */
/* ------------------------------------------------------------------ */

typedef struct fota_conn fota_conn; /* opaque, owned by the transport */

/* Transport: one byte stream. Every call has its own timeout. */
typedef struct fota_transport {
  void *ctx;
  /* Opens a connection to target (TLS when target->tls; certificates from
   * opts). On success stores a connection in *out (owned by the transport,
   * released by close). Returns 0 or FOTA_ERR_CONNECT/TLS/TIMEOUT/UNSUPPORTED. */
  int (*connect)(void *ctx, const fota_target *target, const fota_opts *opts,
                 unsigned timeout_ms, fota_conn **out);
  /* Sends len bytes (all of them). Returns 0 or a negative fota_err. */
  int (*send)(void *ctx, fota_conn *c, const void *buf, size_t len, unsigned timeout_ms);
  /* Receives up to cap bytes. Returns bytes read (>0), 0 when the peer
   * closed, FOTA_ERR_TIMEOUT when nothing came within timeout_ms, or another
   * negative fota_err. */
  long (*recv)(void *ctx, fota_conn *c, void *buf, size_t cap, unsigned timeout_ms);
  void (*close)(void *ctx, fota_conn *c);
} fota_transport;

/* Slots: 0 and 1 are the two image slots (A/B); FOTA_SLOT_STATE0/1 hold the
 * two copies of the boot-state record (each its own erase unit). */
enum { FOTA_SLOT_A = 0, FOTA_SLOT_B = 1, FOTA_SLOT_STATE0 = 2, FOTA_SLOT_STATE1 = 3 };

typedef struct fota_storage {
  void *ctx;
  /* Size in bytes of a slot, 0 if it does not exist. */
  uint64_t (*slot_size)(void *ctx, unsigned slot);
  /* Erase [off, off+len) to the erased state; off/len multiples of the erase
   * unit except that len may run to the slot end. 0 or FOTA_ERR_STORAGE. */
  int (*erase)(void *ctx, unsigned slot, uint64_t off, uint64_t len);
  /* Program len bytes at off (erased area). 0 or FOTA_ERR_STORAGE. */
  int (*write)(void *ctx, unsigned slot, uint64_t off, const void *buf, size_t len);
  /* Read len bytes at off. 0 or FOTA_ERR_STORAGE. */
  int (*read)(void *ctx, unsigned slot, uint64_t off, void *buf, size_t len);
  /* Erase unit in bytes (the library erases ahead of writing in these). */
  uint32_t erase_unit;
} fota_storage;

typedef struct fota_system {
  void *ctx;
  uint64_t (*now_ms)(void *ctx);          /* monotonic milliseconds */
  void (*sleep_ms)(void *ctx, unsigned ms);
  void (*reboot)(void *ctx);              /* may return in simulations */
  uint32_t (*random)(void *ctx);          /* for jitter; need not be cryptographic */
  /* Optional (may be NULL): 1 when the network has an IP, else 0. */
  int (*net_ready)(void *ctx);
  /* Optional (may be NULL): enter low power for ms (PSM); may return. */
  void (*deep_sleep)(void *ctx, uint64_t ms);
} fota_system;

/* The three ports together. storage may be NULL for fota_request() (the body
 * is then counted and hashed but not stored). */
typedef struct fota_ports {
  const fota_transport *transport;
  const fota_storage *storage;
  const fota_system *system;
} fota_ports;

/* Registers the ports fota_request()/fota_trigger_check() use. The pointed-to
 * structs must outlive every later call (the library keeps the pointers). */
void fota_set_ports(const fota_ports *ports);
const fota_ports *fota_get_ports(void);

/* ------------------------------------------------------------------ */
/* libfota2 face                                                       */
/* ------------------------------------------------------------------ */

/* What happened, for callers that want more than the result code. */
typedef struct fota_report {
  int result;              /* fota_result 0..5 */
  int err;                 /* fota_err that ended the exchange (FOTA_OK on success) */
  int status;              /* HTTP status, 0 if none */
  uint64_t body_len;       /* body bytes received (this attempt) */
  uint64_t total_len;      /* image bytes in the slot (agent mode: incl. resumed) */
  unsigned slot;           /* slot written, or ~0u if none */
  uint8_t md5[16];         /* of the whole image (valid when result == 0) */
  uint8_t sha256[32];
  int vendor_code;         /* status >= 300 with a JSON body {"code":N,...}: N (e.g. 27
                              "already latest", 40 banned); -1 when absent */
} fota_report;

/* Called once per request with the result code; rep is valid for the call only. */
typedef void (*fota_callback)(int result, const fota_report *rep, void *user);

/*
 * libfota2.request(cb, opts): one HTTP/1.1 request, the response body streamed
 * to the inactive slot of the registered storage port (if any), the result
 * code passed to cb (exactly once). Blocking: run it in its own task. Returns
 * the result code too (or FOTA_ERR_BUSY without calling cb when another
 * request is running; or FOTA_ERR_INVAL when no ports are registered).
 */
int fota_request(const fota_opts *opts, fota_callback cb, void *user);

/* Same with explicit ports and no global state besides the running guard. */
int fota_request_ex(const fota_ports *ports, const fota_opts *opts, fota_callback cb, void *user);

/* 1 while a request started by this library is running (the seed's fota_running). */
int fota_running(void);

/* ------------------------------------------------------------------ */
/* Agent (extended) mode                                               */
/* ------------------------------------------------------------------ */

#define FOTA_ETAG_MAX 96
#define FOTA_SLOT_AUTO 0xffu

/* Resume point; the caller may persist it (plain data) between attempts or
 * reboots. Zero-initialise for a fresh download. */
typedef struct fota_resume {
  uint64_t offset;             /* image bytes already in the slot */
  uint64_t total;              /* full length announced by the server, 0 if unknown */
  char etag[FOTA_ETAG_MAX];    /* validator of those bytes ("" if none) */
  uint32_t slot;               /* slot they were written to */
} fota_resume;

/* What an installer can install (fota_apply_ops.caps). */
#define FOTA_CAP_SIGNED 0x1u /* openfota signed packages (fota_pkg.h) */
#define FOTA_CAP_DELTA 0x2u  /* delta payloads (fota_delta.h; for a signed installer: its delta installer) */

/* Delta / custom installers plug in here (see docs/device-library.md). The
 * default (apply == NULL) writes the body verbatim to the target slot. */
typedef struct fota_apply_ops {
  void *ctx;
  /* Start: the package will be fed in order; source slot = running image. */
  int (*begin)(void *ctx, const fota_storage *st, unsigned src_slot, unsigned dst_slot,
               uint64_t dst_cap);
  int (*feed)(void *ctx, const uint8_t *data, size_t len);
  /* All input fed; returns 0 and the image length written to dst, or an error. */
  int (*finish)(void *ctx, uint64_t *image_len);
  void (*abort)(void *ctx);
  /* FOTA_CAP_* bits, set by the installers' init functions. With both
   * SIGNED and DELTA, fota_download tells the server it is an agent that can
   * install server-made deltas (header X-Openfota-Agent). */
  unsigned caps;
} fota_apply_ops;

/* Optional verifier of a finished image before it can become bootable
 * (signed packages). Return 0 to accept, FOTA_ERR_SIGNATURE to refuse. */
typedef int (*fota_verify_fn)(void *ctx, const fota_storage *st, unsigned slot,
                              uint64_t len, const uint8_t sha256[32]);

typedef struct fota_agent_opts {
  unsigned slot;               /* FOTA_SLOT_AUTO: the inactive slot */
  uint64_t max_len;            /* hard cap; 0 = slot size (the cap is always <= slot size) */
  uint64_t expect_len;         /* 0 = unknown */
  const uint8_t *expect_sha256;/* 32 bytes or NULL */
  const uint8_t *expect_md5;   /* 16 bytes or NULL */
  unsigned read_timeout_ms;    /* per recv; 0 = 30000 */
  unsigned deadline_ms;        /* whole download incl. retries; 0 = opts->timeout_ms */
  unsigned max_attempts;       /* consecutive connections without progress; 0 = 5
                                  (a link that keeps delivering bytes goes on until the deadline) */
  unsigned retry_delay_ms;     /* between attempts; 0 = 1000 */
  fota_resume *resume;         /* in/out, may be NULL (then an internal one) */
  const fota_apply_ops *apply; /* NULL: full image */
  fota_verify_fn verify;       /* NULL: no signature check */
  void *verify_ctx;
  /* Status reports (optional): POST <status_url> JSON; NULL disables. */
  const char *status_url;      /* e.g. "http://srv:8080/api/v1/device/status" */
  const char *device_id;       /* "id" in the report */
  const char *target_version;  /* "version" in the report */
  /* Signed reports (a server with a push key counts only those in its
   * rollouts, docs/api.md): the device's key, the 32 bytes printed in hex
   * by `openfota push key ID`, and the time in milliseconds since 1970
   * (e.g. from the module's network time). Both set: reports are signed;
   * otherwise they are sent unsigned (history only on the server). */
  const uint8_t *status_key;
  size_t status_key_len;
  uint64_t (*status_time_ms)(void *ctx); /* called with ports->system->ctx */
  /* Server-made deltas: while the server makes one it answers 503 with JSON
   * code 43 and Retry-After; the download waits (system port sleep_ms) and
   * asks again. Waiting does not use up deadline_ms. */
  unsigned delta_waits;        /* code-43 answers waited out; 0 = FOTA_DELTA_WAITS;
                                  FOTA_DELTA_NO_WAIT: none (the first 43 ends the download) */
  unsigned delta_wait_max_s;   /* cap on one wait; 0 = FOTA_DELTA_WAIT_MAX_S */
} fota_agent_opts;

#define FOTA_DELTA_WAITS 3u            /* default delta_waits */
#define FOTA_DELTA_NO_WAIT 0xffffffffu /* delta_waits: do not wait */
#define FOTA_DELTA_WAIT_MAX_S 300u     /* default cap on one wait (seconds) */
#define FOTA_DELTA_WAIT_DEFAULT_S 30u  /* wait when Retry-After is missing or not a number */

/*
 * Downloads opts' URL into a slot with resume, hashes, caps and timeouts
 * (see fota_agent_opts). The request is the libfota2 request plus
 * "X-Openfota-Agent: signed,delta" when aopts->apply can install signed
 * delta packages (caps SIGNED|DELTA) and opts->headers has no such line,
 * and "Range: bytes=<off>-" and "If-Range: <etag>" when resuming. A 200 to
 * a resumed request means the package changed: the slot is rewritten from
 * zero. A 503 with JSON code 43 (delta being made) is waited out: Retry-After
 * seconds (clamped to 1..delta_wait_max_s; FOTA_DELTA_WAIT_DEFAULT_S when
 * missing or not a number), at most delta_waits times, then
 * FOTA_ERR_DELTA_PENDING. Any other status is FOTA_ERR_HTTP_STATUS. Does not
 * activate. rep (may be NULL) receives the details (vendor_code for a
 * status >= 300). Returns 0 or a negative fota_err.
 */
int fota_download(const fota_ports *ports, const fota_opts *opts, const fota_agent_opts *aopts,
                  fota_report *rep);

/* ------------------------------------------------------------------ */
/* Boot state: activate, boot, confirm, roll back                      */
/* ------------------------------------------------------------------ */

#define FOTA_BOOT_TRIES 3 /* boots a new image gets before automatic rollback */

typedef struct fota_boot_state {
  uint32_t seq;            /* incremented on every write */
  uint8_t active;          /* confirmed slot */
  uint8_t pending;         /* slot on trial, 0xff if none */
  uint8_t tries;           /* boots of the pending slot so far */
  uint8_t rolled_back;     /* 1 after an automatic rollback (cleared by activate) */
  uint64_t len[2];         /* image length per slot (0: invalid/empty) */
  uint8_t sha256[2][32];   /* image hash per slot */
} fota_boot_state;

/* Reads the newest valid copy. FOTA_ERR_BOOTSTATE when neither is valid. */
int fota_bootstate_load(const fota_storage *st, fota_boot_state *out);
/* Writes s (seq is set to newest+1) into the older copy. */
int fota_bootstate_store(const fota_storage *st, fota_boot_state *s);
/* First boot: records slot as active with its image length/hash. */
int fota_bootstate_init(const fota_storage *st, unsigned slot, uint64_t len, const uint8_t sha256[32]);

/* Marks slot (holding len bytes with sha256) as pending: the next boots try it
 * FOTA_BOOT_TRIES times. The image is re-read and its SHA-256 checked first. */
int fota_activate(const fota_storage *st, unsigned slot, uint64_t len, const uint8_t sha256[32]);

/* Bootloader step: decides which slot to boot now, counting trial boots and
 * rolling back after FOTA_BOOT_TRIES unconfirmed boots. With verify != 0 the
 * chosen image is re-hashed and an invalid one is skipped. Returns the slot
 * (>= 0) or a negative fota_err. */
int fota_boot_select(const fota_storage *st, int verify);

/* Called by the new image once it works: makes the pending slot active.
 * FOTA_ERR_NOT_FOUND when nothing is pending. */
int fota_confirm(const fota_storage *st);

/* The slot a download should go to: the one that is neither active nor pending. */
int fota_inactive_slot(const fota_storage *st);

/* ------------------------------------------------------------------ */
/* Hashes (own portable implementation, no mbedTLS needed)            */
/* ------------------------------------------------------------------ */

typedef struct fota_md5 { uint32_t s[4]; uint64_t n; uint8_t buf[64]; } fota_md5;
typedef struct fota_sha256 { uint32_t s[8]; uint64_t n; uint8_t buf[64]; } fota_sha256;
void fota_md5_init(fota_md5 *c);
void fota_md5_update(fota_md5 *c, const void *data, size_t len);
void fota_md5_final(fota_md5 *c, uint8_t out[16]);
void fota_sha256_init(fota_sha256 *c);
void fota_sha256_update(fota_sha256 *c, const void *data, size_t len);
void fota_sha256_final(fota_sha256 *c, uint8_t out[32]);
/* HMAC-SHA256 (RFC 2104) of msg under key, on the SHA-256 above. */
void fota_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len, uint8_t out[32]);

/* ------------------------------------------------------------------ */
/* Status reports                                                      */
/* ------------------------------------------------------------------ */

/* States: "downloading", "downloaded", "installed", "failed". */
/* POSTs {"id","version","state","reason","sha256"} to url (a full URL to
 * /api/v1/device/status). reason and sha256_hex may be NULL (sent as "").
 * Returns the HTTP status (2xx = recorded) or a negative fota_err. */
int fota_status_report(const fota_ports *ports, const char *url, const char *id,
                       const char *version, const char *state, const char *reason,
                       const char *sha256_hex, unsigned timeout_ms);
/* The same, signed with the device's key (key, key_len; see
 * fota_agent_opts.status_key): headers X-Openfota-Time: time_ms and
 * X-Openfota-Auth: hex HMAC-SHA256(key, "<time_ms>\n" + body). */
int fota_status_report_signed(const fota_ports *ports, const char *url, const uint8_t *key, size_t key_len,
                              uint64_t time_ms, const char *id, const char *version, const char *state,
                              const char *reason, const char *sha256_hex, unsigned timeout_ms);
/* The signature alone: hex HMAC-SHA256(key, "<time_ms>\n" + body) into out[65]. */
void fota_status_sign(const uint8_t *key, size_t key_len, uint64_t time_ms, const char *body, size_t len,
                      char out[65]);
/* The JSON body alone (for tests and other transports). Returns its length or
 * a negative fota_err. Strings are JSON-escaped. */
int fota_status_json(char *out, size_t cap, const char *id, const char *version,
                     const char *state, const char *reason, const char *sha256_hex);

/* ------------------------------------------------------------------ */
/* Triggers: periodic checker, PSM cycle, TCP push, manual trigger     */
/* ------------------------------------------------------------------ */

#define FOTA_CHECK_PERIOD_MS (4u * 3600u * 1000u)
#define FOTA_PSM_WAIT_MS 15000u
#define FOTA_PUSH_LINE_MAX 512

typedef struct fota_checker {
  const fota_ports *ports;
  const fota_opts *opts;   /* borrowed for the checker's life */
  fota_callback cb;
  void *user;
  uint32_t period_ms;      /* 0: FOTA_CHECK_PERIOD_MS */
  uint32_t jitter_ms;      /* +-; 0: period/10 */
  uint64_t next_ms;        /* next check time (system now_ms clock) */
  volatile int trigger;    /* set by fota_trigger_check() */
} fota_checker;

/* Prepares c; the first check is due after one jittered period (or at once
 * with check_now). Registers c as the target of fota_trigger_check(). */
void fota_checker_init(fota_checker *c, const fota_ports *ports, const fota_opts *opts,
                       fota_callback cb, void *user, int check_now);
/* One jittered period: period +- jitter, from the system port's random(). */
uint32_t fota_checker_delay(const fota_checker *c);
/* Runs a check if one is due or was triggered. Returns 1 if it ran (result
 * already passed to cb), 0 if not due, FOTA_ERR_BUSY if a request runs. */
int fota_checker_poll(fota_checker *c);
/* Milliseconds until the next due check (0 when due or triggered). */
uint64_t fota_checker_wait_ms(const fota_checker *c);
/* Asks the registered checker for a check at its next poll (MQTT/button
 * handlers; safe from another task: it only sets a flag). Returns 0, or
 * FOTA_ERR_BUSY when an update is already running (the trigger is ignored),
 * FOTA_ERR_INVAL when no checker is registered. */
int fota_trigger_check(void);

typedef struct fota_psm_opts {
  unsigned net_wait_ms;   /* wait for net_ready(); 0 = 60000 */
  unsigned result_wait_ms;/* bound on the check + download; 0 = FOTA_PSM_WAIT_MS */
  uint64_t period_ms;     /* sleep until the next wake; 0 = FOTA_CHECK_PERIOD_MS */
  int reboot_on_success;  /* call system reboot() after result 0 (the seed does) */
} fota_psm_opts;

/* One PSM wake: wait for the network (1 s steps), check once with the
 * overall timeout bounded by result_wait_ms, pass the result to cb, reboot on
 * success if asked, then deep_sleep(period). Returns the result code, or
 * FOTA_ERR_CONNECT when the network never came up (then it sleeps too). */
int fota_psm_cycle(const fota_ports *ports, const fota_opts *opts, const fota_psm_opts *po,
                   fota_callback cb, void *user);

/* A parsed push message (copies; owns no pointers). */
typedef struct fota_push_msg {
  int fota;             /* 1 when "fota" is "true" (string, or JSON true) */
  char url[FOTA_PUSH_LINE_MAX];
  char version[FOTA_VERSION_MAX];
} fota_push_msg;

/* Parses one line of JSON {"fota":"true","url":...,"version":...}. Unknown
 * keys are skipped. Returns 0, FOTA_ERR_PROTOCOL (not a flat JSON object of
 * strings/true/false/null/numbers), FOTA_ERR_TOOBIG (a field over its
 * buffer) or FOTA_ERR_INVAL ("fota" true without "url"). */
int fota_push_parse(const char *line, size_t len, fota_push_msg *out);

typedef struct fota_push_opts {
  const char *host;       /* push server */
  uint16_t port;
  const char *imei;       /* first message: imei + "\n" */
  unsigned reconnect_ms;  /* delay before reconnecting; 0 = 10000 */
  unsigned idle_ms;       /* recv timeout per wait (stop flag checked in between); 0 = 1000 */
  volatile int *stop;     /* loop ends when *stop != 0 (may be NULL: never) */
  unsigned max_connects;  /* 0 = unlimited */
  unsigned heartbeat_ms;  /* send "\n" after this long without sending (keeps NAT
                             mappings open); 0 = never */
  /* Device authentication (server started with --push-key-file, see
   * docs/fleet.md): the device's push key, the 32 bytes printed in hex by
   * `openfota push key IMEI`; NULL = none (identifies with imei + "\n").
   * With a key, imei must be the id as the server names it (IMEI digits, or
   * a hex id in upper case without separators) and the listener answers the
   * server's {"nonce":"…"} line with {"imei":"…","auth":"<HMAC>"}; when no
   * nonce arrives within nonce_wait_ms the server does not authenticate and
   * the plain imei line is sent. */
  const uint8_t *key;
  size_t key_len;
  unsigned nonce_wait_ms; /* 0 = 5000 */
} fota_push_opts;

/* TCP push listener. Connects, identifies itself, reads lines (at most
 * FOTA_PUSH_LINE_MAX; longer lines are dropped), and for each valid trigger
 * runs fota_request_ex with base opts and the pushed url (libfota2 rule:
 * parameters appended unless it starts with ###; the pushed "version" is the
 * server's information only — the request keeps base->version, the device's
 * own) unless an update is already running (then the trigger is ignored).
 * Reconnects after errors. Returns 0 when stopped, or a negative fota_err when
 * max_connects was reached without success. */
int fota_push_listen(const fota_ports *ports, const fota_push_opts *po, const fota_opts *base,
                     fota_callback cb, void *user);

#ifdef __cplusplus
}
#endif
#endif
