/* Rollout logic: cohorts, stages, status inference, abort rule, persistence. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rollout.h"

static struct rollout *mk(const char *id, const double *pc, int np, const char *const *tests, int nt)
{
    struct rollout_spec sp = {
        .id = id, .project = "demo", .firmware = "FW", .package_id = "7", .target_version = "2012.1.4",
        .percents = pc, .npercents = np, .test_devices = tests, .ntest = nt, .abort_ratio = 0.2,
        .abort_min = 5, .loop_downloads = 3, .silent_factor = 3,
    };
    const char *why = NULL;
    struct rollout *r = rollout_new(&sp, 1000, &why);
    if (!r)
        fail_msg("rollout_new: %s", why);
    return r;
}

static void dev(char *buf, int i)
{
    sprintf(buf, "8600000%08d", i);
}

/* Offers the package to the first device of the current stage and sees it
 * come back on the target version (succeeded). */
static void succeed_one(struct rollout *r, int64_t now)
{
    const char *why;
    char d[32];
    for (int i = 0; i < 100000; i++) {
        dev(d, i);
        if (!smap_get(&r->devices, d) && rollout_eligible(r, d))
            break;
    }
    assert_int_equal(rollout_decide(r, d, "2012.1.3", now, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    assert_int_equal(rollout_decide(r, d, "2012.1.4", now, NULL, 0, 60, &why), FLEET_OFFER_NONE);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d))->status, RS_SUCCEEDED);
}

static void cohort_deterministic_and_uniform(void **state)
{
    (void)state;
    assert_int_equal(rollout_cohort("r1", "860000000000009"), rollout_cohort("r1", "860000000000009"));
    /* different rollouts give different cohorts to the same devices */
    int same = 0, buckets[10] = {0};
    const int N = 100000;
    for (int i = 0; i < N; i++) {
        char d[32];
        dev(d, i);
        uint32_t a = rollout_cohort("r1", d), b = rollout_cohort("r2", d);
        assert_true(a < 10000);
        same += a == b;
        buckets[a / 1000]++;
    }
    assert_true(same < N / 500);
    /* chi-square over 10 buckets, 9 degrees of freedom: 99.9% quantile 27.9 */
    double chi = 0, exp = N / 10.0;
    for (int k = 0; k < 10; k++)
        chi += (buckets[k] - exp) * (buckets[k] - exp) / exp;
    if (chi > 27.9)
        fail_msg("cohorts not uniform: chi2 = %.1f", chi);
    /* the 1% stage takes about 1% of devices */
    int one = 0;
    for (int i = 0; i < N; i++) {
        char d[32];
        dev(d, i);
        one += rollout_cohort("r-1pct", d) < 100;
    }
    assert_in_range(one, 850, 1150);
}

