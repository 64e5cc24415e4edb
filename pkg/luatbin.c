/*
 * luatbin.c — validator for the LuatOS module upgrade ".bin".
 *
 * Layout (all little-endian; see docs/luat-bin.md):
 *
 *   [92-byte header][CommonData: CommonDataLen][SDKData: SDKDataLen]
 *
 *   0  u32 MagicNum        8  u32 MainVersion[5]   28 u32 AppVersion
 *   4  u32 CRC32          32  u32 STDVersion[5]    52 u32 CommonDataLen
 *  56  u32 SDKDataLen     60  u8  CommonMD5[16]    76 u8  SDKMD5[16]
 *
 * The module drops a package whose magic it does not expect, checks the
 * header CRC (zip CRC-32 of bytes 8..91, initial 0xFFFFFFFF, no final XOR),
 * writes both parts to flash and compares their MD5s at the end. A package
 * that fails any of these makes every device that downloads it fail, so the
 * server runs the same checks at upload (luatbin_check_fd) and refuses it
 * with a message that names the field.
 *
 * The full check is a streaming state machine (luatbin_checker): the header
 * is buffered (92 bytes), the parts are hashed as they pass, memory stays
 * bounded whatever the file size. check_fd and check_buf are thin wrappers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pkg_internal.h"

#define MSG_CAP 384
#define READ_CHUNK (64u * 1024u)
#define CORE_MAX 99999u   /* a plausible core number: V1001 … V2xxx today */

static const char *const REBUILD =
    "rebuild the package with the packaging tool and upload the file exactly as it wrote it";

/* ------------------------------------------------------------------ header */

uint32_t luatbin_header_crc(const uint8_t *hdr92)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 8; i < LUATBIN_HEADER_LEN; i++) {
        crc ^= hdr92[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc; /* no final XOR: that is how the module computes it */
}

int luatbin_sniff(const uint8_t *head, size_t len)
{
    if (!head || len < 4)
        return 0;
    uint32_t m = pkg__le32(head);
    return m == LUATBIN_MAGIC_EC7XX || m == LUATBIN_MAGIC_EC618;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

ofpkg_err luatbin_parse_header(const uint8_t *buf, size_t len, luatbin_info *info, char *msg,
                               size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf || !info)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_parse_header: NULL argument");
    memset(info, 0, sizeof *info);
    if (len == 0)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the file is empty (0 bytes): a Luat upgrade .bin starts with a 92-byte "
                         "header; upload the file the packaging tool produced");
    if (len < LUATBIN_HEADER_LEN)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the file is only %zu bytes: a Luat upgrade .bin starts with a 92-byte "
                         "header, so it was cut short; upload the complete file",
                         len);

    info->magic = pkg__le32(buf);
    info->crc = pkg__le32(buf + 4);
    for (int i = 0; i < 5; i++) {
        info->main_version[i] = pkg__le32(buf + 8 + 4 * i);
        info->std_version[i] = pkg__le32(buf + 32 + 4 * i);
    }
    info->app_version = pkg__le32(buf + 28);
    info->common_len = pkg__le32(buf + 52);
    info->sdk_len = pkg__le32(buf + 56);
    memcpy(info->common_md5, buf + 60, 16);
    memcpy(info->sdk_md5, buf + 76, 16);
    info->script_only = info->sdk_len == 0;

    if (info->magic != LUATBIN_MAGIC_EC7XX && info->magic != LUATBIN_MAGIC_EC618)
        return pkg__fail(msg, msglen, OFPKG_ERR_MAGIC,
                         "MagicNum is 0x%08" PRIX32 ", not a Luat upgrade package (0xEAC37218 for "
                         "Air780EH*/Air8000, 0xEAF18C16 for older Air780E script packages): this "
                         "is another kind of file or its start is damaged; upload the .bin made "
                         "by the packaging tool",
                         info->magic);
    uint32_t crc = luatbin_header_crc(buf);
    if (crc != info->crc)
        return pkg__fail(msg, msglen, OFPKG_ERR_CRC,
                         "header CRC32 field is 0x%08" PRIX32 " but header bytes 8..91 give "
                         "0x%08" PRIX32 ": the header was damaged or edited after packaging; %s",
                         info->crc, crc, REBUILD);
    if (info->common_len > LUATBIN_MAX_PART_LEN)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "CommonDataLen is %" PRIu32 " bytes, more than any module holds "
                         "(limit %u): the header is corrupt; %s",
                         info->common_len, LUATBIN_MAX_PART_LEN, REBUILD);
    if (info->sdk_len > LUATBIN_MAX_PART_LEN)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "SDKDataLen is %" PRIu32 " bytes, more than any module holds "
                         "(limit %u): the header is corrupt; %s",
                         info->sdk_len, LUATBIN_MAX_PART_LEN, REBUILD);
    if (info->common_len == 0 && info->sdk_len == 0)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "CommonDataLen and SDKDataLen are both 0: the package carries nothing "
                         "to install; build it again with the script (and core) included");
    if (info->sdk_len == 0 && !all_zero(info->sdk_md5, 16))
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "SDKMD5 is not all zero although SDKDataLen is 0: the packaging tool "
                         "leaves it zero when there is no core part, so this header was edited "
                         "or made by an unknown tool; %s",
                         REBUILD);
    if (info->common_len == 0 && !all_zero(info->common_md5, 16))
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "CommonMD5 is not all zero although CommonDataLen is 0: the packaging "
                         "tool leaves it zero when there is no script part, so this header was "
                         "edited or made by an unknown tool; %s",
                         REBUILD);
    return OFPKG_OK;
}

