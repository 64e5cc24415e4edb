/*
 * fleet.c — the fleet object: life cycle, the two check-path entry points
 * (memory only), the maintenance thread (stage timers, silence, push expiry,
 * persistence) and the glue between the push listener and push records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fleet_internal.h"
#include "push_parse.h"

const char fleet_store_sql_ddl[] =
    "CREATE TABLE IF NOT EXISTS fleet_state (\n"
    "  kind    VARCHAR(16)  NOT NULL,\n"
    "  id      VARCHAR(64)  NOT NULL,\n"
    "  body    TEXT         NOT NULL,\n"
    "  updated BIGINT       NOT NULL,\n"
    "  PRIMARY KEY (kind, id)\n"
    ");\n";

const char *fleet_strerror(int err)
{
    switch (err) {
    case FLEET_OK: return "success";
    case FLEET_ERR_NOMEM: return "out of memory";
    case FLEET_ERR_INVAL: return "invalid argument";
    case FLEET_ERR_IO: return "input/output error";
    case FLEET_ERR_NOTFOUND: return "not found";
    case FLEET_ERR_CONFLICT: return "conflict";
    case FLEET_ERR_PROTOCOL: return "protocol error";
    case FLEET_ERR_LIMIT: return "limit reached";
    case FLEET_ERR_STATE: return "not allowed in this state";
    default: return "unknown error";
    }
}

void fleet_config_default(fleet_config *c)
{
    memset(c, 0, sizeof *c);
    c->rate_per_s = 50;
    c->rate_burst = 0; /* = rate */
    c->max_connections = 12000;
    c->line_max = 256;
    c->handshake_ms = 10000;
    c->idle_s = 600;
    c->keepalive_s = 60;
    c->push_ttl_s = 86400;
    c->max_push_targets = 1000000;
    c->abort_ratio = 0.2;
    c->abort_min = 5;
    c->expected_interval_s = 14400;
    c->silent_factor = 3;
    c->loop_downloads = 3;
}

int64_t fleet_now(void)
{
    return (int64_t)time(NULL);
}

double fleet_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void log_stderr(int level, const char *msg)
{
    static const char *lv[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "openfota: %s: %s\n", lv[level & 3], msg);
}

void fleet_log(offleet *f, int level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (f && f->hooks.log)
        f->hooks.log(f->hooks.ctx, level, msg);
    else if (level <= FLEET_LOG_INFO)
        log_stderr(level, msg);
}

static void log_bridge(void *ctx, int level, const char *msg)
{
    fleet_log(ctx, level, "%s", msg);
}

void fleet_random_id(char prefix, char *out, size_t size)
{
    unsigned char b[6];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20) ^ (uint64_t)clock();
        memcpy(b, &x, sizeof b);
    }
    snprintf(out, size, "%c%02x%02x%02x%02x%02x%02x", prefix, b[0], b[1], b[2], b[3], b[4], b[5]);
}

