/*
 * admin.c — the fleet's admin API routes (docs/fleet-api.md): JSON in, JSON
 * out. The server's admin router hands every request under /admin/v1/push and
 * /admin/v1/rollouts here after it checked the bearer token.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_internal.h"
#include "push_parse.h"

#define ADMIN_BODY_MAX (64u * 1024u * 1024u)

struct reply {
    int status;
    json_t *body; /* owned */
};

static struct reply err_reply(int status, const char *error, const char *hint)
{
    struct reply r = {status, json_pack("{s:s,s:s}", "error", error, "hint", hint ? hint : "")};
    return r;
}

static struct reply ok_reply(int status, json_t *body)
{
    struct reply r = {status, body};
    return r;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Finds name=value in a query string and percent-decodes it into buf.
 * Returns 1 when found, 0 when absent, -1 when too long or malformed. */
static int query_get(const char *q, const char *name, char *buf, size_t size)
{
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > nl && !strncmp(q, name, nl) && q[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1; i < len; i++) {
                int c = (unsigned char)q[i];
                if (c == '%' && i + 2 < len + 1 && hexval(q[i + 1]) >= 0 && hexval(q[i + 2]) >= 0) {
                    c = hexval(q[i + 1]) * 16 + hexval(q[i + 2]);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (o + 1 >= size || c == 0)
                    return -1;
                buf[o++] = (char)c;
            }
            buf[o] = '\0';
            return 1;
        }
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* ---- push ------------------------------------------------------------------ */

static json_t *rate_json(offleet *f)
{
    return json_pack("{s:f,s:f,s:f,s:I,s:I}", "per_s", f->rate.per_s, "burst", f->rate.burst, "tokens",
                     rate_tokens(&f->rate, fleet_mono()), "granted", (json_int_t)f->rate.granted, "denied",
                     (json_int_t)f->rate.denied);
}

static struct reply push_status(offleet *f)
{
    json_t *o = json_object();
    json_t *tcp = json_null();
    if (f->tcp) {
        struct push_tcp_stats s;
        push_tcp_get_stats(f->tcp, &s);
        tcp = json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:b,s:I,s:I}", "listen",
                        f->cfg.push_listen, "port", push_tcp_port(f->tcp), "connected", (json_int_t)s.connected,
                        "identified", (json_int_t)s.identified, "accepted", (json_int_t)s.accepted,
                        "refused_cap", (json_int_t)s.refused_cap, "bad_first_line", (json_int_t)s.bad_first_line,
                        "long_lines", (json_int_t)s.long_lines, "handshake_timeouts",
                        (json_int_t)s.handshake_timeouts, "idle_timeouts", (json_int_t)s.idle_timeouts,
                        "replaced", (json_int_t)s.replaced, "commands_sent", (json_int_t)s.commands_sent,
                        "heartbeats", (json_int_t)s.heartbeats, "max_connections", (int)f->cfg.max_connections,
                        "line_max", (int)f->cfg.line_max, "handshake_ms", (int)f->cfg.handshake_ms, "idle_s",
                        (int)f->cfg.idle_s, "auth", f->cfg.push_key_len > 0, "auth_refused",
                        (json_int_t)s.auth_refused, "line_floods", (json_int_t)s.line_floods);
    }
    json_object_set_new(o, "tcp", tcp);
    json_t *mq = json_null();
    if (f->mqtt) {
        struct push_mqtt_stats s;
        push_mqtt_get_stats(f->mqtt, &s);
        mq = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "broker", f->cfg.mqtt_broker, "topic",
                       f->cfg.mqtt_topic, "payload", f->cfg.mqtt_payload_json ? "json" : "update", "connected",
                       s.connected, "published", (json_int_t)s.published, "acked", (json_int_t)s.acked, "failed",
                       (json_int_t)s.failed, "reconnects", (json_int_t)s.reconnects);
    }
    json_object_set_new(o, "mqtt", mq);
    pthread_mutex_lock(&f->mu);
    json_object_set_new(o, "rate", rate_json(f));
    size_t open = 0;
    const char *k;
    void *v;
    json_t *list = json_array();
    for (size_t i = 0; smap_next(&f->pushes, &i, &k, &v);) {
        struct push *p = v;
        open += p->counts[PT_QUEUED] + p->counts[PT_WAITING] + p->counts[PT_PUBLISHED];
        json_array_append_new(list, push_to_json(p, 0));
    }
    json_object_set_new(o, "open_targets", json_integer((json_int_t)open));
    json_object_set_new(o, "outbox", json_integer((json_int_t)f->ob_len));
    json_object_set_new(o, "pushes", list);
    json_object_set_new(o, "rollout_offers", json_integer((json_int_t)f->offers));
    json_object_set_new(o, "rollout_holds", json_integer((json_int_t)f->holds));
    json_object_set_new(o, "devices_seen", json_integer((json_int_t)f->devices.count));
    pthread_mutex_unlock(&f->mu);
    return ok_reply(200, o);
}