/* ----------------------------------------------------------------- checker */

struct luatbin_checker {
    uint8_t hdr[LUATBIN_HEADER_LEN];
    size_t hdr_have;
    int header_ok;
    luatbin_info info;
    uint64_t seen;           /* bytes fed so far, header included */
    EVP_MD_CTX *md5_common, *md5_sdk;
    ofpkg_err err;           /* sticky: once set, every call returns it */
    char errmsg[MSG_CAP];
};

ofpkg_err luatbin_checker_new(luatbin_checker **out)
{
    if (!out)
        return OFPKG_ERR_ARG;
    *out = NULL;
    luatbin_checker *c = calloc(1, sizeof *c);
    if (!c)
        return OFPKG_ERR_NOMEM;
    c->md5_common = EVP_MD_CTX_new();
    c->md5_sdk = EVP_MD_CTX_new();
    if (!c->md5_common || !c->md5_sdk) {
        luatbin_checker_free(c);
        return OFPKG_ERR_NOMEM;
    }
    if (EVP_DigestInit_ex(c->md5_common, EVP_md5(), NULL) != 1 ||
        EVP_DigestInit_ex(c->md5_sdk, EVP_md5(), NULL) != 1) {
        luatbin_checker_free(c);
        return OFPKG_ERR_CRYPTO;
    }
    *out = c;
    return OFPKG_OK;
}

void luatbin_checker_free(luatbin_checker *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md5_common);
    EVP_MD_CTX_free(c->md5_sdk);
    free(c);
}

static ofpkg_err checker_stick(luatbin_checker *c, ofpkg_err err, char *msg, size_t msglen)
{
    c->err = err;
    if (msg && msglen)
        snprintf(msg, msglen, "%s", c->errmsg);
    return err;
}