const char *fleet_intern(offleet *f, const char *s)
{
    if (!s || !*s)
        return NULL;
    char *v = smap_get(&f->strings, s);
    if (v)
        return v;
    if (f->strings.count >= FLEET_MAX_NAMES || strlen(s) > 255)
        return NULL; /* names come from device input: bounded */
    v = strdup(s);
    if (!v || smap_put(&f->strings, s, v, NULL) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int fleet_config_push_key(fleet_config *cfg, const char *text, size_t len, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    unsigned char k[PUSH_KEY_MAX];
    int n = push_key_parse(text, len, k, why);
    if (n < 0)
        return FLEET_ERR_INVAL;
    memcpy(cfg->push_key, k, (size_t)n);
    cfg->push_key_len = (size_t)n;
    memset(k, 0, sizeof k);
    return 0;
}

int fleet_push_device_key(const unsigned char *push_key, size_t push_key_len, const char *device_id,
                          char out[65])
{
    char id[PUSH_ID_MAX + 1];
    size_t n = device_id ? strlen(device_id) : 0;
    if (!push_key || push_key_len < PUSH_KEY_MIN || push_key_len > PUSH_KEY_MAX || !push_id_valid(device_id, n))
        return FLEET_ERR_INVAL;
    memcpy(id, device_id, n + 1);
    push_id_canon(id);
    unsigned char dk[32];
    push_device_key(push_key, push_key_len, id, dk);
    push_hex(dk, 32, out);
    memset(dk, 0, sizeof dk);
    return 0;
}

offleet *fleet_create(const fleet_config *cfg, const fleet_hooks *hooks)
{
    offleet *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    fleet_config def;
    fleet_config_default(&def);
    f->cfg = cfg ? *cfg : def;
    if (hooks)
        f->hooks = *hooks;
    fleet_config *c = &f->cfg;
    if (!(c->rate_per_s > 0)) {
        fleet_log(f, FLEET_LOG_ERROR, "fleet: the push rate must be above 0 per second");
        free(f);
        return NULL;
    }
    if (!(c->abort_ratio > 0 && c->abort_ratio <= 1)) {
        fleet_log(f, FLEET_LOG_ERROR, "fleet: the abort ratio must be above 0 and at most 1");
        free(f);
        return NULL;
    }
    if (c->push_key_len && (c->push_key_len < PUSH_KEY_MIN || c->push_key_len > PUSH_KEY_MAX)) {
        fleet_log(f, FLEET_LOG_ERROR, "fleet: the push key must be 16 to 64 bytes");
        free(f);
        return NULL;
    }
    if (c->rate_burst < 1)
        c->rate_burst = c->rate_per_s >= 1 ? c->rate_per_s : 1;
    if (c->line_max < 32)
        c->line_max = 32;
    if (c->line_max > 65536)
        c->line_max = 65536;
    if (!c->max_connections)
        c->max_connections = def.max_connections;
    if (!c->handshake_ms)
        c->handshake_ms = def.handshake_ms;
    if (!c->idle_s)
        c->idle_s = def.idle_s;
    if (!c->keepalive_s)
        c->keepalive_s = def.keepalive_s;
    if (!c->push_ttl_s)
        c->push_ttl_s = def.push_ttl_s;
    if (!c->max_push_targets)
        c->max_push_targets = def.max_push_targets;
    if (!c->expected_interval_s)
        c->expected_interval_s = def.expected_interval_s;
    if (!c->silent_factor)
        c->silent_factor = def.silent_factor;
    if (!c->loop_downloads)
        c->loop_downloads = def.loop_downloads;
    if (!c->abort_min)
        c->abort_min = def.abort_min;
    char cid[64];
    snprintf(cid, sizeof cid, "openfota-%d", (int)getpid());
    f->s_push_listen = dup_or_null(c->push_listen);
    f->s_mqtt_broker = dup_or_null(c->mqtt_broker);
    f->s_mqtt_topic = strdup(c->mqtt_topic ? c->mqtt_topic : "openfota/{project}/{device}/cmd");
    f->s_client_id = strdup(c->mqtt_client_id ? c->mqtt_client_id : cid);
    f->s_state_dir = dup_or_null(c->state_dir);
    c->push_listen = f->s_push_listen;
    c->mqtt_broker = f->s_mqtt_broker;
    c->mqtt_topic = f->s_mqtt_topic;
    c->mqtt_client_id = f->s_client_id;
    c->state_dir = f->s_state_dir;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    rate_init(&f->rate, c->rate_per_s, c->rate_burst, fleet_mono());
    smap_init(&f->devices);
    smap_init(&f->strings);
    smap_init(&f->rollouts);
    smap_init(&f->pushes);
    smap_init(&f->pending);
    smap_init(&f->deleted);
    char topic[512];
    if (push_mqtt_topic(c->mqtt_topic, "p", "f", "d", topic, sizeof topic) < 0) {
        fleet_log(f, FLEET_LOG_ERROR, "fleet: MQTT topic template '%s' is not usable (no + or #)", c->mqtt_topic);
        fleet_destroy(f);
        return NULL;
    }
    if (f->hooks.store) {
        f->store = f->hooks.store;
        f->store_ctx = f->hooks.store_ctx;
    } else if (c->state_dir) {
        f->file_store = fleet_file_store_open(c->state_dir);
        if (!f->file_store) {
            fleet_log(f, FLEET_LOG_ERROR, "fleet: cannot use state folder %s: %s", c->state_dir, strerror(errno));
            fleet_destroy(f);
            return NULL;
        }
        f->store = &fleet_file_store_ops;
        f->store_ctx = f->file_store;
    }
    return f;
}

/* ---- persistence ----------------------------------------------------------- */

static int load_rollout(void *arg, const char *id, const char *json)
{
    offleet *f = arg;
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    struct rollout *r = j ? rollout_from_json(j) : NULL;
    json_decref(j);
    if (!r) {
        fleet_log(f, FLEET_LOG_WARN, "fleet: stored rollout %s is unreadable; ignored", id);
        return 0;
    }
    void *old = NULL;
    smap_put(&f->rollouts, r->id, r, &old);
    rollout_free(old);
    return 0;
}

static int load_push(void *arg, const char *id, const char *json)
{
    offleet *f = arg;
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    struct push *p = j ? push_from_json(j) : NULL;
    json_decref(j);
    if (!p) {
        fleet_log(f, FLEET_LOG_WARN, "fleet: stored push %s is unreadable; ignored", id);
        return 0;
    }
    void *old = NULL;
    smap_put(&f->pushes, p->id, p, &old);
    push_free(old);
    for (size_t i = 0; i < p->n; i++) {
        struct push_target *t = &p->t[i];
        struct push_target *cur = smap_get(&f->pending, t->device);
        if (!cur || cur->owner->created <= p->created)
            smap_put(&f->pending, t->device, t, NULL);
        if (t->state == PT_QUEUED)
            outbox_push(f, p, i);
    }
    return 0;
}

/* Writes dirty objects, each at most every 5 s (a rollout or push over
 * 10^5 devices is a large JSON text) unless force; called on the maintenance
 * thread. */
static void persist(offleet *f, int force)
{
    if (!f->store)
        return;
    struct item {
        char kind[8];
        char id[40];
        char *json;
    } *items = NULL;
    size_t n = 0, cap = 0;
    char **dels = NULL;
    size_t ndel = 0;
    pthread_mutex_lock(&f->mu);
    const char *k;
    void *v;
    for (int pass = 0; pass < 2; pass++) {
        struct smap *m = pass ? &f->pushes : &f->rollouts;
        for (size_t i = 0; smap_next(m, &i, &k, &v);) {
            int *dirty = pass ? &((struct push *)v)->dirty : &((struct rollout *)v)->dirty;
            int64_t *saved = pass ? &((struct push *)v)->saved_at : &((struct rollout *)v)->saved_at;
            int64_t tnow = fleet_now();
            if (!*dirty || (!force && tnow - *saved < 5))
                continue;
            *saved = tnow;
            json_t *j = pass ? push_to_json(v, 2) : rollout_to_json(v, 1);
            char *s = json_dumps(j, JSON_COMPACT);
            json_decref(j);
            if (!s)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                struct item *ni = realloc(items, cap * sizeof *ni);
                if (!ni) {
                    free(s);
                    break;
                }
                items = ni;
            }
            snprintf(items[n].kind, sizeof items[n].kind, "%s", pass ? "push" : "rollout");
            snprintf(items[n].id, sizeof items[n].id, "%s", k);
            items[n].json = s;
            n++;
            *dirty = 0;
        }
    }
    if (f->deleted.count) {
        dels = calloc(f->deleted.count, sizeof *dels);
        for (size_t i = 0; dels && smap_next(&f->deleted, &i, &k, &v);)
            dels[ndel++] = strdup(k);
        smap_free(&f->deleted, NULL);
    }
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < n; i++) {
        if (f->store->put(f->store_ctx, items[i].kind, items[i].id, items[i].json) < 0)
            fleet_log(f, FLEET_LOG_ERROR, "fleet: could not save %s %s; will retry", items[i].kind, items[i].id);
        free(items[i].json);
    }
    for (size_t i = 0; i < ndel; i++) {
        char *colon = dels[i] ? strchr(dels[i], ':') : NULL;
        if (colon) {
            *colon = '\0';
            f->store->del(f->store_ctx, dels[i], colon + 1);
        }
        free(dels[i]);
    }
    free(dels);
    free(items);
}

