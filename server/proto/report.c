/*
 * report.c — POST /api/v1/device/status: status reports of devices that use
 * the openfota device library in agent mode (docs/device-library.md).
 *
 * Body: {"id","version","state","reason","sha256"} (JSON, at most
 * REPORT_BODY_MAX bytes). The report becomes an event in the device's
 * history (decision "report"). Only a report signed with the device's key
 * (report_auth.h) reaches the fleet (rollout counters, automatic pause);
 * an unsigned one is kept as "unverified" history only, and only for
 * devices the server already knows (they have checked at least once);
 * others are dropped but get the same 204, so the answer does not reveal
 * which ids are in the fleet. A wrong signature, a stale time or a replay
 * gets 401.
 */
#include "server.h"

#include "log.h"
#include "metrics.h"
#include "offleet.h"
#include "report_auth.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPORT_BODY_MAX 1024u

typedef struct report_req {
    size_t len;
    int over;
    char buf[REPORT_BODY_MAX + 1];
} report_req;

static void report_done(http_req *r, int ok, uint64_t sent)
{
    (void)ok;
    (void)sent;
    free(r->user);
    r->user = NULL;
}

static void err(http_req *r, unsigned status, const char *e, const char *hint)
{
    json_t *j = json_pack("{s:s,s:s}", "error", e, "hint", hint);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    http_reply(r, status, "application/json", txt ? txt : "{}", txt ? strlen(txt) : 2, NULL, 0);
    free(txt);
}

static const char *str_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void report_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len)
{
    report_req *q = r->user;
    if (phase == HTTP_PHASE_HEADERS) {
        if (strcmp(r->method, "POST") != 0) {
            static const char body[] = "{\"error\":\"method not allowed\",\"hint\":\"POST a JSON status report\"}";
            http_hdr h[] = {{"Allow", "POST"}};
            http_reply(r, 405, "application/json", body, sizeof body - 1, h, 1);
            return;
        }
        if (r->has_content_length && r->content_length > REPORT_BODY_MAX) {
            err(r, 413, "status report too large", "at most 1024 bytes of JSON");
            return;
        }
        q = calloc(1, sizeof *q);
        if (q == NULL) {
            err(r, 503, "out of memory", "retry later");
            return;
        }
        r->user = q;
        r->on_done = report_done;
        return;
    }
    if (q == NULL)
        return;
    if (phase == HTTP_PHASE_BODY) {
        if (q->over || q->len + len > REPORT_BODY_MAX) {
            q->over = 1;
            if (r->body_seen > 64 * REPORT_BODY_MAX)
                r->close_conn = 1;
            return;
        }
        memcpy(q->buf + q->len, data, len);
        q->len += len;
        return;
    }
    if (q->over) {
        err(r, 413, "status report too large", "at most 1024 bytes of JSON");
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(q->buf, q->len, JSON_REJECT_DUPLICATES, &je);
    const char *id = o ? str_field(o, "id") : NULL, *state = o ? str_field(o, "state") : NULL;
    const char *ver = o ? str_field(o, "version") : NULL, *reason = o ? str_field(o, "reason") : NULL;
    static const char *const states[] = {"downloading", "downloaded", "installed", "failed"};
    int state_ok = 0;
    const char *state_name = NULL; /* static string from states[], outlives o */
    for (size_t i = 0; state && i < 4; i++)
        if (strcmp(state, states[i]) == 0) {
            state_ok = 1;
            state_name = states[i];
        }
    char cid[DEVICE_ID_MAX];
    const char *why = "id missing";
    if (!json_is_object(o) || id == NULL || !state_ok || device_id_canon(id, strlen(id), cid, &why) < 0) {
        json_decref(o);
        err(r, 400, "malformed status report",
            "send {\"id\",\"version\",\"state\":\"downloading|downloaded|installed|failed\",\"reason\",\"sha256\"}");
        return;
    }
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    int64_t now_ms = (int64_t)now_ts.tv_sec * 1000 + now_ts.tv_nsec / 1000000;
    int64_t t_ms = 0;
    const char *awhy = NULL;
    report_auth ra = report_auth_check(s, cid, http_header(r, "X-Openfota-Time"), http_header(r, "X-Openfota-Auth"),
                                       q->buf, q->len, now_ms, &t_ms, &awhy);
    if (ra == REPORT_BAD) {
        json_decref(o);
        log_info("device %s: signed status report refused: %s", cid, awhy);
        err(r, 401, "status report signature refused", awhy);
        return;
    }
    store_event ev;
    memset(&ev, 0, sizeof ev);
    memcpy(ev.device_id, cid, sizeof ev.device_id);
    ev.time = (int64_t)time(NULL);
    ev.decision = DECISION_REPORT;
    of_version v;
    if (ver && version_parse(ver, strlen(ver), &v) == VERSION_OK)
        version_format(&v, ev.version, sizeof ev.version);
    snprintf(ev.note, sizeof ev.note, "%sdevice reports %s%s%.80s", ra == REPORT_SIGNED ? "" : "unverified: ", state,
             reason && reason[0] ? ": " : "", reason ? reason : "");
    for (char *p = ev.note; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    json_decref(o);
    dev_entry *e = devtab_lock(s->devices, cid, 0);
    if (e == NULL) {
        /* dropped, but answered like a recorded report: the status must not
         * tell anyone which device ids are in the fleet */
        log_debug("device %s: report from a device that never checked: not recorded", cid);
        http_reply(r, 204, NULL, "", 0, NULL, 0);
        return;
    }
    if (ra == REPORT_SIGNED) {
        if (t_ms <= devtab_state(e)->report_last_ms) {
            devtab_unlock(s->devices, e);
            log_info("device %s: signed status report refused: replayed (time not after the last one)", cid);
            err(r, 401, "status report signature refused",
                "X-Openfota-Time is not later than the device's last signed report (a replay?)");
            return;
        }
        devtab_state(e)->report_last_ms = t_ms;
    }
    devtab_state(e)->last_seen = ev.time;
    devtab_mark_dirty(s->devices, e);
    devtab_unlock(s->devices, e);
    writer_event(s->wr, &ev);
    if (state_name == states[3])
        metrics_failed_upgrade(); /* "failed" */
    /* Signed agent reports refine the rollout status the fleet infers from
     * checks; unsigned ones could be sent by anyone and stay history only. */
    int fst = fleet_report_state_parse(state_name);
    if (s->fleet && fst >= 0 && ra == REPORT_SIGNED)
        fleet_on_report(s->fleet, cid, (fleet_report_state)fst, ev.version[0] ? ev.version : NULL, ev.time);
    log_info("device %s: %s", cid, ev.note);
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}
