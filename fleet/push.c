/*
 * push.c — push records, pending pushes and the dispatcher.
 *
 * A push is a list of targets (devices). Each target starts "queued" in the
 * outbox; the dispatcher takes one rate token per target (the shared rate
 * controller), builds the command and hands it to the TCP listener (done when
 * the device is connected) and to MQTT (open until the device checks). A
 * device that cannot be reached waits ("waiting") until it connects to the
 * push port (queued again) or checks (the check is what the push asked for:
 * "checked"), or until the push expires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet_internal.h"
#include "push_parse.h"

static const char *const tstate_names[PT__COUNT] = {
    "queued", "sent", "published", "waiting", "checked", "expired", "superseded", "failed",
};

const char *push_tstate_name(int s)
{
    return (s >= 0 && s < PT__COUNT) ? tstate_names[s] : "unknown";
}

static int tstate_open(int s)
{
    return s == PT_QUEUED || s == PT_PUBLISHED || s == PT_WAITING;
}

void push_free(void *v)
{
    struct push *p = v;
    if (!p)
        return;
    free(p->t);
    free(p);
}

void push_set_state(offleet *f, struct push *p, size_t i, int st, int64_t now)
{
    (void)f;
    struct push_target *t = &p->t[i];
    if (t->state == st)
        return;
    p->counts[t->state]--;
    t->state = (uint8_t)st;
    t->at = now;
    p->counts[st]++;
    p->dirty = 1;
}

int outbox_push(offleet *f, struct push *p, size_t idx)
{
    if (f->ob_len == f->ob_cap) {
        size_t ncap = f->ob_cap ? f->ob_cap * 2 : 1024;
        struct outref *n = malloc(ncap * sizeof *n);
        if (!n)
            return FLEET_ERR_NOMEM;
        for (size_t i = 0; i < f->ob_len; i++)
            n[i] = f->outbox[(f->ob_head + i) % f->ob_cap];
        free(f->outbox);
        f->outbox = n;
        f->ob_cap = ncap;
        f->ob_head = 0;
    }
    f->outbox[(f->ob_head + f->ob_len) % f->ob_cap] = (struct outref){p, idx};
    f->ob_len++;
    p->in_outbox++;
    pthread_cond_signal(&f->cond);
    return 0;
}

static void pending_set(offleet *f, struct push_target *t, int64_t now)
{
    void *old = NULL;
    if (smap_put(&f->pending, t->device, t, &old) < 0)
        return;
    struct push_target *o = old;
    if (o && o != t && tstate_open(o->state))
        push_set_state(f, o->owner, (size_t)(o - o->owner->t), PT_SUPERSEDED, now);
}

int push_create(offleet *f, const char *const *ids, size_t n, const char *project, const char *firmware,
                unsigned ttl_s, int64_t now, struct push **out)
{
    struct push *p = calloc(1, sizeof *p);
    if (!p)
        return FLEET_ERR_NOMEM;
    p->t = calloc(n ? n : 1, sizeof *p->t);
    if (!p->t) {
        free(p);
        return FLEET_ERR_NOMEM;
    }
    do /* ids are never reused: draw again on a clash with a kept push */
        fleet_random_id('p', p->id, sizeof p->id);
    while (smap_get(&f->pushes, p->id));
    p->created = now;
    p->expires = now + (ttl_s ? ttl_s : f->cfg.push_ttl_s);
    snprintf(p->project, sizeof p->project, "%s", project ? project : "");
    snprintf(p->firmware, sizeof p->firmware, "%s", firmware ? firmware : "");
    for (size_t i = 0; i < n; i++) {
        if (!push_id_valid(ids[i], strlen(ids[i])))
            continue;
        struct push_target *t = &p->t[p->n];
        t->owner = p;
        snprintf(t->device, sizeof t->device, "%s", ids[i]);
        push_id_canon(t->device);
        t->state = PT_QUEUED;
        t->at = now;
        p->counts[PT_QUEUED]++;
        p->n++;
    }
    if (smap_put(&f->pushes, p->id, p, NULL) < 0) {
        push_free(p);
        return FLEET_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->n; i++) {
        pending_set(f, &p->t[i], now);
        outbox_push(f, p, i);
    }
    p->dirty = 1;
    f->pushes_total++;
    *out = p;
    return 0;
}

void push_on_connect(offleet *f, const char *device_id, int64_t now)
{
    struct push_target *t = smap_get(&f->pending, device_id);
    if (t && (t->state == PT_WAITING || t->state == PT_PUBLISHED)) {
        push_set_state(f, t->owner, (size_t)(t - t->owner->t), PT_QUEUED, now);
        outbox_push(f, t->owner, (size_t)(t - t->owner->t));
    }
}

void push_on_check(offleet *f, const char *device_id, int64_t now)
{
    struct push_target *t = smap_get(&f->pending, device_id);
    if (t && tstate_open(t->state))
        push_set_state(f, t->owner, (size_t)(t - t->owner->t), PT_CHECKED, now);
}