/* ---- maintenance thread ------------------------------------------------------ */

static void *tick_thread(void *arg)
{
    offleet *f = arg;
    int64_t last_persist = 0, last_rollout_tick = 0;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int stop = f->stopping;
        int64_t now = fleet_now();
        const char *k;
        void *v;
        /* rollouts once a second: stage timers have 1 s resolution and the
         * silence scan walks every device of a rollout */
        for (size_t i = 0; now != last_rollout_tick && smap_next(&f->rollouts, &i, &k, &v);) {
            struct rollout *r = v;
            int before = r->state, stage = r->stage;
            int64_t fin = r->finished_at;
            rollout_tick(r, now);
            if (r->stage != stage)
                fleet_log(f, FLEET_LOG_INFO, "rollout %s: stage %d (%g%%) started", r->id, r->stage,
                          r->threshold[r->stage] / 100.0);
            if (before != r->state && r->state == RO_PAUSED)
                fleet_log(f, FLEET_LOG_WARN, "rollout %s paused: %s", r->id, r->pause_reason);
            if (r->finished_at && !fin)
                fleet_log(f, FLEET_LOG_INFO, "rollout %s finished: its last stage reached the success threshold",
                          r->id);
            fleet_rollout_events(f, r, before, fin);
        }
        last_rollout_tick = now;
        push_tick(f, now);
        pthread_mutex_unlock(&f->mu);
        if (stop || now != last_persist) {
            persist(f, stop);
            last_persist = now;
        }
        if (stop)
            break;
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- push listener glue ---------------------------------------------------------- */

static void on_ident(void *ctx, const char *device_id, const char *version)
{
    offleet *f = ctx;
    (void)version;
    pthread_mutex_lock(&f->mu);
    push_on_connect(f, device_id, fleet_now());
    pthread_mutex_unlock(&f->mu);
}

static void on_undelivered(void *ctx, const char *device_id)
{
    offleet *f = ctx;
    pthread_mutex_lock(&f->mu);
    push_on_undelivered(f, device_id, fleet_now());
    pthread_mutex_unlock(&f->mu);
}

static void on_mqtt_connect(void *ctx)
{
    offleet *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->mqtt_resend = 1;
    pthread_mutex_unlock(&f->mu);
}

int fleet_start(offleet *f)
{
    if (f->started)
        return 0;
    if (f->store) {
        pthread_mutex_lock(&f->mu);
        f->store->load(f->store_ctx, "rollout", load_rollout, f);
        f->store->load(f->store_ctx, "push", load_push, f);
        pthread_mutex_unlock(&f->mu);
    }
    if (f->cfg.push_listen) {
        struct push_tcp_cfg tc = {
            .listen = f->cfg.push_listen, .max_conn = f->cfg.max_connections, .line_max = f->cfg.line_max,
            .handshake_ms = f->cfg.handshake_ms, .idle_s = f->cfg.idle_s, .keepalive_s = f->cfg.keepalive_s,
            .ctx = f, .on_ident = on_ident, .on_undelivered = on_undelivered, .log = log_bridge,
            .push_key = f->cfg.push_key_len ? f->cfg.push_key : NULL, .push_key_len = f->cfg.push_key_len,
        };
        f->tcp = push_tcp_new(&tc);
        if (!f->tcp)
            return FLEET_ERR_IO;
        if (push_tcp_start(f->tcp) < 0) {
            push_tcp_free(f->tcp);
            f->tcp = NULL;
            return FLEET_ERR_IO;
        }
        fleet_log(f, FLEET_LOG_INFO, "push: listening on %s (port %d), up to %u devices%s", f->cfg.push_listen,
                  push_tcp_port(f->tcp), f->cfg.max_connections,
                  f->cfg.push_key_len ? "; devices must authenticate (push key set)" : "");
    }
    if (f->cfg.mqtt_broker) {
        f->mqtt = push_mqtt_new(f->cfg.mqtt_broker, f->cfg.mqtt_client_id, f, log_bridge, on_mqtt_connect);
        if (!f->mqtt || push_mqtt_start(f->mqtt) < 0) {
            push_mqtt_free(f->mqtt);
            f->mqtt = NULL;
            push_tcp_free(f->tcp);
            f->tcp = NULL;
            return FLEET_ERR_IO;
        }
    }
    f->stopping = 0;
    if (pthread_create(&f->tick_thr, NULL, tick_thread, f) != 0)
        return FLEET_ERR_IO;
    if (pthread_create(&f->disp_thr, NULL, push_dispatch_thread, f) != 0) {
        pthread_mutex_lock(&f->mu);
        f->stopping = 1;
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->tick_thr, NULL);
        return FLEET_ERR_IO;
    }
    f->started = 1;
    return 0;
}

