/*
 * rollout.c — staged rollout logic (see rollout.h for the model).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

static const char *const status_names[RS__COUNT] = {
    "offered", "downloading", "downloaded", "succeeded", "failed", "silent", "looping", "banned",
};

const char *rdev_status_name(int s)
{
    return (s >= 0 && s < RS__COUNT) ? status_names[s] : "unknown";
}

int rdev_status_parse(const char *name)
{
    for (int i = 0; i < RS__COUNT; i++)
        if (name && !strcmp(name, status_names[i]))
            return i;
    return -1;
}

const char *fleet_hold_name(int hold)
{
    switch (hold) {
    case FLEET_HOLD_STAGE: return "stage";
    case FLEET_HOLD_RATE: return "rate cap";
    case FLEET_HOLD_PAUSED: return "paused";
    case FLEET_HOLD_CANCELLED: return "cancelled";
    case FLEET_HOLD_FAILED: return "failed before";
    default: return "";
    }
}

const char *rollout_state_name(int s)
{
    switch (s) {
    case RO_RUNNING: return "running";
    case RO_PAUSED: return "paused";
    case RO_CANCELLED: return "cancelled";
    default: return "unknown";
    }
}

uint32_t rollout_cohort(const char *rollout_id, const char *device_id)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)rollout_id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= '\n';
    h *= 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)device_id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    /* FNV's low bits mix poorly for short keys; fold the high half in */
    h ^= h >> 32;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    return (uint32_t)(h % 10000u);
}

static int copy_field(char *dst, size_t size, const char *src)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (n >= size)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

struct rollout *rollout_new(const struct rollout_spec *s, int64_t now, const char **why)
{
    static const double def[] = {1, 10, 50, 100};
    const double *pc = s->percents ? s->percents : def;
    int np = s->percents ? s->npercents : 4;
    *why = NULL;
    if (!s->id || !*s->id || !s->project || !*s->project || !s->firmware || !*s->firmware ||
        !s->package_id || !*s->package_id || !s->target_version || !*s->target_version) {
        *why = "a rollout needs project, firmware, package and target version";
        return NULL;
    }
    if (np < 1 || np > ROLLOUT_MAX_STAGES - 1) {
        *why = "stages: give 1 to 15 percentages, e.g. [1,10,50,100]";
        return NULL;
    }
    for (int i = 0; i < np; i++) {
        if (!(pc[i] > 0 && pc[i] <= 100) || (i > 0 && !(pc[i] > pc[i - 1]))) {
            *why = "stages must be increasing percentages above 0 and at most 100";
            return NULL;
        }
    }
    if (s->ntest < 0 || s->ntest > ROLLOUT_MAX_TEST) {
        *why = "too many test devices (at most 1000)";
        return NULL;
    }
    if (!(s->abort_ratio > 0 && s->abort_ratio <= 1)) {
        *why = "abort_ratio must be above 0 and at most 1";
        return NULL;
    }
    struct rollout *r = calloc(1, sizeof *r);
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    smap_init(&r->test);
    smap_init(&r->devices);
    if (copy_field(r->id, sizeof r->id, s->id) || copy_field(r->project, sizeof r->project, s->project) ||
        copy_field(r->firmware, sizeof r->firmware, s->firmware) ||
        copy_field(r->package_id, sizeof r->package_id, s->package_id) ||
        copy_field(r->target_version, sizeof r->target_version, s->target_version)) {
        *why = "a field is too long (id 31, project 127, firmware 159, package 63, version 31)";
        rollout_free(r);
        return NULL;
    }
    r->nstages = np + 1;
    r->threshold[0] = 0;
    for (int i = 0; i < np; i++)
        r->threshold[i + 1] = (uint16_t)lround(pc[i] * 100.0);
    for (int i = 0; i < s->ntest; i++) {
        if (!s->test_devices[i] || !*s->test_devices[i] || strlen(s->test_devices[i]) > 64) {
            *why = "test device ids must be 1..64 characters";
            rollout_free(r);
            return NULL;
        }
        if (smap_put(&r->test, s->test_devices[i], r, NULL) < 0) {
            *why = "out of memory";
            rollout_free(r);
            return NULL;
        }
    }
    r->stage = r->test.count ? 0 : 1;
    r->state = RO_RUNNING;
    r->created = r->stage_started = r->updated = now;
    r->stage_interval_s = s->stage_interval_s;
    r->promote_percent = s->promote_percent ? *s->promote_percent : ROLLOUT_DEFAULT_PROMOTE_PERCENT;
    if (!(r->promote_percent >= 0 && r->promote_percent <= 100)) {
        *why = "promote_percent must be from 0 to 100";
        rollout_free(r);
        return NULL;
    }
    r->promote_min = s->promote_min;
    r->abort_ratio = s->abort_ratio;
    r->abort_min = s->abort_min ? s->abort_min : 1;
    r->loop_downloads = s->loop_downloads ? s->loop_downloads : 3;
    r->silent_factor = s->silent_factor ? s->silent_factor : 3;
    r->dirty = 1;
    return r;
}

