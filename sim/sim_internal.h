/*
 * sim_internal.h — the simulator's internal modules (one file each):
 *   sim_imei.c    identities: Luhn check digit, IMEI from seed + index
 *   sim_http.c    response head parser, JSON code, libfota2 classification
 *   sim_sched.c   durations, time compression, jitter, the timer heap, RNG
 *   sim_request.c check requests (via the device library), loopback policy
 *   sim_luat.c    the version a Luat .bin package carries
 *   sim_stats.c   latency histogram, summary JSON, expectations
 *   sim_version.c versions CORE.X.Z as devices write them
 *   sim_loop.c    the event loop and the device state machine (sim_loop.h)
 *   sim_run.c     a whole run: target, limits, threads, progress, tally
 *   sim_cli.c     `openfota sim` option parsing and output
 * Unit tests include this header; nothing here is part of the public API.
 */
#ifndef OPENFOTA_SIM_INTERNAL_H
#define OPENFOTA_SIM_INTERNAL_H

#include "ofsim.h"

#include <stddef.h>
#include <stdint.h>

/* ---- sim_imei.c ---- */

/* Luhn check digit (0..9) for the digit string s of length n; -1 when s
 * holds a non-digit. */
int sim_luhn_digit(const char *s, size_t n);

/* 1 when the whole digit string (check digit last) passes Luhn, else 0. */
int sim_luhn_valid(const char *s, size_t n);

/* IMEI for device `index` (< SIM_MAX_DEVICES) of a fleet: "86", six digits
 * from the seed, six digits of the index, Luhn digit; out gets 15 digits and
 * a NUL. Distinct indexes give distinct IMEIs. */
enum { SIM_IMEI_LEN = 15, SIM_MAX_DEVICES = 1000000 };
void sim_imei_make(uint64_t seed, uint32_t index, char out[SIM_IMEI_LEN + 1]);

/* ---- sim_http.c ---- */

enum { SIM_ETAG_MAX = 96, SIM_HVERSION_MAX = 24 };

typedef struct sim_http_head {
    int status;                 /* 100..599 */
    int64_t content_length;     /* -1 when absent */
    int chunked;                /* Transfer-Encoding: chunked */
    int64_t range_start;        /* Content-Range: bytes S-E/T, -1 when absent */
    int64_t range_total;        /* T, -1 when absent or '*' */
    char etag[SIM_ETAG_MAX];    /* "" when absent or too long */
    char version[SIM_HVERSION_MAX]; /* X-Openfota-Version, "" when absent */
    int retry_after;            /* seconds, -1 when absent */
} sim_http_head;

typedef enum sim_http_rc {
    SIM_HTTP_OK = 0,
    SIM_HTTP_BAD_STATUS = -1,   /* status line is not "HTTP/1.x NNN ..." */
    SIM_HTTP_BAD_HEADER = -2,   /* a header line without ':' or with a NUL */
    SIM_HTTP_BAD_LENGTH = -3,   /* Content-Length not a decimal number, or repeated differently */
} sim_http_rc;

/* Length of the head (up to and including the blank line) when buf holds a
 * complete head, else 0. Accepts CRLF and bare LF line ends. */
size_t sim_http_head_end(const char *buf, size_t len);

/* Parses a complete head (as delimited by sim_http_head_end). buf need not
 * be NUL-terminated and is not kept. */
sim_http_rc sim_http_parse_head(const char *buf, size_t len, sim_http_head *out);

/* The JSON "code" of an error body ({"code":N,...}), or -1. */
int sim_http_json_code(const char *body, size_t len);

/* What a check ended with, as seen on the wire. */
typedef struct sim_exchange {
    int refused;          /* connect failed (refused, unreachable) */
    int timed_out;        /* the request deadline passed */
    int head_done;        /* a complete head was parsed */
    int head_bad;         /* the head was malformed or over the cap */
    int status;
    int64_t content_length;
    uint64_t body_bytes;  /* bytes of body received in this exchange */
    int body_complete;    /* Content-Length reached, or EOF without one */
} sim_exchange;

/* The libfota2 result code (0..5) for an exchange, per the protocol table:
 * 200/206 + non-empty complete body = 0; refused = 1; closed before or inside
 * the head = 3; 200 with empty body, 3xx/4xx/5xx, timeout, truncated body,
 * anything else = 4. */
int sim_http_classify(const sim_exchange *x);

/* ---- sim_sched.c ---- */

/* "250ms", "30s", "2m", "4h", "1d", or a plain number of seconds. Returns 0
 * or -1 (negative, empty, trailing garbage, not finite). */
