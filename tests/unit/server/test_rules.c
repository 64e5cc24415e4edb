/* test_rules.c — the upgrade decision (rules.c) over a hand-made snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

#define DAY 86400
#define NOW (20000 * (int64_t)DAY + 3600)

static snapshot *snap;

static void add_pkg(catalog *c, int64_t id, int64_t fw, int64_t proj, const char *ver, int64_t base)
{
    cat_package *p = &c->packages[c->npackages++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->firmware_id = fw;
    p->project_id = proj;
    assert_int_equal(version_parse(ver, strlen(ver), &p->ver), VERSION_OK);
    p->base_core = base;
    p->suffix = 1;
    p->size = 1000;
    snprintf(p->sha256, sizeof p->sha256, "%064lld", (long long)id);
}

static int setup(void **state)
{
    (void)state;
    catalog c;
    memset(&c, 0, sizeof c);
    c.projects = calloc(3, sizeof *c.projects);
    c.firmware = calloc(4, sizeof *c.firmware);
    c.packages = calloc(8, sizeof *c.packages);
    c.listed = calloc(2, sizeof *c.listed);
    cat_project *p = c.projects;
    p[0] = (cat_project){.id = 1, .key = "K1", .name = "one", .upgrades_enabled = 1, .max_daily_deliveries = 6};
    p[1] = (cat_project){.id = 2, .key = "K2", .name = "two", .listed_only = 1, .upgrades_enabled = 1};
    p[2] = (cat_project){.id = 3, .key = "K3", .name = "off", .upgrades_enabled = 0, .max_daily_deliveries = 6};
    c.nprojects = 3;
    cat_firmware *f = c.firmware;
    f[0] = (cat_firmware){.id = 10, .project_id = 1, .name = "F1", .suffix = 1};
    f[1] = (cat_firmware){.id = 11, .project_id = 1, .name = "F2", .suffix = 2};
    f[2] = (cat_firmware){.id = 12, .project_id = 2, .name = "F1", .suffix = 1};
    f[3] = (cat_firmware){.id = 13, .project_id = 3, .name = "F1", .suffix = 1};
    c.nfirmware = 4;
    add_pkg(&c, 100, 10, 1, "2012.001.002", -1);
    add_pkg(&c, 101, 10, 1, "2012.001.005", -1);
    add_pkg(&c, 102, 10, 1, "2035.001.005", 2012);
    add_pkg(&c, 103, 10, 1, "2035.001.006", -1);
    add_pkg(&c, 104, 11, 1, "2012.001.009", -1);
    add_pkg(&c, 105, 12, 2, "2012.001.009", -1);
    add_pkg(&c, 106, 13, 3, "2012.001.009", -1);
    c.listed[0] = (cat_listed){.project_id = 2, .device_id = "860000000000001"};
    c.nlisted = 1;
    snap = snapshot_build(&c);
    return snap ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    snapshot_unref(snap);
    return 0;
}

static dev_state fresh(const char *id)
{
    dev_state d;
    memset(&d, 0, sizeof d);
    snprintf(d.id, sizeof d.id, "%s", id);
    return d;
}

/* Decide and apply: returns the result, updates *d to the next state. */
static rules_result decide(dev_state *d, const char *key, const char *fw, const char *ver, int64_t now, int resume)
{
    rules_input in = {.snap = snap, .dev = d, .project_key = key, .project_key_len = strlen(key),
                      .firmware = fw, .firmware_len = strlen(fw), .now = now, .resume = resume,
                      .default_max_daily = 6};
    assert_int_equal(version_parse(ver, strlen(ver), &in.ver), VERSION_OK);
    rules_result r;
    rules_decide(&in, &r);
    *d = r.next;
    return r;
}

static void test_package_choice(void **state)
{
    (void)state;
    static const struct {
        const char *ver;
        int64_t want; /* 0: code 27 */
    } cases[] = {
        {"2012.001.001", 102}, /* core+script wins: newest target */
        {"2012.001.005", 102}, /* same script, new core */
        {"2012.002.001", 0},   /* script major ahead of every package */
        {"2035.001.005", 103},
        {"2035.001.006", 0},
        {"2035.001.007", 0},
        {"2036.001.001", 0},   /* unknown core: nothing applies */
        {"2012.1.1", 102},     /* numbers, not text */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dev_state d = fresh("860000000000009");
        rules_result r = decide(&d, "K1", "F1", cases[i].ver, NOW, 0);
        if (cases[i].want) {
            if (r.decision != DECISION_UPGRADE || r.pkg == NULL || r.pkg->id != cases[i].want)
                fail_msg("%s: expected package %lld, got code %d", cases[i].ver, (long long)cases[i].want, r.code);
            assert_int_equal(r.status, 200);
        } else {
            if (r.decision != DECISION_NO_UPGRADE || r.code != 27)
                fail_msg("%s: expected 27, got decision %d code %d", cases[i].ver, r.decision, r.code);
            assert_true(r.status >= 300 && r.status < 600 && (r.status < 300 || r.status >= 400));
        }
    }
}

