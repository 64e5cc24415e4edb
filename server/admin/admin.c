/*
 * admin.c — the admin API under /admin/v1 (docs/api.md).
 *
 * Every request needs "Authorization: Bearer <token>" (compared in constant
 * time). JSON bodies are capped at ADMIN_JSON_MAX; uploads (package add, file
 * put) stream into a temp blob capped at --upload-max (413 past it; the temp
 * file is removed when the client disconnects). Mutations run under the
 * server's admin lock: store commit (durable) first, then the snapshot is
 * rebuilt, then the answer is sent — an acknowledged change survives kill -9.
 */
#include "server.h"

#include "blobs.h"
#include "device_move.h"
#include "devquery.h"
#include "diskguard.h"
#include "drafts.h"
#include "webhook.h"
#include "guard.h"
#include "log.h"
#include "offleet.h"
#include "ofpkg.h"
#include "project_ref.h"
#include "utf8.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_JSON_MAX (1u << 20)
#define ADMIN_IDS_MAX 100000
#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000

enum admin_kind { AK_JSON, AK_PACKAGE, AK_FILE };

typedef struct admin_req {
    of_server *s;
    int kind;
    char *buf; /* JSON body */
    size_t len;
    int over;
    int io_error;
    blob_upload *up;
    uint64_t received; /* upload body bytes seen */
    /* package upload parameters, validated at HEADERS */
    char project[KEY_MAX_LEN + 1];
    char firmware[NAME_MAX_LEN + 1];
    char filename[NAME_MAX_LEN + 1];
    of_version ver;
    int ver_given;       /* 0: take it from a signed package's manifest */
    int64_t base_core;
    int suffix;          /* 0: not given */
    int suffix_explicit; /* 1 when the suffix came from ?suffix= or the file name */
    int raw;             /* ?raw=1: a LuatOS firmware name may take a file that is no Luat .bin */
    int draft;           /* ?draft=1: offered only through a rollout until released (drafts.c) */
    char fname[NAME_MAX_LEN + 1]; /* static file name */
    auth_principal who;           /* the token that passed the gate */
} admin_req;

/* Bounded copy (truncates; always NUL-terminated). */
static void scopy(char *dst, size_t cap, const char *src)
{
    size_t l = strlen(src);
    if (l >= cap)
        l = cap - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

/* ---- answers ------------------------------------------------------------- */

void admin_reply_json(http_req *r, unsigned status, json_t *j)
{
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (txt == NULL) {
        http_reply(r, 500, "application/json", "{\"error\":\"out of memory\",\"hint\":\"retry\"}", 40, NULL, 0);
        return;
    }
    http_reply(r, status, "application/json", txt, strlen(txt), NULL, 0);
    free(txt);
}

void admin_reply_err(http_req *r, unsigned status, const char *error, const char *hint)
{
    admin_reply_json(r, status, json_pack("{s:s,s:s}", "error", error, "hint", hint ? hint : ""));
}

static void reply_store(http_req *r, store_err e, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, store_strerror(e));
    if (e == STORE_BUSY || e == STORE_UNAVAILABLE) {
        http_hdr h[] = {{"Retry-After", "1"}};
        json_t *j = json_pack("{s:s,s:s}", "error", msg, "hint",
                              e == STORE_BUSY ? "the database is busy; retry" : "database unavailable, retry");
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j); /* json_dumps does not take the reference */
        http_reply(r, 503, "application/json", txt ? txt : "{}", txt ? strlen(txt) : 2, h, 1);
        free(txt);
        return;
    }
    if (e == STORE_FULL) {
        admin_reply_err(r, 507, msg, STORAGE_FULL_HINT);
        return;
    }
    admin_reply_err(r, e == STORE_NOTFOUND ? 404 : e == STORE_CONFLICT ? 409 : 500, msg, "see the server log");
}

/* ---- JSON of rows ---------------------------------------------------------- */

static json_t *project_json(const cat_project *p)
{
    return json_pack("{s:s,s:s,s:b,s:b,s:I,s:I,s:I}", "key", p->key, "name", p->name, "listed_only", p->listed_only,
                     "upgrades_enabled", p->upgrades_enabled, "max_daily_deliveries",
                     (json_int_t)p->max_daily_deliveries, "created", (json_int_t)p->created, "max_devices",
                     (json_int_t)p->max_devices);
}

static json_t *firmware_json(const snapshot *snap, const cat_firmware *f)
{
    const snap_project *p = snap_project_by_id(snap, f->project_id);
    return json_pack("{s:s,s:s,s:i,s:I}", "project", p ? p->p->key : "", "name", f->name, "suffix", f->suffix,
                     "created", (json_int_t)f->created);
}

json_t *package_json(const snapshot *snap, const cat_package *k)
{
    const snap_project *p = snap_project_by_id(snap, k->project_id);
    const char *fw = "";
    if (p)
        for (size_t i = 0; i < p->nfw; i++)
            if (p->fws[i].fw->id == k->firmware_id)
                fw = p->fws[i].fw->name;
    char v[VERSION_TEXT_MAX], sc[16];
    version_format(&k->ver, v, sizeof v);
    snprintf(sc, sizeof sc, "%03u.%03u", k->ver.x, k->ver.z);
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:i,s:s,s:I,s:s,s:s,s:s,s:I}", "id", (json_int_t)k->id, "project",
                          p ? p->p->key : "", "firmware", fw, "version", v, "core", (json_int_t)k->ver.core, "script",
                          sc, "suffix", k->suffix, "kind",
                          k->kind == PKG_KIND_LUAT ? "luat" : k->kind == PKG_KIND_SIGNED ? "signed" : "raw", "size",
                          (json_int_t)k->size, "md5", k->md5, "sha256", k->sha256, "filename", k->filename, "created",
                          (json_int_t)k->created);
    json_object_set_new(j, "base_core", k->base_core < 0 ? json_null() : json_integer(k->base_core));
    json_object_set_new(j, "draft", json_boolean(k->draft));
    if (k->kind == PKG_KIND_SIGNED)
        json_object_set_new(j, "signed",
                            json_pack("{s:s,s:I,s:I,s:s}", "kind", k->sg_kind == OFPKG_KIND_FULL ? "full" : "delta",
                                      "counter", (json_int_t)k->sg_counter, "result_len",
                                      (json_int_t)k->sg_result_len, "result_sha256", k->sg_result_sha256));
    if (k->kind == PKG_KIND_SIGNED && k->sg_kind == OFPKG_KIND_DELTA) {
        /* an uploaded delta reaches only devices on its base version */
        char bv[VERSION_TEXT_MAX];
        version_format(&k->sg_base, bv, sizeof bv);
        json_object_set_new(json_object_get(j, "signed"), "base_version",
                            (k->sg_base.core | k->sg_base.x | k->sg_base.z) ? json_string(bv) : json_null());
    }
    return j;
}

static const char *dc_state_name(int st)
{
    switch (st) {
    case DC_READY: return "ready";
    case DC_NOT_SMALLER: return "not_smaller";
    case DC_QUEUED: return "queued";
    case DC_GENERATING: return "generating";
    case DC_FAILED: return "failed";
    }
    return "unknown";
}

/* The deltas of a package (as base or as target), oldest base first. */
static json_t *deltas_json(of_server *s, int64_t id)
{
    dc_entry *e = NULL;
    size_t n = dcache_for_package(s->deltas, id, 0, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_pack("{s:I,s:I,s:s,s:I,s:I,s:I}", "base", (json_int_t)e[i].base_id, "target",
                              (json_int_t)e[i].target_id, "state", dc_state_name(e[i].state), "size",
                              (json_int_t)e[i].size, "full_size", (json_int_t)e[i].full_size, "created",
                              (json_int_t)e[i].created);
        json_object_set_new(d, "sha256", e[i].state == DC_READY ? json_string(e[i].sha256) : json_null());
        json_array_append_new(arr, d);
    }
    free(e);
    return arr;
}

/* The Luat header fields a package was validated with (docs/luat-bin.md). */
static json_t *luat_json(const luatbin_info *i)
{
    char magic[12], crc[12], cmd5[33], smd5[33];
    snprintf(magic, sizeof magic, "0x%08X", i->magic);
    snprintf(crc, sizeof crc, "0x%08X", i->crc);
    for (int b = 0; b < 16; b++) {
        snprintf(cmd5 + 2 * b, 3, "%02x", i->common_md5[b]);
        snprintf(smd5 + 2 * b, 3, "%02x", i->sdk_md5[b]);
    }
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:b}", "magic", magic, "header_crc", crc, "main_core",
                     (json_int_t)i->main_version[4], "std_core", (json_int_t)i->std_version[4], "app_version",
                     (json_int_t)i->app_version, "common_len", (json_int_t)i->common_len, "sdk_len",
                     (json_int_t)i->sdk_len, "common_md5", cmd5, "sdk_md5", smd5, "script_only", i->script_only);
}

