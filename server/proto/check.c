/*
 * check.c — the device check (/api/site/firmware_upgrade, /upgrade) and the
 * blob download shared with static files.
 *
 * Hot path, no upgrade: parse the raw query in place, one snapshot reference
 * (no database), one device-stripe lock for the decision, one queued event,
 * a prebuilt answer. An upgrade answers with the package file via sendfile;
 * its history event is queued when the HTTP layer reports how the body went (completed
 * or cut, with the bytes the client acknowledged).
 */
#include "server.h"

#include "guard.h"
#include "log.h"
#include "metrics.h"
#include "offleet.h"
#include "range.h"
#include "rules.h"

#include "blobs.h"
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A check's body (a device told to use POST) is read and ignored up to this. */
#define CHECK_BODY_MAX 65536u

int check_is_path(const char *path, size_t len)
{
    return (len == 26 && memcmp(path, "/api/site/firmware_upgrade", 26) == 0) ||
           (len == 8 && memcmp(path, "/upgrade", 8) == 0);
}

static void json_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in && o + 7 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
}

void reply_code_retry(http_req *r, unsigned status, int code, const char *msg, unsigned retry_after)
{
    char esc[512], body[600], ra[16];
    json_escape(esc, sizeof esc, msg);
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"msg\":\"%s\"}", code, esc);
    snprintf(ra, sizeof ra, "%u", retry_after);
    http_hdr h[] = {{"Retry-After", ra}};
    http_reply(r, status, "application/json", body, (size_t)n, h, 1);
}

void reply_code(http_req *r, unsigned status, int code, const char *msg)
{
    char esc[512], body[600];
    json_escape(esc, sizeof esc, msg);
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"msg\":\"%s\"}", code, esc);
    if (code == 43) {
        http_hdr h[] = {{"Retry-After", "120"}};
        http_reply(r, status, "application/json", body, (size_t)n, h, 1);
        return;
    }
    http_reply(r, status, "application/json", body, (size_t)n, NULL, 0);
}

unsigned serve_blob(of_server *s, http_req *r, const char *sha256, uint64_t size)
{
    return serve_blob_ex(s, r, sha256, size, NULL, 0);
}

#define EXTRA_HDRS_MAX 2

unsigned serve_blob_ex(of_server *s, http_req *r, const char *sha256, uint64_t size, const http_hdr *extra,
                       size_t nextra)
{
    char etag[24], crange[96];
    snprintf(etag, sizeof etag, "\"%.16s\"", sha256);
    if (nextra > EXTRA_HDRS_MAX)
        nextra = EXTRA_HDRS_MAX;
    uint64_t start = 0, len = size;
    range_result rr = range_decide(http_header(r, "Range"), http_header(r, "If-Range"), etag, size, &start, &len);
    if (rr == RANGE_UNSATISFIABLE) {
        snprintf(crange, sizeof crange, "bytes */%llu", (unsigned long long)size);
        http_hdr h[] = {{"Content-Range", crange}, {"ETag", etag}, {"Accept-Ranges", "bytes"}};
        http_reply(r, 416, NULL, "", 0, h, 3);
        return 416;
    }
    int fd = blob_open(s->data, sha256);
    if (fd < 0) {
        log_error("download: blob %s is missing from %s/blobs; re-upload the package or file", sha256, s->data);
        static const char body[] = "{\"error\":\"file missing on the server\",\"hint\":\"see the server log\"}";
        http_reply(r, 500, "application/json", body, sizeof body - 1, NULL, 0);
        return 500;
    }
    http_hdr h[3 + EXTRA_HDRS_MAX];
    size_t nh = 0;
    if (rr == RANGE_PARTIAL) {
        snprintf(crange, sizeof crange, "bytes %llu-%llu/%llu", (unsigned long long)start,
                 (unsigned long long)(start + len - 1), (unsigned long long)size);
        h[nh++] = (http_hdr){"Content-Range", crange};
    }
    h[nh++] = (http_hdr){"ETag", etag};
    h[nh++] = (http_hdr){"Accept-Ranges", "bytes"};
    for (size_t i = 0; i < nextra; i++)
        h[nh++] = extra[i];
    if (rr == RANGE_PARTIAL) {
        http_reply_fd(r, 206, fd, start, len, "application/octet-stream", h, nh);
        return 206;
    }
    http_reply_fd(r, 200, fd, 0, size, "application/octet-stream", h, nh);
    return 200;
}