static struct reply push_post(offleet *f, json_t *body)
{
    json_t *devs = json_object_get(body, "devices");
    json_t *dev = json_object_get(body, "device");
    const char *project = json_string_value(json_object_get(body, "project"));
    const char *firmware = json_string_value(json_object_get(body, "firmware"));
    json_t *ttl = json_object_get(body, "ttl_s");
    if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1 || json_integer_value(ttl) > 365 * 86400))
        return err_reply(400, "ttl_s must be an integer from 1 to 31536000", "give the expiry in seconds");
    unsigned ttl_s = ttl ? (unsigned)json_integer_value(ttl) : 0;
    const char **ids = NULL;
    size_t n = 0;
    if (dev && devs)
        return err_reply(400, "give either \"device\" or \"devices\", not both", NULL);
    if (dev) {
        if (!json_is_string(dev))
            return err_reply(400, "\"device\" must be a string", "e.g. {\"device\":\"860000000000009\"}");
        ids = malloc(sizeof *ids);
        if (!ids)
            return err_reply(500, "out of memory", NULL);
        ids[0] = json_string_value(dev);
        n = 1;
    } else if (devs) {
        if (!json_is_array(devs) || json_array_size(devs) == 0)
            return err_reply(400, "\"devices\" must be a non-empty array of device ids", NULL);
        if (json_array_size(devs) > f->cfg.max_push_targets)
            return err_reply(413, "too many devices in one push", "split the list or push to a project");
        n = json_array_size(devs);
        ids = calloc(n, sizeof *ids);
        if (!ids)
            return err_reply(500, "out of memory", NULL);
        for (size_t i = 0; i < n; i++) {
            ids[i] = json_string_value(json_array_get(devs, i));
            if (!ids[i]) {
                free(ids);
                return err_reply(400, "\"devices\" must hold strings", NULL);
            }
        }
    } else if (!project || !*project) {
        return err_reply(400, "say whom to push to: \"device\", \"devices\" or \"project\" (and \"firmware\")",
                         "e.g. {\"project\":\"KEY\",\"firmware\":\"NAME\"}");
    }
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (!push_device_id_valid(ids[i], strlen(ids[i]), &why)) {
            char msg[400];
            snprintf(msg, sizeof msg, "device id '%.64s' is %s", ids[i], why);
            free(ids);
            return err_reply(400, msg, "give the id the device sends in its checks (openfota device list)");
        }
    }
    char *pid = NULL;
    int rc = fleet_push(f, ids, n, n ? NULL : project, n ? NULL : firmware, ttl_s, &pid);
    free(ids);
    if (rc == FLEET_ERR_LIMIT)
        return err_reply(413, "too many devices in one push", "push to a firmware instead of a whole project");
    if (rc == FLEET_ERR_NOTFOUND)
        return err_reply(404, "no such devices: the server knows no device of this project/firmware",
                         "devices become known at their first check; check the project key and firmware name");
    if (rc < 0)
        return err_reply(500, fleet_strerror(rc), "see the server log");
    pthread_mutex_lock(&f->mu);
    struct push *p = smap_get(&f->pushes, pid);
    json_t *o = p ? push_to_json(p, 0) : json_pack("{s:s}", "id", pid);
    json_object_set_new(o, "rate_per_s", json_real(f->rate.per_s));
    pthread_mutex_unlock(&f->mu);
    free(pid);
    return ok_reply(202, o);
}