/* The header of a stored Luat package, read again from its blob; NULL when it cannot be read. */
static json_t *luat_json_of_blob(of_server *s, const char *sha256)
{
    int fd = blob_open(s->data, sha256);
    if (fd < 0)
        return NULL;
    uint8_t h[92];
    ssize_t n = pread(fd, h, sizeof h, 0);
    close(fd);
    luatbin_info i;
    char msg[200];
    if (n != (ssize_t)sizeof h || luatbin_parse_header(h, sizeof h, &i, msg, sizeof msg) != OFPKG_OK)
        return NULL;
    return luat_json(&i);
}

static json_t *device_json(const snapshot *snap, const dev_state *d)
{
    const snap_project *p = d->project_id ? snap_project_by_id(snap, d->project_id) : NULL;
    char v[VERSION_TEXT_MAX] = "";
    if (d->has_version)
        version_format(&d->version, v, sizeof v);
    int64_t today = (int64_t)time(NULL) / 86400;
    json_t *j = json_pack("{s:s,s:o,s:o,s:o,s:b,s:b,s:o,s:I,s:I,s:i,s:I}", "id", d->id, "project",
                          p ? json_string(p->p->key) : json_null(), "firmware",
                          d->firmware[0] ? json_string(d->firmware) : json_null(), "version",
                          d->has_version ? json_string(v) : json_null(), "forbidden", d->forbidden, "banned", d->banned,
                          "banned_at", d->banned ? json_integer(d->banned_at) : json_null(), "deliveries_today",
                          (json_int_t)(d->delivery_day == today ? d->deliveries_today : 0), "last_seen",
                          (json_int_t)d->last_seen, "last_code", d->last_code, "failed_upgrades",
                          (json_int_t)d->failed_upgrades);
    return j;
}

/* ---- helpers --------------------------------------------------------------- */

/* Decode %XX in a path segment into out (cap bytes). -1 on bad escapes, NUL or '/'. */
static int seg_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1; /* needs two hex digits inside the segment */
            char hx[3] = {in[i + 1], in[i + 2], 0};
            char *end;
            long v = strtol(hx, &end, 16);
            if (*end != 0 || v <= 0)
                return -1;
            c = (char)v;
            i += 2;
        }
        if (c == '/' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

static int key_valid(const char *k)
{
    size_t l = strlen(k);
    if (l == 0 || l > KEY_MAX_LEN)
        return 0;
    for (size_t i = 0; i < l; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int text_valid(const char *t, size_t max)
{
    size_t l = strlen(t);
    if (l == 0 || l > max)
        return 0;
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return 0;
    return 1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static const cat_firmware *fw_by_name(const snap_project *p, const char *name)
{
    const snap_firmware *f = snap_firmware_by_name(p, name, strlen(name));
    return f ? f->fw : NULL;
}

/* Suffix from a file name: "_N" right before the extension (or the end). */
static int suffix_from_filename(const char *fn)
{
    const char *dot = strrchr(fn, '.');
    const char *end = dot ? dot : fn + strlen(fn);
    const char *p = end;
    while (p > fn && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p == end || p == fn || p[-1] != '_' || end - p > 2)
        return 0;
    int v = atoi(p);
    return v >= 1 && v <= 99 ? v : 0;
}

/* ---- handlers -------------------------------------------------------------- */

static void h_status(of_server *s, http_req *r)
{
    snapshot *snap = snap_acquire(&s->snaps);
    char check[700], adm[700];
    snprintf(check, sizeof check, "%s/api/site/firmware_upgrade?", s->base_url);
    snprintf(adm, sizeof adm, "%s/admin/v1", s->base_url);
    json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:I}", "version", OPENFOTA_VERSION, "uptime_s",
                          (json_int_t)((int64_t)time(NULL) - s->started), "projects", (json_int_t)snap->nprojects,
                          "devices", (json_int_t)devtab_count(s->devices), "packages",
                          (json_int_t)snap->cat.npackages, "files", (json_int_t)snap->cat.nfiles, "check_url", check,
                          "admin_url", adm, "events_dropped", (json_int_t)writer_dropped(s->wr));
    snapshot_unref(snap);
    json_object_set_new(j, "deltas_pending", json_integer(delta_gen_pending(s->dgen)));
    json_object_set_new(j, "deltas_enabled", json_boolean(s->dgen != NULL));
    json_object_set_new(j, "webhooks", webhook_stats_json(s->webhook));
    guard_json(s, j);
    admin_reply_json(r, 200, j);
}

static json_t *parse_body(admin_req *a, http_req *r)
{
    if (a->over) {
        admin_reply_err(r, 413, "JSON body too large", "admin JSON bodies are limited to 1 MiB");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(a->buf ? a->buf : "", a->len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL || !json_is_object(j)) {
        char msg[300];
        snprintf(msg, sizeof msg, "body is not a JSON object: %s", j ? "not an object" : je.text);
        json_decref(j);
        admin_reply_err(r, 400, msg, "send Content-Type: application/json with an object body");
        return NULL;
    }
    return j;
}

static void h_project_add(of_server *s, admin_req *a, http_req *r)
{
    json_t *b = parse_body(a, r);
    if (b == NULL)
        return;
    cat_project p;
    memset(&p, 0, sizeof p);
    json_t *name = json_object_get(b, "name"), *key = json_object_get(b, "key");
    if (!json_is_string(name) || !text_valid(json_string_value(name), NAME_MAX_LEN)) {
        json_decref(b);
        admin_reply_err(r, 422, "name: required, 1 to 128 printable characters", "{\"name\":\"demo\"}");
        return;
    }
    scopy(p.name, sizeof p.name, json_string_value(name));
    if (key != NULL && !json_is_null(key)) {
        if (!json_is_string(key) || !key_valid(json_string_value(key))) {
            json_decref(b);
            admin_reply_err(r, 422, "key: 1 to 64 characters of A-Z a-z 0-9 _ -", "omit key to get a random one");
            return;
        }
        scopy(p.key, sizeof p.key, json_string_value(key));
    } else {
        static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char rnd[32];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            json_decref(b);
            admin_reply_err(r, 500, "no randomness for a project key", "retry");
            return;
        }
        for (int i = 0; i < 32; i++)
            p.key[i] = al[rnd[i] % 62];
        p.key[32] = 0;
    }
    json_decref(b);
    p.upgrades_enabled = 1;
    p.max_daily_deliveries = s->cfg.max_daily_deliveries;
    p.created = (int64_t)time(NULL);
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    int taken = project_name_taken(snap, p.name, 0);
    snapshot_unref(snap);
    store_err e = taken ? STORE_CONFLICT : s->st->ops->project_insert(s->st, &p);
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (taken) {
        char msg[300];
        snprintf(msg, sizeof msg, "a project named '%s' exists: project names are unique", p.name);
        char hint[300];
        snprintf(hint, sizeof hint, "choose another name, or use that project (openfota project show %s)", p.name);
        admin_reply_err(r, 409, msg, hint);
        return;
    }
    if (e == STORE_CONFLICT) {
        admin_reply_err(r, 409, "a project with this key exists", "choose another key or omit it");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "add project");
        return;
    }
    log_info("admin: project %s (%s) added", p.key, p.name);
    admin_reply_json(r, 201, project_json(&p));
}

static void h_projects(of_server *s, http_req *r)
{
    snapshot *snap = snap_acquire(&s->snaps);
    json_t *arr = json_array();
    for (size_t i = 0; i < snap->nprojects; i++)
        json_array_append_new(arr, project_json(snap->projects[i].p));
    snapshot_unref(snap);
    admin_reply_json(r, 200, json_pack("{s:o}", "projects", arr));
}

static void h_project_patch(of_server *s, admin_req *a, http_req *r, const char *key)
{
    json_t *b = parse_body(a, r);
    if (b == NULL)
        return;
    json_t *lo = json_object_get(b, "listed_only"), *ue = json_object_get(b, "upgrades_enabled"),
           *md = json_object_get(b, "max_daily_deliveries"), *nm = json_object_get(b, "name");
    json_t *mx = json_object_get(b, "max_devices");
    if (mx && (!json_is_integer(mx) || json_integer_value(mx) < 0 || json_integer_value(mx) > 100000000)) {
        json_decref(b);
        admin_reply_err(r, 422, "max_devices must be a whole number from 0 (no cap) to 100000000", "{\"max_devices\":5000}");
        return;
    }
    if ((lo && !json_is_boolean(lo)) || (ue && !json_is_boolean(ue)) ||
        (md && (!json_is_integer(md) || json_integer_value(md) < 1 || json_integer_value(md) > 1000)) ||
        (nm && (!json_is_string(nm) || !text_valid(json_string_value(nm), NAME_MAX_LEN)))) {
        json_decref(b);
        admin_reply_err(r, 422, "listed_only and upgrades_enabled must be true/false, max_daily_deliveries 1 to 1000",
                  "{\"upgrades_enabled\":false}");
        return;
    }
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    cat_project p;
    if (sp)
        p = *sp->p;
    snapshot_unref(snap);
    if (sp == NULL) {
        pthread_mutex_unlock(&s->admin_mu);
        json_decref(b);
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    if (lo)
        p.listed_only = json_is_true(lo);
    if (ue)
        p.upgrades_enabled = json_is_true(ue);
    if (md)
        p.max_daily_deliveries = (unsigned)json_integer_value(md);
    if (mx)
        p.max_devices = (unsigned)json_integer_value(mx);
    if (nm)
        scopy(p.name, sizeof p.name, json_string_value(nm));
    json_decref(b);
    snap = snap_acquire(&s->snaps);
    int taken = nm && project_name_taken(snap, p.name, p.id);
    snapshot_unref(snap);
    if (taken) {
        pthread_mutex_unlock(&s->admin_mu);
        char msg[300];
        snprintf(msg, sizeof msg, "another project is named '%s': project names are unique", p.name);
        admin_reply_err(r, 409, msg, "choose another name");
        return;
    }
    store_err e = s->st->ops->project_update(s->st, &p);
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (e != STORE_OK) {
        reply_store(r, e, "change project");
        return;
    }
    log_info("admin: project %s changed (listed_only=%d upgrades_enabled=%d max_daily_deliveries=%u max_devices=%u)",
             p.key, p.listed_only, p.upgrades_enabled, p.max_daily_deliveries, p.max_devices);
    admin_reply_json(r, 200, project_json(&p));
}

static void h_project_get(of_server *s, http_req *r, const char *key)
{
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    if (sp == NULL) {
        snapshot_unref(snap);
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    json_t *j = project_json(sp->p);
    snapshot_unref(snap);
    admin_reply_json(r, 200, j);
}

static void h_project_delete(of_server *s, http_req *r, const char *key)
{
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    int64_t id = sp ? sp->p->id : 0;
    snapshot_unref(snap);
    store_err e = sp ? s->st->ops->project_delete(s->st, id) : STORE_NOTFOUND;
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_INUSE) {
        char hint[200];
        snprintf(hint, sizeof hint, "remove them first (openfota package list --project %s)", key);
        admin_reply_err(r, 409, "the project still has packages", hint);
        return;
    }
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "remove project");
        return;
    }
    log_info("admin: project %s removed", key);
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}