void fleet_stop(offleet *f)
{
    if (!f || !f->started)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->disp_thr, NULL);
    pthread_join(f->tick_thr, NULL); /* persists one last time */
    push_tcp_free(f->tcp);
    f->tcp = NULL;
    push_mqtt_free(f->mqtt);
    f->mqtt = NULL;
    f->started = 0;
}

static void free_rollout(void *r)
{
    rollout_free(r);
}

void fleet_destroy(offleet *f)
{
    if (!f)
        return;
    fleet_stop(f);
    smap_free(&f->rollouts, free_rollout);
    smap_free(&f->pending, NULL);
    smap_free(&f->pushes, push_free);
    smap_free(&f->devices, free);
    smap_free(&f->strings, free);
    smap_free(&f->deleted, NULL);
    free(f->outbox);
    if (f->file_store)
        fleet_file_store_close(f->file_store);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cond);
    free(f->s_push_listen);
    free(f->s_mqtt_broker);
    free(f->s_mqtt_topic);
    free(f->s_client_id);
    free(f->s_state_dir);
    free(f);
}

int fleet_push_port(const offleet *f)
{
    return f && f->tcp ? push_tcp_port(f->tcp) : 0;
}

/* ---- check path ------------------------------------------------------------------ */

/* The rollout that governs a firmware: the newest one that is not superseded. */
struct rollout *fleet_governing(offleet *f, const char *project, const char *firmware)
{
    struct rollout *best = NULL;
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&f->rollouts, &i, &k, &v);) {
        struct rollout *r = v;
        if (strcmp(r->project, project) || strcmp(r->firmware, firmware))
            continue;
        if (!best || r->created > best->created || (r->created == best->created && strcmp(r->id, best->id) > 0))
            best = r;
    }
    return best;
}