void push_on_undelivered(offleet *f, const char *device_id, int64_t now)
{
    struct push_target *t = smap_get(&f->pending, device_id);
    if (t && t->state == PT_SENT && now <= t->owner->expires)
        push_set_state(f, t->owner, (size_t)(t - t->owner->t), PT_WAITING, now);
}

void push_tick(offleet *f, int64_t now)
{
    int resend = f->mqtt_resend;
    f->mqtt_resend = 0;
    const char *k;
    void *v;
    struct push *dead[64];
    size_t ndead = 0;
    for (size_t i = 0; smap_next(&f->pushes, &i, &k, &v);) {
        struct push *p = v;
        int expired = now >= p->expires;
        /* walk the targets only when there is something to do for them */
        if ((expired && !p->expiry_done) || (resend && f->mqtt && !expired)) {
            for (size_t j = 0; j < p->n; j++) {
                struct push_target *t = &p->t[j];
                if (expired && tstate_open(t->state))
                    push_set_state(f, p, j, PT_EXPIRED, now);
                else if (!expired && !t->mqtt_done && (t->state == PT_WAITING || t->state == PT_PUBLISHED)) {
                    push_set_state(f, p, j, PT_QUEUED, now);
                    outbox_push(f, p, j);
                }
            }
            if (expired)
                p->expiry_done = 1;
        }
        /* finished pushes stay visible for an hour after their expiry; the
         * outbox must hold no reference to them any more */
        if (expired && !p->busy && !p->in_outbox && now >= p->expires + 3600 && ndead < 64)
            dead[ndead++] = p;
    }
    for (size_t i = 0; i < ndead; i++) {
        struct push *p = dead[i];
        for (size_t j = 0; j < p->n; j++)
            if (smap_get(&f->pending, p->t[j].device) == &p->t[j])
                smap_del(&f->pending, p->t[j].device);
        smap_del(&f->pushes, p->id);
        char key[40];
        snprintf(key, sizeof key, "push:%s", p->id);
        smap_put(&f->deleted, key, NULL, NULL);
        push_free(p);
    }
}

json_t *push_to_json(const struct push *p, int with_targets)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(p->id));
    json_object_set_new(o, "created", json_integer(p->created));
    json_object_set_new(o, "expires", json_integer(p->expires));
    json_object_set_new(o, "project", p->project[0] ? json_string(p->project) : json_null());
    json_object_set_new(o, "firmware", p->firmware[0] ? json_string(p->firmware) : json_null());
    json_object_set_new(o, "targets", json_integer((json_int_t)p->n));
    json_t *st = json_object();
    for (int s = 0; s < PT__COUNT; s++)
        json_object_set_new(st, tstate_names[s], json_integer(p->counts[s]));
    json_object_set_new(o, "states", st);
    if (with_targets == 1) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->n; i++)
            json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "id", p->t[i].device, "state",
                                               tstate_names[p->t[i].state], "at", (json_int_t)p->t[i].at));
        json_object_set_new(o, "devices", a);
    } else if (with_targets == 2) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->n; i++)
            json_array_append_new(a, json_pack("[s,i,I,i]", p->t[i].device, p->t[i].state,
                                               (json_int_t)p->t[i].at, p->t[i].mqtt_done));
        json_object_set_new(o, "persist", a);
    }
    return o;
}

struct push *push_from_json(const json_t *j)
{
    const char *id;
    json_int_t created, expires;
    json_t *persist = NULL;
    if (json_unpack((json_t *)j, "{s:s,s:I,s:I,s:o}", "id", &id, "created", &created, "expires", &expires,
                    "persist", &persist) < 0 ||
        !json_is_array(persist) || strlen(id) >= 32)
        return NULL;
    struct push *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t n = json_array_size(persist);
    p->t = calloc(n ? n : 1, sizeof *p->t);
    if (!p->t) {
        free(p);
        return NULL;
    }
    snprintf(p->id, sizeof p->id, "%s", id);
    p->created = created;
    p->expires = expires;
    const char *proj = json_string_value(json_object_get(j, "project"));
    const char *fw = json_string_value(json_object_get(j, "firmware"));
    snprintf(p->project, sizeof p->project, "%s", proj ? proj : "");
    snprintf(p->firmware, sizeof p->firmware, "%s", fw ? fw : "");
    size_t i;
    json_t *e;
    json_array_foreach(persist, i, e) {
        const char *dev;
        int st, md;
        json_int_t at;
        if (json_unpack(e, "[s,i,I,i]", &dev, &st, &at, &md) < 0 || st < 0 || st >= PT__COUNT ||
            !push_id_valid(dev, strlen(dev)))
            continue;
        struct push_target *t = &p->t[p->n++];
        t->owner = p;
        snprintf(t->device, sizeof t->device, "%s", dev);
        t->state = (uint8_t)st;
        t->at = at;
        t->mqtt_done = (uint8_t)(md != 0);
        p->counts[st]++;
    }
    return p;
}

/* ---- dispatcher ------------------------------------------------------------ */

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