static int fw_name_valid(const char *n) { return static_name_valid(n, strlen(n)); }

static void h_firmware_add(of_server *s, admin_req *a, http_req *r, const char *key)
{
    json_t *b = parse_body(a, r);
    if (b == NULL)
        return;
    json_t *nm = json_object_get(b, "name"), *sf = json_object_get(b, "suffix");
    if (!json_is_string(nm) || !fw_name_valid(json_string_value(nm))) {
        json_decref(b);
        admin_reply_err(r, 422, "name: the firmware_name devices send, 1 to 128 of A-Z a-z 0-9 . _ - (not starting with .)",
                  "{\"name\":\"FOTA2_DEMO_LuatOS-SoC_Air780EHV\",\"suffix\":1}");
        return;
    }
    if (sf && (!json_is_integer(sf) || json_integer_value(sf) < 1 || json_integer_value(sf) > 99)) {
        json_decref(b);
        admin_reply_err(r, 422, "suffix: the layout suffix of the core (_1, _2 ...), 1 to 99", "{\"suffix\":1}");
        return;
    }
    cat_firmware f;
    memset(&f, 0, sizeof f);
    scopy(f.name, sizeof f.name, json_string_value(nm));
    f.suffix = sf ? (int)json_integer_value(sf) : 1;
    f.created = (int64_t)time(NULL);
    json_decref(b);
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    store_err e = STORE_NOTFOUND;
    if (sp) {
        f.project_id = sp->p->id;
        e = s->st->ops->firmware_insert(s->st, &f);
    }
    snapshot_unref(snap);
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    if (e == STORE_CONFLICT) {
        char hint[200];
        snprintf(hint, sizeof hint, "openfota firmware list --project %s", key);
        admin_reply_err(r, 409, "this firmware name exists in the project", hint);
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "add firmware");
        return;
    }
    snap = snap_acquire(&s->snaps);
    json_t *j = firmware_json(snap, &f);
    snapshot_unref(snap);
    admin_reply_json(r, 201, j);
}

static void h_firmware_list(of_server *s, http_req *r, const char *key)
{
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    if (sp == NULL) {
        snapshot_unref(snap);
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < sp->nfw; i++)
        json_array_append_new(arr, firmware_json(snap, sp->fws[i].fw));
    snapshot_unref(snap);
    admin_reply_json(r, 200, json_pack("{s:o}", "firmware", arr));
}

static void h_firmware_delete(of_server *s, http_req *r, const char *key, const char *name)
{
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    const cat_firmware *f = sp ? fw_by_name(sp, name) : NULL;
    int64_t id = f ? f->id : 0;
    snapshot_unref(snap);
    store_err e = f ? s->st->ops->firmware_delete(s->st, id) : STORE_NOTFOUND;
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_INUSE) {
        admin_reply_err(r, 409, "the firmware still has packages", "remove them first (openfota package list)");
        return;
    }
    if (e == STORE_NOTFOUND) {
        char hint[200];
        snprintf(hint, sizeof hint, "openfota firmware list --project %s", key);
        admin_reply_err(r, 404, "no such project or firmware", hint);
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "remove firmware");
        return;
    }
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}

/* HEADERS phase of a package upload: check everything knowable before the
 * body, so a bad request is refused before any byte is stored. */
static int package_begin(of_server *s, admin_req *a, http_req *r, const char *key)
{
    const char *fw = http_arg(r, "firmware"), *ver = http_arg(r, "version"), *bc = http_arg(r, "base_core"),
               *sf = http_arg(r, "suffix"), *fn = http_arg(r, "filename");
    scopy(a->project, sizeof a->project, key);
    if (drafts_parse_arg(http_arg(r, "draft"), &a->draft) < 0) {
        admin_reply_err(r, 422, "draft: 1 (or true) to upload a draft, 0 (or false) otherwise",
                  "a draft is offered to no device until a rollout of it or openfota package release ID");
        return -1;
    }
    if (fw == NULL || !fw_name_valid(fw)) {
        admin_reply_err(r, 422, "firmware: required, the firmware_name devices send (A-Z a-z 0-9 . _ -)",
                  "?firmware=FOTA2_DEMO_LuatOS-SoC_Air780EHV&version=2012.001.002");
        return -1;
    }
    scopy(a->firmware, sizeof a->firmware, fw);
    const char *rw = http_arg(r, "raw");
    if (rw != NULL && rw[0]) {
        if (!strcmp(rw, "1") || !strcmp(rw, "true"))
            a->raw = 1;
        else if (strcmp(rw, "0") && strcmp(rw, "false")) {
            admin_reply_err(r, 422, "raw: 1 or 0", "raw=1 stores a file that is no Luat .bin for a LuatOS firmware name");
            return -1;
        }
    }
    a->ver_given = ver != NULL && ver[0];
    if (a->ver_given && version_parse(ver, strlen(ver), &a->ver) != VERSION_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "version: %s",
                 version_strerror(ver ? version_parse(ver, strlen(ver), &a->ver) : VERSION_EMPTY));
        admin_reply_err(r, 422, msg, "the version the device will report after the upgrade, CORE.X.Z");
        return -1;
    }
    a->base_core = -1;
    unsigned long long v;
    if (bc != NULL && bc[0]) {
        if (parse_uint(bc, VERSION_CORE_MAX, &v) < 0) {
            admin_reply_err(r, 422, "base_core: the core build number the package applies to, 0 to 999999",
                      "omit it for a script-only package");
            return -1;
        }
        a->base_core = (int64_t)v;
        if (a->ver_given && a->base_core == a->ver.core) {
            admin_reply_err(r, 422, "base_core equals the target core", "omit base_core for a script-only package");
            return -1;
        }
    }
    if (fn != NULL && fn[0]) {
        const char *b = strrchr(fn, '/');
        b = b ? b + 1 : fn;
        scopy(a->filename, sizeof a->filename, b);
        for (char *p = a->filename; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '_';
    }
    if (sf != NULL && sf[0]) {
        if (parse_uint(sf, 99, &v) < 0 || v < 1) {
            admin_reply_err(r, 422, "suffix: the core layout suffix, 1 to 99", "e.g. suffix=1 for ..._1.soc cores");
            return -1;
        }
        a->suffix = (int)v;
        a->suffix_explicit = 1;
    } else if (a->filename[0] && (a->suffix = suffix_from_filename(a->filename)) != 0) {
        a->suffix_explicit = 1;
    }
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    const cat_firmware *f = sp ? fw_by_name(sp, fw) : NULL;
    int fsuffix = f ? f->suffix : 0;
    snapshot_unref(snap);
    if (sp == NULL) {
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return -1;
    }
    if (f && a->suffix_explicit && a->suffix != fsuffix) {
        char msg[300];
        snprintf(msg, sizeof msg, "suffix: the package is for layout _%d but firmware %s is _%d", a->suffix, fw,
                 fsuffix);
        admin_reply_err(r, 422, msg, "a core of another layout suffix would not boot; use another firmware name");
        return -1;
    }
    if (r->has_content_length && r->content_length > s->cfg.upload_max) {
        admin_reply_err(r, 413, "package larger than the upload cap", "raise --upload-max on the server");
        return -1;
    }
    a->up = blob_begin(s->data, s->cfg.upload_max);
    if (a->up == NULL) {
        admin_reply_err(r, 507, "cannot store the upload", "see the server log; if the disk is full: " STORAGE_FULL_HINT);
        return -1;
    }
    return 0;
}

