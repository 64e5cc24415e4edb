/* test_delta_cli.c — `openfota delta make|apply|info` through delta_cli_main:
 * exit status 0 only for a complete, verified OUT; refusals leave neither
 * OUT nor OUT.tmp behind; usage errors exit 2. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "delta_testlib.h"

static char dir[256];

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", dir, name); }

static void put(const char *name, const uint8_t *p, size_t n)
{
    char f[512];
    path(f, name);
    FILE *fp = fopen(f, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

static tbuf get(const char *name)
{
    char f[512];
    path(f, name);
    FILE *fp = fopen(f, "rb");
    tbuf b = {NULL, 0};
    if (!fp)
        return b;
    fseek(fp, 0, SEEK_END);
    b.n = (size_t)ftell(fp);
    rewind(fp);
    b.p = malloc(b.n + 1);
    assert_int_equal(fread(b.p, 1, b.n, fp), b.n);
    fclose(fp);
    return b;
}

static int exists(const char *name)
{
    char f[512];
    path(f, name);
    return access(f, F_OK) == 0;
}

static int run(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6)
{
    char p[6][512];
    char *argv[8] = {"delta"};
    const char *in[6] = {a1, a2, a3, a4, a5, a6};
    int argc = 1;
    for (int i = 0; i < 6 && in[i]; i++) {
        if (in[i][0] == '-' || strchr(in[i], '/') || !strcmp(in[i], "make") || !strcmp(in[i], "apply") ||
            !strcmp(in[i], "info") || (in[i][0] >= '0' && in[i][0] <= '9'))
            snprintf(p[i], sizeof p[i], "%s", in[i]);
        else
            path(p[i], in[i]);
        argv[argc++] = p[i];
    }
    return delta_cli_main(argc, argv);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ofdelta-cli-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"old", "new", "patch", "out", "out.tmp", "bad", "trunc", "other", "p2", NULL};
    for (int i = 0; names[i]; i++) {
        char f[512];
        path(f, names[i]);
        unlink(f);
    }
    rmdir(dir);
    return 0;
}

static void test_cli(void **state)
{
    (void)state;
    tbuf old = t_firmware(8, 30000), nw = t_evolve(&old, 9);
    put("old", old.p, old.n);
    put("new", nw.p, nw.n);
    assert_int_equal(run("make", "old", "new", "patch", NULL, NULL), 0);
    assert_int_equal(run("make", "old", "new", "p2", "--window", "4096"), 0);
    assert_int_equal(run("make", "old", "new", "p2", "--ram", "12000"), 0);
    assert_int_equal(run("apply", "old", "p2", "out", "--ram", "12000"), 0);
    assert_int_equal(run("make", "old", "new", "p2", "--ram", "2000"), 1);
    assert_int_equal(run("info", "patch", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(run("apply", "old", "patch", "out", NULL, NULL), 0);
    tbuf out = get("out");
    assert_int_equal(out.n, nw.n);
    assert_memory_equal(out.p, nw.p, nw.n);
    free(out.p);
    assert_false(exists("out.tmp"));

    /* wrong base: refused, nothing left behind */
    char f[512];
    path(f, "out");
    unlink(f);
    tbuf other = t_copy(old.p, old.n);
    other.p[10] ^= 1;
    put("other", other.p, other.n);
    assert_int_equal(run("apply", "other", "patch", "out", NULL, NULL), 1);
    assert_false(exists("out"));
    assert_false(exists("out.tmp"));
    /* truncated patch */
    tbuf patch = get("patch");
    put("trunc", patch.p, patch.n - 1);
    assert_int_equal(run("apply", "old", "trunc", "out", NULL, NULL), 1);
    assert_false(exists("out"));
    assert_false(exists("out.tmp"));
    assert_int_equal(run("info", "trunc", NULL, NULL, NULL, NULL), 1);
    /* flipped bit */
    patch.p[patch.n / 2] ^= 0x20;
    put("bad", patch.p, patch.n);
    assert_int_equal(run("apply", "old", "bad", "out", NULL, NULL), 1);
    assert_false(exists("out"));
    assert_false(exists("out.tmp"));
    /* a RAM limit below what the patch needs */
    assert_int_equal(run("apply", "old", "patch", "out", "--ram", "4096"), 1);
    assert_false(exists("out"));
    /* usage */
    assert_int_equal(run(NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(run("--help", NULL, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(run("make", "--help", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(run("frobnicate", NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(run("make", "old", "new", NULL, NULL, NULL), 2);
    assert_int_equal(run("make", "old", "new", "patch", "--window", "12"), 2);
    assert_int_equal(run("make", "old", "new", "patch", "--bogus", NULL), 2);
    assert_int_equal(run("apply", "old", "patch", NULL, NULL, NULL), 2);
    assert_int_equal(run("info", NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(run("apply", "missing", "patch", "out", NULL, NULL), 1);
    free(patch.p);
    free(other.p);
    free(old.p);
    free(nw.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(test_cli, setup, teardown)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