void rollout_free(struct rollout *r)
{
    if (!r)
        return;
    smap_free(&r->test, NULL);
    smap_free(&r->devices, free);
    free(r);
}

int rollout_is_test(const struct rollout *r, const char *device_id)
{
    return smap_get(&r->test, device_id) != NULL;
}

int rollout_eligible(const struct rollout *r, const char *device_id)
{
    if (rollout_is_test(r, device_id))
        return 1;
    return rollout_cohort(r->id, device_id) < r->threshold[r->stage];
}

/* ---- status bookkeeping --------------------------------------------------- */

static int is_finished(const struct rdev *d)
{
    switch (d->status) {
    case RS_SUCCEEDED:
    case RS_FAILED:
    case RS_LOOPING:
    case RS_BANNED:
        return 1;
    case RS_SILENT:
        return d->downloads > 0;
    default:
        return 0;
    }
}

static int is_failure(const struct rdev *d)
{
    return is_finished(d) && d->status != RS_SUCCEEDED;
}

static void check_abort(struct rollout *r, int64_t now)
{
    if (r->state != RO_RUNNING)
        return;
    uint32_t fin = r->finished - r->base_finished;
    uint32_t bad = r->failures - r->base_failures;
    if (fin < r->abort_min || fin == 0)
        return;
    if ((double)bad / (double)fin + 1e-12 < r->abort_ratio)
        return;
    r->state = RO_PAUSED;
    r->paused_by_rule = 1;
    const char *sname = r->stage == 0 ? "test" : "";
    char pct[32];
    if (r->stage > 0)
        snprintf(pct, sizeof pct, "%g%%", r->threshold[r->stage] / 100.0);
    else
        snprintf(pct, sizeof pct, "%s", sname);
    snprintf(r->pause_reason, sizeof r->pause_reason,
             "abort rule: %u of %u finished devices failed (%.0f%% >= %.0f%%, minimum %u) in stage %d (%s)",
             bad, fin, 100.0 * bad / fin, 100.0 * r->abort_ratio, r->abort_min, r->stage, pct);
    r->updated = now;
    r->dirty = 1;
}

static void set_status(struct rollout *r, struct rdev *d, int st, uint16_t downloads, int64_t now)
{
    if (d->status == st && d->downloads == downloads)
        return;
    r->counts[d->stage][d->status]--;
    r->finished -= (uint32_t)is_finished(d);
    r->failures -= (uint32_t)is_failure(d);
    if (d->status != st)
        d->status_at = now;
    d->status = (uint8_t)st;
    d->downloads = downloads;
    r->counts[d->stage][d->status]++;
    r->finished += (uint32_t)is_finished(d);
    r->failures += (uint32_t)is_failure(d);
    r->updated = now;
    r->dirty = 1;
    check_abort(r, now);
}