/* An uploaded openfota signed package: check it (manifest, length, payload
 * hash, trusted key and signature) and take version, suffix and the release
 * facts from its manifest. 0 ok, -1 answered. */
static int signed_begin(of_server *s, admin_req *a, http_req *r, cat_package *k)
{
    ofpkg_manifest m;
    char msg[400], full[480];
    ofpkg_err pe = signed_check_fd(&s->keys, blob_fd(a->up), blob_size(a->up), &m, msg, sizeof msg);
    if (pe != OFPKG_OK) {
        snprintf(full, sizeof full, "signed package refused: %s", msg[0] ? msg : ofpkg_strerror(pe));
        log_info("admin: package for %s/%s refused: %s", a->project, a->firmware, full);
        admin_reply_err(r, 422, full,
                  pe == OFPKG_ERR_KEY || pe == OFPKG_ERR_SIGNATURE
                      ? "sign it with the key whose public half is in the server's signing_pubkey"
                      : "make the package again with openfota package sign");
        return -1;
    }
    if (m.target.core > VERSION_CORE_MAX || m.target.x > 999 || m.target.z > 999) {
        admin_reply_err(r, 422, "signed package refused: its target version is beyond CORE 999999, X and Z 999",
                  "sign it with a version devices can report");
        return -1;
    }
    of_version mv = {m.target.core, m.target.x, m.target.z};
    char v1[VERSION_TEXT_MAX], v2[VERSION_TEXT_MAX];
    version_format(&mv, v2, sizeof v2);
    if (a->ver_given && version_cmp(&mv, &a->ver) != 0) {
        version_format(&a->ver, v1, sizeof v1);
        snprintf(full, sizeof full, "version: %s given, but the signed manifest says the package installs %s", v1, v2);
        admin_reply_err(r, 422, full, "omit --version for a signed package, or give the one it was signed with");
        return -1;
    }
    a->ver = mv;
    a->ver_given = 1;
    if (a->base_core == (int64_t)mv.core) {
        admin_reply_err(r, 422, "base_core equals the target core", "omit base_core for a script-only package");
        return -1;
    }
    if (a->base_core < 0 && m.kind == OFPKG_KIND_DELTA && m.base.core != mv.core && m.base.core != 0)
        a->base_core = m.base.core;
    /* the manifest's layout suffix, when it is a number 1..99 */
    char *end = NULL;
    long sv = m.suffix[0] ? strtol(m.suffix, &end, 10) : 0;
    if (end && *end == 0 && sv >= 1 && sv <= 99) {
        if (a->suffix_explicit && a->suffix != (int)sv) {
            snprintf(full, sizeof full, "suffix: %d given, but the signed manifest is for layout suffix %ld",
                     a->suffix, sv);
            admin_reply_err(r, 422, full, "a core of another layout suffix would not boot");
            return -1;
        }
        a->suffix = (int)sv;
        a->suffix_explicit = 1;
    }
    k->kind = PKG_KIND_SIGNED;
    k->sg_kind = m.kind;
    if (m.kind == OFPKG_KIND_DELTA) {
        if (m.base.core > VERSION_CORE_MAX || m.base.x > 999 || m.base.z > 999 ||
            (m.base.core | m.base.x | m.base.z) == 0) {
            admin_reply_err(r, 422, "signed delta refused: its base version is not one a device can report (CORE.X.Z)",
                      "make the delta again from the base release's version (openfota package sign)");
            return -1;
        }
        k->sg_base = (of_version){m.base.core, m.base.x, m.base.z};
    }
    k->sg_counter = m.counter;
    k->sg_result_len = m.result_len;
    ofpkg_hex(m.result_sha256, 32, k->sg_result_sha256);
    return 0;
}

static void h_package_end(of_server *s, admin_req *a, http_req *r)
{
    if (a->over) {
        admin_reply_err(r, 413, "package larger than the upload cap", "raise --upload-max on the server");
        return;
    }
    if (a->io_error) {
        admin_reply_err(r, 507, "cannot store the upload", "see the server log; if the disk is full: " STORAGE_FULL_HINT);
        return;
    }
    if (blob_size(a->up) == 0) {
        admin_reply_err(r, 422, "file: the package is empty", "send the package bytes as the request body");
        return;
    }
    cat_package k;
    memset(&k, 0, sizeof k);
    if (blob_finish(a->up, k.md5, k.sha256) < 0) {
        admin_reply_err(r, 500, "hashing failed", "see the server log");
        return;
    }
    k.size = blob_size(a->up);
    k.kind = PKG_KIND_RAW;
    k.draft = a->draft;
    scopy(k.filename, sizeof k.filename, a->filename);
    uint8_t head[8];
    luatbin_info info;
    ssize_t hn = pread(blob_fd(a->up), head, sizeof head, 0);
    if (hn > 0 && signed_sniff(head, (size_t)hn)) {
        if (signed_begin(s, a, r, &k) < 0)
            return;
    } else if (!a->ver_given) {
        admin_reply_err(r, 422, "version: required (only a signed openfota package carries its own)",
                  "the version the device will report after the upgrade, CORE.X.Z");
        return;
    } else if (hn > 0 && luatbin_sniff(head, (size_t)hn)) {
        char msg[400], full[480];
        ofpkg_err pe = luatbin_check_fd(blob_fd(a->up), &info, msg, sizeof msg);
        if (pe == OFPKG_OK)
            pe = luatbin_check_declared(&info, a->ver.core, a->ver.x, a->ver.z, (int)a->base_core, msg, sizeof msg);
        if (pe != OFPKG_OK) {
            snprintf(full, sizeof full, "Luat upgrade .bin refused: %s", msg[0] ? msg : ofpkg_strerror(pe));
            log_info("admin: package for %s/%s refused: %s", a->project, a->firmware, full);
            admin_reply_err(r, 422, full, "rebuild the package with the vendor's tool, or fix --version/--base-core");
            return;
        }
        if (info.script_only == 0 && a->base_core < 0) {
            admin_reply_err(r, 422,
                      "base_core: this Luat package carries a core part (SDKDataLen > 0) but no base core was given",
                      "add --base-core N (the core the package upgrades from)");
            return;
        }
        k.kind = PKG_KIND_LUAT;
    }
    if (k.kind == PKG_KIND_RAW && !a->raw && luatbin_firmware_name(a->firmware)) {
        char full[480];
        snprintf(full, sizeof full,
                 "not a Luat upgrade .bin: %s is a LuatOS firmware name, and a module running it refuses any other "
                 "file (it would download it, fail to install it and ask again)",
                 a->firmware);
        log_info("admin: package for %s/%s refused: not a Luat upgrade .bin", a->project, a->firmware);
        admin_reply_err(r, 422, full,
                  "build the package with the vendor's tool (LuaTools), or upload with --raw (raw=1) if the devices "
                  "on this firmware name really install other files");
        return;
    }
    k.ver = a->ver;
    k.base_core = a->base_core;
    k.created = (int64_t)time(NULL);
    pthread_mutex_lock(&s->admin_mu);
    store_err e = STORE_OK;
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, a->project, strlen(a->project));
    const cat_firmware *f = sp ? fw_by_name(sp, a->firmware) : NULL;
    cat_firmware nf;
    if (sp == NULL) {
        e = STORE_NOTFOUND;
    } else if (f == NULL) {
        memset(&nf, 0, sizeof nf);
        nf.project_id = sp->p->id;
        scopy(nf.name, sizeof nf.name, a->firmware);
        nf.suffix = a->suffix ? a->suffix : 1;
        nf.created = k.created;
        e = s->st->ops->firmware_insert(s->st, &nf);
        f = &nf;
    } else if (a->suffix_explicit && a->suffix != f->suffix) {
        e = STORE_CONFLICT;
    }
    if (e == STORE_OK) {
        k.project_id = sp->p->id;
        k.firmware_id = f->id;
        k.suffix = f->suffix;
    }
    snapshot_unref(snap);
    if (e == STORE_OK) {
        e = blob_commit(a->up, s->data) == 0 ? STORE_OK : errno == ENOSPC ? STORE_FULL : STORE_ERROR;
        a->up = NULL;
    }
    if (e == STORE_OK)
        e = s->st->ops->package_insert(s->st, &k);
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    if (e == STORE_CONFLICT) {
        admin_reply_err(r, 422, "suffix: contradicts the firmware's layout suffix", "use another firmware name");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "add package");
        return;
    }
    char v[VERSION_TEXT_MAX];
    version_format(&k.ver, v, sizeof v);
    log_info("admin: package %lld added: %s/%s %s (%s, %llu bytes, sha256 %.16s)", (long long)k.id, a->project,
             a->firmware, v, k.kind == PKG_KIND_LUAT ? "luat" : k.kind == PKG_KIND_SIGNED ? "signed" : "raw",
             (unsigned long long)k.size, k.sha256);
    snap = snap_acquire(&s->snaps);
    json_t *j = package_json(snap, &k);
    snapshot_unref(snap);
    if (k.kind == PKG_KIND_LUAT)
        json_object_set_new(j, "luat", luat_json(&info));
    admin_reply_json(r, 201, j);
}