ofpkg_err luatbin_checker_feed(luatbin_checker *c, const uint8_t *data, size_t len, char *msg,
                               size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!c || (!data && len))
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_checker_feed: NULL argument");
    if (c->err) {
        if (msg && msglen)
            snprintf(msg, msglen, "%s", c->errmsg);
        return c->err;
    }
    while (len && c->hdr_have < LUATBIN_HEADER_LEN) {
        size_t n = LUATBIN_HEADER_LEN - c->hdr_have;
        if (n > len)
            n = len;
        memcpy(c->hdr + c->hdr_have, data, n);
        c->hdr_have += n;
        c->seen += n;
        data += n;
        len -= n;
        if (c->hdr_have == LUATBIN_HEADER_LEN) {
            ofpkg_err e = luatbin_parse_header(c->hdr, LUATBIN_HEADER_LEN, &c->info, c->errmsg,
                                               sizeof c->errmsg);
            if (e)
                return checker_stick(c, e, msg, msglen);
            c->header_ok = 1;
        }
    }
    if (!len)
        return OFPKG_OK;
    /* body: split the chunk between CommonData, SDKData and any excess */
    uint64_t pos = c->seen - LUATBIN_HEADER_LEN;
    uint64_t common_end = c->info.common_len;
    uint64_t sdk_end = common_end + c->info.sdk_len;
    if (pos < common_end) {
        uint64_t n = common_end - pos;
        if (n > len)
            n = len;
        if (EVP_DigestUpdate(c->md5_common, data, (size_t)n) != 1)
            return OFPKG_ERR_CRYPTO;
        pos += n;
        data += n;
        len -= (size_t)n;
        c->seen += n;
    }
    if (len && pos < sdk_end) {
        uint64_t n = sdk_end - pos;
        if (n > len)
            n = len;
        if (EVP_DigestUpdate(c->md5_sdk, data, (size_t)n) != 1)
            return OFPKG_ERR_CRYPTO;
        len -= (size_t)n;
        c->seen += n;
    }
    c->seen += len; /* excess bytes: only counted, reported by finish */
    return OFPKG_OK;
}

static void hex16(const uint8_t *d, char out[33])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[32] = '\0';
}

ofpkg_err luatbin_checker_finish(luatbin_checker *c, luatbin_info *info, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!c)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_checker_finish: NULL argument");
    if (info)
        *info = c->info;
    if (info)
        info->file_size = c->seen;
    if (c->err) {
        if (msg && msglen)
            snprintf(msg, msglen, "%s", c->errmsg);
        return c->err;
    }
    if (!c->header_ok) {
        /* fewer than 92 bytes arrived: let the header parser say so */
        luatbin_info tmp;
        ofpkg_err e = luatbin_parse_header(c->hdr, c->hdr_have, &tmp, c->errmsg, sizeof c->errmsg);
        return checker_stick(c, e ? e : OFPKG_ERR_TRUNCATED, msg, msglen);
    }
    uint64_t want = (uint64_t)LUATBIN_HEADER_LEN + c->info.common_len + c->info.sdk_len;
    if (c->seen != want) {
        snprintf(c->errmsg, sizeof c->errmsg,
                 "the file is %" PRIu64 " bytes but the header says 92 + CommonDataLen (%" PRIu32
                 ") + SDKDataLen (%" PRIu32 ") = %" PRIu64 " bytes: %s; %s",
                 c->seen, c->info.common_len, c->info.sdk_len, want,
                 c->seen < want ? "the file was cut short (incomplete download or copy)"
                                : "bytes were appended after the package or the lengths are wrong",
                 REBUILD);
        return checker_stick(c, OFPKG_ERR_LENGTH, msg, msglen);
    }
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    char got[33], hdr[33];
    if (c->info.common_len) {
        if (EVP_DigestFinal_ex(c->md5_common, d, &dl) != 1 || dl != 16)
            return checker_stick(c, OFPKG_ERR_CRYPTO, msg, msglen);
        if (memcmp(d, c->info.common_md5, 16)) {
            hex16(d, got);
            hex16(c->info.common_md5, hdr);
            snprintf(c->errmsg, sizeof c->errmsg,
                     "CommonMD5 in the header (%s) does not match the CommonData bytes (%s): the "
                     "file is corrupt or was edited after packaging; %s",
                     hdr, got, REBUILD);
            return checker_stick(c, OFPKG_ERR_MD5, msg, msglen);
        }
    }
    if (c->info.sdk_len) {
        if (EVP_DigestFinal_ex(c->md5_sdk, d, &dl) != 1 || dl != 16)
            return checker_stick(c, OFPKG_ERR_CRYPTO, msg, msglen);
        if (memcmp(d, c->info.sdk_md5, 16)) {
            hex16(d, got);
            hex16(c->info.sdk_md5, hdr);
            snprintf(c->errmsg, sizeof c->errmsg,
                     "SDKMD5 in the header (%s) does not match the SDKData bytes (%s): the core "
                     "part is corrupt or was edited after packaging; %s",
                     hdr, got, REBUILD);
            return checker_stick(c, OFPKG_ERR_MD5, msg, msglen);
        }
    }
    c->err = OFPKG_ERR_STATE; /* finished: further feeds are an error */
    snprintf(c->errmsg, sizeof c->errmsg, "luatbin checker already finished");
    return OFPKG_OK;
}

