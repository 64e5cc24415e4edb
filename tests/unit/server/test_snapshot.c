/* test_snapshot.c — snapshot lookups and the reference-counted swap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devtab.h"
#include "snapshot.h"

static snapshot *make(int nproj)
{
    catalog c;
    memset(&c, 0, sizeof c);
    c.projects = calloc((size_t)nproj + 1, sizeof *c.projects);
    c.files = calloc(2, sizeof *c.files);
    for (int i = 0; i < nproj; i++) {
        c.projects[i].id = 100 - i;
        snprintf(c.projects[i].key, sizeof c.projects[i].key, "key%03d", i);
    }
    c.nprojects = (size_t)nproj;
    snprintf(c.files[0].name, sizeof c.files[0].name, "b.bin");
    snprintf(c.files[1].name, sizeof c.files[1].name, "a.bin");
    c.nfiles = 2;
    return snapshot_build(&c);
}

static void test_lookups(void **state)
{
    (void)state;
    snapshot *s = make(50);
    assert_non_null(s);
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%03d", i);
        const snap_project *p = snap_project_by_key(s, k, strlen(k));
        assert_non_null(p);
        assert_int_equal(p->p->id, 100 - i);
        assert_ptr_equal(snap_project_by_id(s, 100 - i), p);
    }
    assert_null(snap_project_by_key(s, "key0", 4));
    assert_null(snap_project_by_key(s, "key0000", 7));
    assert_null(snap_project_by_id(s, 5));
    assert_non_null(snap_file_by_name(s, "a.bin", 5));
    assert_null(snap_file_by_name(s, "a.bi", 4));
    assert_null(snap_package_by_id(s, 1));
    snapshot_unref(s);
    catalog empty;
    memset(&empty, 0, sizeof empty);
    s = snapshot_build(&empty);
    assert_non_null(s);
    assert_null(snap_project_by_key(s, "x", 1));
    snapshot_unref(s);
}

static void test_swap(void **state)
{
    (void)state;
    snap_holder h;
    snap_holder_init(&h, make(1));
    snapshot *reader = snap_acquire(&h);
    snap_swap(&h, make(2));
    /* the old snapshot stays valid for its reader */
    assert_int_equal(reader->nprojects, 1);
    snapshot_unref(reader);
    reader = snap_acquire(&h);
    assert_int_equal(reader->nprojects, 2);
    snapshot_unref(reader);
    snap_holder_destroy(&h);
}

static void test_devtab(void **state)
{
    (void)state;
    devtab *t = devtab_new();
    char id[DEVICE_ID_MAX];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "86%013d", i);
        dev_entry *e = devtab_lock(t, id, 1);
        assert_non_null(e);
        devtab_state(e)->failed_upgrades = (unsigned)i;
        if (i % 2)
            devtab_mark_dirty(t, e);
        devtab_unlock(t, e);
    }
    assert_int_equal(devtab_count(t), 5000);
    dev_entry *e = devtab_lock(t, "860000000004999", 0);
    assert_non_null(e);
    assert_int_equal(devtab_state(e)->failed_upgrades, 4999);
    devtab_unlock(t, e);
    assert_null(devtab_lock(t, "nope", 0));
    dev_state *buf = malloc(3000 * sizeof *buf);
    assert_int_equal(devtab_take_dirty(t, buf, 3000), 2500);
    assert_int_equal(devtab_take_dirty(t, buf, 3000), 0);
    free(buf);
    dev_state *all;
    size_t n;
    assert_int_equal(devtab_snapshot_all(t, &all, &n), 0);
    assert_int_equal(n, 5000);
    free(all);
    devtab_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_devtab),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
