/*
 * metrics_http.c — GET /metrics (Prometheus text, admin token as a Bearer
 * token) and GET /admin/v1/stats (the console's overview: the last 60
 * minutes, device states, devices per version). docs/metrics.md, docs/api.md.
 *
 * Both run on the admin worker (serve.c isolates /metrics there): they sum
 * the counter blocks (metrics.c), scan the device table one stripe at a time
 * and ask the fleet component for its push and rollout state, none of which
 * may hold up a device check.
 */
#include "server.h"

#include "metrics.h"
#include "offleet.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define METRICS_BODY_MAX 4096u /* a scrape carries no body; past this the connection is dropped */

static void dev_count(void *arg, const dev_state *d)
{
    metrics_gauges *g = arg;
    g->devices_known++;
    g->devices_banned += d->banned != 0;
    g->devices_forbidden += d->forbidden != 0;
    g->devices_failed += d->failed_upgrades > 0;
}

/* A fleet admin GET answered as JSON (NULL when the fleet has no such route
 * or is absent). The caller owns the result. */
static json_t *fleet_get(of_server *s, const char *path)
{
    if (s->fleet == NULL)
        return NULL;
    char *out = NULL;
    int st = 0;
    if (!fleet_admin_handle(s->fleet, "GET", path, NULL, 0, &out, &st) || out == NULL) {
        free(out);
        return NULL;
    }
    json_t *j = st == 200 ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static void fleet_gauges(of_server *s, metrics_gauges *g)
{
    json_t *push = fleet_get(s, "/push");
    json_t *tcp = push ? json_object_get(push, "tcp") : NULL;
    json_t *conn = tcp ? json_object_get(tcp, "connected") : NULL;
    if (json_is_integer(conn) && json_integer_value(conn) > 0)
        g->push_connections = (uint64_t)json_integer_value(conn);
    json_decref(push);
    json_t *ro = fleet_get(s, "/rollouts");
    json_t *arr = ro ? json_object_get(ro, "rollouts") : NULL;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *st = json_string_value(json_object_get(it, "state"));
        if (st == NULL)
            continue;
        if (!strcmp(st, "running"))
            g->rollouts_running++;
        else if (!strcmp(st, "paused"))
            g->rollouts_paused++;
        else if (!strcmp(st, "cancelled"))
            g->rollouts_cancelled++;
    }
    json_decref(ro);
}

static void reply_err(http_req *r, unsigned status, const char *body, const http_hdr *h, size_t nh)
{
    http_reply(r, status, "application/json", body, strlen(body), h, nh);
}

/* Any admin token may scrape (viewer is the least role). Wrong tokens count
 * toward the same per-address back-off as the admin API and are audited, so
 * /metrics is no way around it. 1: go on; 0: answered (401 or 429). */
static int metrics_gate(of_server *s, http_req *r)
{
    char addr[64];
    http_peer(r, addr, sizeof addr);
    int64_t now = (int64_t)time(NULL);
    const char *h = http_header(r, "Authorization");
    auth_principal who;
    memset(&who, 0, sizeof who);
    int ok = 0;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        size_t tl = strlen(t);
        while (tl && t[tl - 1] == ' ')
            tl--;
        ok = tl > 0 && tl <= 256 && auth_tokens_check(s->auth, t, tl, &who) && who.role >= ROLE_VIEWER;
    }
    if (ok) {
        auth_backoff_ok(s->auth, addr);
        return 1;
    }
    unsigned wait = auth_backoff_wait(s->auth, addr, now);
    if (wait) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", wait);
        http_hdr rh[] = {{"Retry-After", ra}};
        reply_err(r, 429, "{\"error\":\"too many failed logins from this address\",\"hint\":\"use a valid admin token\"}",
                  rh, 1);
        return 0;
    }
    auth_backoff_fail(s->auth, addr, now);
    audit_record(s, "-", addr, r->method, r->path, r->path_len, "", 401, h ? "wrong admin token" : "no admin token");
    http_hdr hh[] = {{"WWW-Authenticate", "Bearer"}};
    reply_err(r, 401,
              "{\"error\":\"missing or wrong admin token\","
              "\"hint\":\"scrape with Authorization: Bearer <token from DATA/admin.token or openfota token add>"
              " (docs/metrics.md)\"}",
              hh, 1);
    return 0;
}