/* ?project=KEY or a unique NAME (project_ref.h); NULL when neither. */
static const snap_project *project_by_ref(const snapshot *snap, const char *ref)
{
    char key[KEY_MAX_LEN + 1];
    return project_ref(snap, ref, key, sizeof key) > 0 ? snap_project_by_key(snap, key, strlen(key)) : NULL;
}

static void h_packages(of_server *s, http_req *r)
{
    const char *pk = http_arg(r, "project"), *fw = http_arg(r, "firmware");
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = NULL;
    if (pk && pk[0]) {
        sp = project_by_ref(snap, pk);
        if (sp == NULL) {
            snapshot_unref(snap);
            admin_reply_err(r, 404, "no such project", "openfota project list");
            return;
        }
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < snap->cat.npackages; i++) {
        const cat_package *k = snap->pkgs_by_id[i];
        if (sp && k->project_id != sp->p->id)
            continue;
        if (fw && fw[0]) {
            const snap_project *kp = snap_project_by_id(snap, k->project_id);
            const cat_firmware *f = kp ? fw_by_name(kp, fw) : NULL;
            if (f == NULL || f->id != k->firmware_id)
                continue;
        }
        json_array_append_new(arr, package_json(snap, k));
    }
    snapshot_unref(snap);
    admin_reply_json(r, 200, json_pack("{s:o}", "packages", arr));
}

static int parse_id(const char *s, int64_t *id)
{
    unsigned long long v;
    if (parse_uint(s, (unsigned long long)INT64_MAX / 10, &v) < 0 || v == 0)
        return -1;
    *id = (int64_t)v;
    return 0;
}

static void h_package_get(of_server *s, http_req *r, const char *ids)
{
    int64_t id;
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *k = parse_id(ids, &id) == 0 ? snap_package_by_id(snap, id) : NULL;
    if (k == NULL) {
        snapshot_unref(snap);
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    json_t *j = package_json(snap, k);
    int is_signed = k->kind == PKG_KIND_SIGNED, is_luat = k->kind == PKG_KIND_LUAT;
    char sha[sizeof k->sha256];
    memcpy(sha, k->sha256, sizeof sha);
    snapshot_unref(snap);
    if (is_signed)
        json_object_set_new(j, "deltas", deltas_json(s, id));
    if (is_luat) {
        json_t *l = luat_json_of_blob(s, sha);
        json_object_set_new(j, "luat", l ? l : json_null());
    }
    admin_reply_json(r, 200, j);
}

static void h_package_deltas(of_server *s, http_req *r, const char *ids)
{
    int64_t id;
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *k = parse_id(ids, &id) == 0 ? snap_package_by_id(snap, id) : NULL;
    snapshot_unref(snap);
    if (k == NULL) {
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    admin_reply_json(r, 200, json_pack("{s:I,s:o}", "package", (json_int_t)id, "deltas", deltas_json(s, id)));
}

static void drop_blob_if_unused(of_server *s, const char *sha)
{
    long long refs = 1;
    if (s->st->ops->blob_refs(s->st, sha, &refs) == STORE_OK && refs == 0)
        blob_remove(s->data, sha); /* open downloads keep their fd: never cut off */
}

static void h_package_delete(of_server *s, http_req *r, const char *ids)
{
    int64_t id;
    if (parse_id(ids, &id) < 0) {
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_package *k = snap_package_by_id(snap, id);
    char sha[65] = "";
    if (k)
        memcpy(sha, k->sha256, sizeof sha);
    snapshot_unref(snap);
    store_err e = k ? s->st->ops->package_delete(s->st, id) : STORE_NOTFOUND;
    int released = e == STORE_FULL && diskguard_reserve_release(s->data);
    if (released)
        e = s->st->ops->package_delete(s->st, id); /* the disk is full: room for the commit */
    if (e == STORE_OK) {
        server_reload(s);
        drop_blob_if_unused(s, sha);
        /* its deltas (as base or target) go with it; their rows went in the same transaction */
        dc_entry *de = NULL;
        size_t nd = dcache_for_package(s->deltas, id, 1, &de);
        for (size_t i = 0; i < nd; i++)
            if (de[i].state == DC_READY)
                drop_blob_if_unused(s, de[i].sha256);
        if (nd)
            log_info("admin: package %lld: %zu delta(s) dropped with it", (long long)id, nd);
        free(de);
        char pid[24];
        snprintf(pid, sizeof pid, "%lld", (long long)id);
        int nr = s->fleet ? fleet_package_removed(s->fleet, pid) : 0;
        if (nr)
            log_info("admin: package %lld: %d rollout(s) removed with it", (long long)id, nr);
    }
    if (released)
        diskguard_reserve_make(s->data);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such package", "openfota package list");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "remove package");
        return;
    }
    log_info("admin: package %lld removed", (long long)id);
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}

static void h_listed_add(of_server *s, admin_req *a, http_req *r, const char *key)
{
    json_t *b = parse_body(a, r);
    if (b == NULL)
        return;
    json_t *ids = json_object_get(b, "ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > ADMIN_IDS_MAX) {
        json_decref(b);
        admin_reply_err(r, 422, "ids: an array of 1 to 100000 device ids", "{\"ids\":[\"860123456789012\"]}");
        return;
    }
    size_t n = json_array_size(ids);
    char (*canon)[DEVICE_ID_MAX] = calloc(n, sizeof *canon);
    if (canon == NULL) {
        json_decref(b);
        admin_reply_err(r, 500, "out of memory", "send fewer ids at once");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ids, i);
        const char *why = "not a string";
        if (!json_is_string(v) || device_id_canon(json_string_value(v), json_string_length(v), canon[i], &why) < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "ids[%zu]: %s", i, why);
            free(canon);
            json_decref(b);
            admin_reply_err(r, 422, msg, "IMEI 14-17 digits, MAC 12 hex digits, MCU id 12-32 hex digits");
            return;
        }
    }
    json_decref(b);
    size_t added = 0;
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const snap_project *sp = snap_project_by_key(snap, key, strlen(key));
    int64_t pid = sp ? sp->p->id : 0;
    snapshot_unref(snap);
    store_err e = sp ? s->st->ops->listed_add(s->st, pid, (const char(*)[DEVICE_ID_MAX])canon, n, &added)
                     : STORE_NOTFOUND;
    if (e == STORE_OK)
        server_reload(s);
    pthread_mutex_unlock(&s->admin_mu);
    free(canon);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such project", "openfota project list");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "list devices");
        return;
    }
    admin_reply_json(r, 200, json_pack("{s:I}", "added", (json_int_t)added));
}