ofpkg_err luatbin_check_buf(const uint8_t *buf, size_t len, luatbin_info *info, char *msg,
                            size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf && len)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_check_buf: NULL buffer");
    luatbin_checker *c;
    ofpkg_err e = luatbin_checker_new(&c);
    if (e)
        return pkg__fail(msg, msglen, e, "cannot start the check: %s", ofpkg_strerror(e));
    if (len)
        e = luatbin_checker_feed(c, buf, len, msg, msglen);
    if (!e)
        e = luatbin_checker_finish(c, info, msg, msglen);
    else if (info)
        luatbin_checker_finish(c, info, NULL, 0);
    luatbin_checker_free(c);
    return e;
}

ofpkg_err luatbin_check_fd(int fd, luatbin_info *info, char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (fd < 0)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_check_fd: invalid file descriptor");
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE)
        return pkg__fail(msg, msglen, OFPKG_ERR_IO, "cannot seek to the start of the file: %s",
                         strerror(errno));
    luatbin_checker *c;
    ofpkg_err e = luatbin_checker_new(&c);
    if (e)
        return pkg__fail(msg, msglen, e, "cannot start the check: %s", ofpkg_strerror(e));
    uint8_t *buf = malloc(READ_CHUNK);
    if (!buf) {
        luatbin_checker_free(c);
        return pkg__fail(msg, msglen, OFPKG_ERR_NOMEM, "out of memory");
    }
    int sized = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = pkg__fail(msg, msglen, OFPKG_ERR_IO, "reading the file failed: %s",
                          strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        e = luatbin_checker_feed(c, buf, (size_t)n, msg, msglen);
        if (e)
            break;
        /* Fast refusal: a regular file whose size contradicts the header
         * is not hashed to the end. */
        if (!sized && c->header_ok && regular) {
            sized = 1;
            uint64_t want = (uint64_t)LUATBIN_HEADER_LEN + c->info.common_len + c->info.sdk_len;
            if ((uint64_t)st.st_size != want) {
                c->seen = (uint64_t)st.st_size; /* report the real size */
                break;
            }
        }
    }
    if (e) {
        if (info)
            luatbin_checker_finish(c, info, NULL, 0);
    } else {
        e = luatbin_checker_finish(c, info, msg, msglen);
    }
out:
    free(buf);
    luatbin_checker_free(c);
    return e;
}

/* ---------------------------------------------------------------- versions */

int luatbin_version_core(const uint32_t v[5], unsigned *core)
{
    unsigned c = 0;
    if (v[4]) {
        /* vendor tool layout: words 0..3 an optional MD5, word 4 the number */
        if (v[4] <= CORE_MAX)
            c = v[4];
    } else if (v[0] && !v[1] && !v[2] && !v[3] && v[0] <= CORE_MAX) {
        /* single-word layout of the older header (one u32 version) */
        c = v[0];
    }
    if (!c)
        return 0;
    if (core)
        *core = c;
    return 1;
}

void luatbin_encode_core(unsigned core, uint32_t out[5])
{
    memset(out, 0, 5 * sizeof out[0]);
    out[4] = core;
}

