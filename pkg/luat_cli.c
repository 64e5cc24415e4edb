/*
 * luat_cli.c — `openfota luat inspect|build`: print and check a LuatOS
 * upgrade .bin with the same validator the server runs at upload, and build
 * a valid one from a script image (for tests and demos; no vendor tool needed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ofpkg.h"
#include "pkg_cli_util.h"

static void luat_usage(FILE *out)
{
    fprintf(out,
            "usage: openfota luat inspect [--version CORE.X.Z] [--base-core N] FILE\n"
            "       openfota luat build --out FILE [--magic HEX] [--core N] [--base-core N]\n"
            "                           [--app N] SCRIPT [SDKDATA]\n"
            "\n"
            "inspect  print the header of a LuatOS module upgrade .bin and check it the way the\n"
            "         module and the server do: magic, header CRC, 92 + CommonDataLen +\n"
            "         SDKDataLen == file size, CommonMD5 and SDKMD5 (all zero without a core\n"
            "         part). With --version (and --base-core for a package with a core part)\n"
            "         it also compares the header's versions with the declared ones.\n"
            "         Exit 0 when valid, 1 when invalid (the reason names the field), 2 on\n"
            "         usage errors.\n"
            "build    write a valid upgrade .bin whose CommonData is SCRIPT and whose SDKData is\n"
            "         SDKDATA (omit it for a script-only package). --magic selects the family\n"
            "         (default eac37218; eaf18c16 for older Air780E). --core and --base-core\n"
            "         state the target and base core in MainVersion/STDVersion, --app sets\n"
            "         AppVersion; without them the versions are zero, as the vendor tool writes.\n");
}

static void print_words(const char *name, const uint32_t v[5])
{
    printf("%-14s %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32, name, v[0],
           v[1], v[2], v[3], v[4]);
    unsigned core;
    if (luatbin_version_core(v, &core))
        printf("  (core %u)\n", core);
    else if (!v[0] && !v[1] && !v[2] && !v[3] && !v[4])
        printf("  (not stated)\n");
    else
        printf("  (not a version: not stated)\n");
}

static void print_md5(const char *name, const uint8_t *d)
{
    printf("%-14s ", name);
    for (int i = 0; i < 16; i++)
        printf("%02x", d[i]);
    printf("\n");
}

static int luat_inspect(int argc, char **argv)
{
    const char *file = NULL, *version = NULL, *base = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            luat_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version") && i + 1 < argc) {
            version = argv[++i];
        } else if (!strcmp(argv[i], "--base-core") && i + 1 < argc) {
            base = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "openfota luat inspect: unknown option '%s' (see --help)\n", argv[i]);
            return 2;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "openfota luat inspect: one FILE only (see --help)\n");
            return 2;
        }
    }
    if (!file) {
        luat_usage(stderr);
        return 2;
    }
    unsigned core = 0, sx = 0, sz = 0;
    long base_core = -1;
    if (version && pkgcli_parse_version(version, &core, &sx, &sz)) {
        fprintf(stderr,
                "openfota luat inspect: --version '%s' is not CORE.X.Z (three numbers, X and Z "
                "at most 999)\n",
                version);
        return 2;
    }
    if (base) {
        unsigned long v;
        if (pkgcli_parse_ulong(base, 99999, &v)) {
            fprintf(stderr, "openfota luat inspect: --base-core '%s' is not a core number\n",
                    base);
            return 2;
        }
        base_core = (long)v;
    }

    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "openfota luat inspect: cannot open %s: %s\n", file, strerror(errno));
        return 1;
    }
    uint8_t hdr[LUATBIN_HEADER_LEN];
    size_t have = 0;
    while (have < sizeof hdr) {
        ssize_t n = read(fd, hdr + have, sizeof hdr - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    char msg[512];
    luatbin_info info;
    ofpkg_err e = luatbin_parse_header(hdr, have, &info, msg, sizeof msg);
    printf("file           %s\n", file);
    if (have >= 8) {
        printf("MagicNum       0x%08" PRIX32 "%s\n", info.magic,
               info.magic == LUATBIN_MAGIC_EC7XX   ? "  (Air780EH*/Air8000 family)"
               : info.magic == LUATBIN_MAGIC_EC618 ? "  (older Air780E family)"
                                                   : "  (unknown)");
        printf("CRC32          0x%08" PRIX32, info.crc);
        if (have >= LUATBIN_HEADER_LEN)
            printf("  (computed 0x%08" PRIX32 ")", luatbin_header_crc(hdr));
        printf("\n");
    }
    if (have >= LUATBIN_HEADER_LEN && e != OFPKG_ERR_MAGIC) {
        print_words("MainVersion", info.main_version);
        printf("AppVersion     0x%08" PRIX32 "%s\n", info.app_version,
               info.app_version ? "" : "  (not stated)");
        print_words("STDVersion", info.std_version);
        printf("CommonDataLen  %" PRIu32 "\n", info.common_len);
        printf("SDKDataLen     %" PRIu32 "%s\n", info.sdk_len,
               info.sdk_len ? "  (core+script package)" : "  (script-only package)");
        print_md5("CommonMD5", info.common_md5);
        print_md5("SDKMD5", info.sdk_md5);
    }
    if (!e)
        e = luatbin_check_fd(fd, &info, msg, sizeof msg);
    close(fd);
    if (!e) {
        printf("FileSize       %" PRIu64 "  (= 92 + %" PRIu32 " + %" PRIu32 ")\n", info.file_size,
               info.common_len, info.sdk_len);
        if (version)
            e = luatbin_check_declared(&info, core, sx, sz, (int)base_core, msg, sizeof msg);
    }
    if (e) {
        printf("result         INVALID\n");
        fprintf(stderr, "openfota luat inspect: %s: %s\n", file, msg);
        return 1;
    }
    printf("result         valid (header CRC, lengths and MD5s check out%s)\n",
           version ? "; versions agree with the declared ones" : "");
    return 0;
}

