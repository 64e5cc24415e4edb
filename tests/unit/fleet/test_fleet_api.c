/* The integration API as the server uses it, without network listeners:
 * admin routes, rollout decisions on the check path, status counters, the
 * abort rule through fleet_on_check, pending pushes delivered by a check, and
 * persistence through the file store across a restart. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "offleet.h"

static int pkg_info(void *ctx, const char *id, fleet_package_info *out)
{
    (void)ctx;
    if (strcmp(id, "42"))
        return -1;
    snprintf(out->project, sizeof out->project, "demo");
    snprintf(out->firmware, sizeof out->firmware, "FW");
    snprintf(out->version, sizeof out->version, "2012.1.4");
    out->size = 1000;
    return 0;
}

static int check_url(void *ctx, const char *p, const char *f, const char *d, char *buf, size_t size)
{
    (void)ctx;
    (void)p;
    (void)f;
    (void)d;
    snprintf(buf, size, "http://127.0.0.1:1/api/site/firmware_upgrade?");
    return 0;
}

static json_t *call(offleet *f, const char *method, const char *path, const char *body, int want_status)
{
    char *out = NULL;
    int st = 0;
    int handled = fleet_admin_handle(f, method, path, body, body ? strlen(body) : 0, &out, &st);
    assert_int_equal(handled, 1);
    if (st != want_status)
        fail_msg("%s %s: status %d, wanted %d: %s", method, path, st, want_status, out ? out : "");
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static offleet *mk(const char *dir)
{
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.state_dir = dir;
    cfg.rate_per_s = 10000;
    fleet_hooks h = {.package_info = pkg_info, .check_url = check_url};
    offleet *f = fleet_create(&cfg, &h);
    assert_non_null(f);
    assert_int_equal(fleet_start(f), 0);
    return f;
}

static void check(offleet *f, const char *d, const char *ver, const char *pkg, int complete, int64_t t)
{
    fleet_check_event e = {.project = "demo", .firmware = "FW", .device_id = d, .version = ver,
                           .code = pkg ? 0 : 27, .package_id = pkg, .bytes_sent = pkg ? 1000 : 0,
                           .complete = complete, .time = t};
    fleet_on_check(f, &e);
}

static void routes_and_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/fleet-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    offleet *f = mk(dir);
    char *out = NULL;
    int st = 0;
    assert_int_equal(fleet_admin_handle(f, "GET", "/projects", NULL, 0, &out, &st), 0);
    assert_null(out);
    json_t *j = call(f, "POST", "/rollouts", "{", 400);
    assert_non_null(json_object_get(j, "error"));
    assert_non_null(json_object_get(j, "hint"));
    json_decref(j);
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"9\"}", 404));
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[50,10]}", 400));
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\",\"abort_ratio\":2}", 400));
    json_decref(call(f, "GET", "/rollouts/nope", NULL, 404));
    json_decref(call(f, "POST", "/push", "{}", 400));
    json_decref(call(f, "POST", "/push", "{\"devices\":[\"a b\"]}", 400));
    json_decref(call(f, "PUT", "/push/rate", "{\"per_s\":0}", 400));
    j = call(f, "PUT", "/push/rate", "{\"per_s\":25,\"burst\":5}", 200);
    assert_true(json_real_value(json_object_get(j, "per_s")) == 25.0);
    json_decref(j);
    j = call(f, "GET", "/push", NULL, 200);
    assert_true(json_is_null(json_object_get(j, "tcp")));
    assert_true(json_real_value(json_object_get(json_object_get(j, "rate"), "per_s")) == 25.0);
    json_decref(j);
    fleet_destroy(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void rollout_through_checks(void **state)
{
    (void)state;
    char dir[] = "/tmp/fleet-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    offleet *f = mk(dir);
    json_t *r = call(f, "POST", "/rollouts",
                     "{\"package\":\"42\",\"stages\":[1,10,50,100],\"test_devices\":[\"860000000009999\"]}", 201);
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "id")));
    assert_string_equal(json_string_value(json_object_get(r, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(r, "stage")), 0);
    json_decref(r);
    /* a second active rollout for the same firmware is refused */
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\"}", 409));

    fleet_offer o;
    /* Check times are Unix seconds, as the server gives them: the fleet's
     * maintenance thread runs the silence scan (and stage timers) on the wall
     * clock once a second. A made-up epoch (say 100000) puts every device
     * decades past its silence limit on the first tick, so a tick falling
     * between a device's download and its next check marked it silent after a
     * full download, i.e. failed, and the abort rule paused the rollout. The
     * times below are 1000 to 2000 s in the past, far inside the limit
     * (3 x 4 h for a device with fewer than three checks). */
    int64_t t = (int64_t)time(NULL) - 2000;
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", "860000000009999", "2012.1.3", t, &o),
                     FLEET_OFFER_PACKAGE);
    assert_string_equal(o.package_id, "42");
    assert_string_equal(o.target_version, "2012.1.4");
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", "860000000000001", "2012.1.3", t, &o), FLEET_OFFER_HOLD);
    assert_non_null(o.reason);
    assert_int_equal(fleet_rollout_decide(f, "other", "FW", "860000000000001", "2012.1.3", t, &o), FLEET_OFFER_NONE);
    check(f, "860000000009999", "2012.1.3", "42", 1, t);
    check(f, "860000000009999", "2012.1.4", NULL, 0, t + 60);

    char path[128];
    snprintf(path, sizeof path, "/rollouts/%s/promote", id);
    r = call(f, "POST", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(r, "stage")), 1);
    json_decref(r);

    /* a package that does not boot: every device downloads it and comes back
     * on the old version. The rollout must pause itself within the 1% stage. */
    int offered = 0;
    char d[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(d, sizeof d, "86000000%07d", i);
        if (fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t + 100, &o) == FLEET_OFFER_PACKAGE) {
            offered++;
            check(f, d, "2012.1.3", "42", 1, t + 100);
            check(f, d, "2012.1.3", NULL, 0, t + 200);
        }
    }
    assert_in_range(offered, 4, 40); /* the test device's success counts: 4 of 5 trips it */
    snprintf(path, sizeof path, "/rollouts/%s", id);
    r = call(f, "GET", path, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "paused");
    assert_true(json_is_true(json_object_get(r, "paused_by_rule")));
    assert_int_equal(json_integer_value(json_object_get(r, "stage")), 1);
    assert_non_null(strstr(json_string_value(json_object_get(r, "pause_reason")), "abort rule"));
    json_t *stages = json_object_get(r, "stages");
    assert_int_equal(json_array_size(stages), 5);
    json_t *s1 = json_array_get(stages, 1);
    assert_true(json_integer_value(json_object_get(json_object_get(s1, "devices"), "failed")) >= 4);
    json_t *s0 = json_array_get(stages, 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s0, "devices"), "succeeded")), 1);
    json_decref(r);
    /* promoting while paused is allowed but new devices stay held */
    snprintf(d, sizeof d, "86000000%07d", 5000);
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t + 300, &o), FLEET_OFFER_HOLD);
    snprintf(path, sizeof path, "/rollouts/%s/devices?status=failed", id);
    r = call(f, "GET", path, NULL, 200);
    assert_true(json_array_size(json_object_get(r, "devices")) >= 4);
    json_decref(r);
    snprintf(path, sizeof path, "/rollouts/%s/cancel", id);
    json_decref(call(f, "POST", path, NULL, 200));
    json_decref(call(f, "POST", path, NULL, 409));

    /* a good package reaches 100%: every device ends on the target */
    r = call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[10,100]}", 201);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    snprintf(path, sizeof path, "/rollouts/%s/promote", id);
    json_decref(call(f, "POST", path, NULL, 200));
    int on_target = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 2000; i++) {
            snprintf(d, sizeof d, "87000000%07d", i);
            const char *ver = round ? "2012.1.4" : "2012.1.3";
            fleet_offer_kind k = fleet_rollout_decide(f, "demo", "FW", d, ver, t + 1000 + round, &o);
            if (round == 0) {
                assert_int_equal(k, FLEET_OFFER_PACKAGE);
                check(f, d, ver, "42", 1, t + 1000);
            } else {
                check(f, d, ver, NULL, 0, t + 1001);
                on_target++;
            }
        }
        if (round == 0) {
            /* every device is between its download and its next check: let
             * the maintenance thread tick over them (it ticks rollouts when
             * the wall-clock second changes and wakes every 250 ms); devices
             * that checked minutes ago are not silent, the rollout runs on */
            int64_t sec = (int64_t)time(NULL);
            while ((int64_t)time(NULL) == sec)
                usleep(20000);
            usleep(400000);
            snprintf(path, sizeof path, "/rollouts/%s", id);
            r = call(f, "GET", path, NULL, 200);
            assert_string_equal(json_string_value(json_object_get(r, "state")), "running");
            json_t *dv = json_object_get(r, "devices");
            assert_int_equal(json_integer_value(json_object_get(dv, "downloaded")), 2000);
            assert_int_equal(json_integer_value(json_object_get(dv, "silent")), 0);
            json_decref(r);
        }
    }
    snprintf(path, sizeof path, "/rollouts/%s", id);
    r = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "devices"), "succeeded")), 2000);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "running");
    assert_true(json_is_true(json_object_get(r, "last_stage")));
    json_decref(r);
    assert_int_equal(on_target, 2000);

    /* restart: the rollouts come back from the state folder */
    fleet_destroy(f);
    f = mk(dir);
    r = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "devices"), "succeeded")), 2000);
    json_decref(r);
    r = call(f, "GET", "/rollouts?project=demo", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(r, "rollouts")), 2);
    json_decref(r);
    fleet_destroy(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void pending_push_delivered_by_check(void **state)
{
    (void)state;
    char dir[] = "/tmp/fleet-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    offleet *f = mk(dir);
    check(f, "860000000000001", "2012.1.3", NULL, 0, 0);
    check(f, "860000000000002", "2012.1.3", NULL, 0, 0);
    /* a group push to the project: two devices learnt from checks */
    json_t *p = call(f, "POST", "/push", "{\"project\":\"demo\",\"ttl_s\":3600}", 202);
    assert_int_equal(json_integer_value(json_object_get(p, "targets")), 2);
    char path[128];
    snprintf(path, sizeof path, "/push/%s", json_string_value(json_object_get(p, "id")));
    json_decref(p);
    /* no TCP, no MQTT: the targets wait for the devices */
    json_t *st = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(st);
        st = call(f, "GET", path, NULL, 200);
        if (json_integer_value(json_object_get(json_object_get(st, "states"), "waiting")) == 2)
            break;
        usleep(20000);
    }
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "states"), "waiting")), 2);
    json_decref(st);
    check(f, "860000000000001", "2012.1.3", NULL, 0, 0);
    st = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "states"), "checked")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "states"), "waiting")), 1);
    json_decref(st);
    json_t *dv = call(f, "GET", "/push/devices/860000000000001", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(dv, "last_push"), "state")), "checked");
    json_decref(dv);
    /* survives a restart: the waiting target is still waiting */
    fleet_destroy(f);
    f = mk(dir);
    st = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "states"), "waiting")), 1);
    json_decref(st);
    check(f, "860000000000002", "2012.1.3", NULL, 0, 0);
    st = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "states"), "checked")), 2);
    json_decref(st);
    fleet_destroy(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void agent_reports_refine_status(void **state)
{
    (void)state;
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.rate_per_s = 10000;
    fleet_hooks h = {.package_info = pkg_info};
    offleet *f = fleet_create(&cfg, &h);
    assert_non_null(f);
    json_t *r = call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[100],\"abort_min\":2}", 201);
    char path[96];
    snprintf(path, sizeof path, "/rollouts/%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    const char *a = "860000000000001", *b = "860000000000002", *c = "860000000000003";
    for (int i = 0; i < 3; i++) {
        const char *d = i == 0 ? a : i == 1 ? b : c;
        assert_int_equal(fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", 100, NULL), FLEET_OFFER_PACKAGE);
        check(f, d, "2012.1.3", "42", 0, 100); /* partial download */
    }
    assert_int_equal(fleet_report_state_parse("installed"), FLEET_REPORT_INSTALLED);
    assert_int_equal(fleet_report_state_parse("bogus"), -1);
    fleet_on_report(f, a, FLEET_REPORT_DOWNLOADED, "2012.1.4", 101);
    fleet_on_report(f, a, FLEET_REPORT_INSTALLED, "2012.1.4", 102);
    fleet_on_report(f, b, FLEET_REPORT_FAILED, "2012.1.9", 102); /* about another version: ignored */
    fleet_on_report(f, "860000000000099", FLEET_REPORT_FAILED, NULL, 102); /* never offered: ignored */
    r = call(f, "GET", path, NULL, 200);
    json_t *dv = json_object_get(r, "devices");
    assert_int_equal(json_integer_value(json_object_get(dv, "succeeded")), 1);
    assert_int_equal(json_integer_value(json_object_get(dv, "downloading")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "running");
    json_decref(r);
    /* a reported failure counts at once: 1 of 2 finished >= 20% → paused */
    fleet_on_report(f, b, FLEET_REPORT_FAILED, "2012.1.4", 103);
    r = call(f, "GET", path, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "paused");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "devices"), "failed")), 1);
    json_decref(r);
    fleet_destroy(f);
}

