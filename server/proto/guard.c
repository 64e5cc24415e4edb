/*
 * guard.c — flood limits of the device check and package downloads
 * (guard.h).
 */
#include "guard.h"

#include "server.h"

#include "ratelimit.h"
#include "log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BUSY_RETRY_AFTER 30

struct guard {
    lim_table *dev, *addr, *newdev, *dl;
    unsigned dl_max, dl_per_addr;
    atomic_uint dl_running;
    atomic_ullong refused_device, refused_address, refused_new_device, refused_downloads;
    pthread_mutex_t proj_mu; /* devices per project (only touched when a device is created) */
    struct proj_count {
        int64_t id;
        unsigned n;
    } *proj;
    size_t nproj, capproj;
    int64_t full_logged; /* time a "project full" line was last logged */
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

guard *guard_new(const of_server *s)
{
    const of_config *c = &s->cfg;
    guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    double dev_rate = c->limit_device_burst ? 1.0 / (double)c->limit_device_interval : 0;
    g->dev = lim_new(GUARD_DEVICE_ENTRIES, dev_rate, (double)c->limit_device_burst);
    g->addr = lim_new(GUARD_ADDRESS_ENTRIES, (double)c->limit_address_rate, (double)c->limit_address_burst);
    g->newdev = lim_new(GUARD_ADDRESS_ENTRIES, (double)c->limit_new_devices_rate / 60.0,
                        (double)c->limit_new_devices_burst);
    g->dl = lim_new(GUARD_ADDRESS_ENTRIES, 0, 0);
    pthread_mutex_init(&g->proj_mu, NULL);
    g->dl_max = c->downloads_max;
    g->dl_per_addr = c->downloads_per_address;
    if (!g->dev || !g->addr || !g->newdev || !g->dl) {
        guard_free(g);
        return NULL;
    }
    return g;
}

void guard_free(guard *g)
{
    if (g == NULL)
        return;
    lim_free(g->dev);
    lim_free(g->addr);
    lim_free(g->newdev);
    lim_free(g->dl);
    pthread_mutex_destroy(&g->proj_mu);
    free(g->proj);
    free(g);
}

/* The client's address (behind a trusted proxy: the one it forwarded) as
 * 16 bytes, IPv4 mapped into IPv6; an IPv6 address is cut to its /64. */
static void peer_key(http_req *r, guard_addr *a)
{
    memset(a, 0, sizeof *a);
    char txt[INET6_ADDRSTRLEN + 8];
    http_peer(r, txt, sizeof txt);
    struct in_addr v4a;
    if (inet_pton(AF_INET, txt, &v4a) == 1) {
        a->b[10] = a->b[11] = 0xff;
        memcpy(a->b + 12, &v4a, 4);
        return;
    }
    if (inet_pton(AF_INET6, txt, a->b) == 1) {
        static const unsigned char v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a->b, v4, 12) != 0)
            memset(a->b + 8, 0, 8); /* IPv6: one /64 is one subscriber */
    }
}

static void peer_text(const guard_addr *a, char *out, size_t cap)
{
    static const unsigned char v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a->b, v4, 12) == 0)
        snprintf(out, cap, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
    else
        snprintf(out, cap, "%x:%x:%x:%x::/64", a->b[0] << 8 | a->b[1], a->b[2] << 8 | a->b[3],
                 a->b[4] << 8 | a->b[5], a->b[6] << 8 | a->b[7]);
}

static void too_many(http_req *r, unsigned retry_after, const char *msg)
{
    reply_code_retry(r, 429, GUARD_CODE_RATE, msg, retry_after);
}

int guard_check(of_server *s, http_req *r, const char *id, int64_t now)
{
    guard *g = s->guard;
    if (g == NULL)
        return 1;
    double t = mono();
    guard_addr a;
    peer_key(r, &a);
    lim_verdict v;
    lim_take(g->addr, a.b, sizeof a.b, t, &v);
    if (!v.allowed) {
        atomic_fetch_add(&g->refused_address, 1);
        if (v.refused_run == 1) {
            char txt[64];
            peer_text(&a, txt, sizeof txt);
            log_warn("limits: address %s is over %u checks/s (burst %u): its checks get 429 until it slows down",
                     txt, s->cfg.limit_address_rate, s->cfg.limit_address_burst);
        }
        too_many(r, v.retry_after, "too many checks from this address: try again after Retry-After seconds");
        return 0;
    }
    lim_take(g->dev, id, strlen(id), t, &v);
    if (!v.allowed) {
        atomic_fetch_add(&g->refused_device, 1);
        if (v.refused_run == 1)
            log_info("device %s: over %u checks in a row (then one per %u s): its checks get 429", id,
                     s->cfg.limit_device_burst, s->cfg.limit_device_interval);
        too_many(r, v.retry_after, "too many checks from this device: try again after Retry-After seconds");
        return 0;
    }
    if (v.streak) {
        /* one history event per refusal streak, written when it ends */
        dev_entry *e = devtab_lock(s->devices, id, 0);
        if (e) {
            devtab_unlock(s->devices, e);
            store_event ev;
            memset(&ev, 0, sizeof ev);
            snprintf(ev.device_id, sizeof ev.device_id, "%s", id);
            ev.time = now;
            ev.code = GUARD_CODE_RATE;
            ev.decision = DECISION_REFUSED;
            snprintf(ev.note, sizeof ev.note, "rate limited: %u checks refused with 429 in the last %.0f s", v.streak,
                     t - v.streak_first);
            writer_event(s->wr, &ev);
        }
    }
    return 1;
}