static void h_devices(of_server *s, http_req *r)
{
    const char *pk = http_arg(r, "project"), *lim = http_arg(r, "limit"), *off = http_arg(r, "offset"),
               *q = http_arg(r, "q"), *fw = http_arg(r, "firmware"), *why = NULL;
    unsigned long long limit = 1000, offset = 0;
    if ((lim && lim[0] && parse_uint(lim, 100000, &limit) < 0) || (off && off[0] && parse_uint(off, 1ull << 40, &offset) < 0)) {
        admin_reply_err(r, 400, "limit (0-100000) and offset must be whole numbers", "?limit=100&offset=0");
        return;
    }
    devquery dq;
    memset(&dq, 0, sizeof dq);
    if (devquery_parse(&dq, http_arg(r, "state"), http_arg(r, "sort"), http_arg(r, "order"), http_arg(r, "version"),
                       &why) < 0) {
        admin_reply_err(r, 400, why, "?state=banned&sort=last_seen&order=desc&version=2012.001.001");
        return;
    }
    if (q && strlen(q) >= DEVICE_ID_MAX) {
        admin_reply_err(r, 400, "q is longer than a device ID", "?q=8600 (part of an ID)");
        return;
    }
    dq.q = q;
    dq.firmware = fw && fw[0] ? fw : NULL;
    dq.offset = (size_t)offset;
    dq.limit = (size_t)limit;
    dq.project_id = -1;
    snapshot *snap = snap_acquire(&s->snaps);
    if (pk && pk[0]) {
        const snap_project *sp = project_by_ref(snap, pk);
        if (sp == NULL) {
            snapshot_unref(snap);
            admin_reply_err(r, 404, "no such project", "openfota project list");
            return;
        }
        dq.project_id = sp->p->id;
    }
    dev_state *all = NULL;
    size_t n = 0, npage = 0, total = 0;
    const dev_state **page = NULL;
    if (devtab_snapshot_all(s->devices, &all, &n) < 0 || devquery_run(&dq, all, n, &page, &npage, &total) < 0) {
        free(all);
        snapshot_unref(snap);
        admin_reply_err(r, 500, "out of memory", "use ?project= or ?limit=");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < npage; i++)
        json_array_append_new(arr, device_json(snap, page[i]));
    free(page);
    free(all);
    snapshot_unref(snap);
    admin_reply_json(r, 200, json_pack("{s:o,s:I,s:I,s:I}", "devices", arr, "total", (json_int_t)total, "offset",
                                 (json_int_t)offset, "limit", (json_int_t)limit));
}

static int ev_cb(void *arg, const store_event *ev)
{
    json_t *arr = arg;
    char note[NOTE_MAX * 3], ver[VERSION_TEXT_MAX * 3]; /* rows stored before notes were cleaned */
    utf8_clean(note, sizeof note, ev->note, strnlen(ev->note, sizeof ev->note));
    utf8_clean(ver, sizeof ver, ev->version, strnlen(ev->version, sizeof ev->version));
    json_t *j = json_pack("{s:I,s:o,s:i,s:s,s:o,s:I,s:b,s:s}", "time", (json_int_t)ev->time, "version",
                          ver[0] ? json_string(ver) : json_null(), "code", ev->code, "decision",
                          decision_name(ev->decision), "package",
                          ev->package_id ? json_integer(ev->package_id) : json_null(), "bytes_sent",
                          (json_int_t)ev->bytes_sent, "complete", ev->complete, "note", note);
    json_array_append_new(arr, j);
    return 0;
}

static int find_device(of_server *s, http_req *r, const char *raw, dev_state *out)
{
    char id[DEVICE_ID_MAX];
    const char *why;
    if (device_id_canon(raw, strlen(raw), id, &why) < 0) {
        admin_reply_err(r, 404, "no such device", why);
        return -1;
    }
    dev_entry *e = devtab_lock(s->devices, id, 0);
    if (e == NULL) {
        admin_reply_err(r, 404, "no such device", "a device appears after its first check; openfota device list");
        return -1;
    }
    *out = *devtab_state(e);
    devtab_unlock(s->devices, e);
    return 0;
}

static void h_device_get(of_server *s, http_req *r, const char *raw)
{
    dev_state d;
    if (find_device(s, r, raw, &d) < 0)
        return;
    const char *h = http_arg(r, "history");
    unsigned long long hist = HISTORY_DEFAULT;
    if (h && h[0] && parse_uint(h, HISTORY_MAX, &hist) < 0) {
        admin_reply_err(r, 400, "history must be 0 to 1000", "?history=50");
        return;
    }
    writer_flush(s->wr, 2000); /* include the checks made just before */
    snapshot *snap = snap_acquire(&s->snaps);
    json_t *j = device_json(snap, &d);
    snapshot_unref(snap);
    json_t *arr = json_array();
    if (hist > 0) {
        store_err e = s->st->ops->events_for_device(s->st, d.id, (unsigned)hist, ev_cb, arr);
        if (e != STORE_OK) {
            json_decref(arr);
            json_decref(j);
            reply_store(r, e, "device history");
            return;
        }
    }
    json_object_set_new(j, "history", arr);
    admin_reply_json(r, 200, j);
}

static void h_device_action(of_server *s, http_req *r, const char *raw, const char *action)
{
    char id[DEVICE_ID_MAX];
    const char *why;
    if (device_id_canon(raw, strlen(raw), id, &why) < 0) {
        admin_reply_err(r, 404, "no such device", why);
        return;
    }
    /* forbid may target a device before its first check */
    dev_entry *e = devtab_lock(s->devices, id, !strcmp(action, "forbid"));
    if (e == NULL) {
        admin_reply_err(r, 404, "no such device", "a device appears after its first check; openfota device list");
        return;
    }
    dev_state *d = devtab_state(e);
    store_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.device_id, id, sizeof ev.device_id);
    ev.time = (int64_t)time(NULL);
    ev.decision = DECISION_ADMIN;
    if (!strcmp(action, "forbid"))
        d->forbidden = 1;
    else if (!strcmp(action, "allow"))
        d->forbidden = 0;
    else {
        d->banned = 0;
        d->banned_at = 0;
        d->deliveries_today = 0;
    }
    snprintf(ev.note, sizeof ev.note, "operator: %.16s", action);
    dev_state copy = *d;
    devtab_mark_dirty(s->devices, e);
    devtab_unlock(s->devices, e);
    writer_event(s->wr, &ev);
    if (writer_flush(s->wr, 10000) < 0) {
        admin_reply_err(r, 503, "the change is made in memory but could not be saved yet", "see the server log; retry");
        return;
    }
    log_info("admin: device %s: %s", id, action);
    snapshot *snap = snap_acquire(&s->snaps);
    json_t *j = device_json(snap, &copy);
    snapshot_unref(snap);
    admin_reply_json(r, 200, j);
}

/* POST /devices/{id}/move {"project":"KEY or NAME"} and /devices/{id}/unbind */
static void h_device_move(of_server *s, admin_req *a, http_req *r, const char *raw, int move)
{
    char id[DEVICE_ID_MAX], key[KEY_MAX_LEN + 1] = "";
    const char *why;
    if (device_id_canon(raw, strlen(raw), id, &why) < 0) {
        admin_reply_err(r, 404, "no such device", why);
        return;
    }
    int64_t pid = 0;
    if (move) {
        json_t *b = parse_body(a, r);
        if (b == NULL)
            return;
        const char *ref = json_string_value(json_object_get(b, "project"));
        snapshot *snap = snap_acquire(&s->snaps);
        int k = ref ? project_ref(snap, ref, key, sizeof key) : PROJECT_REF_NONE;
        const snap_project *sp = k > 0 ? snap_project_by_key(snap, key, strlen(key)) : NULL;
        pid = sp ? sp->p->id : 0;
        snapshot_unref(snap);
        json_decref(b);
        if (ref == NULL) {
            admin_reply_err(r, 422, "project: required, the key (or name) of the project to move the device to",
                      "{\"project\":\"KEY\"}");
            return;
        }
        if (k == PROJECT_REF_AMBIGUOUS) {
            admin_reply_err(r, 409, "several projects have this name", "give the project key (openfota project list)");
            return;
        }
        if (pid == 0) {
            admin_reply_err(r, 404, "no such project", "openfota project list");
            return;
        }
    }
    dev_state d;
    int rc = device_rebind(s, id, pid, key, &d);
    if (rc == -1) {
        admin_reply_err(r, 404, "no such device", "a device appears after its first check; openfota device list");
        return;
    }
    if (rc == -2) {
        admin_reply_err(r, 503, "the change is made in memory but could not be saved yet", "see the server log; retry");
        return;
    }
    snapshot *snap = snap_acquire(&s->snaps);
    json_t *j = device_json(snap, &d);
    snapshot_unref(snap);
    admin_reply_json(r, 200, j);
}