static void test_eligibility(void **state)
{
    (void)state;
    cat_package p = {.ver = {2012, 2, 3}, .base_core = -1};
    of_version v = {2012, 1, 3};
    assert_true(rules_eligible(&v, &p));
    v = (of_version){2012, 1, 4};
    assert_false(rules_eligible(&v, &p)); /* 001.000.004 -> 002.000.003 */
    v = (of_version){2011, 1, 1};
    assert_false(rules_eligible(&v, &p)); /* script-only needs the same core */
    p = (cat_package){.ver = {2035, 1, 1}, .base_core = 2012};
    v = (of_version){2012, 1, 1};
    assert_true(rules_eligible(&v, &p));
    v = (of_version){2013, 1, 1};
    assert_false(rules_eligible(&v, &p)); /* core+script needs base core */
    v = (of_version){2012, 1, 2};
    assert_false(rules_eligible(&v, &p)); /* would lower the script */
}

/* An uploaded signed delta applies to its base version only. */
static void test_uploaded_delta_base_only(void **state)
{
    (void)state;
    cat_package p = {.ver = {2012, 1, 5}, .base_core = -1, .kind = PKG_KIND_SIGNED, .sg_kind = 2,
                     .sg_base = {2012, 1, 4}};
    of_version v = {2012, 1, 4};
    assert_true(rules_eligible(&v, &p));
    v = (of_version){2012, 1, 3}; /* the script rule alone would allow it */
    assert_false(rules_eligible(&v, &p));
    v = (of_version){2012, 0, 1};
    assert_false(rules_eligible(&v, &p));
    v = (of_version){2012, 1, 5};
    assert_false(rules_eligible(&v, &p));
    p.sg_base = (of_version){0, 0, 0}; /* base not known: offered to nobody */
    v = (of_version){0, 0, 0};
    assert_false(rules_eligible(&v, &p));
    /* a signed full release keeps the usual rule */
    p = (cat_package){.ver = {2012, 1, 5}, .base_core = -1, .kind = PKG_KIND_SIGNED, .sg_kind = 1};
    v = (of_version){2012, 1, 3};
    assert_true(rules_eligible(&v, &p));
}

static void test_codes(void **state)
{
    (void)state;
    dev_state d = fresh("860000000000002");
    assert_int_equal(decide(&d, "NOPE", "F1", "2012.001.001", NOW, 0).code, 25);
    assert_int_equal(d.project_id, 0); /* not bound by a refused check */
    assert_int_equal(decide(&d, "", "F1", "2012.001.001", NOW, 0).code, 25);
    assert_int_equal(decide(&d, "K1", "NOPE", "2012.001.001", NOW, 0).code, 26);
    rules_result r = decide(&d, "K1", "F1", "2012.001.001", NOW, 0);
    assert_int_equal(r.decision, DECISION_UPGRADE);
    assert_int_equal(d.project_id, 1); /* bound at first check */
    assert_non_null(strstr(r.note, "bound"));
    /* another project's key: 17 */
    assert_int_equal(decide(&d, "K3", "F1", "2012.001.001", NOW, 0).code, 17);
    /* firmware of another layout suffix: 17 */
    r = decide(&d, "K1", "F2", "2012.001.001", NOW, 0);
    assert_int_equal(r.code, 17);
    assert_int_equal(r.status, 403);
    /* forbidden: 21 */
    d.forbidden = 1;
    assert_int_equal(decide(&d, "K1", "F1", "2012.001.001", NOW, 0).code, 21);
    d.forbidden = 0;
    d.banned = 1;
    assert_int_equal(decide(&d, "K1", "F1", "2012.001.001", NOW, 0).code, 40);
    /* upgrades off: 27 */
    dev_state e = fresh("860000000000003");
    r = decide(&e, "K3", "F1", "2012.001.001", NOW, 0);
    assert_int_equal(r.code, 27);
    assert_int_equal(r.decision, DECISION_NO_UPGRADE);
}