static void stages_and_test_devices(void **state)
{
    (void)state;
    const char *tests[] = {"999000000000001"};
    struct rollout *r = mk("rA", NULL, 0, tests, 1); /* default 1,10,50,100 */
    assert_int_equal(r->nstages, 5);
    assert_int_equal(r->stage, 0);
    assert_true(rollout_eligible(r, "999000000000001"));
    int n = 0;
    for (int i = 0; i < 2000; i++) {
        char d[32];
        dev(d, i);
        n += rollout_eligible(r, d);
    }
    assert_int_equal(n, 0); /* test stage: nobody else */
    const char *why;
    assert_int_equal(rollout_promote(r, 1100, &why), 0);
    assert_int_equal(r->stage, 1);
    int counts[5] = {0};
    for (int s = 1; s <= 4; s++) {
        for (int i = 0; i < 20000; i++) {
            char d[32];
            dev(d, i);
            counts[s] += rollout_eligible(r, d);
        }
        if (s < 4)
            assert_int_equal(rollout_promote(r, 1100, &why), 0);
    }
    assert_in_range(counts[1], 140, 260);
    assert_in_range(counts[2], 1800, 2200);
    assert_in_range(counts[3], 9500, 10500);
    assert_int_equal(counts[4], 20000);
    assert_int_equal(rollout_promote(r, 1200, &why), FLEET_ERR_STATE);
    /* a device eligible at 1% stays eligible later (monotone stages) */
    rollout_free(r);

    /* no test devices: starts in the first percentage stage; time advances it */
    double pc[] = {5, 100};
    r = mk("rB", pc, 2, NULL, 0);
    r->stage_interval_s = 60;
    assert_int_equal(r->stage, 1);
    succeed_one(r, 1001);
    assert_int_equal(rollout_tick(r, 1059), 0);
    assert_int_equal(r->stage, 1);
    assert_int_equal(rollout_tick(r, 1060), 1);
    assert_int_equal(r->stage, 2);
    rollout_tick(r, 5000);
    assert_int_equal(r->stage, 2);
    /* paused rollouts do not advance */
    rollout_free(r);
    r = mk("rC", pc, 2, NULL, 0);
    r->stage_interval_s = 60;
    succeed_one(r, 1001);
    assert_int_equal(rollout_pause(r, 1010, NULL, &why), 0);
    rollout_tick(r, 2000);
    assert_int_equal(r->stage, 1);
    assert_string_equal(r->pause_reason, "paused by an operator");
    assert_int_equal(rollout_pause(r, 1010, NULL, &why), FLEET_ERR_STATE);
    assert_int_equal(rollout_resume(r, 2000, &why), 0);
    assert_int_equal(rollout_tick(r, 2059), 0);
    assert_int_equal(rollout_tick(r, 2060), 1);
    assert_int_equal(rollout_cancel(r, 2100, &why), 0);
    assert_int_equal(rollout_resume(r, 2100, &why), FLEET_ERR_STATE);
    rollout_free(r);

    /* bad specs are refused with a reason */
    double badpc[] = {10, 5};
    struct rollout_spec sp = {.id = "x", .project = "p", .firmware = "f", .package_id = "1",
                              .target_version = "1.1.1", .percents = badpc, .npercents = 2, .abort_ratio = 0.2};
    assert_null(rollout_new(&sp, 0, &why));
    assert_non_null(why);
    sp.percents = NULL;
    sp.abort_ratio = 0;
    assert_null(rollout_new(&sp, 0, &why));
}

static fleet_check_event ev(const char *d, const char *v, const char *pkg, uint64_t bytes, int complete, int code)
{
    fleet_check_event e = {.project = "demo", .firmware = "FW", .device_id = d, .version = v, .code = code,
                           .package_id = pkg, .bytes_sent = bytes, .complete = complete};
    return e;
}