int guard_new_device(of_server *s, http_req *r)
{
    guard *g = s->guard;
    if (g == NULL)
        return 1;
    guard_addr a;
    peer_key(r, &a);
    lim_verdict v;
    lim_take(g->newdev, a.b, sizeof a.b, mono(), &v);
    if (v.allowed)
        return 1;
    atomic_fetch_add(&g->refused_new_device, 1);
    if (v.refused_run == 1) {
        char txt[64];
        peer_text(&a, txt, sizeof txt);
        log_warn("limits: address %s is over %u new devices a minute (burst %u): checks of unknown devices from it "
                 "get 429",
                 txt, s->cfg.limit_new_devices_rate, s->cfg.limit_new_devices_burst);
    }
    too_many(r, v.retry_after, "too many new devices from this address: try again after Retry-After seconds");
    return 0;
}

int guard_download_begin(of_server *s, http_req *r, guard_addr *a)
{
    guard *g = s->guard;
    peer_key(r, a);
    if (g == NULL)
        return 1;
    unsigned n = atomic_fetch_add(&g->dl_running, 1);
    if (g->dl_max && n >= g->dl_max) {
        atomic_fetch_sub(&g->dl_running, 1);
        atomic_fetch_add(&g->refused_downloads, 1);
        reply_code_retry(r, 503, GUARD_CODE_BUSY, "too many downloads running on the server: try again later",
                         BUSY_RETRY_AFTER);
        return 0;
    }
    if (!lim_acquire(g->dl, a->b, sizeof a->b, g->dl_per_addr, mono())) {
        atomic_fetch_sub(&g->dl_running, 1);
        atomic_fetch_add(&g->refused_downloads, 1);
        reply_code_retry(r, 503, GUARD_CODE_BUSY, "too many downloads running from this address: try again later",
                         BUSY_RETRY_AFTER);
        return 0;
    }
    return 1;
}

void guard_download_end(of_server *s, const guard_addr *a)
{
    guard *g = s->guard;
    if (g == NULL)
        return;
    lim_release(g->dl, a->b, sizeof a->b);
    atomic_fetch_sub(&g->dl_running, 1);
}

void guard_get_stats(of_server *s, guard_stats *out)
{
    memset(out, 0, sizeof *out);
    guard *g = s->guard;
    if (g == NULL)
        return;
    out->refused_device = atomic_load(&g->refused_device);
    out->refused_address = atomic_load(&g->refused_address);
    out->refused_new_device = atomic_load(&g->refused_new_device);
    out->refused_downloads = atomic_load(&g->refused_downloads);
    out->downloads_running = atomic_load(&g->dl_running);
    lim_stats ls;
    lim_table *tabs[] = {g->dev, g->addr, g->newdev, g->dl};
    for (size_t i = 0; i < 4; i++) {
        lim_get_stats(tabs[i], &ls);
        out->evicted_busy += ls.evicted_busy;
    }
}

void guard_json(of_server *s, json_t *j)
{
    guard_stats st;
    guard_get_stats(s, &st);
    json_object_set_new(j, "checks_limited", json_integer((json_int_t)(st.refused_device + st.refused_address)));
    json_object_set_new(j, "new_devices_limited", json_integer((json_int_t)st.refused_new_device));
    json_object_set_new(j, "downloads_refused", json_integer((json_int_t)st.refused_downloads));
    json_object_set_new(j, "downloads_running", json_integer((json_int_t)st.downloads_running));
}

/* proj_mu held. The counter of project id, added when absent (NULL on OOM). */
static struct proj_count *proj_slot(guard *g, int64_t id)
{
    for (size_t i = 0; i < g->nproj; i++)
        if (g->proj[i].id == id)
            return &g->proj[i];
    if (g->nproj == g->capproj) {
        size_t nc = g->capproj ? g->capproj * 2 : 16;
        struct proj_count *np = realloc(g->proj, nc * sizeof *np);
        if (np == NULL)
            return NULL;
        g->proj = np;
        g->capproj = nc;
    }
    g->proj[g->nproj] = (struct proj_count){id, 0};
    return &g->proj[g->nproj++];
}

void guard_count_devices(of_server *s)
{
    guard *g = s->guard;
    dev_state *all = NULL;
    size_t n = 0;
    if (g == NULL || devtab_snapshot_all(s->devices, &all, &n) < 0)
        return;
    pthread_mutex_lock(&g->proj_mu);
    for (size_t i = 0; i < n; i++) {
        if (all[i].project_id == 0)
            continue;
        struct proj_count *c = proj_slot(g, all[i].project_id);
        if (c)
            c->n++;
    }
    pthread_mutex_unlock(&g->proj_mu);
    free(all);
}

int guard_project_admit(of_server *s, http_req *r, const cat_project *p)
{
    guard *g = s->guard;
    if (g == NULL)
        return 1;
    pthread_mutex_lock(&g->proj_mu);
    struct proj_count *c = proj_slot(g, p->id);
    int ok = c == NULL || p->max_devices == 0 || c->n < p->max_devices;
    if (ok && c)
        c->n++;
    int64_t now = (int64_t)time(NULL);
    int say = !ok && now - g->full_logged >= 60;
    if (say)
        g->full_logged = now;
    pthread_mutex_unlock(&g->proj_mu);
    if (say)
        log_warn("project %s has its %u devices (max_devices): checks of new devices get code 27; raise it with "
                 "openfota project set %s --max-devices N",
                 p->key, p->max_devices, p->key);
    if (!ok)
        reply_code(r, 404, 27, "this project has as many devices as it allows (max_devices): no new device accepted");
    return ok;
}