static struct reply push_get(offleet *f, const char *id, const char *query)
{
    char v[8];
    int with = query_get(query, "devices", v, sizeof v) == 1 && strcmp(v, "0") ? 1 : 0;
    pthread_mutex_lock(&f->mu);
    struct push *p = smap_get(&f->pushes, id);
    json_t *o = p ? push_to_json(p, with) : NULL;
    pthread_mutex_unlock(&f->mu);
    if (!o)
        return err_reply(404, "no such push", "list pushes with GET /admin/v1/push");
    return ok_reply(200, o);
}

static struct reply push_rate(offleet *f, json_t *body)
{
    json_t *ps = json_object_get(body, "per_s"), *bu = json_object_get(body, "burst");
    if (!json_is_number(ps) || !(json_number_value(ps) > 0) || json_number_value(ps) > 1e6)
        return err_reply(400, "per_s must be a number above 0 (at most 1000000)", "e.g. {\"per_s\":50}");
    if (bu && (!json_is_number(bu) || json_number_value(bu) < 1 || json_number_value(bu) > 1e6))
        return err_reply(400, "burst must be a number from 1 to 1000000", NULL);
    double per = json_number_value(ps);
    double burst = bu ? json_number_value(bu) : (per >= 1 ? per : 1);
    pthread_mutex_lock(&f->mu);
    rate_set(&f->rate, per, burst, fleet_mono());
    json_t *o = rate_json(f);
    pthread_mutex_unlock(&f->mu);
    fleet_log(f, FLEET_LOG_INFO, "push: rate set to %.3g/s (burst %.3g)", per, burst);
    return ok_reply(200, o);
}

static struct reply push_device(offleet *f, const char *id)
{
    if (!push_id_valid(id, strlen(id)))
        return err_reply(400, "malformed device id", NULL);
    int connected = f->tcp ? push_tcp_connected(f->tcp, id) : 0;
    pthread_mutex_lock(&f->mu);
    struct push_target *t = smap_get(&f->pending, id);
    json_t *last = t ? json_pack("{s:s,s:s,s:I,s:I}", "push", t->owner->id, "state",
                                 push_tstate_name(t->state), "at", (json_int_t)t->at, "expires",
                                 (json_int_t)t->owner->expires)
                     : json_null();
    pthread_mutex_unlock(&f->mu);
    return ok_reply(200, json_pack("{s:s,s:b,s:o}", "id", id, "connected", connected, "last_push", last));
}

/* ---- rollouts -------------------------------------------------------------- */