/* A store as the server would give it (put/del/load by kind and id). */
struct fake_store {
    pthread_mutex_t mu;
    int n, puts, dels, loads;
    char kind[64][16], id[64][40];
    char *json[64];
};

static int fs_put(void *ctx, const char *kind, const char *id, const char *json)
{
    struct fake_store *st = ctx;
    pthread_mutex_lock(&st->mu);
    st->puts++;
    int i;
    for (i = 0; i < st->n; i++)
        if (!strcmp(st->kind[i], kind) && !strcmp(st->id[i], id))
            break;
    if (i == st->n) {
        if (st->n == 64) {
            pthread_mutex_unlock(&st->mu);
            return -1;
        }
        st->n++;
        snprintf(st->kind[i], sizeof st->kind[i], "%s", kind);
        snprintf(st->id[i], sizeof st->id[i], "%s", id);
        st->json[i] = NULL;
    }
    free(st->json[i]);
    st->json[i] = strdup(json);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

static int fs_del(void *ctx, const char *kind, const char *id)
{
    struct fake_store *st = ctx;
    pthread_mutex_lock(&st->mu);
    st->dels++;
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->kind[i], kind) && !strcmp(st->id[i], id)) {
            free(st->json[i]);
            st->n--;
            memmove(&st->kind[i], &st->kind[i + 1], (size_t)(st->n - i) * sizeof st->kind[0]);
            memmove(&st->id[i], &st->id[i + 1], (size_t)(st->n - i) * sizeof st->id[0]);
            memmove(&st->json[i], &st->json[i + 1], (size_t)(st->n - i) * sizeof st->json[0]);
            break;
        }
    pthread_mutex_unlock(&st->mu);
    return 0;
}