void *push_dispatch_thread(void *arg)
{
    offleet *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        if (f->ob_len == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&f->cond, &f->mu, &ts);
            continue;
        }
        /* drop targets that were delivered or superseded while queued,
         * without spending a token on them */
        struct outref ref = f->outbox[f->ob_head];
        if (ref.p->t[ref.idx].state != PT_QUEUED) {
            f->ob_head = (f->ob_head + 1) % f->ob_cap;
            f->ob_len--;
            ref.p->in_outbox--;
            continue;
        }
        double wait = rate_wait(&f->rate, fleet_mono());
        if (wait > 0) {
            pthread_mutex_unlock(&f->mu);
            sleep_s(wait < 0.05 ? wait : 0.05);
            pthread_mutex_lock(&f->mu);
            continue;
        }
        f->ob_head = (f->ob_head + 1) % f->ob_cap;
        f->ob_len--;
        ref.p->in_outbox--;
        rate_try_take(&f->rate, fleet_mono());
        struct push *p = ref.p;
        struct push_target *t = &p->t[ref.idx];
        char dev[65];
        fleet_device_info info;
        memset(&info, 0, sizeof info);
        snprintf(dev, sizeof dev, "%s", t->device);
        struct fdev *fd = smap_get(&f->devices, dev);
        if (fd) {
            snprintf(info.project, sizeof info.project, "%s", fd->project ? fd->project : "");
            snprintf(info.firmware, sizeof info.firmware, "%s", fd->firmware ? fd->firmware : "");
            snprintf(info.version, sizeof info.version, "%s", fd->version);
        }
        if (!info.project[0])
            snprintf(info.project, sizeof info.project, "%s", p->project);
        if (!info.firmware[0])
            snprintf(info.firmware, sizeof info.firmware, "%s", p->firmware);
        int mqtt_already = t->mqtt_done; /* re-queued on connect: do not publish twice */
        p->busy++;
        pthread_mutex_unlock(&f->mu);

        /* hooks and I/O without the lock */
        if (f->hooks.device_info) {
            fleet_device_info hi;
            memset(&hi, 0, sizeof hi);
            if (f->hooks.device_info(f->hooks.ctx, dev, &hi) == 0) {
                if (hi.project[0])
                    memcpy(info.project, hi.project, sizeof info.project);
                if (hi.firmware[0])
                    memcpy(info.firmware, hi.firmware, sizeof info.firmware);
                if (hi.version[0])
                    memcpy(info.version, hi.version, sizeof info.version);
            }
        }
        /* "version" (optional in the seed's command): the target of a running
         * rollout this device may have now */
        char target[32] = "";
        pthread_mutex_lock(&f->mu);
        struct rollout *ro = info.project[0] && info.firmware[0] ? fleet_governing(f, info.project, info.firmware)
                                                                 : NULL;
        if (ro && ro->state == RO_RUNNING && rollout_eligible(ro, dev))
            snprintf(target, sizeof target, "%s", ro->target_version);
        pthread_mutex_unlock(&f->mu);
        char url[1024], line[1400];
        int have_url = f->hooks.check_url &&
                       f->hooks.check_url(f->hooks.ctx, info.project, info.firmware, dev, url, sizeof url) == 0;
        int len = have_url ? push_build_command(url, target, line, sizeof line) : -1;
        int tcp_ok = 0, mqtt_ok = 0;
        if (len > 0 && f->tcp)
            tcp_ok = push_tcp_send(f->tcp, dev, line, (size_t)len) == 0;
        if (f->mqtt && mqtt_already) {
            mqtt_ok = 1;
        } else if (f->mqtt) {
            char topic[512];
            if (push_mqtt_topic(f->cfg.mqtt_topic, info.project, info.firmware, dev, topic, sizeof topic) > 0) {
                if (f->cfg.mqtt_payload_json && len > 0)
                    mqtt_ok = push_mqtt_publish(f->mqtt, topic, line, (size_t)len - 1) == 0;
                else if (!f->cfg.mqtt_payload_json)
                    mqtt_ok = push_mqtt_publish(f->mqtt, topic, "update", 6) == 0;
            } else {
                fleet_log(f, FLEET_LOG_WARN, "push: no MQTT topic for device %s (project unknown or holds + # /)",
                          dev);
            }
        }
        if (len <= 0 && !mqtt_ok)
            fleet_log(f, FLEET_LOG_WARN, "push: no check URL for device %s (project '%s', firmware '%s')", dev,
                      info.project, info.firmware);

        pthread_mutex_lock(&f->mu);
        p->busy--;
        int64_t now = fleet_now();
        if (t->state == PT_QUEUED) {
            t->mqtt_done = (uint8_t)(t->mqtt_done || mqtt_ok);
            if (tcp_ok)
                push_set_state(f, p, ref.idx, PT_SENT, now);
            else if (mqtt_ok)
                push_set_state(f, p, ref.idx, PT_PUBLISHED, now);
            else if (len <= 0 && !f->mqtt)
                push_set_state(f, p, ref.idx, PT_FAILED, now);
            else
                push_set_state(f, p, ref.idx, PT_WAITING, now);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}
