/*
 * ofsim.h — the fleet simulator behind `openfota sim`.
 *
 * Thousands of simulated devices run in one process on event loops (epoll,
 * non-blocking sockets, a timer heap per loop; one thread per loop, never a
 * thread per device). Each device has an identity (IMEI with a valid Luhn
 * check digit, derived from a seed and its index), a project key, a firmware
 * name, a version CORE.X.Z and a profile:
 *
 *   SIM_PROFILE_LIBFOTA2  the exact libfota2 wire behaviour: one GET per
 *                         check, `Connection: Close`, `Host: host:port`, no
 *                         Range, the libfota2 result codes 0..5.
 *   SIM_PROFILE_AGENT     the extended mode: resume with Range + If-Range,
 *                         SHA-256 computed while streaming, hard length cap,
 *                         restart from zero when the package changed.
 *
 * After a complete package a device "reboots" into the version the package
 * carries (see docs/simulator.md, "What version does a package carry") and
 * checks again; fault injection and time compression are configured in
 * struct sim_config.
 *
 * Ownership: sim_run() copies nothing out of the config it is given; every
 * string in struct sim_config is borrowed and must outlive the call. The
 * caller owns struct sim_summary; sim_run() fills it.
 */
#ifndef OPENFOTA_OFSIM_H
#define OPENFOTA_OFSIM_H

#include <stddef.h>
#include <stdint.h>

/* One error enum for the library. */
typedef enum sim_err {
    SIM_OK = 0,
    SIM_ERR_USAGE = -1,   /* bad option value; the message says which */
    SIM_ERR_URL = -2,     /* URL not http://host[:port]/... or not loopback */
    SIM_ERR_RESOLVE = -3, /* host name did not resolve */
    SIM_ERR_NOMEM = -4,
    SIM_ERR_SYS = -5,     /* epoll/thread/rlimit failure (errno kept) */
} sim_err;

typedef enum sim_profile { SIM_PROFILE_LIBFOTA2 = 0, SIM_PROFILE_AGENT = 1 } sim_profile;

typedef enum sim_schedule {
    SIM_SCHED_ONCE = 0,     /* check until a "no upgrade" answer, then stop */
    SIM_SCHED_PERIODIC = 1, /* check every period (with jitter) until --duration */
    SIM_SCHED_PSM = 2,      /* wake, attach, check once, wait <= 15 s, sleep */
} sim_schedule;

/* A version CORE.X.Z as devices send it; the widths keep leading zeros. */
typedef struct sim_version {
    uint32_t core;
    uint16_t x, z;
    uint8_t xw, zw; /* digits written for X and Z (at least 1) */
} sim_version;

typedef struct sim_config {
    const char *url;          /* check URL ending in '?' or '&', or "###URL" */
    const char *project_key;
    const char *firmware;
    sim_version version;      /* starting version of every device */
    int have_target;          /* target_version is set (--target-version) */
    sim_version target_version;
    sim_profile profile;
    uint32_t devices;
    uint64_t seed;
    uint32_t concurrency;     /* open connections at most, over all loops */
    uint32_t threads;         /* event loops (1..64) */
    int allow_remote;

    sim_schedule schedule;
    double period_s;          /* simulated seconds between checks */
    double time_scale;        /* simulated seconds per real second */
    double jitter;            /* fraction of the period, 0..1 */
    double ramp_s;            /* real seconds over which first checks spread */
    double duration_s;        /* real seconds, whole run */
    double timeout_s;         /* real seconds, one request */
    double retry_s;           /* real seconds before retrying a failed check */
    double reboot_s;          /* real seconds a reboot takes */
    uint32_t max_retries;     /* consecutive failed checks before giving up */
    uint32_t max_checks;      /* checks per device at most (once mode) */

    size_t max_header;        /* response head bytes at most */
    uint64_t max_body;        /* package bytes at most */

    double reset_rate;        /* P(connection reset mid-download) per download */
    double slow_rate;         /* fraction of devices on a slow link */
    uint32_t slow_bps;        /* their bytes per second */
    double power_cut_rate;    /* P(power cut while applying) */
    double no_boot_rate;      /* P(package does not boot) */

    const char *expect_sha256; /* hex; complete packages must match, or NULL */
    const char *report_path;   /* JSON lines, one per device, written at the end, or NULL */
    int progress;              /* draw a progress bar on stderr */
    int verbose;               /* log each device event on stderr */
} sim_config;

enum { SIM_CODE_SLOTS = 64, SIM_RESULT_SLOTS = 6 };

typedef struct sim_summary {
    /* final state of each device (exclusive) */
    uint32_t devices, upgraded, latest, banned, forbidden, failed;
    uint32_t held; /* last answer: held back by a staged rollout (code 60), not upgraded */
    uint32_t unfinished;      /* part of failed: still working at the deadline */
    uint32_t looping;         /* got >= 2 packages and stayed on its version */
    /* events */
    uint64_t checks, packages, bytes, resets, resumes, restarts, power_cuts;
    uint64_t boot_failures, timeouts, refused, closed, sha_ok, sha_bad, slow_devices;
    uint64_t luat_bad;        /* Luat .bin packages a module would refuse (MD5, lengths) */
    uint64_t results[SIM_RESULT_SLOTS];     /* libfota2 result of each check */
    uint64_t codes[SIM_CODE_SLOTS];         /* JSON code of each non-2xx (0..63) */
    uint64_t codes_other;                   /* non-2xx without a code, or >= 64 */
    uint32_t max_packages_per_device;
    uint32_t peak_connections; /* open at once (sum of each loop's peak) */
    double elapsed_s, checks_per_s;
    double latency_p50_ms, latency_p99_ms, latency_max_ms;
    long peak_rss_kb;
} sim_summary;

/* Parses "CORE.X.Z" (each part 1..3 digits for X/Z, core up to 9 digits).
 * Returns 0, or -1 when malformed. */
int sim_version_parse(const char *s, sim_version *out);

/* Writes "CORE.X.Z" with the widths kept; returns the length, or -1 if cap
 * is too small. */
int sim_version_format(const sim_version *v, char *out, size_t cap);

/* Fills *cfg with the documented defaults (the strings stay NULL). */
void sim_config_defaults(sim_config *cfg);

/* Runs the fleet to completion or deadline. err_msg (cap bytes, caller-owned)
 * receives a sentence on failure. */
sim_err sim_run(const sim_config *cfg, sim_summary *out, char *err_msg, size_t cap);

/* Writes the summary as one JSON object on one line (no newline) into a
 * malloc()ed string the caller frees; NULL on out-of-memory. */
char *sim_summary_json(const sim_config *cfg, const sim_summary *s, int expect_met);

#endif