static void test_listed_only(void **state)
{
    (void)state;
    dev_state d = fresh("860000000000004");
    rules_result r = decide(&d, "K2", "F1", "2012.001.001", NOW, 0);
    assert_int_equal(r.code, 27);
    assert_int_equal(d.project_id, 0);
    dev_state l = fresh("860000000000001");
    r = decide(&l, "K2", "F1", "2012.001.001", NOW, 0);
    assert_int_equal(r.decision, DECISION_UPGRADE);
    assert_int_equal(r.pkg->id, 105);
    assert_int_equal(l.project_id, 2);
}

static void test_loop_guard(void **state)
{
    (void)state;
    dev_state d = fresh("860000000000005");
    for (int i = 0; i < 6; i++) {
        rules_result r = decide(&d, "K1", "F1", "2035.001.005", NOW + i, 0);
        assert_int_equal(r.decision, DECISION_UPGRADE);
        /* the package's bytes reach the device in two pieces: one delivery */
        assert_int_equal(rules_account(&d, r.pkg->id, r.pkg->size, r.pkg->size / 2, NOW + i), 0);
        assert_int_equal(rules_account(&d, r.pkg->id, r.pkg->size, r.pkg->size - r.pkg->size / 2, NOW + i), 1);
        rules_delivered(&d, r.pkg, &(of_version){2035, 1, 5}, 1);
    }
    assert_int_equal(d.deliveries_today, 6);
    assert_int_equal(d.failed_upgrades, 5); /* came back 5 times with the old version */
    /* a HEAD fetches nothing: neither banned nor counted */
    rules_result r = decide(&d, "K1", "F1", "2035.001.005", NOW + 10, 1);
    assert_int_equal(r.decision, DECISION_UPGRADE);
    /* the 7th delivery bans */
    r = decide(&d, "K1", "F1", "2035.001.005", NOW + 20, 0);
    assert_int_equal(r.code, 40);
    assert_int_equal(r.status, 403);
    assert_true(d.banned);
    assert_int_equal(d.banned_at, NOW + 20);
    /* stays banned, even the next day */
    assert_int_equal(decide(&d, "K1", "F1", "2035.001.005", NOW + DAY, 0).code, 40);
    /* unban (operator) restores it; the new day counter starts at 0 */
    d.banned = 0;
    r = decide(&d, "K1", "F1", "2035.001.005", NOW + DAY + 1, 0);
    assert_int_equal(r.decision, DECISION_UPGRADE);
    assert_int_equal(d.deliveries_today, 0); /* counted when its bytes are sent */
    assert_int_equal(rules_account(&d, r.pkg->id, r.pkg->size, r.pkg->size, NOW + DAY + 1), 1);
    assert_int_equal(d.deliveries_today, 1);
}

/* issue 11: the loop guard counts bytes delivered, not request shapes */
static void test_loop_guard_bytes(void **state)
{
    (void)state;
    dev_state d = fresh("860000000000006");
    rules_result r = decide(&d, "K1", "F1", "2035.001.005", NOW, 0);
    assert_int_equal(r.decision, DECISION_UPGRADE);
    const cat_package *p = r.pkg;
    /* seven one-byte ranges: 7 bytes, no delivery, no ban */
    for (int i = 0; i < 7; i++) {
        r = decide(&d, "K1", "F1", "2035.001.005", NOW + i, 0);
        assert_int_equal(r.decision, DECISION_UPGRADE);
        assert_int_equal(rules_account(&d, p->id, p->size, 1, NOW + i), 0);
    }
    assert_int_equal(d.deliveries_today, 0);
    assert_false(d.banned);
    /* whole packages fetched by suffix ranges: each counts */
    d.acct_bytes = 0;
    for (int i = 0; i < 6; i++) {
        r = decide(&d, "K1", "F1", "2035.001.005", NOW + 10 + i, 0);
        assert_int_equal(r.decision, DECISION_UPGRADE);
        assert_int_equal(rules_account(&d, p->id, p->size, p->size, NOW + 10 + i), 1);
    }
    r = decide(&d, "K1", "F1", "2035.001.005", NOW + 20, 0);
    assert_int_equal(r.code, 40);
    /* another package, or another day, starts its own count */
    dev_state e = fresh("860000000000007");
    assert_int_equal(rules_account(&e, 1, 100, 60, NOW), 0);
    assert_int_equal(rules_account(&e, 2, 100, 60, NOW), 0);
    assert_int_equal(rules_account(&e, 2, 100, 40, NOW), 1);
    assert_int_equal(rules_account(&e, 2, 100, 60, NOW), 0);
    assert_int_equal(rules_account(&e, 2, 100, 60, NOW + DAY), 0);
    assert_int_equal(e.deliveries_today, 0);
}