void fleet_rollout_events(offleet *f, struct rollout *r, int before_state, int64_t before_finished)
{
    const char *ev = NULL;
    if (r->state != before_state && r->state == RO_PAUSED)
        ev = "rollout.paused";
    else if (r->state != before_state && r->state == RO_CANCELLED)
        ev = "rollout.cancelled";
    else if (r->finished_at && !before_finished)
        ev = "rollout.finished";
    if (!ev || !f->hooks.notify)
        return;
    uint32_t ok = 0;
    for (int s = 0; s < r->nstages; s++)
        ok += r->counts[s][RS_SUCCEEDED];
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:s?,s:b,s:I,s:I,s:I}", "rollout", r->id, "project",
                          r->project, "firmware", r->firmware, "package", r->package_id, "target_version",
                          r->target_version, "state", rollout_state_name(r->state), "stage", r->stage, "percent",
                          r->threshold[r->stage] / 100.0, "reason",
                          r->state == RO_PAUSED ? r->pause_reason : NULL, "by_rule",
                          r->state == RO_PAUSED && r->paused_by_rule, "finished", (json_int_t)r->finished,
                          "failures", (json_int_t)r->failures, "succeeded", (json_int_t)ok);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text)
        f->hooks.notify(f->hooks.ctx, ev, text);
    free(text);
}