static void status_inference(void **state)
{
    (void)state;
    double pc[] = {100};
    struct rollout *r = mk("rS", pc, 1, NULL, 0);
    r->abort_ratio = 1.0;
    r->abort_min = 1000; /* keep running */
    const char *why;
    const char *d = "860000000000001";
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    struct rdev *x = smap_get(&r->devices, d);
    assert_non_null(x);
    assert_int_equal(x->status, RS_OFFERED);
    fleet_check_event e = ev(d, "2012.1.3", "7", 100, 0, 0);
    rollout_observe(r, &e, 1000, 60);
    assert_int_equal(x->status, RS_DOWNLOADING);
    e = ev(d, "2012.1.3", "7", 5000, 1, 0);
    rollout_observe(r, &e, 1001, 60);
    assert_int_equal(x->status, RS_DOWNLOADED);
    /* next check on the target version: succeeded */
    assert_int_equal(rollout_decide(r, d, "2012.1.4", 1100, NULL, 0, 60, &why), FLEET_OFFER_NONE);
    assert_int_equal(x->status, RS_SUCCEEDED);
    /* and back on the old one later: looping (reverted) */
    e = ev(d, "2012.1.3", NULL, 0, 0, 27);
    rollout_observe(r, &e, 1200, 60);
    assert_int_equal(x->status, RS_LOOPING);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1201, NULL, 0, 60, &why), FLEET_OFFER_HOLD);

    /* full download then the old version again: failed, and no more offers */
    const char *d2 = "860000000000002";
    assert_int_equal(rollout_decide(r, d2, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    e = ev(d2, "2012.1.3", "7", 5000, 1, 0);
    rollout_observe(r, &e, 1000, 60);
    assert_int_equal(rollout_decide(r, d2, "2012.1.3", 1100, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d2))->status, RS_FAILED);

    /* silent: no check within silent_factor x its interval */
    const char *d3 = "860000000000003";
    assert_int_equal(rollout_decide(r, d3, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    rollout_tick(r, 1000 + 180);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d3))->status, RS_OFFERED);
    rollout_tick(r, 1000 + 181);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d3))->status, RS_SILENT);
    assert_int_equal(r->finished, 2); /* silent without a download is not finished */
    /* it comes back: re-evaluated, and can still succeed */
    e = ev(d3, "2012.1.3", NULL, 0, 0, 27);
    rollout_observe(r, &e, 1300, 60);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d3))->status, RS_OFFERED);

    /* silent after a full download counts as a failure (a bricked device) */
    const char *d4 = "860000000000004";
    rollout_decide(r, d4, "2012.1.3", 1000, NULL, 0, 60, &why);
    e = ev(d4, "2012.1.3", "7", 5000, 1, 0);
    rollout_observe(r, &e, 1000, 60);
    uint32_t fail_before = r->failures;
    rollout_tick(r, 1000 + 500);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d4))->status, RS_SILENT);
    assert_int_equal(r->failures, fail_before + 1);

    /* banned by the server (code 40) */
    const char *d5 = "860000000000005";
    rollout_decide(r, d5, "2012.1.3", 1000, NULL, 0, 60, &why);
    e = ev(d5, "2012.1.3", NULL, 0, 0, 40);
    rollout_observe(r, &e, 1001, 60);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d5))->status, RS_BANNED);

    /* looping: loop_downloads full downloads without a version change */
    const char *d6 = "860000000000006";
    rollout_decide(r, d6, "2012.1.3", 1000, NULL, 0, 60, &why);
    for (int i = 0; i < 3; i++) {
        e = ev(d6, "2012.1.3", "7", 5000, 1, 0);
        rollout_observe(r, &e, 1000 + i, 60);
    }
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d6))->status, RS_LOOPING);

    /* a device that already runs the target is not tracked */
    assert_int_equal(rollout_decide(r, "860000000000007", "2012.1.4", 1000, NULL, 0, 60, &why), FLEET_OFFER_NONE);
    assert_null(smap_get(&r->devices, "860000000000007"));

    /* counts per stage add up */
    uint32_t sum = 0;
    for (int s = 0; s < RS__COUNT; s++)
        sum += r->counts[1][s];
    assert_int_equal(sum, r->devices.count);
    rollout_free(r);
}

static void abort_rule(void **state)
{
    (void)state;
    double pc[] = {100};
    struct rollout *r = mk("rX", pc, 1, NULL, 0); /* ratio 0.2, min 5 */
    const char *why;
    char d[32];
    /* 4 successes then 1 failure: 1/5 = 20% >= 20% at the minimum → pause */
    for (int i = 0; i < 5; i++) {
        dev(d, i);
        assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
        fleet_check_event e = ev(d, "2012.1.3", "7", 10, 1, 0);
        rollout_observe(r, &e, 1001, 60);
        if (i < 4) {
            e = ev(d, "2012.1.4", NULL, 0, 0, 27);
            rollout_observe(r, &e, 1002, 60);
            assert_int_equal(r->state, RO_RUNNING);
        } else {
            e = ev(d, "2012.1.3", NULL, 0, 0, 0);
            rollout_observe(r, &e, 1002, 60);
        }
    }
    assert_int_equal(r->state, RO_PAUSED);
    assert_int_equal(r->paused_by_rule, 1);
    assert_non_null(strstr(r->pause_reason, "1 of 5"));
    /* new devices are held while paused */
    dev(d, 100);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1003, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_non_null(why);
    /* resume counts anew: not tripped again at once */
    assert_int_equal(rollout_resume(r, 1004, &why), 0);
    assert_int_equal(r->state, RO_RUNNING);
    rollout_free(r);

    /* below the minimum the rule waits even at 100% failures */
    r = mk("rY", pc, 1, NULL, 0);
    for (int i = 0; i < 4; i++) {
        dev(d, i);
        rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why);
        fleet_check_event e = ev(d, "2012.1.3", "7", 10, 1, 0);
        rollout_observe(r, &e, 1001, 60);
        e = ev(d, "2012.1.3", NULL, 0, 0, 0);
        rollout_observe(r, &e, 1002, 60);
    }
    assert_int_equal(r->failures, 4);
    assert_int_equal(r->state, RO_RUNNING);
    rollout_free(r);
}

