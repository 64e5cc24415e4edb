/* test_devquery.c — the device list's page: filters, search, every sort in
 * both orders and every page equal to a full sort of the matches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devquery.h"

#define N 500

static dev_state devs[N];

static void fill(void)
{
    memset(devs, 0, sizeof devs);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        snprintf(devs[i].id, sizeof devs[i].id, "86%013u", x % 1000000000u);
        devs[i].project_id = 1 + (int64_t)(x % 3);
        snprintf(devs[i].firmware, sizeof devs[i].firmware, "%s", i % 2 ? "FW_A" : "FW_B");
        devs[i].has_version = i % 10 != 0;
        devs[i].version = (of_version){2012, 1, (uint32_t)(x >> 8) % 4};
        devs[i].last_seen = (int64_t)((x >> 4) % 50); /* many ties: broken by ID */
        devs[i].banned = i % 7 == 0;
        devs[i].forbidden = i % 11 == 0;
        devs[i].failed_upgrades = i % 13 == 0;
    }
}

static const devquery *cur;

static int ref_match(const dev_state *d)
{
    if (cur->project_id >= 0 && d->project_id != cur->project_id)
        return 0;
    if (cur->state == DQ_BANNED && !d->banned)
        return 0;
    if (cur->firmware && strcmp(cur->firmware, d->firmware))
        return 0;
    if (cur->has_version && (!d->has_version || version_cmp(&d->version, &cur->version)))
        return 0;
    if (cur->q && !strstr(d->id, cur->q))
        return 0;
    return 1;
}

static int ref_cmp(const void *pa, const void *pb)
{
    const dev_state *a = *(const dev_state *const *)pa, *b = *(const dev_state *const *)pb;
    int c = 0;
    if (cur->sort == DQ_SORT_LAST_SEEN)
        c = (a->last_seen > b->last_seen) - (a->last_seen < b->last_seen);
    else if (cur->sort == DQ_SORT_PROJECT)
        c = (a->project_id > b->project_id) - (a->project_id < b->project_id);
    else if (cur->sort == DQ_SORT_VERSION)
        c = a->has_version != b->has_version ? (a->has_version ? 1 : -1)
                                             : (a->has_version ? version_cmp(&a->version, &b->version) : 0);
    if (!c)
        c = strcmp(a->id, b->id);
    return cur->desc ? -c : c;
}

static void check_query(devquery *q)
{
    cur = q;
    const dev_state *ref[N];
    size_t m = 0;
    for (int i = 0; i < N; i++)
        if (ref_match(&devs[i]))
            ref[m++] = &devs[i];
    qsort(ref, m, sizeof ref[0], ref_cmp);
    const dev_state **page;
    size_t np, total;
    assert_int_equal(devquery_run(q, devs, N, &page, &np, &total), 0);
    assert_int_equal(total, m);
    size_t want = q->offset >= m ? 0 : (m - q->offset < q->limit ? m - q->offset : q->limit);
    assert_int_equal(np, want);
    for (size_t i = 0; i < np; i++)
        assert_ptr_equal(page[i], ref[q->offset + i]);
    free(page);
}

static void test_pages(void **state)
{
    (void)state;
    fill();
    for (int sort = DQ_SORT_ID; sort <= DQ_SORT_PROJECT; sort++)
        for (int desc = 0; desc < 2; desc++)
            for (size_t off = 0; off < N + 20; off += 37) {
                devquery q = {.project_id = -1, .sort = sort, .desc = desc, .offset = off, .limit = 25};
                check_query(&q);
                q.project_id = 2;
                q.limit = 1000;
                check_query(&q);
            }
}

static void test_filters(void **state)
{
    (void)state;
    fill();
    devquery q = {.project_id = -1, .limit = 50, .state = DQ_BANNED};
    check_query(&q);
    q.state = DQ_ANY;
    q.firmware = "FW_A";
    q.has_version = 1;
    q.version = (of_version){2012, 1, 2};
    check_query(&q);
    q.firmware = NULL;
    q.has_version = 0;
    q.q = "12";
    check_query(&q);
    q.q = "no such id";
    check_query(&q);
    q.q = NULL;
    q.limit = 0; /* total only */
    check_query(&q);
}

static void test_parse(void **state)
{
    (void)state;
    devquery q;
    const char *why;
    memset(&q, 0, sizeof q);
    assert_int_equal(devquery_parse(&q, "banned", "last_seen", "desc", "2012.1.1", &why), 0);
    assert_int_equal(q.state, DQ_BANNED);
    assert_int_equal(q.sort, DQ_SORT_LAST_SEEN);
    assert_int_equal(q.desc, 1);
    assert_int_equal(q.has_version, 1);
    assert_int_equal(devquery_parse(&q, NULL, NULL, NULL, NULL, &why), 0);
    assert_int_equal(q.sort, DQ_SORT_ID);
    assert_int_equal(q.has_version, 0);
    assert_int_equal(devquery_parse(&q, "odd", NULL, NULL, NULL, &why), -1);
    assert_non_null(strstr(why, "state"));
    assert_int_equal(devquery_parse(&q, NULL, "size", NULL, NULL, &why), -1);
    assert_non_null(strstr(why, "sort"));
    assert_int_equal(devquery_parse(&q, NULL, NULL, "up", NULL, &why), -1);
    assert_non_null(strstr(why, "order"));
    assert_int_equal(devquery_parse(&q, NULL, NULL, NULL, "1.2", &why), -1);
    assert_non_null(strstr(why, "version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