static struct rdev *add_device(struct rollout *r, const char *id, const char *version, int64_t now,
                               uint32_t expected_s)
{
    struct rdev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->status = RS_OFFERED;
    d->stage = (uint8_t)(rollout_is_test(r, id) ? 0 : r->stage);
    snprintf(d->from_version, sizeof d->from_version, "%s", version ? version : "");
    d->offered_at = d->last_check = d->status_at = now;
    d->expected_s = expected_s;
    if (smap_put(&r->devices, id, d, NULL) < 0) {
        free(d);
        return NULL;
    }
    r->counts[d->stage][RS_OFFERED]++;
    r->updated = now;
    r->dirty = 1;
    return d;
}

/* Is v the version the device had when the rollout first saw it? */
static int is_old_version(const struct rdev *d, const char *v)
{
    return !d->from_version[0] || !strcmp(v, d->from_version);
}

/* What a reported version says about a tracked device. A device counts as
 * failed only on evidence: a whole download followed by a check that still
 * reports the version it had (or its own "failed" report, rollout_report).
 * A check on any other version that is not the target (the device was given
 * something else, or went further back) only notes that version as its new
 * starting point. */
static void observe_version(struct rollout *r, struct rdev *d, const char *v, int64_t now)
{
    if (!v || !*v || d->status == RS_BANNED)
        return;
    int on_target = !strcmp(v, r->target_version);
    if (on_target) {
        if (d->status != RS_SUCCEEDED && d->status != RS_LOOPING)
            set_status(r, d, RS_SUCCEEDED, d->downloads, now);
        return;
    }
    switch (d->status) {
    case RS_SUCCEEDED:
        set_status(r, d, RS_LOOPING, d->downloads, now); /* went back after success */
        break;
    case RS_DOWNLOADED:
    case RS_SILENT:
        if (d->downloads && is_old_version(d, v)) {
            set_status(r, d, RS_FAILED, d->downloads, now);
        } else {
            if (d->downloads) {
                snprintf(d->from_version, sizeof d->from_version, "%s", v);
                r->dirty = 1;
            }
            set_status(r, d, RS_OFFERED, d->downloads, now);
        }
        break;
    case RS_OFFERED:
    case RS_DOWNLOADING:
        if (!d->downloads && !is_old_version(d, v)) {
            snprintf(d->from_version, sizeof d->from_version, "%s", v);
            r->dirty = 1;
        }
        break;
    default:
        break;
    }
}

