/*
 * manifest.c — the signed part of an openfota package: parse, check and
 * write it. Pure, portable C (no heap, no crypto, no OS): it builds for a
 * Cortex-M inside the device library as well as on the host.
 *
 * Layout (little-endian; docs/package-format.md is the reference):
 *
 *   header, 16 bytes             manifest, 256 bytes (offsets from its start)
 *    0 u32 magic "OFPK"            0 family[32]     80 target  u32 core,u16 x,u16 z
 *    4 u16 format_version (1)     32 suffix[16]     88 base    u32 core,u16 x,u16 z
 *    6 u16 header_len (16)        48 hw_id[32]      96 u64 counter
 *    8 u32 manifest_len (256)                      104 u8 kind, u8 reserved[3]
 *   12 u32 reserved (0)                            108 u32 delta_window
 *                                                  112 u64 payload_len
 *   then payload_len bytes,                        120 u64 result_len
 *   then the signature block:                      128 u64 base_len
 *    0 u32 magic "OFSG"                            136 payload_sha256[32]
 *    4 u16 sig_alg (1 = ECDSA P-256/SHA-256)       168 base_sha256[32]
 *    6 u16 sig_len (8..72)                         200 result_sha256[32]
 *    8 sig_len bytes: DER ECDSA-Sig-Value          232 key_id[8]
 *                                                  240 reserved[16] (zero)
 *
 * The parser refuses anything it does not fully understand: unknown format
 * version, non-zero reserved bytes, strings that are not NUL-padded
 * printable ASCII, lengths over OFPKG_MAX_IMAGE, and kind-specific
 * contradictions. The serializer writes the fields and then runs the parser
 * on its own output, so both sides enforce exactly the same rules.
 */
#include <string.h>

#include "pkg_internal.h"

#define M(off) (OFPKG_HEADER_LEN + (off))

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* A NUL-padded printable ASCII field: copy into out (n + 1 bytes). */
static ofpkg_err get_str(const uint8_t *p, size_t n, char *out, const char *name, int required,
                         char *msg, size_t msglen)
{
    size_t len = 0;
    while (len < n && p[len])
        len++;
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x21 || p[i] > 0x7E)
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest field %s holds byte 0x%02X at position %zu: only "
                             "printable ASCII without spaces is allowed; sign the package again "
                             "with a valid %s",
                             name, p[i], i, name);
    if (!is_zero(p + len, n - len))
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest field %s has bytes after its terminating NUL: the manifest is "
                         "damaged or was not written by openfota; sign the package again",
                         name);
    if (required && !len)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest field %s is empty: it is required; sign the package again "
                         "with --%s",
                         name, !strcmp(name, "hw_id") ? "hw-id" : name);
    memcpy(out, p, len);
    out[len] = '\0';
    return OFPKG_OK;
}

static void get_version(const uint8_t *p, ofpkg_version *v)
{
    v->core = pkg__le32(p);
    v->x = pkg__le16(p + 4);
    v->z = pkg__le16(p + 6);
}

static int version_zero(const ofpkg_version *v) { return !v->core && !v->x && !v->z; }