static void rate_caps_new_offers(void **state)
{
    (void)state;
    double pc[] = {100};
    struct rollout *r = mk("rR", pc, 1, NULL, 0);
    struct fleet_rate rate;
    rate_init(&rate, 1, 2, 0.0);
    const char *why;
    int got = 0;
    char d[32];
    for (int i = 0; i < 10; i++) {
        dev(d, i);
        got += rollout_decide(r, d, "1.1.1", 1000, &rate, 0.0, 60, &why) == FLEET_OFFER_PACKAGE;
    }
    assert_int_equal(got, 2);
    /* a device already offered keeps its offer without a token */
    dev(d, 0);
    assert_int_equal(rollout_decide(r, d, "1.1.1", 1000, &rate, 0.0, 60, &why), FLEET_OFFER_PACKAGE);
    rollout_free(r);
}

static void persistence_roundtrip(void **state)
{
    (void)state;
    const char *tests[] = {"T1"};
    struct rollout *r = mk("rP", NULL, 0, tests, 1);
    const char *why;
    rollout_promote(r, 1001, &why);
    rollout_promote(r, 1002, &why);
    char d[32];
    for (int i = 0; i < 300; i++) {
        dev(d, i);
        if (rollout_decide(r, d, "2012.1.3", 1003, NULL, 0, 60, &why) == FLEET_OFFER_PACKAGE) {
            fleet_check_event e = ev(d, "2012.1.3", "7", 10, 1, 0);
            rollout_observe(r, &e, 1004, 60);
        }
    }
    rollout_pause(r, 1005, "looking into it", &why);
    json_t *j = rollout_to_json(r, 1);
    struct rollout *b = rollout_from_json(j);
    assert_non_null(b);
    json_t *j2 = rollout_to_json(b, 1);
    json_t *s1 = rollout_to_json(r, 0), *s2 = rollout_to_json(b, 0);
    assert_true(json_equal(s1, s2));
    assert_string_equal(b->pause_reason, "looking into it");
    assert_int_equal(b->devices.count, r->devices.count);
    assert_true(rollout_is_test(b, "T1"));
    json_decref(j);
    json_decref(j2);
    json_decref(s1);
    json_decref(s2);
    /* malformed stored forms are refused, not crashed on */
    json_t *bad = json_pack("{s:s}", "id", "x");
    assert_null(rollout_from_json(bad));
    json_decref(bad);
    rollout_free(r);
    rollout_free(b);
}

/* Each hold says why: stage, rate cap, paused, cancelled, failed before. */
static void hold_reasons(void **state)
{
    (void)state;
    double pc[] = {1, 100};
    struct rollout *r = mk("rH", pc, 2, NULL, 0);
    r->abort_min = 1000;
    const char *why;
    char d[32];
    int i = 0;
    do
        dev(d, i++);
    while (rollout_eligible(r, d));
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(r->last_hold, FLEET_HOLD_STAGE);
    assert_string_equal(fleet_hold_name(r->last_hold), "stage");
    /* a device of the stage when the rate cap has no token left */
    struct fleet_rate rate;
    rate_init(&rate, 1, 1, 0.0);
    assert_true(rate_try_take(&rate, 0.0));
    i = 0;
    do
        dev(d, i++);
    while (!rollout_eligible(r, d));
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, &rate, 0.0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(r->last_hold, FLEET_HOLD_RATE);
    assert_string_equal(fleet_hold_name(r->last_hold), "rate cap");
    /* an offer clears the hold */
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    assert_int_equal(r->last_hold, FLEET_HOLD_NONE);
    /* failed before: a whole download, then the old version again */
    fleet_check_event e = ev(d, "2012.1.3", "7", 10, 1, 0);
    rollout_observe(r, &e, 1001, 60);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1002, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(r->last_hold, FLEET_HOLD_FAILED);
    /* paused, then cancelled: a new device of the stage is held for that */
    rollout_promote(r, 1003, &why);
    dev(d, 99999);
    assert_int_equal(rollout_pause(r, 1004, NULL, &why), 0);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1005, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(r->last_hold, FLEET_HOLD_PAUSED);
    assert_string_equal(fleet_hold_name(r->last_hold), "paused");
    assert_int_equal(rollout_cancel(r, 1006, &why), 0);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1007, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(r->last_hold, FLEET_HOLD_CANCELLED);
    rollout_free(r);
}

