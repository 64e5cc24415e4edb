/*
 * sim_stats.c — what a run measured: the latency histogram (log buckets,
 * 1% wide, so memory does not grow with the number of checks), the JSON
 * summary and the --expect expressions.
 */
#include "sim_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAT_BASE_MS 0.01
#define LAT_RATIO 1.01

static int lat_index(double ms)
{
    if (!(ms > LAT_BASE_MS))
        return 0;
    double i = ceil(log(ms / LAT_BASE_MS) / log(LAT_RATIO));
    if (i >= SIM_LAT_BUCKETS)
        return SIM_LAT_BUCKETS - 1;
    return (int)i;
}

void sim_latency_add(sim_latency *l, double ms)
{
    if (!(ms >= 0))
        ms = 0;
    l->bucket[lat_index(ms)]++;
    l->count++;
    if (ms > l->max_ms)
        l->max_ms = ms;
}

void sim_latency_merge(sim_latency *into, const sim_latency *from)
{
    for (int i = 0; i < SIM_LAT_BUCKETS; i++)
        into->bucket[i] += from->bucket[i];
    into->count += from->count;
    if (from->max_ms > into->max_ms)
        into->max_ms = from->max_ms;
}

double sim_latency_quantile(const sim_latency *l, double q)
{
    if (l->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)l->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < SIM_LAT_BUCKETS; i++) {
        seen += l->bucket[i];
        if (seen >= rank) {
            double v = LAT_BASE_MS * pow(LAT_RATIO, i);
            return v < l->max_ms ? v : l->max_ms;
        }
    }
    return l->max_ms;
}

/* ---- expectations ---- */

typedef struct named {
    const char *name;
    uint64_t v;
} named;

static int lookup(const sim_summary *s, const char *name, size_t n, uint64_t *out)
{
    const named t[] = {
        { "devices", s->devices },      { "upgraded", s->upgraded },
        { "latest", s->latest },        { "banned", s->banned },
        { "forbidden", s->forbidden },  { "failed", s->failed },
        { "held", s->held },
        { "unfinished", s->unfinished }, { "looping", s->looping },
        { "checks", s->checks },        { "packages", s->packages },
        { "bytes", s->bytes },          { "resets", s->resets },
        { "resumes", s->resumes },      { "restarts", s->restarts },
        { "power_cuts", s->power_cuts }, { "boot_failures", s->boot_failures },
        { "timeouts", s->timeouts },    { "refused", s->refused },
        { "sha256_ok", s->sha_ok },     { "sha256_bad", s->sha_bad },
        { "luat_bad", s->luat_bad },
        { "max_packages_per_device", s->max_packages_per_device },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strlen(t[i].name) == n && memcmp(t[i].name, name, n) == 0) {
            *out = t[i].v;
            return 0;
        }
    return -1;
}

int sim_expect_eval(const char *expr, const sim_summary *s, char *err, size_t cap)
{
    if (strcmp(expr, "all-upgraded") == 0)
        return s->upgraded == s->devices;
    if (strcmp(expr, "all-banned") == 0)
        return s->banned == s->devices;
    if (strcmp(expr, "all-latest") == 0)
        return s->latest == s->devices;
    if (strcmp(expr, "none-failed") == 0)
        return s->failed == 0;
    if (strcmp(expr, "any") == 0)
        return 1;
    const char *op = strpbrk(expr, "=<>");
    if (!op || op == expr) {
        snprintf(err, cap, "--expect '%s': write all-upgraded, all-banned, all-latest, none-failed, any, or NAME=N / NAME>=N / NAME<=N", expr);
        return -1;
    }
    size_t nlen = (size_t)(op - expr);
    int kind; /* 0 ==, 1 >=, 2 <= */
    const char *num;
    if (op[0] == '=') {
        kind = 0;
        num = op + 1;
    } else if (op[0] == '>' && op[1] == '=') {
        kind = 1;
        num = op + 2;
    } else if (op[0] == '<' && op[1] == '=') {
        kind = 2;
        num = op + 2;
    } else {
        snprintf(err, cap, "--expect '%s': the comparison must be =, >= or <=", expr);
        return -1;
    }
    uint64_t have;
    if (lookup(s, expr, nlen, &have) < 0) {
        snprintf(err, cap, "--expect '%s': unknown count '%.*s' (see `openfota sim --help`)", expr,
                 (int)nlen, expr);
        return -1;
    }
    uint64_t want;
    if (strcmp(num, "all") == 0) {
        want = s->devices;
    } else {
        char *end = NULL;
        if (*num < '0' || *num > '9') {
            snprintf(err, cap, "--expect '%s': the value must be a number or 'all'", expr);
            return -1;
        }
        want = strtoull(num, &end, 10);
        if (*end) {
            snprintf(err, cap, "--expect '%s': the value must be a number or 'all'", expr);
            return -1;
        }
    }
    switch (kind) {
    case 0: return have == want;
    case 1: return have >= want;
    default: return have <= want;
    }
}