static json_t *file_json(of_server *s, const cat_file *f)
{
    char url[900];
    snprintf(url, sizeof url, "%s/download/%s", s->base_url, f->name);
    return json_pack("{s:s,s:I,s:s,s:s,s:I}", "name", f->name, "size", (json_int_t)f->size, "sha256", f->sha256,
                     "url", url, "created", (json_int_t)f->created);
}

static int file_begin(of_server *s, admin_req *a, http_req *r, const char *name)
{
    if (!static_name_valid(name, strlen(name))) {
        admin_reply_err(r, 422, "name: 1 to 128 of A-Z a-z 0-9 . _ -, not starting with '.'", "openfota file put FILE --name NAME");
        return -1;
    }
    scopy(a->fname, sizeof a->fname, name);
    if (r->has_content_length && r->content_length > s->cfg.upload_max) {
        admin_reply_err(r, 413, "file larger than the upload cap", "raise --upload-max on the server");
        return -1;
    }
    a->up = blob_begin(s->data, s->cfg.upload_max);
    if (a->up == NULL) {
        admin_reply_err(r, 507, "cannot store the upload", "see the server log; if the disk is full: " STORAGE_FULL_HINT);
        return -1;
    }
    return 0;
}

static void h_file_end(of_server *s, admin_req *a, http_req *r)
{
    if (a->over) {
        admin_reply_err(r, 413, "file larger than the upload cap", "raise --upload-max on the server");
        return;
    }
    if (a->io_error) {
        admin_reply_err(r, 507, "cannot store the upload", "see the server log; if the disk is full: " STORAGE_FULL_HINT);
        return;
    }
    cat_file f;
    memset(&f, 0, sizeof f);
    char md5[33];
    if (blob_finish(a->up, md5, f.sha256) < 0) {
        admin_reply_err(r, 500, "hashing failed", "see the server log");
        return;
    }
    scopy(f.name, sizeof f.name, a->fname);
    f.size = blob_size(a->up);
    f.created = (int64_t)time(NULL);
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_file *old = snap_file_by_name(snap, f.name, strlen(f.name));
    char oldsha[65] = "";
    if (old)
        memcpy(oldsha, old->sha256, sizeof oldsha);
    snapshot_unref(snap);
    store_err e = blob_commit(a->up, s->data) == 0 ? STORE_OK : errno == ENOSPC ? STORE_FULL : STORE_ERROR;
    a->up = NULL;
    if (e == STORE_OK)
        e = s->st->ops->file_put(s->st, &f);
    if (e == STORE_OK) {
        server_reload(s);
        if (oldsha[0] && strcmp(oldsha, f.sha256) != 0)
            drop_blob_if_unused(s, oldsha);
    }
    pthread_mutex_unlock(&s->admin_mu);
    if (e != STORE_OK) {
        reply_store(r, e, "put file");
        return;
    }
    log_info("admin: file %s stored (%llu bytes)", f.name, (unsigned long long)f.size);
    admin_reply_json(r, 201, file_json(s, &f));
}

static void h_files(of_server *s, http_req *r)
{
    snapshot *snap = snap_acquire(&s->snaps);
    json_t *arr = json_array();
    for (size_t i = 0; i < snap->cat.nfiles; i++)
        json_array_append_new(arr, file_json(s, snap->files_by_name[i]));
    snapshot_unref(snap);
    admin_reply_json(r, 200, json_pack("{s:o}", "files", arr));
}

static void h_file_delete(of_server *s, http_req *r, const char *name)
{
    pthread_mutex_lock(&s->admin_mu);
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_file *f = snap_file_by_name(snap, name, strlen(name));
    char sha[65] = "";
    if (f)
        memcpy(sha, f->sha256, sizeof sha);
    snapshot_unref(snap);
    store_err e = f ? s->st->ops->file_delete(s->st, name) : STORE_NOTFOUND;
    int released = e == STORE_FULL && diskguard_reserve_release(s->data);
    if (released)
        e = s->st->ops->file_delete(s->st, name); /* the disk is full: room for the commit */
    if (e == STORE_OK) {
        server_reload(s);
        drop_blob_if_unused(s, sha);
    }
    if (released)
        diskguard_reserve_make(s->data);
    pthread_mutex_unlock(&s->admin_mu);
    if (e == STORE_NOTFOUND) {
        admin_reply_err(r, 404, "no such file", "openfota file list");
        return;
    }
    if (e != STORE_OK) {
        reply_store(r, e, "remove file");
        return;
    }
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}

/* ---- routing --------------------------------------------------------------- */

#define MAX_SEGS 6

typedef struct route_t {
    int n;
    char seg[MAX_SEGS][NAME_MAX_LEN * 3 + 1];
} route_t;

/* Split the path after /admin/v1/ into decoded segments. -1 when malformed. */
static int split(const char *path, size_t len, route_t *rt)
{
    rt->n = 0;
    if (len <= 10)
        return 0;
    const char *p = path + 10, *end = path + len;
    while (p < end) {
        const char *q = memchr(p, '/', (size_t)(end - p));
        if (q == NULL)
            q = end;
        if (q == p)
            return -1; /* empty segment ("//") */
        if (rt->n == MAX_SEGS || seg_decode(p, (size_t)(q - p), rt->seg[rt->n], sizeof rt->seg[0]) < 0)
            return -1;
        rt->n++;
        p = q + 1; /* past the end when q == end; a trailing '/' ends the loop too */
    }
    return 0;
}

/* The object a write acts on, for the audit log: the path after its first
 * segment, else a naming field of the JSON body. */
