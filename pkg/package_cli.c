/*
 * package_cli.c — `openfota package keygen|sign|verify`: make keys, sign a
 * payload into an openfota package, and verify a package exactly as a device
 * does (the same mbedTLS streaming verifier), optionally with the device's
 * install policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ofdelta.h"
#include "ofpkg.h"
#include "ofpkg_verify.h"
#include "pkg_cli_util.h"

#define KEYFILE_MAX 4096u

/* bytes to read for a delta patch header (the delta format bounds it) */
#ifdef OFDELTA_HEADER_MAX
#define PATCH_HEAD OFDELTA_HEADER_MAX
#else
#define PATCH_HEAD OFDELTA_HEADER_SIZE
#endif

static void print_version(FILE *f, const char *name, const ofpkg_version *v)
{
    fprintf(f, "%-15s %" PRIu32 ".%03u.%03u\n", name, v->core, v->x, v->z);
}

static void print_hash(FILE *f, const char *name, const uint8_t *d, size_t n)
{
    char hex[65];
    ofpkg_hex(d, n, hex);
    fprintf(f, "%-15s %s\n", name, hex);
}

static void print_manifest(FILE *f, const ofpkg_manifest *m)
{
    fprintf(f, "format          %u\n", m->format_version);
    fprintf(f, "family          %s\n", m->family);
    fprintf(f, "suffix          %s\n", m->suffix);
    fprintf(f, "hw_id           %s\n", m->hw_id);
    fprintf(f, "kind            %s\n", ofpkg_kind_name(m->kind));
    print_version(f, "version", &m->target);
    if (m->kind == OFPKG_KIND_DELTA)
        print_version(f, "base_version", &m->base);
    fprintf(f, "counter         %" PRIu64 "\n", m->counter);
    fprintf(f, "payload_len     %" PRIu64 "\n", m->payload_len);
    print_hash(f, "payload_sha256", m->payload_sha256, 32);
    fprintf(f, "result_len      %" PRIu64 "\n", m->result_len);
    print_hash(f, "result_sha256", m->result_sha256, 32);
    if (m->kind == OFPKG_KIND_DELTA) {
        fprintf(f, "base_len        %" PRIu64 "\n", m->base_len);
        print_hash(f, "base_sha256", m->base_sha256, 32);
        fprintf(f, "delta_window    %" PRIu32 "\n", m->delta_window);
    }
    print_hash(f, "key_id", m->key_id, OFPKG_KEY_ID_LEN);
}

/* --------------------------------------------------------------- keygen */

static void keygen_usage(FILE *f)
{
    fprintf(f, "usage: openfota package keygen KEY.pem\n\n"
               "Writes a new ECDSA P-256 private key to KEY.pem (mode 0600; never\n"
               "overwrites) and its public key to KEY.pub.pem. Sign with the private key\n"
               "('openfota package sign --key KEY.pem'); give devices the public key.\n");
}

int pkg_cli_keygen(int argc, char **argv)
{
    const char *priv = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            keygen_usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "openfota package keygen: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!priv) {
            priv = argv[i];
        } else {
            keygen_usage(stderr);
            return 2;
        }
    }
    if (!priv) {
        keygen_usage(stderr);
        return 2;
    }
    size_t n = strlen(priv);
    char *pub = malloc(n + 16);
    if (!pub)
        return 1;
    if (n > 4 && !strcmp(priv + n - 4, ".pem"))
        snprintf(pub, n + 16, "%.*s.pub.pem", (int)(n - 4), priv);
    else
        snprintf(pub, n + 16, "%s.pub.pem", priv);
    char msg[512];
    ofpkg_err e = ofpkg_keygen(priv, pub, msg, sizeof msg);
    if (e) {
        fprintf(stderr, "openfota package keygen: %s\n", msg);
        free(pub);
        return 1;
    }
    printf("private key  %s  (keep it secret; sign with --key %s)\n", priv, priv);
    printf("public key   %s  (install on devices; verify with --pub %s)\n", pub, pub);
    free(pub);
    return 0;
}

/* ----------------------------------------------------------------- sign */

/* Is payload an openfota delta patch? 1 yes (*h filled), 0 no (another
 * format), -1 it claims to be one but is damaged, or cannot be read. */
