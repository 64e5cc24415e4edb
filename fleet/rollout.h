/*
 * rollout.h — one staged rollout: cohorts, stages, device status inference
 * and the abort rule. Pure logic on caller-given times (Unix seconds); the
 * fleet holds its mutex around every call. Not thread-safe by itself.
 *
 * Stages: index 0 is the "test" stage (only the listed test devices), then
 * one stage per percentage. A rollout with no test devices starts at stage 1.
 * A device may have the package when it is a test device, or when
 * cohort(rollout id, device id) < the current stage's threshold (percent ×
 * 100, out of 10000) — a pure function, so any node decides from memory.
 *
 * Status of a device that was offered the package (inferred from checks):
 *   offered → downloading (part of the package sent) → downloaded (all sent)
 *   → succeeded (a later check reports the target version)
 *   → failed (a later check still reports another version after a full download)
 *   succeeded → looping (a later check reports another version again), and
 *   loop_downloads full downloads → looping
 *   offered/downloading/downloaded → silent (no check within silent_factor ×
 *   the device's expected interval); a silent device that checks again is
 *   re-evaluated
 *   any → banned (the server answered 40 or 21)
 * Finished: succeeded, failed, looping, banned, and silent after a full
 * download. Failures: all finished except succeeded.
 * Abort rule: when failures/finished >= abort_ratio with finished >= abort_min
 * (counted since the last resume), a running rollout pauses itself. A device
 * is failed only on evidence: its own "failed" report, or a whole download
 * followed by a check that still reports the version it had (from_version);
 * a check on another older version only moves from_version.
 *
 * Promotion by time (stage_interval_s) also needs the current stage to have
 * succeeded: at least one device offered in it, at least promote_min of its
 * devices succeeded, and succeeded >= promote_percent % of its offered
 * devices. The same test in the last stage marks the rollout finished
 * (finished_at, once). promote by hand ignores the threshold.
 */
#ifndef OPENFOTA_FLEET_ROLLOUT_H
#define OPENFOTA_FLEET_ROLLOUT_H

#include <stdint.h>

#include <jansson.h>

#include "offleet.h"
#include "rate.h"
#include "smap.h"

#define ROLLOUT_MAX_STAGES 16   /* including the test stage */
#define ROLLOUT_MAX_TEST 1000   /* listed test devices */
#define ROLLOUT_DEFAULT_PROMOTE_PERCENT 95.0

enum rdev_status {
    RS_OFFERED = 0,
    RS_DOWNLOADING,
    RS_DOWNLOADED,
    RS_SUCCEEDED,
    RS_FAILED,
    RS_SILENT,
    RS_LOOPING,
    RS_BANNED,
    RS__COUNT
};
const char *rdev_status_name(int s);
int rdev_status_parse(const char *name); /* -1 when unknown */

enum rollout_state { RO_RUNNING = 0, RO_PAUSED, RO_CANCELLED };
const char *rollout_state_name(int s);

struct rdev {
    uint8_t status;
    uint8_t stage;        /* stage it was first offered in */
    uint16_t downloads;   /* full downloads seen */
    char from_version[32];
    int64_t offered_at;
    int64_t last_check;
    int64_t status_at;
    uint32_t expected_s;  /* the device's expected check interval */
};

struct rollout {
    char id[32];
    char project[128];
    char firmware[160];
    char package_id[64];
    char target_version[32];
    int nstages;                          /* including stage 0 (test) */
    uint16_t threshold[ROLLOUT_MAX_STAGES]; /* out of 10000; [0] = 0 */
    int stage;                            /* current stage index */
    struct smap test;                     /* test device ids (values unused) */
    int state;                            /* enum rollout_state */
    char pause_reason[256];
    int paused_by_rule;
    int64_t created, stage_started, updated;
    uint32_t stage_interval_s;            /* 0 = promote by hand only */
    double promote_percent;               /* 0..100 of a stage's offered devices succeeded */
    uint32_t promote_min;                 /* succeeded devices a stage needs */
    int64_t finished_at;                  /* last stage reached its threshold; 0 = not yet */
    double abort_ratio;
    uint32_t abort_min;
    uint32_t loop_downloads;
    uint32_t silent_factor;
    struct smap devices;                  /* id → struct rdev * */
    uint32_t counts[ROLLOUT_MAX_STAGES][RS__COUNT];
    uint32_t finished, failures;          /* totals */
    uint32_t base_finished, base_failures; /* at the last resume */
    int last_hold;                        /* fleet_hold_kind of the last rollout_decide HOLD */
    int dirty;                            /* changed since the last persist */
    int64_t saved_at;                     /* last persisted (fleet) */
};