int sim_parse_duration(const char *s, double *seconds);

/* Real seconds for a span of simulated seconds at a time scale (>= 1e-9). */
double sim_sched_real(double sim_seconds, double time_scale);

/* Real seconds until the next periodic check: period * (1 + jitter*(2u-1))
 * compressed by the time scale; u in [0,1). Never negative. */
double sim_sched_next_period(double period_s, double jitter, double time_scale, double u);

/* splitmix64 RNG: deterministic per seed. */
uint64_t sim_rng_next(uint64_t *state);
double sim_rng_unit(uint64_t *state); /* [0,1) */

/* Min-heap of (deadline, id) with positions kept in a caller array so an id
 * can be moved or removed. pos[id] == -1 when id is not in the heap. */
typedef struct sim_heap_ent {
    uint64_t when; /* nanoseconds, monotonic */
    uint32_t id;
} sim_heap_ent;

typedef struct sim_heap {
    sim_heap_ent *ent;  /* owned */
    uint32_t len, cap;
    int32_t *pos;       /* borrowed: indexed by id, maintained by the heap */
} sim_heap;

int sim_heap_init(sim_heap *h, uint32_t cap, int32_t *pos);
void sim_heap_free(sim_heap *h);
/* Sets (inserts or moves) id's deadline. cap must cover every id. */
void sim_heap_set(sim_heap *h, uint32_t id, uint64_t when);
void sim_heap_remove(sim_heap *h, uint32_t id);
/* The earliest entry, or NULL when empty. */
const sim_heap_ent *sim_heap_top(const sim_heap *h);

/* ---- sim_request.c ---- */

/* Where checks go, found once from the check URL by the device library's
 * request builder. */
typedef struct sim_target {
    char host[256];
    uint16_t port;
    int tls;
} sim_target;

/* What one check request is built from. Strings borrowed. */
typedef struct sim_req_params {
    const char *url;   /* the check URL as given (### rule applies) */
    const char *imei, *project_key, *firmware;
    const sim_version *version;
    uint64_t resume_from; /* agent: > 0 adds Range (and If-Range with etag) */
    const char *etag;     /* may be NULL or "" */
} sim_req_params;

/* Builds the request bytes with the device library's fota_build_request()
 * (the same bytes a libfota2 module sends); the agent's resume headers go
 * where libfota2 puts extra headers (after Host and Connection). Returns the
 * length (out is NUL-terminated), or -1 when the URL or a field is refused
 * or cap is too small (err gets why). target may be NULL. */
int sim_request_build(const sim_req_params *p, char *out, size_t cap, sim_target *target,
                      char *err, size_t errcap);

/* 1 when the address (a struct sockaddr *) is loopback: 127.0.0.0/8, ::1,
 * ::ffff:127.x.y.z. */
int sim_addr_is_loopback(const void *sockaddr);
/* 1 when sockaddr (AF_INET/AF_INET6) is loopback or one of this machine's
 * interface addresses (getifaddrs). sim_local.c */
int sim_addr_is_local(const void *sockaddr);

/* ---- sim_luat.c ---- */

/* When head (n >= 92 bytes) is a valid Luat upgrade .bin header (magic,
 * CRC, lengths, as of_pkg checks them) that states a target core in its
 * MainVersion field, stores the core in *core and returns 1; returns 0
 * otherwise (real script-only packages state nothing). */
int sim_luat_target_core(const uint8_t *head, size_t n, uint32_t *core);

/* openfota's answer for a device a staged rollout holds back (FLEET_HELD_CODE
 * in offleet.h): "no upgrade now", counted as held, never as an error. */
#define SIM_CODE_HELD 60

/* ---- sim_stats.c ---- */

enum { SIM_LAT_BUCKETS = 2048 };
typedef struct sim_latency {
    uint64_t bucket[SIM_LAT_BUCKETS];
    uint64_t count;
    double max_ms;
} sim_latency;

void sim_latency_add(sim_latency *l, double ms);
void sim_latency_merge(sim_latency *into, const sim_latency *from);
/* Value at quantile q (0..1) in ms, within ~1% (bucket upper bound). */
double sim_latency_quantile(const sim_latency *l, double q);

/* --expect: "all-upgraded", "none-failed", "NAME=N", "NAME=all", "NAME>=N",
 * "NAME<=N" with NAME one of the summary's counts. Returns 1 met, 0 not met,
 * -1 malformed (err gets why). */
int sim_expect_eval(const char *expr, const sim_summary *s, char *err, size_t cap);

#endif