fleet_offer_kind rollout_decide(struct rollout *r, const char *device_id, const char *version,
                                int64_t now, struct fleet_rate *rate, double rate_now,
                                uint32_t expected_s, const char **reason)
{
    *reason = NULL;
    r->last_hold = FLEET_HOLD_NONE;
    int on_target = version && *version && !strcmp(version, r->target_version);
    struct rdev *d = smap_get(&r->devices, device_id);
    if (d) {
        observe_version(r, d, version, now);
        if (expected_s)
            d->expected_s = expected_s;
        switch (d->status) {
        case RS_SUCCEEDED:
            return FLEET_OFFER_NONE;
        case RS_FAILED:
            *reason = "this device failed this rollout's package";
            r->last_hold = FLEET_HOLD_FAILED;
            return FLEET_OFFER_HOLD;
        case RS_LOOPING:
            *reason = "this device is looping on this rollout's package";
            r->last_hold = FLEET_HOLD_FAILED;
            return FLEET_OFFER_HOLD;
        case RS_BANNED:
            *reason = "this device is banned";
            r->last_hold = FLEET_HOLD_FAILED;
            return FLEET_OFFER_HOLD;
        default:
            break;
        }
        if (on_target)
            return FLEET_OFFER_NONE;
        if (r->state == RO_CANCELLED) {
            *reason = "the rollout was cancelled";
            r->last_hold = FLEET_HOLD_CANCELLED;
            return FLEET_OFFER_HOLD;
        }
        /* a device already offered keeps its offer while paused: it may be
         * mid-download; no new token is taken */
        if (r->state == RO_PAUSED && d->downloads == 0 && d->status == RS_OFFERED) {
            *reason = "the rollout is paused";
            r->last_hold = FLEET_HOLD_PAUSED;
            return FLEET_OFFER_HOLD;
        }
        return FLEET_OFFER_PACKAGE;
    }
    if (on_target)
        return FLEET_OFFER_NONE;
    if (r->state == RO_CANCELLED) {
        *reason = "the rollout was cancelled";
        r->last_hold = FLEET_HOLD_CANCELLED;
        return FLEET_OFFER_HOLD;
    }
    if (r->state == RO_PAUSED) {
        *reason = "the rollout is paused";
        r->last_hold = FLEET_HOLD_PAUSED;
        return FLEET_OFFER_HOLD;
    }
    if (!rollout_eligible(r, device_id)) {
        *reason = "not in the rollout's current stage";
        r->last_hold = FLEET_HOLD_STAGE;
        return FLEET_OFFER_HOLD;
    }
    if (rate && !rate_try_take(rate, rate_now)) {
        *reason = "rate cap reached, the device will get it at a later check";
        r->last_hold = FLEET_HOLD_RATE;
        return FLEET_OFFER_HOLD;
    }
    if (!add_device(r, device_id, version, now, expected_s)) {
        *reason = "out of memory";
        r->last_hold = FLEET_HOLD_RATE; /* a later check may get it */
        return FLEET_OFFER_HOLD;
    }
    return FLEET_OFFER_PACKAGE;
}

void rollout_observe(struct rollout *r, const fleet_check_event *ev, int64_t now,
                     uint32_t expected_s)
{
    struct rdev *d = smap_get(&r->devices, ev->device_id);
    int ours = ev->package_id && !strcmp(ev->package_id, r->package_id);
    if (!d) {
        if (!ours || !ev->bytes_sent)
            return; /* not a device this rollout touched */
        d = add_device(r, ev->device_id, ev->version, now, expected_s);
        if (!d)
            return;
    }
    d->last_check = now;
    if (expected_s)
        d->expected_s = expected_s;
    if (ev->code == 40 || ev->code == 21) {
        set_status(r, d, RS_BANNED, d->downloads, now);
        return;
    }
    observe_version(r, d, ev->version, now);
    if (ours && ev->bytes_sent > 0) {
        if (ev->complete) {
            uint16_t n = (uint16_t)(d->downloads < 65535 ? d->downloads + 1 : d->downloads);
            int st = n >= r->loop_downloads ? RS_LOOPING : RS_DOWNLOADED;
            if (d->status == RS_LOOPING || d->status == RS_BANNED)
                st = d->status;
            set_status(r, d, st, n, now);
        } else if (d->status == RS_OFFERED || d->status == RS_SILENT) {
            set_status(r, d, RS_DOWNLOADING, d->downloads, now);
        }
    } else if (d->status == RS_SILENT && !d->downloads) {
        set_status(r, d, RS_OFFERED, d->downloads, now);
    }
}

void rollout_report(struct rollout *r, const char *device_id, int state, const char *version, int64_t now)
{
    struct rdev *d = smap_get(&r->devices, device_id);
    if (!d || d->status == RS_BANNED)
        return;
    if (version && *version && strcmp(version, r->target_version))
        return; /* about another package */
    d->last_check = now;
    switch (state) {
    case FLEET_REPORT_DOWNLOADING:
        if (d->status == RS_OFFERED || d->status == RS_SILENT)
            set_status(r, d, RS_DOWNLOADING, d->downloads, now);
        break;
    case FLEET_REPORT_DOWNLOADED:
        if (d->status == RS_OFFERED || d->status == RS_DOWNLOADING || d->status == RS_SILENT)
            set_status(r, d, RS_DOWNLOADED, d->downloads ? d->downloads : 1, now);
        break;
    case FLEET_REPORT_INSTALLED:
        if (d->status != RS_LOOPING)
            set_status(r, d, RS_SUCCEEDED, d->downloads, now);
        break;
    case FLEET_REPORT_FAILED:
        if (d->status != RS_LOOPING)
            set_status(r, d, RS_FAILED, d->downloads, now);
        break;
    default:
        break;
    }
}

