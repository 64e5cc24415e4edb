/*
 * test_cli.c — the pkg command-line entry points (`openfota luat …`,
 * `openfota package keygen|sign|verify`) called in-process with argv arrays,
 * as cli/main.c calls them: exit codes 0 (ok), 1 (invalid/refused), 2 (usage),
 * files written, and, when the openssl program is present, an independent
 * check of a signature with it.
 */
#include <fcntl.h>
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

#include "ofdelta.h"
#include "ofpkg.h"

int pkg_cli_luat(int argc, char **argv);
int pkg_cli_sign(int argc, char **argv);
int pkg_cli_verify(int argc, char **argv);
int pkg_cli_keygen(int argc, char **argv);

static char dir[64];
static char path_buf[16][256];
static int npath;

static const char *P(const char *name)
{
    char *p = path_buf[npath++ % 16];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* Run an entry point with its output silenced; returns its exit code. */
static int run(int (*fn)(int, char **), ...)
{
    char *argv[40];
    int argc = 0;
    va_list ap;
    va_start(ap, fn);
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 39)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2), nul = open("/dev/null", O_WRONLY);
    dup2(nul, 1);
    dup2(nul, 2);
    int rc = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(nul);
    return rc;
}

static void write_random(const char *path, size_t n, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        fputc((int)(seed >> 16) & 0xFF, f);
    }
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/of-pkgcli-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_luat_build_and_inspect(void **state)
{
    (void)state;
    write_random(P("script.bin"), 4000, 1);
    write_random(P("core.bin"), 3000, 2);
    assert_int_equal(run(pkg_cli_luat, "luat", "--help", NULL), 0);
    assert_int_equal(run(pkg_cli_luat, "luat", NULL), 2);
    assert_int_equal(run(pkg_cli_luat, "luat", "frobnicate", NULL), 2);
    assert_int_equal(run(pkg_cli_luat, "luat", "build", "--out", P("s.bin"), P("script.bin"), NULL), 0);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", P("s.bin"), NULL), 0);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", "--version", "2012.1.5", P("s.bin"), NULL), 0);
    assert_int_equal(run(pkg_cli_luat, "luat", "build", "--out", P("c.bin"), "--core", "2013",
                         "--base-core", "2012", "--magic", "eaf18c16", P("script.bin"),
                         P("core.bin"), NULL),
                     0);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", "--version", "2013.1.0", "--base-core",
                         "2012", P("c.bin"), NULL),
                     0);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", "--version", "2014.1.0", "--base-core",
                         "2012", P("c.bin"), NULL),
                     1);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", "--version", "2013.1.0", P("c.bin"), NULL), 1);
    /* the built file checks out through the library too */
    int fd = open(P("c.bin"), O_RDONLY);
    luatbin_info info;
    assert_int_equal(luatbin_check_fd(fd, &info, NULL, 0), OFPKG_OK);
    close(fd);
    assert_int_equal(info.magic, LUATBIN_MAGIC_EC618);
    assert_int_equal(info.sdk_len, 3000);
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad/luatbin/sdk-md5-mismatch.bin", OPENFOTA_FIXTURES);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", bad, NULL), 1);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", P("does-not-exist"), NULL), 1);
    assert_int_equal(run(pkg_cli_luat, "luat", "inspect", "--version", "1.2", P("s.bin"), NULL), 2);
    assert_int_equal(run(pkg_cli_luat, "luat", "build", "--out", P("x.bin"), "--core", "abc",
                         P("script.bin"), NULL),
                     2);
    assert_int_equal(run(pkg_cli_luat, "luat", "build", P("script.bin"), NULL), 2);
}