static uint32_t expected_of(offleet *f, const char *device_id)
{
    struct fdev *d = smap_get(&f->devices, device_id);
    if (d && d->nchecks >= 3 && d->ewma_s)
        return d->ewma_s;
    return f->cfg.expected_interval_s;
}

fleet_offer_kind fleet_rollout_decide(offleet *f, const char *project, const char *firmware,
                                      const char *device_id, const char *reported_version, int64_t now,
                                      fleet_offer *out)
{
    fleet_offer tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);
    if (!f || !project || !firmware || !device_id)
        return FLEET_OFFER_NONE;
    if (!now)
        now = fleet_now();
    pthread_mutex_lock(&f->mu);
    struct rollout *r = fleet_governing(f, project, firmware);
    fleet_offer_kind k = FLEET_OFFER_NONE;
    if (r) {
        k = rollout_decide(r, device_id, reported_version, now, &f->rate, fleet_mono(),
                           expected_of(f, device_id), &out->reason);
        snprintf(out->rollout_id, sizeof out->rollout_id, "%s", r->id);
        snprintf(out->package_id, sizeof out->package_id, "%s", r->package_id);
        snprintf(out->target_version, sizeof out->target_version, "%s", r->target_version);
        if (k == FLEET_OFFER_PACKAGE)
            f->offers++;
        else if (k == FLEET_OFFER_HOLD) {
            f->holds++;
            out->hold = (fleet_hold_kind)r->last_hold;
        }
    }
    pthread_mutex_unlock(&f->mu);
    out->kind = k;
    return k;
}

int fleet_rollout_package(offleet *f, const char *project, const char *firmware, char out[64])
{
    out[0] = 0;
    if (!f || !project || !firmware)
        return 0;
    pthread_mutex_lock(&f->mu);
    struct rollout *r = fleet_governing(f, project, firmware);
    int ok = r && r->state != RO_CANCELLED;
    if (ok)
        snprintf(out, 64, "%s", r->package_id);
    pthread_mutex_unlock(&f->mu);
    return ok;
}

static void learn_device(offleet *f, const fleet_check_event *ev, int64_t now)
{
    struct fdev *d = smap_get(&f->devices, ev->device_id);
    if (!d) {
        d = calloc(1, sizeof *d);
        if (!d || smap_put(&f->devices, ev->device_id, d, NULL) < 0) {
            free(d);
            return;
        }
    }
    if (ev->project && *ev->project)
        d->project = fleet_intern(f, ev->project);
    if (ev->firmware && *ev->firmware)
        d->firmware = fleet_intern(f, ev->firmware);
    if (ev->version && *ev->version)
        snprintf(d->version, sizeof d->version, "%s", ev->version);
    if (d->nchecks && now > d->last_check) {
        int64_t iv = now - d->last_check;
        if (iv > 30 * 86400)
            iv = 30 * 86400;
        /* EWMA with weight 1/4 for the newest interval */
        d->ewma_s = d->ewma_s ? (uint32_t)((3 * (int64_t)d->ewma_s + iv) / 4) : (uint32_t)iv;
        if (!d->ewma_s)
            d->ewma_s = 1;
    }
    d->last_check = now;
    if (d->nchecks < UINT32_MAX)
        d->nchecks++;
}

void fleet_on_check(offleet *f, const fleet_check_event *ev)
{
    if (!f || !ev || !ev->device_id || !*ev->device_id)
        return;
    /* checks the server refused as not belonging to any project (invalid
     * device, project or firmware) are not fleet devices: not learnt */
    if (ev->code == 3 || ev->code == 4 || ev->code == 25 || ev->code == 26)
        return;
    int64_t now = ev->time ? ev->time : fleet_now();
    pthread_mutex_lock(&f->mu);
    learn_device(f, ev, now);
    push_on_check(f, ev->device_id, now);
    if (ev->project && ev->firmware) {
        struct rollout *r = fleet_governing(f, ev->project, ev->firmware);
        if (r) {
            int before = r->state;
            int64_t fin = r->finished_at;
            rollout_observe(r, ev, now, expected_of(f, ev->device_id));
            if (before == RO_RUNNING && r->state == RO_PAUSED)
                fleet_log(f, FLEET_LOG_WARN, "rollout %s paused: %s", r->id, r->pause_reason);
            fleet_rollout_events(f, r, before, fin);
        }
    }
    pthread_mutex_unlock(&f->mu);
}

