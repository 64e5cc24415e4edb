/*
 * test_luatbin.c — the Luat upgrade .bin validator: valid packages (as the
 * vendor tool writes them, and with versions), every refusal, streaming in
 * odd chunk sizes, fds (file and pipe), and the bad-input fixture folder.
 *
 * `test_luatbin --write-fixtures DIR` regenerates tests/fixtures/bad/luatbin/
 * from the same table the fixture test checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ofpkg.h"

static const uint8_t SCRIPT[] = "hello luat script image"
                                "hello luat script image"
                                "hello luat script image";
#define SCRIPT_LEN (sizeof SCRIPT - 1)

static void make_data(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static uint8_t *build(const luatbin_build_opts *o, size_t clen, size_t slen, size_t *len)
{
    uint8_t *c = malloc(clen + 1), *s = malloc(slen + 1), *out = NULL;
    assert_non_null(c);
    assert_non_null(s);
    make_data(c, clen, 1);
    make_data(s, slen, 2);
    assert_int_equal(luatbin_build(o, c, clen, slen ? s : NULL, slen, &out, len), OFPKG_OK);
    free(c);
    free(s);
    return out;
}

static void refix_crc(uint8_t *p)
{
    uint32_t crc = luatbin_header_crc(p);
    p[4] = (uint8_t)crc;
    p[5] = (uint8_t)(crc >> 8);
    p[6] = (uint8_t)(crc >> 16);
    p[7] = (uint8_t)(crc >> 24);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A header computed independently (python: zlib.crc32(h[8:92]) ^ 0xFFFFFFFF). */
static void test_crc_known_vector(void **state)
{
    (void)state;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    o.main_version[4] = 2012;
    o.std_version[4] = 2011;
    o.app_version = 0x10203;
    uint8_t *p = NULL;
    size_t n = 0;
    assert_int_equal(luatbin_build(&o, SCRIPT, SCRIPT_LEN, NULL, 0, &p, &n), OFPKG_OK);
    assert_int_equal(n, 92 + 69);
    assert_int_equal(luatbin_header_crc(p), 0x3b877f55u);
    assert_int_equal(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24, 0x3b877f55u);
    free(p);
}