/* The abort rule counts failures only on evidence. */
static void failure_needs_evidence(void **state)
{
    (void)state;
    double pc[] = {100};
    struct rollout *r = mk("rE", pc, 1, NULL, 0); /* ratio 0.2, min 5 */
    r->abort_min = 1;
    r->abort_ratio = 0.01; /* the first failure would pause it */
    const char *why;
    char d[32];
    fleet_check_event e;
    /* devices first seen on older versions, offered, checking again on an
     * even older version, or answered "no upgrade": nobody failed */
    for (int i = 0; i < 20; i++) {
        dev(d, i);
        e = ev(d, "2012.1.1", NULL, 0, 0, 27);
        rollout_observe(r, &e, 1000, 60);
        assert_int_equal(rollout_decide(r, d, "2012.1.2", 1001, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
        e = ev(d, "2012.1.2", NULL, 0, 0, FLEET_HELD_CODE);
        rollout_observe(r, &e, 1001, 60);
        assert_int_equal(rollout_decide(r, d, "2012.1.1", 1002, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
        e = ev(d, "2012.1.1", "7", 100, 0, 0); /* a cut download */
        rollout_observe(r, &e, 1003, 60);
        assert_int_equal(rollout_decide(r, d, "2012.1.1", 1004, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    }
    assert_int_equal(r->failures, 0);
    assert_int_equal(r->finished, 0);
    assert_int_equal(r->state, RO_RUNNING);
    /* a whole download followed by another version that is not the old one
     * (the device was given something else): not a failure either */
    dev(d, 0);
    e = ev(d, "2012.1.1", "7", 5000, 1, 0);
    rollout_observe(r, &e, 1005, 60);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d))->status, RS_DOWNLOADED);
    assert_int_equal(rollout_decide(r, d, "2012.1.2", 1006, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d))->status, RS_OFFERED);
    assert_string_equal(((struct rdev *)smap_get(&r->devices, d))->from_version, "2012.1.2");
    assert_int_equal(r->failures, 0);
    assert_int_equal(r->state, RO_RUNNING);
    /* evidence: a whole download, then the old version on the next check */
    e = ev(d, "2012.1.2", "7", 5000, 1, 0);
    rollout_observe(r, &e, 1007, 60);
    assert_int_equal(rollout_decide(r, d, "2012.1.2", 1008, NULL, 0, 60, &why), FLEET_OFFER_HOLD);
    assert_int_equal(((struct rdev *)smap_get(&r->devices, d))->status, RS_FAILED);
    assert_int_equal(r->failures, 1);
    assert_int_equal(r->state, RO_PAUSED);
    rollout_free(r);

    /* evidence: the device's own report */
    r = mk("rE2", pc, 1, NULL, 0);
    r->abort_min = 1;
    dev(d, 1);
    assert_int_equal(rollout_decide(r, d, "2012.1.3", 1000, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
    rollout_report(r, d, FLEET_REPORT_FAILED, "2012.1.4", 1001);
    assert_int_equal(r->failures, 1);
    assert_int_equal(r->state, RO_PAUSED);
    rollout_free(r);
}

/* Time alone never promotes: a stage needs offers and its success threshold. */
static void promotion_threshold(void **state)
{
    (void)state;
    double pc[] = {50, 100};
    struct rollout *r = mk("rT", pc, 2, NULL, 0); /* default 95% */
    r->stage_interval_s = 60;
    r->abort_min = 1000;
    assert_true(r->promote_percent > 94.9 && r->promote_percent < 95.1);
    const char *why;
    /* nothing offered: the interval passes, the stage stays */
    assert_int_equal(rollout_tick(r, 5000), 0);
    assert_int_equal(r->stage, 1);
    assert_false(rollout_stage_ready(r, &why));
    assert_non_null(strstr(why, "no device"));
    /* 10 offered, 9 succeeded: 90% < 95% */
    char d[32];
    int n = 0, ids[10];
    for (int i = 0; n < 10; i++) {
        dev(d, i);
        if (rollout_decide(r, d, "2012.1.3", 5001, NULL, 0, 60, &why) == FLEET_OFFER_PACKAGE)
            ids[n++] = i;
    }
    for (int k = 0; k < 9; k++) {
        dev(d, ids[k]);
        rollout_decide(r, d, "2012.1.4", 5002, NULL, 0, 60, &why);
    }
    assert_int_equal(rollout_tick(r, 5003), 0);
    assert_int_equal(r->stage, 1);
    assert_non_null(strstr(rollout_stage_ready(r, &why) ? "" : why, "promote_percent"));
    /* the tenth succeeds: promoted at the next tick */
    dev(d, ids[9]);
    rollout_decide(r, d, "2012.1.4", 5004, NULL, 0, 60, &why);
    assert_int_equal(rollout_tick(r, 5005), 1);
    assert_int_equal(r->stage, 2);
    assert_int_equal(r->finished_at, 0);
    /* the last stage: finished once its own threshold holds after the interval */
    assert_int_equal(rollout_tick(r, 5006), 0);
    int added = 0;
    for (int i = 0; added < 2; i++) {
        dev(d, i);
        if (smap_get(&r->devices, d))
            continue;
        assert_int_equal(rollout_decide(r, d, "2012.1.3", 5007, NULL, 0, 60, &why), FLEET_OFFER_PACKAGE);
        rollout_decide(r, d, "2012.1.4", 5008, NULL, 0, 60, &why);
        added++;
    }
    assert_int_equal(rollout_tick(r, 5010), 0); /* interval not over */
    assert_int_equal(rollout_tick(r, 5005 + 60), 1);
    assert_int_equal(r->finished_at, 5065);
    json_t *j = rollout_to_json(r, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "finished_at")), 5065);
    json_decref(j);
    rollout_free(r);

    /* a minimum count: 100% of 1 is not enough with promote_min 3 */
    double pm = 0;
    struct rollout_spec sp = {.id = "rM", .project = "demo", .firmware = "FW", .package_id = "7",
                              .target_version = "2012.1.4", .percents = pc, .npercents = 2, .abort_ratio = 0.2,
                              .stage_interval_s = 60, .promote_percent = &pm, .promote_min = 3};
    r = rollout_new(&sp, 1000, &why);
    assert_non_null(r);
    succeed_one(r, 1001);
    assert_int_equal(rollout_tick(r, 2000), 0);
    succeed_one(r, 2001);
    succeed_one(r, 2002);
    assert_int_equal(rollout_tick(r, 2003), 1);
    assert_int_equal(r->stage, 2);
    /* promote by hand needs no threshold; the fields survive a restart */
    json_t *pj = rollout_to_json(r, 1);
    struct rollout *b = rollout_from_json(pj);
    assert_non_null(b);
    assert_int_equal(b->promote_min, 3);
    assert_true(b->promote_percent == 0);
    json_decref(pj);
    rollout_free(b);
    rollout_free(r);
    /* out of range */
    pm = 101;
    assert_null(rollout_new(&sp, 1000, &why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cohort_deterministic_and_uniform),
        cmocka_unit_test(stages_and_test_devices),
        cmocka_unit_test(status_inference),
        cmocka_unit_test(abort_rule),
        cmocka_unit_test(rate_caps_new_offers),
        cmocka_unit_test(persistence_roundtrip),
        cmocka_unit_test(hold_reasons),
        cmocka_unit_test(failure_needs_evidence),
        cmocka_unit_test(promotion_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