int fleet_report_state_parse(const char *s)
{
    static const char *names[] = {"downloading", "downloaded", "installed", "failed"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

void fleet_on_report(offleet *f, const char *device_id, fleet_report_state state, const char *version,
                     int64_t time)
{
    if (!f || !device_id || (int)state < 0 || state > FLEET_REPORT_FAILED)
        return;
    int64_t now = time ? time : fleet_now();
    pthread_mutex_lock(&f->mu);
    struct fdev *d = smap_get(&f->devices, device_id);
    struct rollout *r = d && d->project && d->firmware ? fleet_governing(f, d->project, d->firmware) : NULL;
    if (r) {
        int before = r->state;
        int64_t fin = r->finished_at;
        rollout_report(r, device_id, (int)state, version, now);
        if (before == RO_RUNNING && r->state == RO_PAUSED)
            fleet_log(f, FLEET_LOG_WARN, "rollout %s paused: %s", r->id, r->pause_reason);
        fleet_rollout_events(f, r, before, fin);
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- push entry point -------------------------------------------------------------- */

struct idlist {
    char **v;
    size_t n, cap, max;
    int over;
};

static int idlist_add(void *arg, const char *id)
{
    struct idlist *l = arg;
    if (l->n >= l->max) {
        l->over = 1;
        return 1;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return 1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = strdup(id);
    if (!l->v[l->n])
        return 1;
    l->n++;
    return 0;
}

static void idlist_free(struct idlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

int fleet_push(offleet *f, const char *const *ids, size_t n_ids, const char *project, const char *firmware,
               unsigned ttl_s, char **push_id_out)
{
    if (push_id_out)
        *push_id_out = NULL;
    if (!f || (!n_ids && (!project || !*project)))
        return FLEET_ERR_INVAL;
    struct idlist l = {.max = f->cfg.max_push_targets};
    if (n_ids) {
        if (n_ids > l.max)
            return FLEET_ERR_LIMIT;
        for (size_t i = 0; i < n_ids; i++)
            if (!ids[i] || !push_device_id_valid(ids[i], strlen(ids[i]), &(const char *){NULL}))
                return FLEET_ERR_INVAL;
    } else if (f->hooks.device_foreach) {
        if (f->hooks.device_foreach(f->hooks.ctx, project, firmware, idlist_add, &l) < 0 && !l.n) {
            idlist_free(&l);
            return FLEET_ERR_IO;
        }
    } else {
        pthread_mutex_lock(&f->mu);
        const char *k;
        void *v;
        for (size_t i = 0; smap_next(&f->devices, &i, &k, &v);) {
            struct fdev *d = v;
            if (!d->project || strcmp(d->project, project))
                continue;
            if (firmware && *firmware && (!d->firmware || strcmp(d->firmware, firmware)))
                continue;
            if (idlist_add(&l, k))
                break;
        }
        pthread_mutex_unlock(&f->mu);
    }
    if (l.over) {
        idlist_free(&l);
        return FLEET_ERR_LIMIT;
    }
    if (!n_ids && l.n == 0) {
        idlist_free(&l);
        return FLEET_ERR_NOTFOUND; /* an empty group is an operator mistake */
    }
    struct push *p = NULL;
    pthread_mutex_lock(&f->mu);
    int rc = push_create(f, n_ids ? ids : (const char *const *)l.v, n_ids ? n_ids : l.n, project, firmware,
                         ttl_s, fleet_now(), &p);
    if (rc == 0 && push_id_out)
        *push_id_out = strdup(p->id);
    if (rc == 0)
        fleet_log(f, FLEET_LOG_INFO, "push %s: %zu devices queued at %.0f/s", p->id, p->n, f->rate.per_s);
    pthread_mutex_unlock(&f->mu);
    idlist_free(&l);
    return rc;
}