static int get_u32(json_t *body, const char *key, uint32_t def, uint32_t max, uint32_t *out)
{
    json_t *v = json_object_get(body, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
        return -1;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static struct reply rollout_post(offleet *f, json_t *body)
{
    const char *project = json_string_value(json_object_get(body, "project"));
    const char *firmware = json_string_value(json_object_get(body, "firmware"));
    const char *target = json_string_value(json_object_get(body, "target_version"));
    json_t *pkgj = json_object_get(body, "package");
    char pkg[64];
    if (json_is_string(pkgj))
        snprintf(pkg, sizeof pkg, "%s", json_string_value(pkgj));
    else if (json_is_integer(pkgj))
        snprintf(pkg, sizeof pkg, "%lld", (long long)json_integer_value(pkgj));
    else
        return err_reply(400, "\"package\" (the package id) is required", "list packages: openfota package list");
    fleet_package_info pi;
    memset(&pi, 0, sizeof pi);
    if (f->hooks.package_info) {
        if (f->hooks.package_info(f->hooks.ctx, pkg, &pi) != 0)
            return err_reply(404, "no such package", "list packages: openfota package list");
        if (project && strcmp(project, pi.project))
            return err_reply(422, "the package belongs to another project", NULL);
        if (firmware && strcmp(firmware, pi.firmware))
            return err_reply(422, "the package belongs to another firmware", NULL);
        if (target && strcmp(target, pi.version))
            return err_reply(422, "target_version differs from the package's version", "leave it out");
        project = pi.project;
        firmware = pi.firmware;
        target = pi.version;
    }
    if (!project || !firmware || !target)
        return err_reply(400, "project, firmware and target_version are required",
                         "give the package's project, firmware name and version");
    double pcs[ROLLOUT_MAX_STAGES];
    int np = 0;
    json_t *stages = json_object_get(body, "stages");
    if (stages) {
        if (!json_is_array(stages) || json_array_size(stages) < 1 ||
            json_array_size(stages) > ROLLOUT_MAX_STAGES - 1)
            return err_reply(400, "\"stages\" must be an array of 1 to 15 percentages", "e.g. [1,10,50,100]");
        for (size_t i = 0; i < json_array_size(stages); i++) {
            json_t *e = json_array_get(stages, i);
            if (!json_is_number(e))
                return err_reply(400, "\"stages\" must hold numbers", "e.g. [1,10,50,100]");
            pcs[np++] = json_number_value(e);
        }
    }
    json_t *tests = json_object_get(body, "test_devices");
    const char *tv[ROLLOUT_MAX_TEST];
    int nt = 0;
    if (tests) {
        if (!json_is_array(tests) || json_array_size(tests) > ROLLOUT_MAX_TEST)
            return err_reply(400, "\"test_devices\" must be an array of at most 1000 device ids", NULL);
        for (size_t i = 0; i < json_array_size(tests); i++) {
            tv[nt] = json_string_value(json_array_get(tests, i));
            if (!tv[nt] || !push_id_valid(tv[nt], strlen(tv[nt])))
                return err_reply(400, "a test device id is malformed", NULL);
            nt++;
        }
    }
    uint32_t interval, amin, loopdl, silentf, pmin;
    if (get_u32(body, "promote_min", 0, 100000000u, &pmin))
        return err_reply(400, "promote_min must be a whole number of devices from 0",
                         "e.g. 10: a stage advances by time only after 10 of its devices succeeded");
    double ppct = ROLLOUT_DEFAULT_PROMOTE_PERCENT;
    json_t *pp = json_object_get(body, "promote_percent");
    if (pp) {
        if (!json_is_number(pp) || !(json_number_value(pp) >= 0 && json_number_value(pp) <= 100))
            return err_reply(400, "promote_percent must be a number from 0 to 100",
                             "e.g. 95: a stage advances by time only when 95% of its offered devices succeeded");
        ppct = json_number_value(pp);
    }
    if (get_u32(body, "stage_interval_s", 0, 365u * 86400u, &interval) ||
        get_u32(body, "abort_min", f->cfg.abort_min, 1000000, &amin) ||
        get_u32(body, "loop_downloads", f->cfg.loop_downloads, 1000, &loopdl) ||
        get_u32(body, "silent_factor", f->cfg.silent_factor, 1000, &silentf))
        return err_reply(400, "stage_interval_s, abort_min, loop_downloads and silent_factor must be "
                         "non-negative integers", NULL);
    double ratio = f->cfg.abort_ratio;
    json_t *ar = json_object_get(body, "abort_ratio");
    if (ar) {
        if (!json_is_number(ar) || !(json_number_value(ar) > 0 && json_number_value(ar) <= 1))
            return err_reply(400, "abort_ratio must be above 0 and at most 1", "e.g. 0.2");
        ratio = json_number_value(ar);
    }
    char id[32];
    fleet_random_id('r', id, sizeof id);
    struct rollout_spec sp = {
        .id = id, .project = project, .firmware = firmware, .package_id = pkg, .target_version = target,
        .percents = np ? pcs : NULL, .npercents = np, .test_devices = tv, .ntest = nt,
        .stage_interval_s = interval, .promote_percent = &ppct, .promote_min = pmin, .abort_ratio = ratio, .abort_min = amin, .loop_downloads = loopdl,
        .silent_factor = silentf,
    };
    const char *why = NULL;
    int64_t now = fleet_now();
    struct rollout *r = rollout_new(&sp, now, &why);
    if (!r)
        return err_reply(400, why, "see docs/fleet.md for the rollout fields");
    pthread_mutex_lock(&f->mu);
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&f->rollouts, &i, &k, &v);) {
        struct rollout *o = v;
        if (!strcmp(o->project, project) && !strcmp(o->firmware, firmware) && o->state != RO_CANCELLED) {
            char msg[160], hint[96];
            snprintf(msg, sizeof msg, "rollout %s is still %s for this firmware", o->id,
                     rollout_state_name(o->state));
            snprintf(hint, sizeof hint, "cancel it first: openfota rollout cancel %s", o->id);
            pthread_mutex_unlock(&f->mu);
            rollout_free(r);
            return err_reply(409, msg, hint);
        }
    }
    /* a new rollout supersedes older ones of the same firmware; make sure it
     * sorts as the newest even within one second */
    for (size_t i = 0; smap_next(&f->rollouts, &i, &k, &v);) {
        struct rollout *o = v;
        if (!strcmp(o->project, project) && !strcmp(o->firmware, firmware) && o->created >= r->created)
            r->created = o->created + 1;
    }
    while (smap_get(&f->rollouts, r->id)) /* ids are never reused: draw again on a clash */
        fleet_random_id('r', r->id, sizeof r->id);
    if (smap_put(&f->rollouts, r->id, r, NULL) < 0) {
        pthread_mutex_unlock(&f->mu);
        rollout_free(r);
        return err_reply(500, "out of memory", NULL);
    }
    json_t *o = rollout_to_json(r, 0);
    pthread_mutex_unlock(&f->mu);
    fleet_log(f, FLEET_LOG_INFO, "rollout %s started: package %s to %s/%s", json_string_value(json_object_get(o, "id")),
              pkg, project, firmware);
    return ok_reply(201, o);
}