ofpkg_err ofpkg_manifest_parse(const uint8_t *buf, size_t len, ofpkg_manifest *m, char *msg,
                               size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf || !m)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_manifest_parse: NULL argument");
    memset(m, 0, sizeof *m);
    if (len < 4 || pkg__le32(buf) != OFPKG_MAGIC) {
        if (len < 4)
            return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                             "the package is %zu bytes: too short to be an openfota package "
                             "(it starts with a %u-byte header and manifest); transfer it again",
                             len, OFPKG_SIGNED_LEN);
        return pkg__fail(msg, msglen, OFPKG_ERR_MAGIC,
                         "the file does not start with the openfota package magic \"OFPK\": it "
                         "is not a signed package (sign it with 'openfota package sign')");
    }
    if (len < OFPKG_HEADER_LEN)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the package is %zu bytes: shorter than its %u-byte header; transfer it "
                         "again",
                         len, OFPKG_HEADER_LEN);
    m->format_version = pkg__le16(buf + 4);
    if (m->format_version != OFPKG_FORMAT_VERSION)
        return pkg__fail(msg, msglen, OFPKG_ERR_UNSUPPORTED,
                         "package format version %u: this build reads version %u; update the "
                         "software that reads it, or sign the package with a matching openfota",
                         m->format_version, OFPKG_FORMAT_VERSION);
    uint16_t hlen = pkg__le16(buf + 6);
    uint32_t mlen = pkg__le32(buf + 8);
    if (hlen != OFPKG_HEADER_LEN || mlen != OFPKG_MANIFEST_LEN || pkg__le32(buf + 12))
        return pkg__fail(msg, msglen, OFPKG_ERR_FORMAT,
                         "package header declares header_len %u and manifest_len %lu"
                         " (version 1 has %u and %u, reserved zero): the header is damaged; "
                         "sign the package again",
                         hlen, (unsigned long)mlen, OFPKG_HEADER_LEN, OFPKG_MANIFEST_LEN);
    if (len < OFPKG_SIGNED_LEN)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the package is %zu bytes: shorter than its %u-byte header and "
                         "manifest; transfer it again",
                         len, OFPKG_SIGNED_LEN);

    ofpkg_err e;
    if ((e = get_str(buf + M(0), OFPKG_FAMILY_MAX, m->family, "family", 1, msg, msglen)) ||
        (e = get_str(buf + M(32), OFPKG_SUFFIX_MAX, m->suffix, "suffix", 0, msg, msglen)) ||
        (e = get_str(buf + M(48), OFPKG_HWID_MAX, m->hw_id, "hw_id", 1, msg, msglen)))
        return e;
    get_version(buf + M(80), &m->target);
    get_version(buf + M(88), &m->base);
    m->counter = pkg__le64(buf + M(96));
    m->kind = buf[M(104)];
    m->delta_window = pkg__le32(buf + M(108));
    m->payload_len = pkg__le64(buf + M(112));
    m->result_len = pkg__le64(buf + M(120));
    m->base_len = pkg__le64(buf + M(128));
    memcpy(m->payload_sha256, buf + M(136), 32);
    memcpy(m->base_sha256, buf + M(168), 32);
    memcpy(m->result_sha256, buf + M(200), 32);
    memcpy(m->key_id, buf + M(232), OFPKG_KEY_ID_LEN);

    if (!is_zero(buf + M(105), 3) || !is_zero(buf + M(240), 16))
        return pkg__fail(msg, msglen, OFPKG_ERR_FORMAT,
                         "manifest reserved bytes are not zero: the manifest is damaged or "
                         "comes from a newer format; sign the package again");
    if (version_zero(&m->target))
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest target version is 0.0.0: sign the package again with "
                         "--version CORE.X.Z");
    if (!m->counter)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest release counter is 0: counters start at 1 and must grow "
                         "with every release; sign the package again with --counter N");
    if (!m->payload_len || m->payload_len > OFPKG_MAX_IMAGE)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest payload_len is %llu bytes: it must be 1 to %llu; the "
                         "manifest is damaged",
                         (unsigned long long)m->payload_len, OFPKG_MAX_IMAGE);
    if (!m->result_len || m->result_len > OFPKG_MAX_IMAGE)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest result_len is %llu bytes: it must be 1 to %llu; the "
                         "manifest is damaged",
                         (unsigned long long)m->result_len, OFPKG_MAX_IMAGE);
    if (m->kind == OFPKG_KIND_FULL) {
        if (!version_zero(&m->base) || m->base_len || !is_zero(m->base_sha256, 32) ||
            m->delta_window)
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest of a full package states a base (version, length, "
                             "SHA-256 or delta window): only a delta has one; sign it again "
                             "without --base-version/--delta-base, or as a delta");
        if (m->payload_len != m->result_len || memcmp(m->payload_sha256, m->result_sha256, 32))
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest of a full package has a payload (%llu"
                             " bytes) different from its result image (%llu"
                             " bytes or SHA-256): in a full package the payload is the image; "
                             "sign the package again",
                             (unsigned long long)m->payload_len, (unsigned long long)m->result_len);
    } else if (m->kind == OFPKG_KIND_DELTA) {
        if (is_zero(m->base_sha256, 32))
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest of a delta package has no base SHA-256: the device could "
                             "not tell which image the delta applies to; sign it again with "
                             "--delta-base OLD.bin");
        if (m->base_len > OFPKG_MAX_IMAGE)
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest base_len is %llu bytes, over the limit of %llu; "
                             "the manifest is damaged",
                             (unsigned long long)m->base_len, OFPKG_MAX_IMAGE);
        if (m->delta_window > 64u * 1024u * 1024u)
            return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                             "manifest delta_window is %lu bytes, over 64 MiB; the "
                             "manifest is damaged",
                             (unsigned long)m->delta_window);
    } else {
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "manifest kind is %u: only 1 (full) and 2 (delta) exist; the manifest "
                         "is damaged or from a newer format",
                         m->kind);
    }
    return OFPKG_OK;
}

static ofpkg_err put_str(uint8_t *p, size_t n, const char *s, const char *name, char *msg,
                         size_t msglen)
{
    size_t len = 0;
    while (len <= n && s[len])
        len++;
    if (len > n)
        return pkg__fail(msg, msglen, OFPKG_ERR_FIELD,
                         "%s is longer than %zu characters; use a shorter %s", name, n, name);
    memcpy(p, s, len);
    return OFPKG_OK;
}

static void put_version(uint8_t *p, const ofpkg_version *v)
{
    pkg__put32(p, v->core);
    pkg__put16(p + 4, v->x);
    pkg__put16(p + 6, v->z);
}