/* Per-download context, freed in check_done. */
typedef struct check_dl {
    of_server *s;
    store_event ev;
    cat_package pkg; /* copy: the snapshot may be gone when the body ends */
    of_version from;
    uint64_t body_len;
    uint64_t serve_size;   /* bytes of what is sent: the package, or the delta package made for it */
    char serve_sha[65];
    char project[KEY_MAX_LEN + 1];   /* as the device sent them, for the fleet */
    char firmware[NAME_MAX_LEN + 1];
    guard_addr addr;                 /* holds a download slot (guard.h) */
} check_dl;

static void check_done(http_req *r, int ok, uint64_t sent)
{
    check_dl *d = r->user;
    if (d == NULL)
        return;
    of_server *s = d->s;
    guard_download_end(s, &d->addr);
    uint64_t got = r->is_head ? 0 : sent;
    d->ev.bytes_sent = got;
    if (!ok && d->ev.note[0] == 0)
        snprintf(d->ev.note, sizeof d->ev.note, "download cut after about %llu of %llu bytes",
                 (unsigned long long)sent, (unsigned long long)d->body_len);
    /* the loop guard counts what reached the device: its bytes of this
     * package today, over all its requests and ranges (rules_account) */
    unsigned complete = 0;
    if (got) {
        dev_entry *e = devtab_lock(s->devices, d->ev.device_id, 0);
        if (e) {
            complete = rules_account(devtab_state(e), d->pkg.id, d->serve_size, got, (int64_t)time(NULL));
            if (complete) {
                rules_delivered(devtab_state(e), &d->pkg, &d->from, 1);
                devtab_state(e)->upgraded = 1;
            }
            devtab_mark_dirty(s->devices, e);
            devtab_unlock(s->devices, e);
        }
    }
    d->ev.complete = complete > 0;
    writer_event(s->wr, &d->ev);
    metrics_download(d->ev.bytes_sent, complete, !ok);
    if (s->fleet) {
        char pk[24];
        snprintf(pk, sizeof pk, "%lld", (long long)d->pkg.id);
        /* the fleet's "last heard" is when the download ended, not when the
         * check began: a slow download must not make the device look silent */
        fleet_check_event fe = {d->project, d->firmware, d->ev.device_id, d->ev.version, d->ev.code, pk,
                                d->ev.bytes_sent, d->ev.complete, (int64_t)time(NULL)};
        fleet_on_check(s->fleet, &fe);
    }
    free(d);
    r->user = NULL;
}

static void mistake(of_server *s, http_req *r, size_t off)
{
    (void)s;
    dev_query q;
    char id[DEVICE_ID_MAX] = "?";
    const char *why;
    const char *glued = r->path + off;
    if (query_parse(glued, strlen(glued), &q) == QUERY_OK && query_identity(&q, id, &why) != 0)
        snprintf(id, sizeof id, "?");
    log_warn("device %s: its URL has no '?' before the parameters (request path %.40s...): "
             "end the URL in the device script with '?', e.g. url = \"%s%.*s?\"",
             id, r->path, s->base_url, (int)off, r->path);
    reply_code(r, 400, 3,
               "the device URL must end with '?': libfota2 appends imei=... directly, so /upgrade becomes "
               "/upgradeimei=...; fix the url in the device script");
}

/* The device says it is an agent (it waits for a delta and retries):
 * header X-Openfota-Agent (any value but "0"), or the query parameter
 * agent=1. A header that lists capabilities as words ("signed,delta", what
 * the device library sends) without "delta" says the device cannot install
 * a delta: *no_delta is set and it always gets full packages. */