static struct reply rollout_list(offleet *f, const char *query)
{
    char proj[128], fw[160], st[16];
    int hp = query_get(query, "project", proj, sizeof proj) == 1;
    int hf = query_get(query, "firmware", fw, sizeof fw) == 1;
    int hs = query_get(query, "state", st, sizeof st) == 1;
    json_t *arr = json_array();
    pthread_mutex_lock(&f->mu);
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&f->rollouts, &i, &k, &v);) {
        struct rollout *r = v;
        if ((hp && strcmp(r->project, proj)) || (hf && strcmp(r->firmware, fw)) ||
            (hs && strcmp(rollout_state_name(r->state), st)))
            continue;
        json_array_append_new(arr, rollout_to_json(r, 0));
    }
    pthread_mutex_unlock(&f->mu);
    return ok_reply(200, json_pack("{s:o}", "rollouts", arr));
}

static struct reply rollout_one(offleet *f, const char *id, const char *action, const char *method,
                                json_t *body, const char *query)
{
    pthread_mutex_lock(&f->mu);
    struct rollout *r = smap_get(&f->rollouts, id);
    if (!r) {
        pthread_mutex_unlock(&f->mu);
        return err_reply(404, "no such rollout", "list rollouts: openfota rollout list");
    }
    struct reply rep;
    int64_t now = fleet_now();
    const char *why = NULL;
    int rc = 0;
    if (!action) {
        if (strcmp(method, "GET")) {
            rep = err_reply(405, "use GET on a rollout, POST on its actions", NULL);
            goto out;
        }
        rep = ok_reply(200, rollout_to_json(r, 0));
        goto out;
    }
    if (!strcmp(action, "devices")) {
        char st[16], lim[16];
        int status = -1;
        long long limit = 1000;
        if (query_get(query, "status", st, sizeof st) == 1) {
            status = rdev_status_parse(st);
            if (status < 0) {
                rep = err_reply(400, "unknown status",
                                "one of offered downloading downloaded succeeded failed silent looping banned");
                goto out;
            }
        }
        if (query_get(query, "limit", lim, sizeof lim) == 1) {
            char *e;
            limit = strtoll(lim, &e, 10);
            if (*e || limit < 1 || limit > 1000000) {
                rep = err_reply(400, "limit must be 1..1000000", NULL);
                goto out;
            }
        }
        rep = ok_reply(200, rollout_devices_json(r, status, (size_t)limit));
        goto out;
    }
    if (strcmp(method, "POST")) {
        rep = err_reply(405, "use POST for rollout actions", NULL);
        goto out;
    }
    int before = r->state;
    int64_t fin = r->finished_at;
    if (!strcmp(action, "promote"))
        rc = rollout_promote(r, now, &why);
    else if (!strcmp(action, "pause"))
        rc = rollout_pause(r, now, json_string_value(json_object_get(body, "reason")), &why);
    else if (!strcmp(action, "resume"))
        rc = rollout_resume(r, now, &why);
    else if (!strcmp(action, "cancel"))
        rc = rollout_cancel(r, now, &why);
    else {
        rep = err_reply(404, "unknown rollout action", "promote, pause, resume, cancel or devices");
        goto out;
    }
    if (rc < 0) {
        char hint[96];
        snprintf(hint, sizeof hint, "see the rollout's state: openfota rollout status %s", r->id);
        rep = err_reply(409, why, hint);
        goto out;
    }
    fleet_log(f, FLEET_LOG_INFO, "rollout %s: %s (now %s, stage %d)", r->id, action, rollout_state_name(r->state),
              r->stage);
    fleet_rollout_events(f, r, before, fin);
    rep = ok_reply(200, rollout_to_json(r, 0));
out:
    pthread_mutex_unlock(&f->mu);
    return rep;
}