static void test_valid_script_only_vendor_style(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = build(NULL, 5000, 0, &n);
    luatbin_info info;
    char msg[512];
    assert_int_equal(luatbin_check_buf(p, n, &info, msg, sizeof msg), OFPKG_OK);
    assert_string_equal(msg, "");
    assert_int_equal(info.magic, LUATBIN_MAGIC_EC7XX);
    assert_int_equal(info.common_len, 5000);
    assert_int_equal(info.sdk_len, 0);
    assert_int_equal(info.file_size, 5092);
    assert_int_equal(info.script_only, 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(info.main_version[i], 0);
        assert_int_equal(info.std_version[i], 0);
    }
    unsigned core = 1;
    assert_int_equal(luatbin_version_core(info.main_version, &core), 0);
    /* zero versions state nothing: any declared version is accepted */
    assert_int_equal(luatbin_check_declared(&info, 2012, 1, 5, -1, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_sniff(p, n), 1);
    free(p);
}

/* A script-only package laid out the way the vendor's tool writes one (all
 * versions zero, SDKMD5 zero, size 92 + CommonDataLen), produced by an
 * independent implementation (python: zlib.crc32(h[8:92]) ^ 0xFFFFFFFF,
 * hashlib.md5), not by luatbin_build. */
static const uint8_t VENDOR_STYLE[] = {
    0x18, 0x72, 0xc3, 0xea, 0x08, 0xbe, 0x30, 0xf3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x26, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x86, 0xd9, 0x7e, 0xcd,
    0x56, 0xd0, 0xc5, 0x36, 0xfd, 0x53, 0x41, 0x74, 0x34, 0x84, 0x86, 0x2f, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2d, 0x2d, 0x5b, 0x5b,
    0x20, 0x4c, 0x75, 0x61, 0x44, 0x42, 0x20, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x20, 0x69, 0x6d,
    0x61, 0x67, 0x65, 0x20, 0x73, 0x74, 0x61, 0x6e, 0x64, 0x2d, 0x69, 0x6e, 0x20, 0x5d, 0x5d, 0x00,
    0x01, 0x02,
};

static void test_valid_independent_vector(void **state)
{
    (void)state;
    luatbin_info info;
    char msg[512];
    assert_int_equal(luatbin_check_buf(VENDOR_STYLE, sizeof VENDOR_STYLE, &info, msg, sizeof msg),
                     OFPKG_OK);
    assert_int_equal(info.common_len, sizeof VENDOR_STYLE - 92);
    assert_int_equal(info.script_only, 1);
    assert_int_equal(luatbin_check_declared(&info, 2012, 3, 7, -1, msg, sizeof msg), OFPKG_OK);
    /* and luatbin_build writes the same bytes from the same script */
    uint8_t *p;
    size_t n;
    assert_int_equal(luatbin_build(NULL, VENDOR_STYLE + 92, sizeof VENDOR_STYLE - 92, NULL, 0, &p, &n),
                     OFPKG_OK);
    assert_int_equal(n, sizeof VENDOR_STYLE);
    assert_memory_equal(p, VENDOR_STYLE, n);
    free(p);
}

static void test_valid_old_magic(void **state)
{
    (void)state;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    o.magic = LUATBIN_MAGIC_EC618;
    size_t n;
    uint8_t *p = build(&o, 300, 0, &n);
    luatbin_info info;
    assert_int_equal(luatbin_check_buf(p, n, &info, NULL, 0), OFPKG_OK);
    assert_int_equal(info.magic, LUATBIN_MAGIC_EC618);
    free(p);
}

static void test_valid_core_and_script(void **state)
{
    (void)state;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    luatbin_encode_core(2013, o.main_version);
    luatbin_encode_core(2012, o.std_version);
    size_t n;
    uint8_t *p = build(&o, 7000, 3333, &n);
    luatbin_info info;
    char msg[512];
    assert_int_equal(luatbin_check_buf(p, n, &info, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(info.script_only, 0);
    assert_int_equal(info.sdk_len, 3333);
    unsigned core = 0;
    assert_int_equal(luatbin_version_core(info.main_version, &core), 1);
    assert_int_equal(core, 2013);
    assert_int_equal(luatbin_check_declared(&info, 2013, 1, 2, 2012, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_check_declared(&info, 0, 0, 0, 2012, msg, sizeof msg), OFPKG_OK);
    free(p);
}

static void test_version_word_forms(void **state)
{
    (void)state;
    unsigned core = 0;
    uint32_t md5_and_number[5] = {0x44332211, 0x88776655, 0xBBAA0099, 0xFFEEDDCC, 1104};
    assert_int_equal(luatbin_version_core(md5_and_number, &core), 1);
    assert_int_equal(core, 1104);
    uint32_t md5_only[5] = {0x44332211, 0x88776655, 0xBBAA0099, 0xFFEEDDCC, 0};
    assert_int_equal(luatbin_version_core(md5_only, &core), 0);
    uint32_t placeholder[5] = {0, 0, 0, 0, 0xFFFFFFFF};
    assert_int_equal(luatbin_version_core(placeholder, &core), 0);
    uint32_t single[5] = {2012, 0, 0, 0, 0};
    assert_int_equal(luatbin_version_core(single, &core), 1);
    assert_int_equal(core, 2012);
    uint32_t zero[5] = {0};
    assert_int_equal(luatbin_version_core(zero, &core), 0);
}

/* Each refusal: code and a message naming the field. */
struct bad_case {
    const char *file;     /* fixture name */
    ofpkg_err want;
    const char *field;    /* must appear in the message */
    /* declared versions for the declared-check cases (core 0 = skip) */
    unsigned core;
    int base_core;
};

static const struct bad_case BAD[] = {
    {"bad-magic.bin", OFPKG_ERR_MAGIC, "MagicNum", 0, -1},
    {"bad-header-crc.bin", OFPKG_ERR_CRC, "CRC32", 0, -1},
    {"length-file-shorter-than-header-says.bin", OFPKG_ERR_LENGTH, "CommonDataLen", 0, -1},
    {"length-file-longer-than-header-says.bin", OFPKG_ERR_LENGTH, "SDKDataLen", 0, -1},
    {"common-md5-mismatch.bin", OFPKG_ERR_MD5, "CommonMD5", 0, -1},
    {"sdk-md5-mismatch.bin", OFPKG_ERR_MD5, "SDKMD5", 0, -1},
    {"sdkmd5-nonzero-without-sdkdata.bin", OFPKG_ERR_FIELD, "SDKMD5", 0, -1},
    {"commonmd5-nonzero-without-commondata.bin", OFPKG_ERR_FIELD, "CommonMD5", 0, -1},
    {"both-lengths-zero.bin", OFPKG_ERR_FIELD, "CommonDataLen", 0, -1},
    {"common-length-over-limit.bin", OFPKG_ERR_FIELD, "CommonDataLen", 0, -1},
    {"truncated-header.bin", OFPKG_ERR_TRUNCATED, "92-byte header", 0, -1},
    {"empty.bin", OFPKG_ERR_TRUNCATED, "empty", 0, -1},
    {"declared-core-contradicts-mainversion.bin", OFPKG_ERR_VERSION, "MainVersion", 2014, 2012},
    {"declared-base-contradicts-stdversion.bin", OFPKG_ERR_VERSION, "STDVersion", 2013, 2011},
    {"core-part-without-declared-base.bin", OFPKG_ERR_VERSION, "--base-core", 2013, -1},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

/* Produce the bytes of bad case i (malloc'ed). */
static uint8_t *make_bad(size_t i, size_t *len)
{
    const char *f = BAD[i].file;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    size_t n;
    uint8_t *p;
    if (!strcmp(f, "empty.bin")) {
        *len = 0;
        return malloc(1);
    }
    if (!strcmp(f, "truncated-header.bin")) {
        p = build(NULL, 100, 0, &n);
        *len = 50;
        return p;
    }
    if (strstr(f, "declared-") || strstr(f, "core-part")) {
        luatbin_encode_core(2013, o.main_version);
        luatbin_encode_core(2012, o.std_version);
        p = build(&o, 200, 100, &n);
        *len = n;
        return p;
    }
    if (!strcmp(f, "sdk-md5-mismatch.bin")) {
        p = build(NULL, 200, 100, &n);
        p[n - 1] ^= 0x01; /* one flipped bit in SDKData */
        *len = n;
        return p;
    }
    if (!strcmp(f, "length-file-longer-than-header-says.bin")) {
        p = build(NULL, 200, 100, &n);
        uint8_t *q = realloc(p, n + 7);
        assert_non_null(q);
        memset(q + n, 0xAA, 7);
        *len = n + 7;
        return q;
    }
    if (!strcmp(f, "commonmd5-nonzero-without-commondata.bin")) {
        /* a core-only package whose CommonMD5 is not zero */
        uint8_t sd[100];
        make_data(sd, sizeof sd, 2);
        assert_int_equal(luatbin_build(NULL, NULL, 0, sd, sizeof sd, &p, &n), OFPKG_OK);
        memset(p + 60, 0x5A, 16);
        refix_crc(p);
        *len = n;
        return p;
    }
    p = build(NULL, 200, 0, &n);
    *len = n;
    if (!strcmp(f, "bad-magic.bin")) {
        put32(p, 0xDEADBEEF);
        refix_crc(p);
    } else if (!strcmp(f, "bad-header-crc.bin")) {
        p[4] ^= 0x40;
    } else if (!strcmp(f, "length-file-shorter-than-header-says.bin")) {
        *len = n - 10;
    } else if (!strcmp(f, "common-md5-mismatch.bin")) {
        p[92 + 17] ^= 0x08;
    } else if (!strcmp(f, "sdkmd5-nonzero-without-sdkdata.bin")) {
        memset(p + 76, 0x11, 16);
        refix_crc(p);
    } else if (!strcmp(f, "both-lengths-zero.bin")) {
        put32(p + 52, 0);
        memset(p + 60, 0, 16);
        refix_crc(p);
        *len = 92;
    } else if (!strcmp(f, "common-length-over-limit.bin")) {
        put32(p + 52, LUATBIN_MAX_PART_LEN + 1);
        refix_crc(p);
    }
    return p;
}

/* Full check + declared check as the server runs them at upload. */
static ofpkg_err upload_check(const struct bad_case *bc, const uint8_t *p, size_t n, char *msg,
                              size_t ml)
{
    luatbin_info info;
    ofpkg_err e = luatbin_check_buf(p, n, &info, msg, ml);
    if (!e && bc->core)
        e = luatbin_check_declared(&info, bc->core, 1, 0, bc->base_core, msg, ml);
    return e;
}

static void test_bad_cases_in_memory(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        size_t n;
        uint8_t *p = make_bad(i, &n);
        char msg[512];
        ofpkg_err e = upload_check(&BAD[i], p, n, msg, sizeof msg);
        if (e != BAD[i].want || !strstr(msg, BAD[i].field))
            fail_msg("%s: got %d (%s) '%s', want %d with '%s'", BAD[i].file, e, ofpkg_strerror(e),
                     msg, BAD[i].want, BAD[i].field);
        free(p);
    }
}

static void test_bad_fixtures_on_disk(void **state)
{
    (void)state;
    for (size_t i = 0; i < NBAD; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bad/luatbin/%s", OPENFOTA_FIXTURES, BAD[i].file);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            fail_msg("missing fixture %s: %s", path, strerror(errno));
        luatbin_info info;
        char msg[512];
        ofpkg_err e = luatbin_check_fd(fd, &info, msg, sizeof msg);
        if (!e && BAD[i].core)
            e = luatbin_check_declared(&info, BAD[i].core, 1, 0, BAD[i].base_core, msg,
                                       sizeof msg);
        close(fd);
        if (e != BAD[i].want || !strstr(msg, BAD[i].field))
            fail_msg("%s: got %d '%s', want %d with '%s'", BAD[i].file, e, msg, BAD[i].want,
                     BAD[i].field);
    }
}

static void test_declared_script_only_rules(void **state)
{
    (void)state;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    luatbin_encode_core(2012, o.main_version);
    luatbin_encode_core(2012, o.std_version);
    size_t n;
    uint8_t *p = build(&o, 100, 0, &n);
    luatbin_info info;
    char msg[512];
    assert_int_equal(luatbin_check_buf(p, n, &info, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_check_declared(&info, 2012, 3, 4, -1, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_check_declared(&info, 2012, 3, 4, 2012, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_check_declared(&info, 2012, 3, 4, 2011, msg, sizeof msg),
                     OFPKG_ERR_VERSION);
    assert_non_null(strstr(msg, "--base-core"));
    assert_int_equal(luatbin_check_declared(&info, 2013, 3, 4, -1, msg, sizeof msg),
                     OFPKG_ERR_VERSION);
    assert_non_null(strstr(msg, "MainVersion"));
    free(p);
    /* STDVersion alone contradicting a script-only declaration */
    memset(&o, 0, sizeof o);
    luatbin_encode_core(2011, o.std_version);
    p = build(&o, 100, 0, &n);
    assert_int_equal(luatbin_check_buf(p, n, &info, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(luatbin_check_declared(&info, 2012, 0, 0, -1, msg, sizeof msg),
                     OFPKG_ERR_VERSION);
    assert_non_null(strstr(msg, "STDVersion"));
    free(p);
}

static void test_streaming_any_chunking(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = build(NULL, 70001, 12345, &n);
    static const size_t steps[] = {1, 3, 91, 92, 93, 4096, 70001};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        luatbin_checker *c;
        assert_int_equal(luatbin_checker_new(&c), OFPKG_OK);
        for (size_t off = 0; off < n; off += steps[s]) {
            size_t k = n - off < steps[s] ? n - off : steps[s];
            assert_int_equal(luatbin_checker_feed(c, p + off, k, NULL, 0), OFPKG_OK);
        }
        luatbin_info info;
        assert_int_equal(luatbin_checker_finish(c, &info, NULL, 0), OFPKG_OK);
        assert_int_equal(info.file_size, n);
        luatbin_checker_free(c);
    }
    /* a flipped bit anywhere in the body is caught whatever the chunking */
    for (size_t pos = 92; pos < n; pos += 9973) {
        p[pos] ^= 0x80;
        assert_int_equal(luatbin_check_buf(p, n, NULL, NULL, 0), OFPKG_ERR_MD5);
        p[pos] ^= 0x80;
    }
    free(p);
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = build(NULL, 300, 50, &n);
    for (size_t k = 0; k < n; k++) {
        ofpkg_err e = luatbin_check_buf(p, k, NULL, NULL, 0);
        assert_true(e == OFPKG_ERR_TRUNCATED || e == OFPKG_ERR_LENGTH);
    }
    assert_int_equal(luatbin_check_buf(p, n, NULL, NULL, 0), OFPKG_OK);
    free(p);
}

static void test_fd_file_and_pipe(void **state)
{
    (void)state;
    size_t n;
    uint8_t *p = build(NULL, 200000, 1000, &n);
    char path[] = "/tmp/of-luatbin-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    luatbin_info info;
    char msg[512];
    /* position at the end: check_fd rewinds a seekable file */
    assert_int_equal(luatbin_check_fd(fd, &info, msg, sizeof msg), OFPKG_OK);
    assert_int_equal(info.file_size, n);
    /* a longer file is refused early, with its real size in the message */
    assert_int_equal(write(fd, "xx", 2), 2);
    assert_int_equal(luatbin_check_fd(fd, &info, msg, sizeof msg), OFPKG_ERR_LENGTH);
    char want[64];
    snprintf(want, sizeof want, "the file is %zu bytes", n + 2);
    assert_non_null(strstr(msg, want));
    close(fd);
    unlink(path);

    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(pfd[1], p + off, n - off > 777 ? 777 : n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(pfd[1]);
    assert_int_equal(luatbin_check_fd(pfd[0], &info, msg, sizeof msg), OFPKG_OK);
    close(pfd[0]);
    free(p);
    assert_int_equal(luatbin_check_fd(-1, &info, msg, sizeof msg), OFPKG_ERR_ARG);
}

static void test_sniff_and_args(void **state)
{
    (void)state;
    const uint8_t a[] = {0x18, 0x72, 0xC3, 0xEA}, b[] = {0x16, 0x8C, 0xF1, 0xEA},
                  z[] = {0, 0, 0, 0};
    assert_int_equal(luatbin_sniff(a, 4), 1);
    assert_int_equal(luatbin_sniff(b, 4), 1);
    assert_int_equal(luatbin_sniff(z, 4), 0);
    assert_int_equal(luatbin_sniff(a, 3), 0);
    assert_int_equal(luatbin_sniff(NULL, 4), 0);
    luatbin_info info;
    assert_int_equal(luatbin_parse_header(NULL, 92, &info, NULL, 0), OFPKG_ERR_ARG);
    uint8_t *out;
    size_t ol;
    assert_int_equal(luatbin_build(NULL, NULL, 0, NULL, 0, &out, &ol), OFPKG_ERR_ARG);
    assert_string_equal(ofpkg_strerror(OFPKG_OK), "success");
    assert_non_null(ofpkg_strerror((ofpkg_err)999));
    /* a tiny msg buffer is truncated, never overrun */
    char tiny[8];
    uint8_t hdr[92] = {0};
    assert_int_equal(luatbin_parse_header(hdr, 92, &info, tiny, sizeof tiny), OFPKG_ERR_MAGIC);
    assert_int_equal(strlen(tiny), 7);
}

static int write_fixtures(const char *dir)
{
    for (size_t i = 0; i < NBAD; i++) {
        size_t n;
        uint8_t *p = make_bad(i, &n);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, BAD[i].file);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        free(p);
        printf("%s\n", path);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures"))
        return write_fixtures(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_known_vector),
        cmocka_unit_test(test_valid_script_only_vendor_style),
        cmocka_unit_test(test_valid_independent_vector),
        cmocka_unit_test(test_valid_old_magic),
        cmocka_unit_test(test_valid_core_and_script),
        cmocka_unit_test(test_version_word_forms),
        cmocka_unit_test(test_bad_cases_in_memory),
        cmocka_unit_test(test_bad_fixtures_on_disk),
        cmocka_unit_test(test_declared_script_only_rules),
        cmocka_unit_test(test_streaming_any_chunking),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_fd_file_and_pipe),
        cmocka_unit_test(test_sniff_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