int rollout_stage_ready(const struct rollout *r, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    uint32_t offered = 0;
    for (int s = 0; s < RS__COUNT; s++)
        offered += r->counts[r->stage][s];
    uint32_t ok = r->counts[r->stage][RS_SUCCEEDED];
    if (offered == 0) {
        *why = "no device was offered the package in this stage yet";
        return 0;
    }
    if (ok < r->promote_min) {
        *why = "fewer devices of this stage succeeded than promote_min";
        return 0;
    }
    if ((double)ok * 100.0 + 1e-9 < r->promote_percent * (double)offered) {
        *why = "the share of this stage's devices that succeeded is below promote_percent";
        return 0;
    }
    return 1;
}

int rollout_tick(struct rollout *r, int64_t now)
{
    int changed = 0;
    int timed = r->stage_interval_s && now - r->stage_started >= (int64_t)r->stage_interval_s;
    if (r->state == RO_RUNNING && timed && r->stage < r->nstages - 1 && rollout_stage_ready(r, NULL)) {
        r->stage++;
        r->stage_started = now;
        r->updated = now;
        r->dirty = 1;
        changed = 1;
    }
    if (r->state == RO_RUNNING && !r->finished_at && r->stage == r->nstages - 1 &&
        (timed || !r->stage_interval_s) && rollout_stage_ready(r, NULL)) {
        r->finished_at = now;
        r->updated = now;
        r->dirty = 1;
        changed = 1;
    }
    if (r->state == RO_CANCELLED)
        return changed;
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&r->devices, &i, &k, &v);) {
        struct rdev *d = v;
        if (d->status != RS_OFFERED && d->status != RS_DOWNLOADING && d->status != RS_DOWNLOADED)
            continue;
        int64_t limit = (int64_t)r->silent_factor * (d->expected_s ? d->expected_s : 14400);
        if (now - d->last_check > limit) {
            set_status(r, d, RS_SILENT, d->downloads, now);
            changed = 1;
        }
    }
    return changed;
}

int rollout_promote(struct rollout *r, int64_t now, const char **why)
{
    if (r->state == RO_CANCELLED) {
        *why = "the rollout was cancelled; start a new one";
        return FLEET_ERR_STATE;
    }
    if (r->stage >= r->nstages - 1) {
        *why = "the rollout is already in its last stage (100%)";
        return FLEET_ERR_STATE;
    }
    r->stage++;
    r->stage_started = now;
    r->updated = now;
    r->dirty = 1;
    return 0;
}

int rollout_pause(struct rollout *r, int64_t now, const char *reason, const char **why)
{
    if (r->state != RO_RUNNING) {
        *why = r->state == RO_PAUSED ? "the rollout is already paused" : "the rollout was cancelled";
        return FLEET_ERR_STATE;
    }
    r->state = RO_PAUSED;
    r->paused_by_rule = 0;
    snprintf(r->pause_reason, sizeof r->pause_reason, "%s",
             reason && *reason ? reason : "paused by an operator");
    r->updated = now;
    r->dirty = 1;
    return 0;
}

int rollout_resume(struct rollout *r, int64_t now, const char **why)
{
    if (r->state != RO_PAUSED) {
        *why = r->state == RO_RUNNING ? "the rollout is not paused" : "the rollout was cancelled";
        return FLEET_ERR_STATE;
    }
    r->state = RO_RUNNING;
    r->paused_by_rule = 0;
    r->pause_reason[0] = '\0';
    /* the abort rule counts anew from here, or it would trip again at once */
    r->base_finished = r->finished;
    r->base_failures = r->failures;
    r->stage_started = now;
    r->updated = now;
    r->dirty = 1;
    return 0;
}