static void test_package_keygen_sign_verify(void **state)
{
    (void)state;
    const char *key = P("k.pem");
    char pub[256];
    snprintf(pub, sizeof pub, "%s/k.pub.pem", dir);
    assert_int_equal(run(pkg_cli_keygen, "keygen", "--help", NULL), 0);
    assert_int_equal(run(pkg_cli_keygen, "keygen", NULL), 2);
    assert_int_equal(run(pkg_cli_keygen, "keygen", key, NULL), 0);
    assert_int_equal(access(pub, R_OK), 0);
    assert_int_equal(run(pkg_cli_keygen, "keygen", key, NULL), 1); /* never overwrites */
    char key2[256], pub2[256];
    snprintf(key2, sizeof key2, "%s/other", dir);
    snprintf(pub2, sizeof pub2, "%s/other.pub.pem", dir);
    assert_int_equal(run(pkg_cli_keygen, "keygen", key2, NULL), 0);

    write_random(P("new.bin"), 50000, 3);
    write_random(P("old.bin"), 45000, 4);
    write_random(P("patch.bin"), 900, 5);
    char img[256], old[256], patch[256], full[256], delta[256];
    snprintf(img, sizeof img, "%s/new.bin", dir);
    snprintf(old, sizeof old, "%s/old.bin", dir);
    snprintf(patch, sizeof patch, "%s/patch.bin", dir);
    snprintf(full, sizeof full, "%s/full.ofp", dir);
    snprintf(delta, sizeof delta, "%s/delta.ofp", dir);

    assert_int_equal(run(pkg_cli_sign, "sign", "--help", NULL), 0);
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix",
                         "1", "--hw-id", "hw-a", "--version", "2012.1.5", img, "-o", full, NULL),
                     2); /* no --counter */
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix",
                         "1", "--hw-id", "hw-a", "--version", "2012.1.5", "--counter", "0", img,
                         "-o", full, NULL),
                     2);
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix",
                         "1", "--hw-id", "hw-a", "--version", "2012.1.5", "--counter", "3", img,
                         "-o", full, NULL),
                     0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, full, NULL), 0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub2, full, NULL), 1);
    assert_int_equal(run(pkg_cli_verify, "verify", full, NULL), 2);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--family", "Air780EHV",
                         "--suffix", "1", "--hw-id", "hw-a", "--installed-counter", "3",
                         "--slot-size", "50000", full, NULL),
                     0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--installed-counter", "4", full,
                         NULL),
                     1);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--slot-size", "49999", full, NULL), 1);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--hw-id", "hw-b", full, NULL), 1);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--suffix", "2", full, NULL), 1);
    /* signing with the public key is refused */
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", pub, "--family", "F", "--suffix", "1",
                         "--hw-id", "h", "--version", "1.0.0", "--counter", "1", img, "-o",
                         P("x.ofp"), NULL),
                     1);

    /* delta */
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix",
                         "1", "--hw-id", "hw-a", "--version", "2012.1.6", "--counter", "4",
                         "--delta-base", old, patch, "-o", delta, NULL),
                     2); /* needs --result */
    assert_int_equal(run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix",
                         "1", "--hw-id", "hw-a", "--version", "2012.1.6", "--base-version",
                         "2012.1.5", "--counter", "4", "--delta-base", old, "--result", img,
                         "--delta-window", "8192", patch, "-o", delta, NULL),
                     0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--installed", old, delta, NULL), 0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--installed", img, delta, NULL), 1);
    ofpkg_manifest m;
    FILE *f = fopen(delta, "rb");
    uint8_t head[OFPKG_SIGNED_LEN];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_int_equal(ofpkg_manifest_parse(head, sizeof head, &m, NULL, 0), OFPKG_OK);
    assert_int_equal(m.kind, OFPKG_KIND_DELTA);
    assert_int_equal(m.payload_len, 900);
    assert_int_equal(m.result_len, 50000);
    assert_int_equal(m.base_len, 45000);
    assert_int_equal(m.delta_window, 8192);
    assert_int_equal(m.base.core, 2012);
    assert_int_equal(m.base.z, 5);

    /* an independent check of the signature with the openssl program */
    if (system("command -v openssl >/dev/null 2>&1") == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && head -c 272 full.ofp > signed.bin && "
                 "tail -c +%d full.ofp > sig.der && "
                 "openssl dgst -sha256 -verify k.pub.pem -signature sig.der signed.bin "
                 ">/dev/null 2>&1",
                 dir, 272 + 50000 + 9);
        assert_int_equal(system(cmd), 0);
    }
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)sz + 1);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void write_all(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A patch from the delta engine: the signer reads result and window from
 * it and refuses a mismatched base or result. */
static void test_sign_openfota_delta(void **state)
{
    (void)state;
    const char *key = P("dk.pem");
    char pub[256];
    snprintf(pub, sizeof pub, "%s/dk.pub.pem", dir);
    assert_int_equal(run(pkg_cli_keygen, "keygen", key, NULL), 0);
    char oldp[256], newp[256], patchp[256], out[256], other[256];
    snprintf(oldp, sizeof oldp, "%s/d-old.bin", dir);
    snprintf(newp, sizeof newp, "%s/d-new.bin", dir);
    snprintf(patchp, sizeof patchp, "%s/d.patch", dir);
    snprintf(out, sizeof out, "%s/d.ofp", dir);
    snprintf(other, sizeof other, "%s/d-other.bin", dir);
    write_random(oldp, 30000, 11);
    write_random(other, 30000, 12);
    size_t on, nn;
    uint8_t *o = read_all(oldp, &on);
    uint8_t *nw = malloc(on + 100);
    memcpy(nw, o, on);
    memcpy(nw + 1000, "a small edit in the middle of the image", 39);
    memcpy(nw + on, o, 100); /* and a grown tail */
    nn = on + 100;
    write_all(newp, nw, nn);
    uint8_t *patch = NULL;
    size_t pn = 0;
    assert_int_equal(ofdelta_make(o, on, nw, nn, NULL, &patch, &pn, NULL), OFDELTA_OK);
    write_all(patchp, patch, pn);

#define SIGN_DELTA(...)                                                                            \
    run(pkg_cli_sign, "sign", "--key", key, "--family", "Air780EHV", "--suffix", "1", "--hw-id",  \
        "hw-a", "--version", "2012.1.6", "--counter", "5", __VA_ARGS__, NULL)
    assert_int_equal(SIGN_DELTA("--delta-base", oldp, patchp, "-o", out), 0);
    assert_int_equal(run(pkg_cli_verify, "verify", "--pub", pub, "--installed", oldp, out, NULL), 0);
    uint8_t head[OFPKG_SIGNED_LEN];
    FILE *f = fopen(out, "rb");
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    ofpkg_manifest m;
    assert_int_equal(ofpkg_manifest_parse(head, sizeof head, &m, NULL, 0), OFPKG_OK);
    ofdelta_header h;
    assert_int_equal(ofdelta_header_parse(patch, pn, &h), OFDELTA_OK);
    assert_int_equal(m.result_len, nn);
    assert_memory_equal(m.result_sha256, h.new_sha256, 32);
    assert_memory_equal(m.base_sha256, h.old_sha256, 32);
    assert_int_equal(m.base_len, on);
    assert_int_equal(m.delta_window, h.window);
    assert_int_equal(m.payload_len, pn);
    /* consistent --result is accepted, a contradicting one refused */
    assert_int_equal(SIGN_DELTA("--delta-base", oldp, "--result", newp, patchp, "-o", out), 0);
    assert_int_equal(SIGN_DELTA("--delta-base", oldp, "--result", oldp, patchp, "-o", out), 1);
    /* a patch made from another base is refused */
    assert_int_equal(SIGN_DELTA("--delta-base", other, patchp, "-o", out), 1);
    /* a window that contradicts the patch */
    assert_int_equal(SIGN_DELTA("--delta-base", oldp, "--delta-window", "4096000", patchp, "-o",
                                out),
                     2);
    /* a truncated patch is refused before signing */
    write_all(patchp, patch, pn - 1);
    assert_int_equal(SIGN_DELTA("--delta-base", oldp, patchp, "-o", out), 1);
#undef SIGN_DELTA
    free(o);
    free(nw);
    free(patch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luat_build_and_inspect),
        cmocka_unit_test(test_package_keygen_sign_verify),
        cmocka_unit_test(test_sign_openfota_delta),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