static int fs_load(void *ctx, const char *kind, int (*each)(void *arg, const char *id, const char *json), void *arg)
{
    struct fake_store *st = ctx;
    pthread_mutex_lock(&st->mu);
    st->loads++;
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->kind[i], kind))
            each(arg, st->id[i], st->json[i]);
    pthread_mutex_unlock(&st->mu);
    return 0;
}

static void server_store_hook(void **state)
{
    (void)state;
    static const fleet_store_ops ops = {fs_put, fs_del, fs_load};
    struct fake_store st = {.mu = PTHREAD_MUTEX_INITIALIZER};
    fleet_config cfg;
    fleet_config_default(&cfg);
    fleet_hooks h = {.package_info = pkg_info, .check_url = check_url, .store = &ops, .store_ctx = &st};
    offleet *f = fleet_create(&cfg, &h);
    assert_non_null(f);
    assert_int_equal(fleet_start(f), 0);
    assert_int_equal(st.loads, 2); /* rollouts and pushes */
    json_t *r = call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[100]}", 201);
    char path[96];
    snprintf(path, sizeof path, "/rollouts/%s", json_string_value(json_object_get(r, "id")));
    json_decref(r);
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", "860000000000001", "2012.1.3", 0, NULL),
                     FLEET_OFFER_PACKAGE);
    const char *ids[] = {"860000000000001"};
    assert_int_equal(fleet_push(f, ids, 1, NULL, NULL, 60, NULL), 0);
    fleet_destroy(f); /* the last persist runs at stop */
    assert_true(st.puts >= 2);
    assert_int_equal(st.n, 2);
    assert_non_null(strstr(st.json[0], "860000000000001"));
    /* a second node (or a restart) reading the same store sees the rollout */
    f = fleet_create(&cfg, &h);
    assert_int_equal(fleet_start(f), 0);
    r = call(f, "GET", path, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "devices"), "offered")), 1);
    json_decref(r);
    fleet_destroy(f);
    for (int i = 0; i < st.n; i++)
        free(st.json[i]);
    /* the DDL the server runs for such a store */
    assert_non_null(strstr(fleet_store_sql_ddl, "CREATE TABLE IF NOT EXISTS fleet_state"));
}

