/* test_store.c — SQLite store round trip in a temp folder, the writer's
 * batches and retention, and blob storage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "blobs.h"
#include "devtab.h"
#include "store.h"
#include "writer.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/openfota-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static int count_dev(void *arg, const dev_state *st)
{
    (void)st;
    ++*(int *)arg;
    return 0;
}

static int collect_ev(void *arg, const store_event *ev)
{
    int *n = arg;
    if (*n == 0)
        assert_string_equal(ev->note, "n29"); /* newest first */
    ++*n;
    return 0;
}

static void test_catalog_roundtrip(void **state)
{
    (void)state;
    char err[256];
    store *s = store_sqlite_open(dir, err, sizeof err);
    assert_non_null(s);
    cat_project p = {.key = "K'; DROP TABLE projects;--", .name = "demo", .upgrades_enabled = 1,
                     .max_daily_deliveries = 6, .created = 5};
    assert_int_equal(s->ops->project_insert(s, &p), STORE_OK);
    assert_true(p.id > 0);
    cat_project dup = p;
    assert_int_equal(s->ops->project_insert(s, &dup), STORE_CONFLICT);
    cat_firmware f = {.project_id = p.id, .name = "FW", .suffix = 2, .created = 6};
    assert_int_equal(s->ops->firmware_insert(s, &f), STORE_OK);
    cat_package k = {.project_id = p.id, .firmware_id = f.id, .ver = {2012, 1, 2}, .base_core = -1, .suffix = 2,
                     .kind = PKG_KIND_LUAT, .size = 123, .md5 = "00", .sha256 = "ab", .filename = "x.bin",
                     .created = 7};
    assert_int_equal(s->ops->package_insert(s, &k), STORE_OK);
    cat_package k2 = k;
    k2.base_core = 2000;
    k2.draft = 1;
    assert_int_equal(s->ops->package_insert(s, &k2), STORE_OK);
    assert_int_equal(s->ops->project_delete(s, p.id), STORE_INUSE);
    assert_int_equal(s->ops->firmware_delete(s, f.id), STORE_INUSE);
    cat_file fl = {.name = "a.bin", .size = 3, .sha256 = "ab", .created = 8};
    assert_int_equal(s->ops->file_put(s, &fl), STORE_OK);
    fl.size = 4;
    assert_int_equal(s->ops->file_put(s, &fl), STORE_OK); /* replace */
    long long refs = 0;
    assert_int_equal(s->ops->blob_refs(s, "ab", &refs), STORE_OK);
    assert_int_equal(refs, 3);
    char ids[2][DEVICE_ID_MAX] = {"860000000000001", "860000000000002"};
    size_t added = 0;
    assert_int_equal(s->ops->listed_add(s, p.id, (const char(*)[DEVICE_ID_MAX])ids, 2, &added), STORE_OK);
    assert_int_equal(added, 2);
    assert_int_equal(s->ops->listed_add(s, p.id, (const char(*)[DEVICE_ID_MAX])ids, 2, &added), STORE_OK);
    assert_int_equal(added, 0);
    p.listed_only = 1;
    assert_int_equal(s->ops->project_update(s, &p), STORE_OK);
    s->ops->close(s);

    s = store_sqlite_open(dir, err, sizeof err);
    assert_non_null(s);
    catalog c;
    assert_int_equal(s->ops->load_catalog(s, &c), STORE_OK);
    assert_int_equal(c.nprojects, 1);
    assert_string_equal(c.projects[0].key, "K'; DROP TABLE projects;--");
    assert_int_equal(c.projects[0].listed_only, 1);
    assert_int_equal(c.nfirmware, 1);
    assert_int_equal(c.firmware[0].suffix, 2);
    assert_int_equal(c.npackages, 2);
    assert_int_equal(c.packages[0].base_core, -1);
    assert_int_equal(c.packages[1].base_core, 2000);
    assert_int_equal(c.packages[0].ver.z, 2);
    assert_int_equal(c.packages[0].kind, PKG_KIND_LUAT);
    assert_int_equal(c.packages[0].draft, 0);
    assert_int_equal(c.packages[1].draft, 1);
    catalog_free(&c);
    /* release: the draft column is cleared and read back */
    assert_int_equal(s->ops->package_set_draft(s, k2.id, 0), STORE_OK);
    assert_int_equal(s->ops->package_set_draft(s, k2.id + 1000, 0), STORE_NOTFOUND);
    assert_int_equal(s->ops->load_catalog(s, &c), STORE_OK);
    assert_int_equal(c.packages[1].draft, 0);
    assert_int_equal(c.nfiles, 1);
    assert_int_equal(c.files[0].size, 4);
    assert_int_equal(c.nlisted, 2);
    catalog_free(&c);
    assert_int_equal(s->ops->package_delete(s, k.id), STORE_OK);
    assert_int_equal(s->ops->package_delete(s, k.id), STORE_NOTFOUND);
    assert_int_equal(s->ops->package_delete(s, k2.id), STORE_OK);
    assert_int_equal(s->ops->firmware_delete(s, f.id), STORE_OK);
    assert_int_equal(s->ops->project_delete(s, p.id), STORE_OK);
    assert_int_equal(s->ops->file_delete(s, "a.bin"), STORE_OK);
    assert_int_equal(s->ops->file_delete(s, "a.bin"), STORE_NOTFOUND);
    s->ops->close(s);
}