ofpkg_err ofpkg_manifest_serialize(const ofpkg_manifest *m, uint8_t out[OFPKG_SIGNED_LEN],
                                   char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!m || !out)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_manifest_serialize: NULL argument");
    memset(out, 0, OFPKG_SIGNED_LEN);
    pkg__put32(out, OFPKG_MAGIC);
    pkg__put16(out + 4, OFPKG_FORMAT_VERSION);
    pkg__put16(out + 6, OFPKG_HEADER_LEN);
    pkg__put32(out + 8, OFPKG_MANIFEST_LEN);
    ofpkg_err e;
    if ((e = put_str(out + M(0), OFPKG_FAMILY_MAX, m->family, "family", msg, msglen)) ||
        (e = put_str(out + M(32), OFPKG_SUFFIX_MAX, m->suffix, "suffix", msg, msglen)) ||
        (e = put_str(out + M(48), OFPKG_HWID_MAX, m->hw_id, "hw_id", msg, msglen)))
        return e;
    put_version(out + M(80), &m->target);
    put_version(out + M(88), &m->base);
    pkg__put64(out + M(96), m->counter);
    out[M(104)] = m->kind;
    pkg__put32(out + M(108), m->delta_window);
    pkg__put64(out + M(112), m->payload_len);
    pkg__put64(out + M(120), m->result_len);
    pkg__put64(out + M(128), m->base_len);
    memcpy(out + M(136), m->payload_sha256, 32);
    memcpy(out + M(168), m->base_sha256, 32);
    memcpy(out + M(200), m->result_sha256, 32);
    memcpy(out + M(232), m->key_id, OFPKG_KEY_ID_LEN);
    ofpkg_manifest check;
    return ofpkg_manifest_parse(out, OFPKG_SIGNED_LEN, &check, msg, msglen);
}

ofpkg_err ofpkg_sigblock_parse(const uint8_t *buf, size_t len, const uint8_t **sig, size_t *siglen,
                               char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf || !sig || !siglen)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_sigblock_parse: NULL argument");
    *sig = NULL;
    *siglen = 0;
    if (len < OFPKG_SIGBLOCK_HDR)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the signature block is missing or cut short (%zu of at least %u "
                         "bytes): the package is incomplete; transfer it again",
                         len, OFPKG_SIGBLOCK_HDR + OFPKG_SIG_MIN);
    if (pkg__le32(buf) != OFPKG_SIG_MAGIC)
        return pkg__fail(msg, msglen, OFPKG_ERR_FORMAT,
                         "no signature block (magic \"OFSG\") after the payload: the payload "
                         "length in the manifest does not match the file, or the package is "
                         "damaged; sign it again");
    uint16_t alg = pkg__le16(buf + 4), sl = pkg__le16(buf + 6);
    if (alg != OFPKG_SIGALG_ECDSA_P256_SHA256)
        return pkg__fail(msg, msglen, OFPKG_ERR_UNSUPPORTED,
                         "signature algorithm %u: this build knows only 1 (ECDSA P-256 with "
                         "SHA-256); sign the package again with openfota",
                         alg);
    if (sl < OFPKG_SIG_MIN || sl > OFPKG_SIG_MAX)
        return pkg__fail(msg, msglen, OFPKG_ERR_FORMAT,
                         "signature length %u is outside %u..%u bytes for ECDSA P-256: the "
                         "signature block is damaged; sign the package again",
                         sl, OFPKG_SIG_MIN, OFPKG_SIG_MAX);
    if (len < (size_t)OFPKG_SIGBLOCK_HDR + sl)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the signature is cut short (%zu of %u bytes): the package is "
                         "incomplete; transfer it again",
                         len - OFPKG_SIGBLOCK_HDR, sl);
    if (len > (size_t)OFPKG_SIGBLOCK_HDR + sl)
        return pkg__fail(msg, msglen, OFPKG_ERR_LENGTH,
                         "%zu bytes follow the signature: the package has data appended after "
                         "its end; use the file exactly as 'openfota package sign' wrote it",
                         len - OFPKG_SIGBLOCK_HDR - sl);
    *sig = buf + OFPKG_SIGBLOCK_HDR;
    *siglen = sl;
    return OFPKG_OK;
}

ofpkg_err ofpkg_package_parse(const uint8_t *buf, size_t len, ofpkg_manifest *m,
                              const uint8_t **payload, const uint8_t **sig, size_t *siglen,
                              char *msg, size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!buf || !m || !payload || !sig || !siglen)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_package_parse: NULL argument");
    *payload = NULL;
    ofpkg_err e = ofpkg_manifest_parse(buf, len, m, msg, msglen);
    if (e)
        return e;
    uint64_t rest = (uint64_t)len - OFPKG_SIGNED_LEN;
    if (rest < m->payload_len)
        return pkg__fail(msg, msglen, OFPKG_ERR_TRUNCATED,
                         "the package holds %llu payload bytes but the manifest announces "
                         "%llu: the package is incomplete; transfer it again",
                         (unsigned long long)rest, (unsigned long long)m->payload_len);
    *payload = buf + OFPKG_SIGNED_LEN;
    size_t sb = (size_t)(rest - m->payload_len);
    return ofpkg_sigblock_parse(buf + OFPKG_SIGNED_LEN + m->payload_len, sb, sig, siglen, msg,
                                msglen);
}

void ofpkg_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

const char *ofpkg_kind_name(uint8_t kind)
{
    return kind == OFPKG_KIND_FULL ? "full" : kind == OFPKG_KIND_DELTA ? "delta" : "unknown";
}