static void test_failed_upgrade_detection(void **state)
{
    (void)state;
    dev_state d = fresh("860000000000006");
    rules_result r = decide(&d, "K1", "F1", "2035.001.005", NOW, 0);
    assert_int_equal(r.pkg->id, 103);
    /* incomplete download: nothing pending, no failure */
    rules_delivered(&d, r.pkg, &(of_version){2035, 1, 5}, 0);
    r = decide(&d, "K1", "F1", "2035.001.005", NOW + 1, 0);
    assert_int_equal(d.failed_upgrades, 0);
    /* complete, then back with the old version: failure recorded */
    rules_delivered(&d, r.pkg, &(of_version){2035, 1, 5}, 1);
    r = decide(&d, "K1", "F1", "2035.001.005", NOW + 2, 0);
    assert_int_equal(d.failed_upgrades, 1);
    assert_non_null(strstr(r.note, "failed upgrade"));
    /* complete, then back with the new version: success, nothing recorded */
    rules_delivered(&d, r.pkg, &(of_version){2035, 1, 5}, 1);
    r = decide(&d, "K1", "F1", "2035.001.006", NOW + 3, 0);
    assert_int_equal(r.code, 27);
    assert_int_equal(d.failed_upgrades, 1);
    assert_int_equal(d.pending_package, 0);
}

static void test_project_max_daily(void **state)
{
    (void)state;
    /* project 2 says 0: the server default (6) applies */
    dev_state d = fresh("860000000000001");
    for (int i = 0; i < 6; i++) {
        rules_result r = decide(&d, "K2", "F1", "2012.001.001", NOW, 0);
        assert_int_equal(r.decision, DECISION_UPGRADE);
        rules_account(&d, r.pkg->id, r.pkg->size, r.pkg->size, NOW);
    }
    assert_int_equal(decide(&d, "K2", "F1", "2012.001.001", NOW, 0).code, 40);
}

/* A draft is eligible only through the rollout that offers it. */
static void test_drafts(void **state)
{
    (void)state;
    catalog c;
    memset(&c, 0, sizeof c);
    c.projects = calloc(1, sizeof *c.projects);
    c.firmware = calloc(1, sizeof *c.firmware);
    c.packages = calloc(2, sizeof *c.packages);
    c.projects[0] = (cat_project){.id = 1, .key = "K1", .name = "one", .upgrades_enabled = 1, .max_daily_deliveries = 6};
    c.nprojects = 1;
    c.firmware[0] = (cat_firmware){.id = 10, .project_id = 1, .name = "F1", .suffix = 1};
    c.nfirmware = 1;
    add_pkg(&c, 100, 10, 1, "2012.001.002", -1);
    add_pkg(&c, 101, 10, 1, "2012.001.005", -1);
    c.packages[1].draft = 1;
    snapshot *sd = snapshot_build(&c);
    assert_non_null(sd);
    static const struct {
        int64_t rollout_package;
        const char *ver;
        int64_t want; /* 0: code 27 */
    } cases[] = {
        {0, "2012.001.001", 100},   /* the draft is skipped: the released one */
        {0, "2012.001.002", 0},     /* only the draft is newer: already latest */
        {100, "2012.001.001", 100}, /* a rollout of another package: still no draft */
        {101, "2012.001.001", 101}, /* its rollout offers it */
        {101, "2012.001.002", 101},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dev_state d = fresh("860000000000009");
        rules_input in = {.snap = sd, .dev = &d, .project_key = "K1", .project_key_len = 2, .firmware = "F1",
                          .firmware_len = 2, .now = NOW, .default_max_daily = 6,
                          .rollout_package = cases[i].rollout_package};
        assert_int_equal(version_parse(cases[i].ver, strlen(cases[i].ver), &in.ver), VERSION_OK);
        rules_result r;
        rules_decide(&in, &r);
        if (cases[i].want && (r.decision != DECISION_UPGRADE || r.pkg->id != cases[i].want))
            fail_msg("case %zu: expected package %lld, got code %d", i, (long long)cases[i].want, r.code);
        if (!cases[i].want && r.code != 27)
            fail_msg("case %zu: expected 27, got code %d", i, r.code);
        /* the caller learns that a draft was left out (to ask for its rollout) */
        assert_int_equal(r.draft_skipped, cases[i].rollout_package != 101);
    }
    snapshot_unref(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_package_choice),  cmocka_unit_test(test_eligibility),
        cmocka_unit_test(test_codes),           cmocka_unit_test(test_listed_only),
        cmocka_unit_test(test_loop_guard),      cmocka_unit_test(test_failed_upgrade_detection),
        cmocka_unit_test(test_project_max_daily), cmocka_unit_test(test_uploaded_delta_base_only),
        cmocka_unit_test(test_drafts),
        cmocka_unit_test(test_loop_guard_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