static int is_agent(http_req *r, int *no_delta)
{
    *no_delta = 0;
    const char *h = http_header(r, "X-Openfota-Agent");
    if (h && h[0] && strcmp(h, "0") != 0) {
        int words = 0, delta = 0;
        for (const char *p = h; *p;) {
            while (*p == ',' || *p == ' ' || *p == '\t')
                p++;
            const char *e = p;
            while (*e && *e != ',' && *e != ' ' && *e != '\t')
                e++;
            if (e > p) {
                int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
                words += alpha;
                if (e - p == 5 && strncasecmp(p, "delta", 5) == 0)
                    delta = 1;
            }
            p = e;
        }
        *no_delta = words > 0 && !delta;
        return 1;
    }
    const char *q = r->query;
    size_t ql = q ? r->query_len : 0;
    for (size_t i = 0; i < ql;) {
        size_t j = i;
        while (j < ql && q[j] != '&')
            j++;
        if (j - i == 7 && memcmp(q + i, "agent=1", 7) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

/* The newest signed full package of the firmware whose version is v (the
 * release the device runs), other than the target. NULL when none. */
static const cat_package *find_release(const snap_firmware *f, const of_version *v, const cat_package *target)
{
    const cat_package *best = NULL;
    for (size_t i = 0; f && i < f->npkgs; i++) {
        const cat_package *c = f->pkgs[i];
        if (c == target || c->kind != PKG_KIND_SIGNED || c->sg_kind != OFPKG_KIND_FULL ||
            version_cmp(&c->ver, v) != 0 || !strcmp(c->sg_result_sha256, target->sg_result_sha256))
            continue;
        if (best == NULL || c->id > best->id)
            best = c;
    }
    return best;
}

/* Delta serving for a signed release (docs/server.md, "Deltas"): decides
 * between the full package, the cached delta, and code 43 while it is made;
 * queues the generation on first need. Memory only; never waits on it. */
static delta_action delta_choose(of_server *s, http_req *r, const snapshot *snap, rules_result *res,
                                 const dev_query *q, const of_version *ver, int64_t now, dc_entry *dce,
                                 const cat_package **base_out)
{
    *base_out = NULL;
    const cat_package *t = res->pkg;
    int no_delta;
    int agent = is_agent(r, &no_delta);
    if (t->kind != PKG_KIND_SIGNED || t->sg_kind != OFPKG_KIND_FULL || res->project == NULL || no_delta)
        return DD_FULL;
    (void)snap;
    const snap_firmware *f = snap_firmware_by_name(res->project, q->firmware_name.p, q->firmware_name.len);
    const cat_package *base = find_release(f, ver, t);
    int have = base && dcache_get(s->deltas, base->id, t->id, dce);
    delta_in in = {
        .target_release = 1,
        .have_base = base != NULL,
        .can_sign = s->dgen != NULL,
        .cached = have ? dce : NULL,
        .full_size = t->size,
        .margin = s->cfg.delta_margin,
        .agent = agent,
        .full_while_generating = s->cfg.delta_full_while_generating,
        .now = now,
    };
    delta_out out;
    delta_decide(&in, &out);
    *base_out = base;
    if (out.action == DD_DELTA && strncmp(res->note, "failed upgrade", 14) == 0)
        out.action = DD_FULL; /* the last package did not take: send the whole image this time */
    if (out.action == DD_DELTA) {
        /* a resume of the full package (If-Range with its tag) stays on it */
        const char *ir = http_header(r, "If-Range");
        char etag[24];
        snprintf(etag, sizeof etag, "\"%.16s\"", t->sha256);
        if (ir && http_header(r, "Range") && strcmp(ir, etag) == 0)
            out.action = DD_FULL;
    }
    if (out.enqueue) {
        int c = dcache_claim(s->deltas, base->id, t->id, t->size, now, DC_RETRY_FAILED_S);
        if (c == 1 && delta_gen_submit(s->dgen, base, t) < 0) {
            dcache_remove(s->deltas, base->id, t->id);
            log_warn("deltas: the generator queue is full (%d jobs): package %lld -> %lld not queued, full package "
                     "sent",
                     DELTA_QUEUE_MAX, (long long)base->id, (long long)t->id);
            out.action = DD_FULL;
        } else if (c < 0) {
            out.action = DD_FULL;
        } else if (c == 1) {
            log_info("deltas: package %lld -> %lld queued for generation", (long long)base->id, (long long)t->id);
        }
    }
    return out.action;
}

/* An upgrade the rules granted is not sent now (a rollout holds it, its
 * delta is being made): answer code/status instead, keep what the rules
 * learnt (binding, version), and do not count a delivery. */
static void withhold(rules_result *res, int resume, int code, unsigned status, const char *msg)
{
    res->decision = DECISION_NO_UPGRADE;
    res->code = code;
    res->status = status;
    res->msg = msg;
    (void)resume; /* deliveries are counted when their bytes are sent (check_done) */
    res->next.last_code = code;
}

/* The check itself; returns the answer's code (-1 before the request is
 * complete, METRICS_CODES when the server could not decide). */
static int check_answer(of_server *s, http_req *r, http_phase phase, const char *data, size_t len)
{
    (void)data;
    (void)len;
    if (phase == HTTP_PHASE_BODY && r->body_seen > CHECK_BODY_MAX) {
        log_info("device check with a body over %u bytes: connection closed", CHECK_BODY_MAX);
        r->close_conn = 1;
        return -1;
    }
    /* answered once the request is complete (any body is discarded): an
     * answer queued before that closes the connection after it */
    if (phase != HTTP_PHASE_END)
        return -1;
    size_t off;
    if (query_path_mistake(r->path, r->path_len, &off)) {
        mistake(s, r, off);
        return 3;
    }
    dev_query q;
    if (query_parse(r->query, r->query ? r->query_len : 0, &q) != QUERY_OK) {
        reply_code(r, 400, 3, "query too long: a device check carries only imei, project_key, firmware_name, version");
        return 3;
    }
    char id[DEVICE_ID_MAX];
    const char *why = NULL;
    if (query_identity(&q, id, &why) != 0) {
        log_info("check refused (code 3): %s", why);
        reply_code(r, 400, 3, why);
        return 3;
    }
    int64_t now = (int64_t)time(NULL);
    if (!guard_check(s, r, id, now))
        return GUARD_CODE_RATE;
    of_version ver;
    version_err ve = version_parse(q.version.p, q.version.len, &ver);
    store_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.device_id, id, sizeof ev.device_id);
    ev.time = now;
    if (ve != VERSION_OK) {
        ev.code = 4;
        ev.decision = DECISION_REFUSED;
        snprintf(ev.note, sizeof ev.note, "bad version '%.*s': %s", (int)(q.version.len > 40 ? 40 : q.version.len),
                 q.version.p ? q.version.p : "", version_strerror(ve));
        /* history only for devices the server already knows */
        dev_entry *e = devtab_lock(s->devices, id, 0);
        if (e) {
            devtab_state(e)->last_seen = now;
            devtab_state(e)->last_code = 4;
            devtab_mark_dirty(s->devices, e);
            devtab_unlock(s->devices, e);
            writer_event(s->wr, &ev);
        }
        log_info("device %s: code 4: %s", id, version_strerror(ve));
        reply_code(r, 400, 4, version_strerror(ve));
        return 4;
    }
    version_format(&ver, ev.version, sizeof ev.version);

    uint64_t rstart = 0, rlen = 0;
    const char *rh = http_header(r, "Range");
    if (rh)
        (void)range_parse(rh, UINT64_MAX / 2, &rstart, &rlen);
    /* only a HEAD fetches no bytes; any other request, whatever its Range,
     * is a request for the package that the loop guard may refuse */
    int resume = r->is_head;

    snapshot *snap = snap_acquire(&s->snaps);
    rules_input in = {
        .snap = snap,
        .project_key = q.project_key.p ? q.project_key.p : "",
        .project_key_len = q.project_key.len,
        .firmware = q.firmware_name.p ? q.firmware_name.p : "",
        .firmware_len = q.firmware_name.len,
        .ver = ver,
        .now = now,
        .resume = resume,
        .default_max_daily = s->cfg.max_daily_deliveries,
    };
    char fproj[KEY_MAX_LEN + 1] = "", ffw[NAME_MAX_LEN + 1] = "";
    if (s->fleet) {
        size_t pl = q.project_key.len < KEY_MAX_LEN ? q.project_key.len : KEY_MAX_LEN;
        size_t fl = q.firmware_name.len < NAME_MAX_LEN ? q.firmware_name.len : NAME_MAX_LEN;
        if (pl)
            memcpy(fproj, q.project_key.p, pl);
        fproj[pl] = 0;
        if (fl)
            memcpy(ffw, q.firmware_name.p, fl);
        ffw[fl] = 0;
    }
    rules_result res;
    dev_entry *e = devtab_lock(s->devices, id, 0);
    if (e == NULL) {
        /* a new device: only for a project that exists (made-up ids with a
         * wrong key create nothing), and not faster than the address's
         * new-device limit */
        const snap_project *np = snap_project_by_key(snap, in.project_key, in.project_key_len);
        if (np == NULL || in.project_key_len == 0) {
            dev_state blank;
            memset(&blank, 0, sizeof blank);
            memcpy(blank.id, id, sizeof blank.id);
            in.dev = &blank;
            rules_decide(&in, &res);
            snapshot_unref(snap);
            log_debug("device %s: code %d, not recorded (unknown project key)", id, res.code);
            reply_code(r, res.status, res.code, res.msg);
            return res.code;
        }
        if (!guard_new_device(s, r)) {
            snapshot_unref(snap);
            return GUARD_CODE_RATE;
        }
        if (!guard_project_admit(s, r, np->p)) {
            snapshot_unref(snap);
            return 27;
        }
        e = devtab_lock(s->devices, id, 1);
    }
    if (e == NULL) {
        snapshot_unref(snap);
        reply_code(r, 503, 0, "server out of memory");
        return METRICS_CODES;
    }
    in.dev = devtab_state(e);
    rules_decide(&in, &res);
    char rp[64];
    if (res.draft_skipped && s->fleet && fleet_rollout_package(s->fleet, fproj, ffw, rp)) {
        /* a draft is offered only through its rollout: decide again knowing it
         * (pure; the device state is not applied yet). Only firmware with a
         * draft pays for the fleet look-up. */
        in.rollout_package = strtoll(rp, NULL, 10);
        rules_decide(&in, &res);
    }
    if (res.next.failed_upgrades > in.dev->failed_upgrades)
        metrics_failed_upgrade();
    char heldmsg[256];
    if (res.decision == DECISION_UPGRADE && s->fleet) {
        /* a staged rollout may hold this package back from this device: our
         * own code, so the device and its history say why (docs/api.md) */
        fleet_offer o;
        if (fleet_rollout_decide(s->fleet, fproj, ffw, id, ev.version, now, &o) == FLEET_OFFER_HOLD &&
            strtoll(o.package_id, NULL, 10) == res.pkg->id) {
            snprintf(heldmsg, sizeof heldmsg, "held back by staged rollout %s (%s): %s", o.rollout_id,
                     fleet_hold_name(o.hold), o.reason ? o.reason : "not this device's turn yet");
            withhold(&res, resume, FLEET_HELD_CODE, 404, heldmsg);
            char full[NOTE_MAX + 200];
            snprintf(full, sizeof full, "held back: %s (rollout %s, package %lld)%s%s", fleet_hold_name(o.hold),
                     o.rollout_id, (long long)res.pkg->id, res.note[0] ? "; " : "", res.note);
            size_t fl = strlen(full) < NOTE_MAX - 1 ? strlen(full) : NOTE_MAX - 1;
            memcpy(res.note, full, fl);
            res.note[fl] = 0;
        }
    }
    dc_entry dce;
    memset(&dce, 0, sizeof dce);
    const cat_package *dbase = NULL;
    delta_action dact = DD_FULL;
    if (res.decision == DECISION_UPGRADE) {
        dact = delta_choose(s, r, snap, &res, &q, &ver, now, &dce, &dbase);
        if (dact == DD_WAIT) {
            withhold(&res, resume, 43, 503,
                     "the delta package for this device is being generated: try again in a little while");
            if (res.note[0] == 0)
                snprintf(res.note, sizeof res.note, "delta from package %lld to package %lld being generated",
                         (long long)dbase->id, (long long)res.pkg->id);
        }
    }
    int newly_banned = res.next.banned && !in.dev->banned;
    *devtab_state(e) = res.next;
    devtab_mark_dirty(s->devices, e);
    devtab_unlock(s->devices, e);
    if (newly_banned && s->webhook)
        webhook_post(s->webhook, "device.banned",
                     json_pack("{s:s,s:s,s:s,s:s,s:s}", "device", id, "project", fproj, "firmware", ffw,
                               "version", ev.version, "reason", res.note));

    ev.code = res.code;
    ev.decision = res.decision;
    memcpy(ev.note, res.note, sizeof ev.note);
    if (res.decision != DECISION_UPGRADE) {
        snapshot_unref(snap);
        writer_event(s->wr, &ev);
        if (s->fleet) {
            fleet_check_event fe = {fproj, ffw, id, ev.version, ev.code, NULL, 0, 0, now};
            fleet_on_check(s->fleet, &fe);
        }
        if (res.note[0])
            log_info("device %s: %s", id, res.note);
        log_debug("device %s version %s: code %d", id, ev.version, res.code);
        if (res.msg == rules_msg_latest)
            http_reply_prebuilt(r, s->pre[PRE_LATEST]);
        else if (res.code == 43)
            reply_code_retry(r, res.status, res.code, res.msg, s->cfg.delta_retry_after);
        else
            reply_code(r, res.status, res.code, res.msg);
        return res.code;
    }
    check_dl *d = calloc(1, sizeof *d);
    if (d == NULL) {
        snapshot_unref(snap);
        reply_code(r, 503, 0, "server out of memory");
        return METRICS_CODES;
    }
    d->s = s;
    d->ev = ev;
    memcpy(d->project, fproj, sizeof d->project);
    memcpy(d->firmware, ffw, sizeof d->firmware);
    d->pkg = *res.pkg;
    d->from = ver;
    d->ev.package_id = res.pkg->id;
    d->serve_size = d->pkg.size;
    memcpy(d->serve_sha, d->pkg.sha256, sizeof d->serve_sha);
    if (dact == DD_DELTA) {
        d->serve_size = dce.size;
        memcpy(d->serve_sha, dce.sha256, sizeof d->serve_sha);
        if (d->ev.note[0] == 0)
            snprintf(d->ev.note, sizeof d->ev.note, "delta from package %lld (%llu of %llu bytes)",
                     (long long)dbase->id, (unsigned long long)dce.size, (unsigned long long)d->pkg.size);
    }
    snapshot_unref(snap);
    if (!guard_download_begin(s, r, &d->addr)) {
        d->ev.decision = DECISION_NO_UPGRADE;
        d->ev.code = GUARD_CODE_BUSY;
        snprintf(d->ev.note, sizeof d->ev.note, "package %lld not sent: too many downloads running (503)",
                 (long long)d->pkg.id);
        writer_event(s->wr, &d->ev);
        free(d);
        return GUARD_CODE_BUSY;
    }
    r->user = d;
    r->on_done = check_done;
    log_info("device %s version %s: sending package %lld%s (%llu bytes)", id, ev.version, (long long)d->pkg.id,
             dact == DD_DELTA ? " as a delta" : "", (unsigned long long)d->serve_size);
    char tver[VERSION_TEXT_MAX];
    version_format(&d->pkg.ver, tver, sizeof tver);
    http_hdr xh[] = {{"X-Openfota-Version", tver}};
    unsigned st = serve_blob_ex(s, r, d->serve_sha, d->serve_size, xh, 1);
    d->body_len = st == 200 ? d->serve_size : st == 206 ? r->body_len : 0;
    if (st == 206)
        d->body_len = r->body_len + rstart == d->serve_size ? d->serve_size : r->body_len;
    if (st != 200 && st != 206) {
        d->ev.decision = DECISION_REFUSED;
        d->ev.code = 0;
        snprintf(d->ev.note, sizeof d->ev.note, "download answered %u", st);
    }
    return 0;
}

void check_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len)
{
    if (phase != HTTP_PHASE_END) {
        check_answer(s, r, phase, data, len);
        return;
    }
    uint64_t t0 = metrics_now_ns();
    int code = check_answer(s, r, phase, data, len);
    if (code >= 0)
        metrics_check(code, metrics_now_ns() - t0);
}