static int read_patch_header(const char *path, ofdelta_header *h, uint64_t *size, char *msg,
                             size_t msglen)
{
    uint8_t b[PATCH_HEAD];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t have = 0;
    while (have < sizeof b) {
        ssize_t n = read(fd, b + have, sizeof b - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    close(fd);
    *size = end < 0 ? 0 : (uint64_t)end;
    ofdelta_err e = ofdelta_header_parse(b, have, h);
    if (e == OFDELTA_ERR_MAGIC)
        return 0;
    if (e) {
        snprintf(msg, msglen, "%s starts like an openfota delta patch but its header is unusable: %s",
                 path, ofdelta_strerror(e));
        return -1;
    }
    if (ofdelta_patch_size(h) != *size) {
        snprintf(msg, msglen,
                 "%s is %llu bytes but its header announces %llu: the patch is %s; make it again "
                 "with 'openfota delta make'",
                 path, (unsigned long long)*size, (unsigned long long)ofdelta_patch_size(h),
                 *size < ofdelta_patch_size(h) ? "truncated" : "followed by extra bytes");
        return -1;
    }
    return 1;
}

/* Fill the delta fields of m from OLD, the patch and (optionally) NEW, and
 * refuse a patch that was made from another base or produces another image. */
static int sign_delta_fields(ofpkg_manifest *m, const char *base, const char *patch,
                             const char *result, int window_given)
{
    char msg[512];
    if (ofpkg_sha256_file(base, m->base_sha256, &m->base_len, msg, sizeof msg)) {
        fprintf(stderr, "openfota package sign: %s\n", msg);
        return 1;
    }
    ofdelta_header h;
    uint64_t psize;
    int is_ours = read_patch_header(patch, &h, &psize, msg, sizeof msg);
    if (is_ours < 0) {
        fprintf(stderr, "openfota package sign: %s\n", msg);
        return 1;
    }
    if (is_ours) {
        if (h.old_size != m->base_len || memcmp(h.old_sha256, m->base_sha256, 32)) {
            fprintf(stderr, "openfota package sign: the patch %s was made from another image "
                            "than --delta-base %s (size or SHA-256 differ): devices running %s "
                            "could not apply it; give the image the patch was made from\n",
                    patch, base, base);
            return 1;
        }
        if (window_given && m->delta_window != h.window) {
            fprintf(stderr, "openfota package sign: --delta-window %lu contradicts the patch's "
                            "window of %lu bytes; drop --delta-window\n",
                    (unsigned long)m->delta_window, (unsigned long)h.window);
            return 2;
        }
        m->delta_window = h.window;
    } else if (!result) {
        fprintf(stderr, "openfota package sign: %s is not an openfota delta patch, so the image "
                        "it produces is unknown: give it with --result NEW.bin\n",
                patch);
        return 2;
    }
    if (result) {
        if (ofpkg_sha256_file(result, m->result_sha256, &m->result_len, msg, sizeof msg)) {
            fprintf(stderr, "openfota package sign: %s\n", msg);
            return 1;
        }
        if (is_ours && (h.new_size != m->result_len || memcmp(h.new_sha256, m->result_sha256, 32))) {
            fprintf(stderr, "openfota package sign: the patch %s produces another image than "
                            "--result %s (size or SHA-256 differ); give the image the patch was "
                            "made for, or drop --result\n",
                    patch, result);
            return 1;
        }
    } else {
        m->result_len = h.new_size;
        memcpy(m->result_sha256, h.new_sha256, 32);
    }
    return 0;
}

static void sign_usage(FILE *f)
{
    fprintf(f,
            "usage: openfota package sign --key KEY.pem --family F --suffix S --hw-id H\n"
            "           --version CORE.X.Z --counter N\n"
            "           [--delta-base OLD.bin [--result NEW.bin] [--delta-window BYTES]\n"
            "            [--base-version CORE.X.Z]]\n"
            "           PAYLOAD -o OUT\n\n"
            "Writes OUT, an openfota signed package: header and manifest (family, layout\n"
            "suffix, hardware id, versions, release counter, lengths and SHA-256 of\n"
            "payload, base and result), then PAYLOAD, then an ECDSA P-256 signature over\n"
            "header and manifest (see docs/package-format.md).\n\n"
            "Full package: PAYLOAD is the new image.\n"
            "Delta package: PAYLOAD is a patch and --delta-base OLD.bin the image it applies\n"
            "to. For a patch from 'openfota delta make OLD NEW PATCH' the result image and\n"
            "window are read from the patch, and a patch made from another base (or, with\n"
            "--result NEW.bin, for another result) is refused. For any other patch format\n"
            "--result NEW.bin is required. Base and result are hashed into the manifest.\n"
            "--counter is the release counter: devices refuse a package whose counter is\n"
            "lower than the installed one, so raise it with every release.\n");
}

int pkg_cli_sign(int argc, char **argv)
{
    const char *key = NULL, *family = NULL, *suffix = NULL, *hw = NULL, *ver = NULL,
               *basever = NULL, *counter = NULL, *base = NULL, *result = NULL, *window = NULL,
               *payload = NULL, *out = NULL;
    const pkgcli_opt opts[] = {{"--key", &key},         {"--family", &family},      {"--suffix", &suffix},
                {"--hw-id", &hw},        {"--version", &ver},        {"--base-version", &basever},
                {"--counter", &counter}, {"--delta-base", &base},    {"--result", &result},
                {"--delta-window", &window}, {"-o", &out},           {"--out", &out}};
    int pr = pkgcli_parse_opts("package sign", argc, argv, opts, sizeof opts / sizeof opts[0], &payload, "PAYLOAD");
    if (pr == 1) {
        sign_usage(stdout);
        return 0;
    }
    if (pr)
        return 2;
    const char *missing = !key ? "--key" : !family ? "--family" : !suffix ? "--suffix"
                        : !hw ? "--hw-id" : !ver ? "--version" : !counter ? "--counter"
                        : !payload ? "PAYLOAD" : !out ? "-o OUT" : NULL;
    if (missing) {
        fprintf(stderr, "openfota package sign: %s is required\n\n", missing);
        sign_usage(stderr);
        return 2;
    }
    ofpkg_manifest m;
    memset(&m, 0, sizeof m);
    unsigned c, x, z;
    if (pkgcli_parse_version(ver, &c, &x, &z)) {
        fprintf(stderr, "openfota package sign: --version '%s' is not CORE.X.Z (X, Z <= 999)\n",
                ver);
        return 2;
    }
    m.target = (ofpkg_version){c, (uint16_t)x, (uint16_t)z};
    unsigned long cnt;
    if (pkgcli_parse_ulong(counter, 0xFFFFFFFFFFFFFFFFul, &cnt) || !cnt) {
        fprintf(stderr, "openfota package sign: --counter '%s' must be a number >= 1\n", counter);
        return 2;
    }
    m.counter = cnt;
    if (strlen(family) > OFPKG_FAMILY_MAX || strlen(suffix) > OFPKG_SUFFIX_MAX ||
        strlen(hw) > OFPKG_HWID_MAX) {
        fprintf(stderr, "openfota package sign: --family and --hw-id are at most %u characters, "
                        "--suffix at most %u\n", OFPKG_FAMILY_MAX, OFPKG_SUFFIX_MAX);
        return 2;
    }
    snprintf(m.family, sizeof m.family, "%s", family);
    snprintf(m.suffix, sizeof m.suffix, "%s", suffix);
    snprintf(m.hw_id, sizeof m.hw_id, "%s", hw);
    char msg[512];
    if (base) {
        m.kind = OFPKG_KIND_DELTA;
        if (basever) {
            if (pkgcli_parse_version(basever, &c, &x, &z)) {
                fprintf(stderr, "openfota package sign: --base-version '%s' is not CORE.X.Z\n",
                        basever);
                return 2;
            }
            m.base = (ofpkg_version){c, (uint16_t)x, (uint16_t)z};
        }
        if (window) {
            unsigned long w;
            if (pkgcli_parse_ulong(window, 64ul * 1024 * 1024, &w)) {
                fprintf(stderr, "openfota package sign: --delta-window '%s' must be a byte "
                                "count up to 64 MiB\n", window);
                return 2;
            }
            m.delta_window = (uint32_t)w;
        }
        int rc = sign_delta_fields(&m, base, payload, result, window != NULL);
        if (rc)
            return rc;
    } else {
        if (result || basever || window) {
            fprintf(stderr, "openfota package sign: --result, --base-version and --delta-window "
                            "belong to a delta: add --delta-base OLD.bin, or drop them\n");
            return 2;
        }
        m.kind = OFPKG_KIND_FULL;
    }
    ofpkg_signer *s;
    if (ofpkg_signer_load(key, &s, msg, sizeof msg)) {
        fprintf(stderr, "openfota package sign: %s\n", msg);
        return 1;
    }
    ofpkg_err e = ofpkg_sign_file(s, &m, payload, out, msg, sizeof msg);
    ofpkg_signer_free(s);
    if (e) {
        fprintf(stderr, "openfota package sign: %s\n", msg);
        return 1;
    }
    print_manifest(stdout, &m);
    printf("%s\n", out);
    return 0;
}

/* --------------------------------------------------------------- verify */

static void verify_usage(FILE *f)
{
    fprintf(f,
            "usage: openfota package verify --pub PUB.pem [device options] FILE\n\n"
            "Checks FILE the way a device does: manifest, key id, ECDSA P-256 signature\n"
            "over header and manifest, payload SHA-256; prints the manifest. Exit 0 when\n"
            "valid, 1 when not (with the reason), 2 on usage errors.\n\n"
            "device options (each given one is checked as the device's install policy):\n"
            "  --family F --suffix S --hw-id H   what the device is\n"
            "  --installed-counter N             release counter of the installed image\n"
            "  --slot-size BYTES                 size of the slot the image goes to\n"
            "  --installed IMAGE                 the running image (a delta must apply to it)\n");
}

int pkg_cli_verify(int argc, char **argv)
{
    const char *pub = NULL, *file = NULL, *family = NULL, *suffix = NULL, *hw = NULL,
               *icnt = NULL, *slot = NULL, *inst = NULL;
    const pkgcli_opt opts[] = {{"--pub", &pub},        {"--family", &family},
                {"--suffix", &suffix},  {"--hw-id", &hw},
                {"--installed-counter", &icnt}, {"--slot-size", &slot},
                {"--installed", &inst}};
    int pr = pkgcli_parse_opts("package verify", argc, argv, opts, sizeof opts / sizeof opts[0], &file, "FILE");
    if (pr == 1) {
        verify_usage(stdout);
        return 0;
    }
    if (pr)
        return 2;
    if (!pub || !file) {
        fprintf(stderr, "openfota package verify: %s is required\n\n", !pub ? "--pub" : "FILE");
        verify_usage(stderr);
        return 2;
    }
    ofpkg_device_state dev;
    memset(&dev, 0, sizeof dev);
    unsigned long v;
    dev.slot_size = UINT64_MAX;
    if (icnt) {
        if (pkgcli_parse_ulong(icnt, 0xFFFFFFFFFFFFFFFFul, &v)) {
            fprintf(stderr, "openfota package verify: --installed-counter '%s' is not a number\n",
                    icnt);
            return 2;
        }
        dev.counter = v;
    }
    if (slot) {
        if (pkgcli_parse_ulong(slot, 0xFFFFFFFFFFFFFFFFul, &v)) {
            fprintf(stderr, "openfota package verify: --slot-size '%s' is not a number\n", slot);
            return 2;
        }
        dev.slot_size = v;
    }
    char msg[512], err[256];
    uint8_t inst_sha[32];
    if (inst && ofpkg_sha256_file(inst, inst_sha, &dev.installed_len, msg, sizeof msg)) {
        fprintf(stderr, "openfota package verify: %s\n", msg);
        return 1;
    }
    uint8_t *key = NULL;
    size_t keylen = 0;
    if (pkgcli_read_file(pub, KEYFILE_MAX, &key, &keylen, err, sizeof err)) {
        fprintf(stderr, "openfota package verify: %s\n", err);
        return 1;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "openfota package verify: cannot open %s: %s\n", file, strerror(errno));
        free(key);
        return 1;
    }
    int rc = 1, parsed = 0;
    uint8_t *buf = malloc(64 * 1024);
    ofpkg_verifier ver;
    memset(&ver, 0, sizeof ver);
    ofpkg_err e = OFPKG_ERR_NOMEM;
    snprintf(msg, sizeof msg, "out of memory");
    if (!buf)
        goto out;
    size_t have = 0;
    while (have < OFPKG_SIGNED_LEN) {
        ssize_t n = read(fd, buf + have, OFPKG_SIGNED_LEN - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    e = ofpkg_verifier_init(&ver, buf, have, msg, sizeof msg);
    if (e)
        goto out;
    parsed = 1;
    for (;;) {
        ssize_t n = read(fd, buf, 64 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = OFPKG_ERR_IO;
            snprintf(msg, sizeof msg, "reading %s failed: %s", file, strerror(errno));
            goto out;
        }
        if (!n)
            break;
        if ((e = ofpkg_verifier_feed(&ver, buf, (size_t)n, NULL, msg, sizeof msg)))
            goto out;
    }
    e = ofpkg_verifier_finish(&ver, key, keylen, msg, sizeof msg);
    if (e)
        goto out;
    if (family || suffix || hw || icnt || slot || inst) {
        dev.family = family ? family : ver.m.family;
        dev.suffix = suffix ? suffix : ver.m.suffix;
        dev.hw_id = hw ? hw : ver.m.hw_id;
        dev.installed_sha256 = inst ? inst_sha : ver.m.base_sha256;
        if (!inst)
            dev.installed_len = 0;
        e = ofpkg_check_install(&ver.m, &dev, msg, sizeof msg);
    }
out:
    if (parsed)
        print_manifest(stdout, &ver.m);
    if (e) {
        printf("result          INVALID\n");
        fprintf(stderr, "openfota package verify: %s: %s\n", file, msg);
    } else {
        printf("result          valid (signature, key and payload SHA-256 check out%s)\n",
               (family || suffix || hw || icnt || slot || inst) ? "; installable" : "");
        rc = 0;
    }
    ofpkg_verifier_free(&ver);
    close(fd);
    free(buf);
    free(key);
    return rc;
}