int rollout_cancel(struct rollout *r, int64_t now, const char **why)
{
    if (r->state == RO_CANCELLED) {
        *why = "the rollout was already cancelled";
        return FLEET_ERR_STATE;
    }
    r->state = RO_CANCELLED;
    r->updated = now;
    r->dirty = 1;
    return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *counts_json(const uint32_t *c)
{
    json_t *o = json_object();
    for (int s = 0; s < RS__COUNT; s++)
        json_object_set_new(o, status_names[s], json_integer(c[s]));
    return o;
}

json_t *rollout_to_json(const struct rollout *r, int with_devices)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "project", json_string(r->project));
    json_object_set_new(o, "firmware", json_string(r->firmware));
    json_object_set_new(o, "package", json_string(r->package_id));
    json_object_set_new(o, "target_version", json_string(r->target_version));
    json_object_set_new(o, "state", json_string(rollout_state_name(r->state)));
    json_object_set_new(o, "stage", json_integer(r->stage));
    json_object_set_new(o, "percent", json_real(r->threshold[r->stage] / 100.0));
    json_object_set_new(o, "last_stage", json_boolean(r->stage == r->nstages - 1));
    json_object_set_new(o, "pause_reason", r->state == RO_PAUSED ? json_string(r->pause_reason) : json_null());
    json_object_set_new(o, "paused_by_rule", json_boolean(r->state == RO_PAUSED && r->paused_by_rule));
    json_object_set_new(o, "created", json_integer(r->created));
    json_object_set_new(o, "stage_started", json_integer(r->stage_started));
    json_object_set_new(o, "updated", json_integer(r->updated));
    json_object_set_new(o, "stage_interval_s", json_integer(r->stage_interval_s));
    json_object_set_new(o, "next_stage_at",
                        (r->state == RO_RUNNING && r->stage_interval_s && r->stage < r->nstages - 1)
                            ? json_integer(r->stage_started + r->stage_interval_s)
                            : json_null());
    json_object_set_new(o, "promote_percent", json_real(r->promote_percent));
    json_object_set_new(o, "promote_min", json_integer(r->promote_min));
    const char *wait = NULL;
    int ready = rollout_stage_ready(r, &wait);
    json_object_set_new(o, "stage_ready", json_boolean(ready));
    json_object_set_new(o, "stage_waiting_for", ready ? json_null() : json_string(wait));
    json_object_set_new(o, "finished_at", r->finished_at ? json_integer(r->finished_at) : json_null());
    json_object_set_new(o, "abort_ratio", json_real(r->abort_ratio));
    json_object_set_new(o, "abort_min", json_integer(r->abort_min));
    json_object_set_new(o, "loop_downloads", json_integer(r->loop_downloads));
    json_object_set_new(o, "silent_factor", json_integer(r->silent_factor));
    json_t *tests = json_array();
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&r->test, &i, &k, &v);)
        json_array_append_new(tests, json_string(k));
    json_object_set_new(o, "test_devices", tests);
    json_t *stages = json_array();
    uint32_t total[RS__COUNT] = {0};
    for (int s = 0; s < r->nstages; s++) {
        if (s == 0 && !r->test.count)
            continue;
        json_t *st = json_object();
        json_object_set_new(st, "index", json_integer(s));
        char name[32];
        if (s == 0)
            snprintf(name, sizeof name, "test");
        else
            snprintf(name, sizeof name, "%g%%", r->threshold[s] / 100.0);
        json_object_set_new(st, "name", json_string(name));
        json_object_set_new(st, "percent", json_real(r->threshold[s] / 100.0));
        json_object_set_new(st, "status", json_string(s < r->stage ? "done" : s == r->stage ? "current" : "waiting"));
        json_object_set_new(st, "devices", counts_json(r->counts[s]));
        for (int c = 0; c < RS__COUNT; c++)
            total[c] += r->counts[s][c];
        json_array_append_new(stages, st);
    }
    json_object_set_new(o, "stages", stages);
    json_object_set_new(o, "devices", counts_json(total));
    json_object_set_new(o, "finished", json_integer(r->finished));
    json_object_set_new(o, "failures", json_integer(r->failures));
    if (with_devices) {
        json_t *st = json_object();
        json_object_set_new(st, "base_finished", json_integer(r->base_finished));
        json_object_set_new(st, "base_failures", json_integer(r->base_failures));
        json_object_set_new(st, "nstages", json_integer(r->nstages));
        json_t *th = json_array();
        for (int s = 0; s < r->nstages; s++)
            json_array_append_new(th, json_integer(r->threshold[s]));
        json_object_set_new(st, "thresholds", th);
        json_object_set_new(st, "pause_reason", json_string(r->pause_reason));
        json_object_set_new(st, "paused_by_rule", json_integer(r->paused_by_rule));
        json_t *devs = json_array();
        for (size_t i = 0; smap_next(&r->devices, &i, &k, &v);) {
            const struct rdev *d = v;
            json_array_append_new(devs, json_pack("[s,i,i,i,s,I,I,I,i]", k, d->status, d->stage,
                                                  d->downloads, d->from_version, (json_int_t)d->offered_at,
                                                  (json_int_t)d->last_check, (json_int_t)d->status_at,
                                                  (int)d->expected_s));
        }
        json_object_set_new(st, "devices", devs);
        json_object_set_new(o, "persist", st);
    }
    return o;
}