/* ---- router ------------------------------------------------------------------ */

int fleet_admin_handle(offleet *f, const char *method, const char *path, const char *body, size_t len,
                       char **out_json, int *http_status)
{
    if (!f || !method || !path || !out_json || !http_status)
        return 0;
    char p[512];
    const char *q = strchr(path, '?');
    size_t pl = q ? (size_t)(q - path) : strlen(path);
    const char *query = q ? q + 1 : "";
    if (pl >= sizeof p)
        return 0;
    memcpy(p, path, pl);
    p[pl] = '\0';
    while (pl > 1 && p[pl - 1] == '/')
        p[--pl] = '\0';
    char *seg[6] = {0};
    int ns = 0;
    for (char *s = strtok(p, "/"); s && ns < 6; s = strtok(NULL, "/"))
        seg[ns++] = s;
    if (ns == 0 || (strcmp(seg[0], "push") && strcmp(seg[0], "rollouts")))
        return 0;
    json_t *jbody = NULL;
    struct reply rep = {0, NULL};
    if (len > ADMIN_BODY_MAX) {
        rep = err_reply(413, "request body too large", NULL);
        goto done;
    }
    if (body && len) {
        json_error_t err;
        jbody = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
        if (!jbody || !json_is_object(jbody)) {
            char msg[256];
            snprintf(msg, sizeof msg, "the body is not a JSON object (%s)", jbody ? "not an object" : err.text);
            rep = err_reply(400, msg, "send Content-Type: application/json with an object");
            goto done;
        }
    }
    json_t *b = jbody ? jbody : json_object();
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    int is_put = !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    if (!strcmp(seg[0], "push")) {
        if (ns == 1 && is_get)
            rep = push_status(f);
        else if (ns == 1 && is_post)
            rep = push_post(f, b);
        else if (ns == 2 && !strcmp(seg[1], "rate") && is_put)
            rep = push_rate(f, b);
        else if (ns == 2 && !strcmp(seg[1], "rate") && is_get) {
            pthread_mutex_lock(&f->mu);
            rep = ok_reply(200, rate_json(f));
            pthread_mutex_unlock(&f->mu);
        } else if (ns == 3 && !strcmp(seg[1], "devices") && is_get)
            rep = push_device(f, seg[2]);
        else if (ns == 2 && is_get)
            rep = push_get(f, seg[1], query);
        else
            rep = err_reply(405, "method not allowed on this push route", "see docs/fleet-api.md");
    } else {
        if (ns == 1 && is_get)
            rep = rollout_list(f, query);
        else if (ns == 1 && is_post)
            rep = rollout_post(f, b);
        else if (ns == 2 || ns == 3)
            rep = rollout_one(f, seg[1], ns == 3 ? seg[2] : NULL, method, b, query);
        else
            rep = err_reply(404, "no such rollout route", "see docs/fleet-api.md");
    }
    if (!jbody)
        json_decref(b);
done:
    json_decref(jbody);
    *http_status = rep.status;
    *out_json = rep.body ? json_dumps(rep.body, JSON_COMPACT) : NULL;
    json_decref(rep.body);
    return 1;
}