static int luat_build(int argc, char **argv)
{
    const char *out = NULL, *script = NULL, *sdk = NULL;
    luatbin_build_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        unsigned long v;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            luat_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "--out") || !strcmp(a, "-o")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--magic") && i + 1 < argc) {
            char *end;
            const char *s = argv[++i];
            errno = 0;
            unsigned long long m = strtoull(s, &end, 16);
            if (errno || end == s || *end || m > 0xFFFFFFFFull || !m) {
                fprintf(stderr, "openfota luat build: --magic '%s' is not a hex number\n", s);
                return 2;
            }
            o.magic = (uint32_t)m;
        } else if ((!strcmp(a, "--core") || !strcmp(a, "--base-core")) && i + 1 < argc) {
            if (pkgcli_parse_ulong(argv[++i], 99999, &v) || !v) {
                fprintf(stderr, "openfota luat build: %s '%s' is not a core number\n", a, argv[i]);
                return 2;
            }
            luatbin_encode_core((unsigned)v,
                                !strcmp(a, "--core") ? o.main_version : o.std_version);
        } else if (!strcmp(a, "--app") && i + 1 < argc) {
            if (pkgcli_parse_ulong(argv[++i], 0xFFFFFFFFul, &v)) {
                fprintf(stderr, "openfota luat build: --app '%s' is not a number\n", argv[i]);
                return 2;
            }
            o.app_version = (uint32_t)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "openfota luat build: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!script) {
            script = a;
        } else if (!sdk) {
            sdk = a;
        } else {
            fprintf(stderr, "openfota luat build: too many files (see --help)\n");
            return 2;
        }
    }
    if (!out || !script) {
        luat_usage(stderr);
        return 2;
    }
    uint8_t *cd = NULL, *sd = NULL, *pkg = NULL;
    size_t cl = 0, sl = 0, pl = 0;
    int rc = 1;
    char err[256];
    if (pkgcli_read_file(script, LUATBIN_MAX_PART_LEN, &cd, &cl, err, sizeof err) ||
        (sdk && pkgcli_read_file(sdk, LUATBIN_MAX_PART_LEN, &sd, &sl, err, sizeof err))) {
        fprintf(stderr, "openfota luat build: %s\n", err);
        goto out;
    }
    ofpkg_err e = luatbin_build(&o, cd, cl, sd, sl, &pkg, &pl);
    if (e) {
        fprintf(stderr, "openfota luat build: %s%s\n", ofpkg_strerror(e),
                e == OFPKG_ERR_ARG ? " (SCRIPT and SDKDATA are both empty)" : "");
        goto out;
    }
    if (pkgcli_write_file(out, pkg, pl, err, sizeof err)) {
        fprintf(stderr, "openfota luat build: %s\n", err);
        goto out;
    }
    printf("%s\n", out);
    rc = 0;
out:
    free(cd);
    free(sd);
    free(pkg);
    return rc;
}

int pkg_cli_luat(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        luat_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "inspect"))
        return luat_inspect(argc - 1, argv + 1);
    if (!strcmp(argv[1], "build"))
        return luat_build(argc - 1, argv + 1);
    fprintf(stderr, "openfota luat: unknown command '%s' (inspect, build; see --help)\n", argv[1]);
    return 2;
}