/* ---- JSON summary ---- */

char *sim_summary_json(const sim_config *cfg, const sim_summary *s, int expect_met)
{
    json_t *o = json_object();
    json_t *codes = json_object();
    json_t *results = json_object();
    json_t *lat = json_object();
    if (!o || !codes || !results || !lat) {
        json_decref(o);
        json_decref(codes);
        json_decref(results);
        json_decref(lat);
        return NULL;
    }
#define I(k, v) json_object_set_new(o, k, json_integer((json_int_t)(v)))
    I("devices", s->devices);
    I("upgraded", s->upgraded);
    I("failed", s->failed);
    I("banned", s->banned);
    I("latest", s->latest);
    I("forbidden", s->forbidden);
    I("held", s->held);
    I("unfinished", s->unfinished);
    I("looping", s->looping);
    I("checks", s->checks);
    I("packages", s->packages);
    I("bytes", s->bytes);
    I("resets", s->resets);
    I("resumes", s->resumes);
    I("restarts", s->restarts);
    I("power_cuts", s->power_cuts);
    I("boot_failures", s->boot_failures);
    I("timeouts", s->timeouts);
    I("refused", s->refused);
    I("closed", s->closed);
    I("sha256_ok", s->sha_ok);
    I("sha256_bad", s->sha_bad);
    I("luat_bad", s->luat_bad);
    I("slow_devices", s->slow_devices);
    I("max_packages_per_device", s->max_packages_per_device);
    I("peak_connections", s->peak_connections);
    I("peak_rss_kb", s->peak_rss_kb);
#undef I
    for (int i = 0; i < SIM_CODE_SLOTS; i++)
        if (s->codes[i]) {
            char k[8];
            snprintf(k, sizeof(k), "%d", i);
            json_object_set_new(codes, k, json_integer((json_int_t)s->codes[i]));
        }
    if (s->codes_other)
        json_object_set_new(codes, "other", json_integer((json_int_t)s->codes_other));
    for (int i = 0; i < SIM_RESULT_SLOTS; i++) {
        char k[4];
        snprintf(k, sizeof(k), "%d", i);
        json_object_set_new(results, k, json_integer((json_int_t)s->results[i]));
    }
    json_object_set_new(o, "codes", codes);
    json_object_set_new(o, "results", results);
    json_object_set_new(lat, "p50", json_real(round(s->latency_p50_ms * 1000) / 1000));
    json_object_set_new(lat, "p99", json_real(round(s->latency_p99_ms * 1000) / 1000));
    json_object_set_new(lat, "max", json_real(round(s->latency_max_ms * 1000) / 1000));
    json_object_set_new(o, "latency_ms", lat);
    json_object_set_new(o, "elapsed_s", json_real(round(s->elapsed_s * 1000) / 1000));
    json_object_set_new(o, "checks_per_s", json_real(round(s->checks_per_s * 10) / 10));
    json_object_set_new(o, "profile",
                        json_string(cfg->profile == SIM_PROFILE_AGENT ? "agent" : "libfota2"));
    json_object_set_new(o, "expect_met", json_boolean(expect_met));
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    return txt;
}