struct rollout *rollout_from_json(const json_t *j)
{
    const char *id, *project, *firmware, *pkg, *target, *state, *reason = "";
    json_int_t stage, created, stage_started, updated, interval, abort_min, loop_dl, silent_f;
    double ratio;
    json_t *persist = NULL, *tests = NULL;
    json_error_t err;
    if (json_unpack_ex((json_t *)j, &err, 0,
                       "{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:F,s:I,s:I,s:I,s:o,s:o}", "id", &id,
                       "project", &project, "firmware", &firmware, "package", &pkg, "target_version",
                       &target, "state", &state, "stage", &stage, "created", &created, "stage_started",
                       &stage_started, "updated", &updated, "stage_interval_s", &interval,
                       "abort_ratio", &ratio, "abort_min", &abort_min, "loop_downloads", &loop_dl,
                       "silent_factor", &silent_f, "test_devices", &tests, "persist", &persist) < 0)
        return NULL;
    json_t *th = json_object_get(persist, "thresholds");
    if (!json_is_array(th) || json_array_size(th) < 2 || json_array_size(th) > ROLLOUT_MAX_STAGES ||
        !json_is_array(tests) || json_array_size(tests) > ROLLOUT_MAX_TEST)
        return NULL;
    double pcs[ROLLOUT_MAX_STAGES];
    int np = (int)json_array_size(th) - 1;
    for (int i = 0; i < np; i++)
        pcs[i] = (double)json_integer_value(json_array_get(th, (size_t)i + 1)) / 100.0;
    /* stored before promotion thresholds existed: none (time alone) */
    double ppct = 0;
    json_int_t pmin = 0;
    json_int_t fin_at = json_integer_value(json_object_get(j, "finished_at")); /* null: 0 */
    if (json_unpack((json_t *)j, "{s?F,s?I}", "promote_percent", &ppct, "promote_min", &pmin) < 0 || pmin < 0 ||
        pmin > (json_int_t)UINT32_MAX)
        return NULL;
    const char *tv[ROLLOUT_MAX_TEST];
    int nt = (int)json_array_size(tests);
    for (int i = 0; i < nt; i++)
        tv[i] = json_string_value(json_array_get(tests, (size_t)i));
    struct rollout_spec sp = {
        .id = id, .project = project, .firmware = firmware, .package_id = pkg, .target_version = target,
        .percents = pcs, .npercents = np, .test_devices = tv, .ntest = nt,
        .stage_interval_s = (uint32_t)interval, .promote_percent = &ppct, .promote_min = (uint32_t)pmin,
        .abort_ratio = ratio, .abort_min = (uint32_t)abort_min,
        .loop_downloads = (uint32_t)loop_dl, .silent_factor = (uint32_t)silent_f,
    };
    const char *why;
    struct rollout *r = rollout_new(&sp, created, &why);
    if (!r)
        return NULL;
    if (stage < 0 || stage >= r->nstages)
        goto bad;
    r->stage = (int)stage;
    r->state = !strcmp(state, "paused") ? RO_PAUSED : !strcmp(state, "cancelled") ? RO_CANCELLED : RO_RUNNING;
    r->stage_started = stage_started;
    r->updated = updated;
    r->finished_at = fin_at;
    json_unpack(persist, "{s?s}", "pause_reason", &reason);
    snprintf(r->pause_reason, sizeof r->pause_reason, "%s", reason);
    r->paused_by_rule = (int)json_integer_value(json_object_get(persist, "paused_by_rule"));
    json_t *devs = json_object_get(persist, "devices");
    size_t i;
    json_t *e;
    json_array_foreach(devs, i, e) {
        const char *dk, *from;
        int st, stg, dl, exp_s;
        json_int_t off, last, sat;
        if (json_unpack(e, "[s,i,i,i,s,I,I,I,i]", &dk, &st, &stg, &dl, &from, &off, &last, &sat, &exp_s) < 0 ||
            st < 0 || st >= RS__COUNT || stg < 0 || stg >= r->nstages || dl < 0 || dl > 65535)
            goto bad;
        struct rdev *d = calloc(1, sizeof *d);
        if (!d)
            goto bad;
        d->status = (uint8_t)st;
        d->stage = (uint8_t)stg;
        d->downloads = (uint16_t)dl;
        snprintf(d->from_version, sizeof d->from_version, "%s", from);
        d->offered_at = off;
        d->last_check = last;
        d->status_at = sat;
        d->expected_s = (uint32_t)exp_s;
        void *old = NULL;
        if (smap_put(&r->devices, dk, d, &old) < 0) {
            free(d);
            goto bad;
        }
        if (old) { /* duplicate id in the stored form: keep the last one */
            struct rdev *od = old;
            r->counts[od->stage][od->status]--;
            r->finished -= (uint32_t)is_finished(od);
            r->failures -= (uint32_t)is_failure(od);
            free(old);
        }
        r->counts[d->stage][d->status]++;
        r->finished += (uint32_t)is_finished(d);
        r->failures += (uint32_t)is_failure(d);
    }
    r->base_finished = (uint32_t)json_integer_value(json_object_get(persist, "base_finished"));
    r->base_failures = (uint32_t)json_integer_value(json_object_get(persist, "base_failures"));
    if (r->base_finished > r->finished || r->base_failures > r->failures)
        r->base_finished = r->base_failures = 0;
    r->dirty = 0;
    return r;
bad:
    rollout_free(r);
    return NULL;
}

json_t *rollout_devices_json(const struct rollout *r, int status, size_t limit)
{
    json_t *arr = json_array();
    const char *k;
    void *v;
    size_t n = 0;
    for (size_t i = 0; smap_next(&r->devices, &i, &k, &v) && n < limit;) {
        const struct rdev *d = v;
        if (status >= 0 && d->status != status)
            continue;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:s,s:i,s:I,s:I,s:I}", "id", k, "status",
                                             rdev_status_name(d->status), "stage", d->stage, "from_version",
                                             d->from_version, "downloads", d->downloads, "offered_at",
                                             (json_int_t)d->offered_at, "last_check", (json_int_t)d->last_check,
                                             "status_at", (json_int_t)d->status_at));
        n++;
    }
    return json_pack("{s:o}", "devices", arr);
}