static void audit_target(const admin_req *a, http_req *r, char *out, size_t cap)
{
    out[0] = 0;
    const char *p = r->path + 9, *end = r->path + r->path_len;
    if (p < end && *p == '/')
        p++;
    const char *q = memchr(p, '/', (size_t)(end - p));
    if (q && q + 1 < end) {
        snprintf(out, cap, "%.*s", (int)(end - q - 1), q + 1);
        return;
    }
    if (a->buf == NULL || a->len == 0)
        return;
    json_t *j = json_loadb(a->buf, a->len, 0, NULL);
    static const char *const keys[] = {"name", "key", "package", "package_id", "id"};
    for (size_t i = 0; j && i < sizeof keys / sizeof keys[0] && out[0] == 0; i++) {
        json_t *v = json_object_get(j, keys[i]);
        if (json_is_string(v))
            snprintf(out, cap, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    }
    json_decref(j);
}

static void done_cb(http_req *r, int ok, uint64_t sent)
{
    (void)ok;
    (void)sent;
    admin_req *a = r->user;
    if (a == NULL)
        return;
    if (strcmp(r->method, "GET") && !r->is_head) {
        char addr[64], target[160], detail[160] = "";
        audit_target(a, r, target, sizeof target);
        if (!r->responded)
            snprintf(detail, sizeof detail, "the client left before the answer");
        audit_record(a->s, a->who.name, http_peer(r, addr, sizeof addr), r->method, r->path, r->path_len, target,
                     r->responded ? r->status : 499, detail);
    }
    blob_abort(a->up); /* removes the temp file of an upload that did not finish */
    free(a->buf);
    free(a);
    r->user = NULL;
}

#define IS(m) (strcmp(r->method, (m)) == 0)

static void not_found(http_req *r)
{
    admin_reply_err(r, 404, "no such admin endpoint", "see docs/api.md");
}

static void method_not_allowed(http_req *r) { admin_reply_err(r, 405, "method not allowed here", "see docs/api.md"); }

/* /projects/{NAME}/...: a unique project name stands for its key. 0 go on,
 * -1 answered (a name several projects share). */
static int resolve_project_seg(of_server *s, http_req *r, route_t *rt)
{
    if (rt->n < 2 || strcmp(rt->seg[0], "projects") != 0)
        return 0;
    char key[KEY_MAX_LEN + 1];
    snapshot *snap = snap_acquire(&s->snaps);
    int k = project_ref(snap, rt->seg[1], key, sizeof key);
    snapshot_unref(snap);
    if (k == PROJECT_REF_AMBIGUOUS) {
        admin_reply_err(r, 409, "several projects have this name", "give the project key (openfota project list)");
        return -1;
    }
    if (k == PROJECT_REF_NAME)
        snprintf(rt->seg[1], sizeof rt->seg[1], "%s", key);
    return 0;
}

/* Dispatch a request whose body has been received. */
static void dispatch(of_server *s, admin_req *a, http_req *r, route_t *rt)
{
    const char *s0 = rt->n > 0 ? rt->seg[0] : "";
    if (a->over && (!strcmp(s0, "tokens") || !strcmp(s0, "audit"))) {
        admin_reply_err(r, 413, "JSON body too large", "admin JSON bodies are limited to 1 MiB");
        return;
    }
    if (admin_auth_route(s, r, s0, rt->n, rt->n > 1 ? rt->seg[1] : "", a->buf, a->len, &a->who))
        return;
    if ((!strcmp(s0, "push") || !strcmp(s0, "rollouts")) && s->fleet) {
        /* push channels and staged rollouts: the fleet component's routes */
        char path[1200];
        snprintf(path, sizeof path, "%.*s%s%.*s", (int)(r->path_len - 9), r->path + 9, r->query ? "?" : "",
                 r->query ? (int)r->query_len : 0, r->query ? r->query : "");
        char *out = NULL;
        int st = 500;
        if (a->over) {
            admin_reply_err(r, 413, "JSON body too large", "admin JSON bodies are limited to 1 MiB");
            return;
        }
        if (fleet_admin_handle(s->fleet, r->method, path, a->buf, a->len, &out, &st)) {
            if (out)
                http_reply(r, (unsigned)st, "application/json", out, strlen(out), NULL, 0);
            else
                http_reply(r, (unsigned)st, NULL, "", 0, NULL, 0);
            free(out);
            return;
        }
    }
    if (rt->n == 1 && !strcmp(s0, "status")) {
        if (IS("GET") || r->is_head)
            h_status(s, r);
        else
            method_not_allowed(r);
    } else if (rt->n == 1 && !strcmp(s0, "stats")) {
        if (IS("GET") || r->is_head)
            stats_handle(s, r);
        else
            method_not_allowed(r);
    } else if (!strcmp(s0, "projects")) {
        if (rt->n == 1) {
            if (IS("POST"))
                h_project_add(s, a, r);
            else if (IS("GET"))
                h_projects(s, r);
            else
                method_not_allowed(r);
        } else if (rt->n == 2) {
            if (IS("GET"))
                h_project_get(s, r, rt->seg[1]);
            else if (IS("PATCH"))
                h_project_patch(s, a, r, rt->seg[1]);
            else if (IS("DELETE"))
                h_project_delete(s, r, rt->seg[1]);
            else
                method_not_allowed(r);
        } else if (rt->n == 3 && !strcmp(rt->seg[2], "firmware")) {
            if (IS("POST"))
                h_firmware_add(s, a, r, rt->seg[1]);
            else if (IS("GET"))
                h_firmware_list(s, r, rt->seg[1]);
            else
                method_not_allowed(r);
        } else if (rt->n == 4 && !strcmp(rt->seg[2], "firmware")) {
            if (IS("DELETE"))
                h_firmware_delete(s, r, rt->seg[1], rt->seg[3]);
            else
                method_not_allowed(r);
        } else if (rt->n == 3 && !strcmp(rt->seg[2], "packages")) {
            if (a->kind == AK_PACKAGE)
                h_package_end(s, a, r);
            else
                method_not_allowed(r);
        } else if (rt->n == 3 && !strcmp(rt->seg[2], "devices")) {
            if (IS("POST"))
                h_listed_add(s, a, r, rt->seg[1]);
            else
                method_not_allowed(r);
        } else {
            not_found(r);
        }
    } else if (!strcmp(s0, "packages")) {
        if (rt->n == 1 && IS("GET"))
            h_packages(s, r);
        else if (rt->n == 2 && IS("GET"))
            h_package_get(s, r, rt->seg[1]);
        else if (rt->n == 2 && IS("DELETE"))
            h_package_delete(s, r, rt->seg[1]);
        else if (rt->n == 3 && !strcmp(rt->seg[2], "deltas") && IS("GET"))
            h_package_deltas(s, r, rt->seg[1]);
        else if (rt->n == 3 && !strcmp(rt->seg[2], "release") && IS("POST"))
            drafts_release(s, r, rt->seg[1]);
        else if (rt->n <= 2 || (rt->n == 3 && (!strcmp(rt->seg[2], "deltas") || !strcmp(rt->seg[2], "release"))))
            method_not_allowed(r);
        else
            not_found(r);
    } else if (!strcmp(s0, "devices")) {
        if (rt->n == 1 && IS("GET"))
            h_devices(s, r);
        else if (rt->n == 2 && IS("GET"))
            h_device_get(s, r, rt->seg[1]);
        else if (rt->n == 3 && IS("POST") &&
                 (!strcmp(rt->seg[2], "forbid") || !strcmp(rt->seg[2], "allow") || !strcmp(rt->seg[2], "unban")))
            h_device_action(s, r, rt->seg[1], rt->seg[2]);
        else if (rt->n == 3 && IS("POST") && (!strcmp(rt->seg[2], "move") || !strcmp(rt->seg[2], "unbind")))
            h_device_move(s, a, r, rt->seg[1], !strcmp(rt->seg[2], "move"));
        else if (rt->n <= 3)
            method_not_allowed(r);
        else
            not_found(r);
    } else if (!strcmp(s0, "files")) {
        if (rt->n == 1 && IS("GET"))
            h_files(s, r);
        else if (rt->n == 2 && IS("PUT") && a->kind == AK_FILE)
            h_file_end(s, a, r);
        else if (rt->n == 2 && IS("DELETE"))
            h_file_delete(s, r, rt->seg[1]);
        else if (rt->n <= 2)
            method_not_allowed(r);
        else
            not_found(r);
    } else {
        not_found(r);
    }
}

void admin_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len)
{
    admin_req *a = r->user;
    if (phase == HTTP_PHASE_HEADERS) {
        auth_principal who;
        if (!admin_gate(s, r, &who))
            return;
        route_t rt;
        if (split(r->path, r->path_len, &rt) < 0) {
            not_found(r);
            return;
        }
        if (resolve_project_seg(s, r, &rt) < 0)
            return;
        a = calloc(1, sizeof *a);
        if (a == NULL) {
            admin_reply_err(r, 503, "out of memory", "retry");
            return;
        }
        a->s = s;
        a->who = who;
        r->user = a;
        r->on_done = done_cb;
        if (rt.n == 3 && !strcmp(rt.seg[0], "projects") && !strcmp(rt.seg[2], "packages") && IS("POST")) {
            a->kind = AK_PACKAGE;
            package_begin(s, a, r, rt.seg[1]);
        } else if (rt.n == 2 && !strcmp(rt.seg[0], "files") && IS("PUT")) {
            a->kind = AK_FILE;
            file_begin(s, a, r, rt.seg[1]);
        } else if (r->has_content_length && r->content_length > ADMIN_JSON_MAX) {
            admin_reply_err(r, 413, "JSON body too large", "admin JSON bodies are limited to 1 MiB");
        }
        return;
    }
    if (a == NULL)
        return;
    if (phase == HTTP_PHASE_BODY) {
        if (a->kind == AK_JSON) {
            if (a->over || a->len + len > ADMIN_JSON_MAX) {
                a->over = 1;
                http_reply_now_and_close(r, 413, "Content Too Large",
                                         "{\"error\":\"JSON body too large\",\"hint\":\"admin JSON bodies are limited to 1 MiB\"}");
                return;
            }
            char *nb = realloc(a->buf, a->len + len + 1);
            if (nb == NULL) {
                a->over = 1;
                return;
            }
            a->buf = nb;
            memcpy(a->buf + a->len, data, len);
            a->len += len;
            return;
        }
        if (a->up == NULL)
            return;
        a->received += len;
        int w = blob_write(a->up, data, len);
        if (w == 1) {
            if (!a->over) {
                a->over = 1;
                log_warn("admin: upload over the cap of %llu bytes refused", (unsigned long long)s->cfg.upload_max);
            }
            /* answered at once; the HTTP layer drops the rest, then closes */
            blob_abort(a->up);
            a->up = NULL;
            http_reply_now_and_close(r, 413, "Content Too Large",
                                     "{\"error\":\"upload larger than the upload cap\","
                                     "\"hint\":\"raise --upload-max on the server\"}");
        } else if (w < 0) {
            a->io_error = 1;
            if (blob_error(a->up) == ENOSPC) {
                /* answered at once: the rest of the body has nowhere to go */
                blob_abort(a->up);
                a->up = NULL;
                http_reply_now_and_close(r, 507, "Insufficient Storage",
                                         "{\"error\":\"the server's disk is full: upload not stored\","
                                         "\"hint\":\"" STORAGE_FULL_HINT "\"}");
            }
        }
        return;
    }
    route_t rt;
    if (split(r->path, r->path_len, &rt) < 0) {
        not_found(r);
        return;
    }
    if (resolve_project_seg(s, r, &rt) < 0)
        return;
    dispatch(s, a, r, &rt);
}