/* Cohort of a device in a rollout: FNV-1a 64 of "<rollout id>\n<device id>"
 * mod 10000. */
uint32_t rollout_cohort(const char *rollout_id, const char *device_id);

/* Parameters of a new rollout (strings borrowed). */
struct rollout_spec {
    const char *id, *project, *firmware, *package_id, *target_version;
    const double *percents;  /* stage percentages, increasing, (0,100]; last should be 100 */
    int npercents;
    const char *const *test_devices;
    int ntest;
    uint32_t stage_interval_s;
    const double *promote_percent;  /* NULL = ROLLOUT_DEFAULT_PROMOTE_PERCENT; 0..100 */
    uint32_t promote_min;           /* succeeded devices a stage needs to advance by time */
    double abort_ratio;
    uint32_t abort_min;
    uint32_t loop_downloads;
    uint32_t silent_factor;
};

/* Creates a running rollout (owned by the caller, rollout_free). On a bad
 * spec returns NULL with *why (static text) set. */
struct rollout *rollout_new(const struct rollout_spec *spec, int64_t now, const char **why);
void rollout_free(struct rollout *r);

int rollout_is_test(const struct rollout *r, const char *device_id);
/* May the device have the package in the current stage (ignoring state)? */
int rollout_eligible(const struct rollout *r, const char *device_id);

/* The check-time decision (see offleet.h fleet_rollout_decide). rate may be
 * NULL (no cap); rate_now is the clock the rate controller runs on.
 * expected_s is the device's expected check interval. */
fleet_offer_kind rollout_decide(struct rollout *r, const char *device_id, const char *version,
                                int64_t now, struct fleet_rate *rate, double rate_now,
                                uint32_t expected_s, const char **reason);
/* The outcome of a check (see fleet_on_check). */
void rollout_observe(struct rollout *r, const fleet_check_event *ev, int64_t now,
                     uint32_t expected_s);
/* A device's own report (FLEET_REPORT_*); ignored for devices the rollout has
 * not offered its package to, and for reports about another version. */
void rollout_report(struct rollout *r, const char *device_id, int state, const char *version, int64_t now);
/* Timers: stage advance by time (and threshold), finish, and silence.
 * Returns 1 when anything changed. */
int rollout_tick(struct rollout *r, int64_t now);
/* Has the current stage met its success threshold (see above)? When not,
 * *why (may be NULL) gets a static text saying what is missing. */
int rollout_stage_ready(const struct rollout *r, const char **why);

/* Operator actions; return 0 or FLEET_ERR_STATE with *why. */
int rollout_promote(struct rollout *r, int64_t now, const char **why);
int rollout_pause(struct rollout *r, int64_t now, const char *reason, const char **why);
int rollout_resume(struct rollout *r, int64_t now, const char **why);
int rollout_cancel(struct rollout *r, int64_t now, const char **why);

/* Status JSON (new reference). with_devices: also "devices" (persistence form). */
json_t *rollout_to_json(const struct rollout *r, int with_devices);
/* Rebuilds a rollout from rollout_to_json(r, 1). NULL when malformed. */
struct rollout *rollout_from_json(const json_t *j);
/* Devices of the rollout with a given status (-1 = all), up to limit:
 * {"devices":[{"id","status","stage","from_version","downloads","last_check"}…]} */
json_t *rollout_devices_json(const struct rollout *r, int status, size_t limit);

#endif