ofpkg_err luatbin_check_declared(const luatbin_info *info, unsigned core, unsigned script_x,
                                 unsigned script_z, int base_core, char *msg, size_t msglen)
{
    (void)script_x;
    (void)script_z;
    pkg__clear(msg, msglen);
    if (!info)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "luatbin_check_declared: NULL argument");
    unsigned main_core = 0, std_core = 0;
    int main_stated = luatbin_version_core(info->main_version, &main_core);
    int std_stated = luatbin_version_core(info->std_version, &std_core);
    int have_base = base_core > 0;

    if (main_stated && core && main_core != core)
        return pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                         "MainVersion in the header says the package installs core %u, but it "
                         "was declared as version %u.x.x: declare the version with core %u, or "
                         "upload the package built for core %u",
                         main_core, core, main_core, core);
    if (info->sdk_len) {
        if (!have_base)
            return std_stated
                       ? pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                                   "the package carries a core update (SDKDataLen is %" PRIu32
                                   " bytes) but no base core was declared: pass --base-core %u "
                                   "(STDVersion in the header says the core part applies to "
                                   "core %u)",
                                   info->sdk_len, std_core, std_core)
                       : pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                                   "the package carries a core update (SDKDataLen is %" PRIu32
                                   " bytes) but no base core was declared: pass --base-core "
                                   "with the core version the update was made from",
                                   info->sdk_len);
        if (std_stated && std_core != (unsigned)base_core)
            return pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                             "STDVersion in the header says the core part applies to core %u, "
                             "but --base-core %d was declared: declare --base-core %u, or "
                             "upload the package made from core %d",
                             std_core, base_core, std_core, base_core);
    } else {
        if (have_base && core && (unsigned)base_core != core)
            return pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                             "--base-core %d was declared but the package has no core part "
                             "(SDKDataLen is 0): a script-only package installs only on the "
                             "core it is declared for (%u); drop --base-core",
                             base_core, core);
        if (std_stated && core && std_core != core)
            return pkg__fail(msg, msglen, OFPKG_ERR_VERSION,
                             "STDVersion in the header says the package applies to core %u, "
                             "but it was declared as version %u.x.x: a script-only package "
                             "runs only on its own core; declare the version with core %u",
                             std_core, core, std_core);
    }
    return OFPKG_OK;
}

/* ----------------------------------------------------------------- builder */

ofpkg_err luatbin_build(const luatbin_build_opts *opts, const uint8_t *common, size_t common_len,
                        const uint8_t *sdk, size_t sdk_len, uint8_t **out, size_t *out_len)
{
    if (!out || !out_len || (!common && common_len) || (!sdk && sdk_len))
        return OFPKG_ERR_ARG;
    *out = NULL;
    *out_len = 0;
    if (common_len > LUATBIN_MAX_PART_LEN || sdk_len > LUATBIN_MAX_PART_LEN)
        return OFPKG_ERR_TOO_BIG;
    if (!common_len && !sdk_len)
        return OFPKG_ERR_ARG;
    luatbin_build_opts def;
    memset(&def, 0, sizeof def);
    if (!opts)
        opts = &def;
    size_t total = LUATBIN_HEADER_LEN + common_len + sdk_len;
    uint8_t *p = calloc(1, total);
    if (!p)
        return OFPKG_ERR_NOMEM;
    pkg__put32(p, opts->magic ? opts->magic : LUATBIN_MAGIC_EC7XX);
    for (int i = 0; i < 5; i++) {
        pkg__put32(p + 8 + 4 * i, opts->main_version[i]);
        pkg__put32(p + 32 + 4 * i, opts->std_version[i]);
    }
    pkg__put32(p + 28, opts->app_version);
    pkg__put32(p + 52, (uint32_t)common_len);
    pkg__put32(p + 56, (uint32_t)sdk_len);
    unsigned dl = 0;
    if (common_len && EVP_Digest(common, common_len, p + 60, &dl, EVP_md5(), NULL) != 1)
        goto crypto;
    if (sdk_len && EVP_Digest(sdk, sdk_len, p + 76, &dl, EVP_md5(), NULL) != 1)
        goto crypto;
    pkg__put32(p + 4, luatbin_header_crc(p));
    if (common_len)
        memcpy(p + LUATBIN_HEADER_LEN, common, common_len);
    if (sdk_len)
        memcpy(p + LUATBIN_HEADER_LEN + common_len, sdk, sdk_len);
    *out = p;
    *out_len = total;
    return OFPKG_OK;
crypto:
    free(p);
    return OFPKG_ERR_CRYPTO;
}

int luatbin_firmware_name(const char *name)
{
    return name != NULL && strstr(name, "_LuatOS-SoC_") != NULL;
}
