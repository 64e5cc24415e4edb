/* test_backup.c — backup_run (server/store/backup.h) on a data folder made
 * here: what is copied and what is not, a blob the database names that is
 * missing (refused after BACKUP_ROUNDS snapshots, nothing left at DEST), and
 * a DEST that is not empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "backup.h"
#include "blobs.h"
#include "store.h"

static char root[256], data[300], dest[300];

static void sha_hex(const char *text, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* dir/rel exists (dir alone when rel is "") */
static int exists(const char *dir, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s%s%s", dir, rel[0] ? "/" : "", rel);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* a blob on disk (and a static file row naming it) */
static void add_file(store *st, const char *name, const char *content, int with_blob)
{
    cat_file f;
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "%s", name);
    f.size = strlen(content);
    sha_hex(content, f.sha256);
    if (with_blob) {
        char p[1024];
        snprintf(p, sizeof p, "%s/blobs/sha256/%.2s", data, f.sha256);
        mkdir(p, 0755);
        blob_path(data, f.sha256, p, sizeof p);
        put(p, content);
    }
    assert_int_equal(st->ops->file_put(st, &f), STORE_OK);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/openfota-backup-unit-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(dest, sizeof dest, "%s/copy", root);
    mkdir(data, 0700);
    char err[256];
    assert_int_equal(blobs_init(data, err, sizeof err), 0);
    store *st = store_sqlite_open(data, err, sizeof err);
    assert_non_null(st);
    add_file(st, "kept.txt", "kept bytes", 1);
    add_file(st, "gone.txt", "its blob was never written", 0);
    st->ops->close(st);
    char p[600];
    snprintf(p, sizeof p, "%s/admin.token", data);
    put(p, "0123456789abcdef0123456789abcdef\n");
    snprintf(p, sizeof p, "%s/serve.json", data);
    put(p, "{}\n");
    snprintf(p, sizeof p, "%s/.hidden", data);
    put(p, "x");
    snprintf(p, sizeof p, "%s/tmp/upload-1", data);
    put(p, "half an upload");
    snprintf(p, sizeof p, "%s/fleet", data);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/fleet/fleet-rollout-r1.json", data);
    put(p, "{\"id\":\"r1\"}");
    snprintf(p, sizeof p, "%s/fleet/fleet-rollout-r2.json.tmp", data);
    put(p, "{");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_missing_blob_is_refused(void **state)
{
    (void)state;
    backup_stats bs;
    char err[1024] = "";
    assert_int_equal(backup_run(data, dest, &bs, err, sizeof err), -1);
    char gone[65];
    sha_hex("its blob was never written", gone);
    assert_non_null(strstr(err, "missing"));
    assert_non_null(strstr(err, gone));
    assert_int_equal(bs.rounds, BACKUP_ROUNDS); /* every snapshot was tried */
    assert_false(exists(dest, ""));
    /* no DEST.partial-* left behind */
    char p[600];
    snprintf(p, sizeof p, "%s.partial-%ld", dest, (long)getpid());
    assert_false(exists(p, ""));
}

static void test_copy(void **state)
{
    (void)state;
    char err[1024] = "";
    store *st = store_sqlite_open(data, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(st->ops->file_delete(st, "gone.txt"), STORE_OK);
    st->ops->close(st);
    backup_stats bs;
    if (backup_run(data, dest, &bs, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(bs.rounds, 1);
    assert_int_equal(bs.blobs, 1);
    assert_int_equal(bs.blob_bytes, strlen("kept bytes"));
    char kept[65];
    sha_hex("kept bytes", kept);
    char p[1024];
    snprintf(p, sizeof p, "%s/blobs/sha256/%.2s/%s", dest, kept, kept);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char buf[64] = "";
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "kept bytes");
    assert_true(exists(dest, "openfota.db"));
    assert_false(exists(dest, "openfota.db-wal")); /* a self-contained file */
    assert_true(exists(dest, "admin.token"));
    assert_true(exists(dest, "fleet/fleet-rollout-r1.json"));
    assert_false(exists(dest, "fleet/fleet-rollout-r2.json.tmp"));
    assert_false(exists(dest, "serve.json"));
    assert_false(exists(dest, ".hidden"));
    assert_false(exists(dest, "tmp"));
    assert_int_equal(bs.files, 2); /* admin.token, the rollout */
    /* the copy opens as a data folder and names the kept file only */
    st = store_sqlite_open(dest, err, sizeof err);
    assert_non_null(st);
    long long refs = -1;
    assert_int_equal(st->ops->blob_refs(st, kept, &refs), STORE_OK);
    assert_int_equal(refs, 1);
    st->ops->close(st);
    /* a second backup onto the same DEST is refused */
    assert_int_equal(backup_run(data, dest, &bs, err, sizeof err), -1);
    assert_non_null(strstr(err, "not empty"));
    /* and a folder without a database is named as such */
    assert_int_equal(backup_run(root, "/nonexistent-x/y", &bs, err, sizeof err), -1);
    assert_non_null(strstr(err, "no database"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_blob_is_refused),
        cmocka_unit_test(test_copy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