void metrics_handle(of_server *s, http_req *r, http_phase phase)
{
    if (phase == HTTP_PHASE_BODY) {
        if (r->body_seen > METRICS_BODY_MAX)
            r->close_conn = 1;
        return;
    }
    if (phase != HTTP_PHASE_END)
        return;
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        http_hdr h[] = {{"Allow", "GET, HEAD"}};
        reply_err(r, 405, "{\"error\":\"method not allowed here\",\"hint\":\"GET /metrics\"}", h, 1);
        return;
    }
    if (s->cfg.admin_tls_only && !http_is_tls(r)) {
        reply_err(r, 403,
                  "{\"error\":\"the metrics answer only over HTTPS on this server\","
                  "\"hint\":\"scrape the https:// URL (admin_tls_only is set)\"}",
                  NULL, 0);
        return;
    }
    if (!metrics_gate(s, r))
        return;
    metrics_totals t;
    metrics_sum(&t);
    metrics_gauges g;
    memset(&g, 0, sizeof g);
    g.writer_queue_depth = writer_queue_depth(s->wr);
    g.events_dropped = writer_dropped(s->wr);
    g.started = s->started;
    devtab_foreach(s->devices, dev_count, &g);
    fleet_gauges(s, &g);
    size_t len = 0;
    char *text = metrics_render(&t, &g, &len);
    if (text == NULL) {
        reply_err(r, 503, "{\"error\":\"out of memory\",\"hint\":\"retry\"}", NULL, 0);
        return;
    }
    http_reply(r, 200, METRICS_CONTENT_TYPE, text, len, NULL, 0);
    free(text);
}

/* ---- GET /admin/v1/stats ------------------------------------------------- */

/* Devices by project, firmware, version; then by id (irrelevant). */
static int cmp_group(const void *pa, const void *pb)
{
    const dev_state *a = pa, *b = pb;
    if (a->project_id != b->project_id)
        return a->project_id < b->project_id ? -1 : 1;
    int c = strcmp(a->firmware, b->firmware);
    if (c)
        return c;
    return version_cmp(&a->version, &b->version);
}

static int counted(const dev_state *d) { return d->project_id != 0 && d->firmware[0] && d->has_version; }

void stats_handle(of_server *s, http_req *r)
{
    int64_t now = (int64_t)time(NULL);
    metrics_minute mins[METRICS_MINUTES];
    metrics_minutes(now, mins);
    dev_state *all = NULL;
    size_t n = 0;
    if (devtab_snapshot_all(s->devices, &all, &n) < 0) {
        reply_err(r, 503, "{\"error\":\"out of memory\",\"hint\":\"retry\"}", NULL, 0);
        return;
    }
    json_t *j = json_object();
    json_t *ma = json_array();
    json_object_set_new(j, "now", json_integer(now));
    for (int i = 0; i < METRICS_MINUTES; i++)
        json_array_append_new(ma, json_pack("{s:I,s:I,s:I,s:I,s:I}", "t", (json_int_t)mins[i].t, "checks",
                                            (json_int_t)mins[i].checks, "deliveries", (json_int_t)mins[i].deliveries,
                                            "failed", (json_int_t)mins[i].failed, "cut", (json_int_t)mins[i].cut));
    json_object_set_new(j, "minutes", ma);
    size_t banned = 0, forbidden = 0, failed = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        banned += all[i].banned != 0;
        forbidden += all[i].forbidden != 0;
        failed += all[i].failed_upgrades > 0;
        if (counted(&all[i]))
            all[m++] = all[i]; /* keep only devices with a project, firmware and version */
    }
    json_object_set_new(j, "devices",
                        json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)n, "banned", (json_int_t)banned,
                                  "forbidden", (json_int_t)forbidden, "failed", (json_int_t)failed));
    qsort(all, m, sizeof *all, cmp_group);
    json_t *va = json_array();
    snapshot *snap = snap_acquire(&s->snaps);
    for (size_t i = 0; i < m;) {
        size_t k = i + 1;
        while (k < m && cmp_group(&all[i], &all[k]) == 0)
            k++;
        const snap_project *p = snap_project_by_id(snap, all[i].project_id);
        if (p != NULL) { /* a deleted project's devices are not listed */
            char v[VERSION_TEXT_MAX];
            version_format(&all[i].version, v, sizeof v);
            json_array_append_new(va, json_pack("{s:s,s:s,s:s,s:I}", "project", p->p->key, "firmware",
                                                all[i].firmware, "version", v, "devices", (json_int_t)(k - i)));
        }
        i = k;
    }
    snapshot_unref(snap);
    free(all);
    json_object_set_new(j, "versions", va);
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (txt == NULL) {
        reply_err(r, 503, "{\"error\":\"out of memory\",\"hint\":\"retry\"}", NULL, 0);
        return;
    }
    http_reply(r, 200, "application/json", txt, strlen(txt), NULL, 0);
    free(txt);
}