/* Events the notify hook got, "event json" per line. */
static char events[8192];
static pthread_mutex_t events_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_notify(void *ctx, const char *event, const char *json)
{
    (void)ctx;
    pthread_mutex_lock(&events_mu);
    size_t l = strlen(events);
    snprintf(events + l, sizeof events - l, "%s %s\n", event, json);
    pthread_mutex_unlock(&events_mu);
}

/* Webhook events (paused, cancelled, finished), hold kinds and the rollout
 * package a draft may go out through, as the server sees them. */
static void notify_holds_and_draft_package(void **state)
{
    (void)state;
    char dir[] = "/tmp/fleet-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.state_dir = dir;
    cfg.rate_per_s = 10000;
    fleet_hooks h = {.package_info = pkg_info, .check_url = check_url, .notify = on_notify};
    offleet *f = fleet_create(&cfg, &h);
    assert_non_null(f);
    assert_int_equal(fleet_start(f), 0);
    events[0] = 0;
    char pk[64];
    assert_int_equal(fleet_rollout_package(f, "demo", "FW", pk), 0);
    assert_string_equal(pk, "");
    json_t *r = call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[1,100],\"promote_percent\":100}", 201);
    char id[32], path[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "id")));
    assert_true(json_number_value(json_object_get(r, "promote_percent")) == 100);
    assert_false(json_is_true(json_object_get(r, "stage_ready")));
    json_decref(r);
    assert_int_equal(fleet_rollout_package(f, "demo", "FW", pk), 1);
    assert_string_equal(pk, "42");
    /* a bad threshold is refused by the API */
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\",\"promote_percent\":120}", 400));
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\",\"promote_min\":-1}", 400));

    /* a device outside the 1% stage: held, and the offer says why */
    fleet_offer o;
    int64_t t = (int64_t)time(NULL) - 100;
    char d[32];
    int i = 0;
    do
        snprintf(d, sizeof d, "86000000%07d", i++);
    while (fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t, &o) != FLEET_OFFER_HOLD);
    assert_int_equal(o.hold, FLEET_HOLD_STAGE);
    assert_string_equal(fleet_hold_name(o.hold), "stage");

    snprintf(path, sizeof path, "/rollouts/%s/pause", id);
    json_decref(call(f, "POST", path, "{\"reason\":\"looking\"}", 200));
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t, &o), FLEET_OFFER_HOLD);
    assert_int_equal(o.hold, FLEET_HOLD_PAUSED);
    pthread_mutex_lock(&events_mu);
    assert_non_null(strstr(events, "rollout.paused {"));
    assert_non_null(strstr(events, "\"reason\":\"looking\""));
    pthread_mutex_unlock(&events_mu);
    snprintf(path, sizeof path, "/rollouts/%s/resume", id);
    json_decref(call(f, "POST", path, NULL, 200));

    /* promote to 100%: the device succeeds; the tick marks it finished */
    snprintf(path, sizeof path, "/rollouts/%s/promote", id);
    json_decref(call(f, "POST", path, NULL, 200));
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t, &o), FLEET_OFFER_PACKAGE);
    check(f, d, "2012.1.3", "42", 1, t);
    check(f, d, "2012.1.4", NULL, 0, t + 1);
    for (int w = 0; w < 40; w++) {
        pthread_mutex_lock(&events_mu);
        int got = strstr(events, "rollout.finished {") != NULL;
        pthread_mutex_unlock(&events_mu);
        if (got)
            break;
        usleep(100000);
    }
    pthread_mutex_lock(&events_mu);
    assert_non_null(strstr(events, "rollout.finished {"));
    assert_non_null(strstr(events, "\"succeeded\":1"));
    pthread_mutex_unlock(&events_mu);

    snprintf(path, sizeof path, "/rollouts/%s/cancel", id);
    json_decref(call(f, "POST", path, NULL, 200));
    pthread_mutex_lock(&events_mu);
    assert_non_null(strstr(events, "rollout.cancelled {"));
    pthread_mutex_unlock(&events_mu);
    /* a cancelled rollout no longer lets a draft out */
    assert_int_equal(fleet_rollout_package(f, "demo", "FW", pk), 0);

    /* the abort rule pauses a rollout on evidence: the event says by_rule */
    json_decref(call(f, "POST", "/rollouts", "{\"package\":\"42\",\"stages\":[100],\"abort_min\":1}", 201));
    snprintf(d, sizeof d, "86000000%07d", 7777777);
    assert_int_equal(fleet_rollout_decide(f, "demo", "FW", d, "2012.1.3", t + 10, &o), FLEET_OFFER_PACKAGE);
    check(f, d, "2012.1.3", "42", 1, t + 10);
    pthread_mutex_lock(&events_mu);
    events[0] = 0;
    pthread_mutex_unlock(&events_mu);
    check(f, d, "2012.1.3", NULL, 0, t + 20); /* back on the old version after a whole download */
    pthread_mutex_lock(&events_mu);
    assert_non_null(strstr(events, "rollout.paused {"));
    assert_non_null(strstr(events, "\"by_rule\":true"));
    assert_non_null(strstr(events, "abort rule"));
    pthread_mutex_unlock(&events_mu);
    fleet_destroy(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_and_errors),
        cmocka_unit_test(rollout_through_checks),
        cmocka_unit_test(pending_push_delivered_by_check),
        cmocka_unit_test(server_store_hook),
        cmocka_unit_test(agent_reports_refine_status),
        cmocka_unit_test(notify_holds_and_draft_package),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