static void test_writer_and_retention(void **state)
{
    (void)state;
    char err[256];
    store *s = store_sqlite_open(dir, err, sizeof err);
    assert_non_null(s);
    devtab *t = devtab_new();
    writer *w = writer_start(s, t, 20, 90);
    assert_non_null(w);
    dev_entry *e = devtab_lock(t, "860000000000009", 1);
    assert_non_null(e);
    devtab_state(e)->banned = 1;
    devtab_state(e)->failed_upgrades = 3;
    devtab_mark_dirty(t, e);
    devtab_unlock(t, e);
    store_event ev = {.device_id = "860000000000009", .time = 2000000000, .code = 27, .decision = 2};
    for (int i = 0; i < 30; i++) {
        snprintf(ev.note, sizeof ev.note, "n%d", i);
        assert_int_equal(writer_event(w, &ev), 0);
    }
    store_event old = ev;
    old.time = 1000; /* far older than 90 days */
    snprintf(old.device_id, sizeof old.device_id, "860000000000008");
    writer_event(w, &old);
    assert_int_equal(writer_flush(w, 5000), 0);
    writer_stop(w); /* runs the retention pass */
    int n = 0;
    assert_int_equal(s->ops->events_for_device(s, "860000000000009", 1000, collect_ev, &n), STORE_OK);
    assert_true(n >= 20 && n <= 30);
    n = 0;
    assert_int_equal(s->ops->events_for_device(s, "860000000000008", 1000, collect_ev, &n), STORE_OK);
    assert_int_equal(n, 0); /* pruned by age */
    n = 0;
    assert_int_equal(s->ops->load_devices(s, count_dev, &n), STORE_OK);
    assert_int_equal(n, 1);
    devtab_free(t);
    s->ops->close(s);
}

/* issue 11: devices never sent a whole package and unseen for
 * device_expire_days are forgotten (rows and history); upgraded, banned and
 * recently seen ones stay, and `upgraded` survives a restart */
static int keep_ids(void *arg, const dev_state *st)
{
    char *buf = arg;
    strcat(buf, st->id);
    strcat(buf, st->upgraded ? "+u " : " ");
    return 0;
}

static void test_device_expiry(void **state)
{
    (void)state;
    char err[256];
    store *s = store_sqlite_open(dir, err, sizeof err);
    assert_non_null(s);
    devtab *t = devtab_new();
    writer *w = writer_start(s, t, 100, 36500);
    int64_t now = (int64_t)time(NULL), old = now - 40 * 86400;
    const char *ids[] = {"861000000000001", "861000000000002", "861000000000003", "861000000000004"};
    for (int i = 0; i < 4; i++) {
        dev_entry *e = devtab_lock(t, ids[i], 1);
        dev_state *d = devtab_state(e);
        d->last_seen = i == 3 ? now : old;
        d->upgraded = i == 1;
        d->banned = i == 2;
        devtab_mark_dirty(t, e);
        devtab_unlock(t, e);
        store_event ev = {.time = old, .code = 27, .decision = 2};
        snprintf(ev.device_id, sizeof ev.device_id, "%s", ids[i]);
        writer_event(w, &ev);
    }
    assert_int_equal(writer_flush(w, 5000), 0);
    writer_set_expiry(w, 30);
    for (int i = 0; i < 500 && devtab_count(t) != 3; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(devtab_count(t), 3);
    assert_int_equal(writer_flush(w, 5000), 0);
    writer_stop(w);
    int n = 0;
    assert_int_equal(s->ops->events_for_device(s, ids[0], 1000, collect_ev, &n), STORE_OK);
    assert_int_equal(n, 0); /* its history went with it */
    char buf[256] = "";
    assert_int_equal(s->ops->load_devices(s, keep_ids, buf), STORE_OK);
    assert_null(strstr(buf, ids[0]));
    assert_non_null(strstr(buf, "861000000000002+u"));
    assert_non_null(strstr(buf, ids[2]));
    assert_non_null(strstr(buf, ids[3]));
    devtab_free(t);
    s->ops->close(s);
}

static void test_blobs(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(blobs_init(dir, err, sizeof err), 0);
    blob_upload *u = blob_begin(dir, 10);
    assert_non_null(u);
    assert_int_equal(blob_write(u, "abc", 3), 0);
    assert_int_equal(blob_write(u, "0123456789", 10), 1); /* over the cap */
    blob_abort(u);
    u = blob_begin(dir, 100);
    assert_int_equal(blob_write(u, "abc", 3), 0);
    char md5[33], sha[65];
    assert_int_equal(blob_finish(u, md5, sha), 0);
    assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(blob_commit(u, dir), 0);
    int fd = blob_open(dir, sha);
    assert_true(fd >= 0);
    blob_remove(dir, sha); /* an open reader keeps its data */
    char buf[4] = {0};
    assert_int_equal(pread(fd, buf, 3, 0), 3);
    assert_string_equal(buf, "abc");
    close(fd);
    assert_int_equal(blob_open(dir, sha), -1);
    /* no temp files left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/tmp')\"", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catalog_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_and_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
