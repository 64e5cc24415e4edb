/*
 * policy.c — may this (signed) package be installed on this device?
 *
 * Portable, no heap, no crypto: the device library calls it right after the
 * manifest arrives (to refuse before downloading the payload) and again,
 * trusting the result only after the signature has verified.
 *
 * Refusals, in this order: another firmware family or layout suffix, another
 * hardware id, a release counter lower than the installed one (rollback), a
 * delta made for another base image, a payload or result image larger than
 * the slot.
 */
#include <string.h>

#include "pkg_internal.h"

static const char *nz(const char *s) { return s ? s : ""; }

ofpkg_err ofpkg_check_install(const ofpkg_manifest *m, const ofpkg_device_state *dev, char *msg,
                              size_t msglen)
{
    pkg__clear(msg, msglen);
    if (!m || !dev)
        return pkg__fail(msg, msglen, OFPKG_ERR_ARG, "ofpkg_check_install: NULL argument");
    if (strcmp(m->family, nz(dev->family)))
        return pkg__fail(msg, msglen, OFPKG_ERR_FAMILY,
                         "package is for firmware family '%s' but this device runs '%s': "
                         "publish the package built for '%s'",
                         m->family, nz(dev->family), nz(dev->family));
    if (strcmp(m->suffix, nz(dev->suffix)))
        return pkg__fail(msg, msglen, OFPKG_ERR_FAMILY,
                         "package is for layout suffix '%s' but this device uses '%s': the "
                         "flash layouts differ; publish the package built for suffix '%s'",
                         m->suffix, nz(dev->suffix), nz(dev->suffix));
    if (strcmp(m->hw_id, nz(dev->hw_id)))
        return pkg__fail(msg, msglen, OFPKG_ERR_HWID,
                         "package is for hardware '%s' but this device is '%s': publish the "
                         "package built for this hardware",
                         m->hw_id, nz(dev->hw_id));
    if (m->counter < dev->counter)
        return pkg__fail(msg, msglen, OFPKG_ERR_ROLLBACK,
                         "package release counter %llu is lower than the installed %llu"
                         ": installing it would roll back to an older release; sign the "
                         "release again with a counter of at least %llu",
                         (unsigned long long)m->counter, (unsigned long long)dev->counter, (unsigned long long)dev->counter);
    if (m->kind == OFPKG_KIND_DELTA) {
        if (!dev->installed_sha256)
            return pkg__fail(msg, msglen, OFPKG_ERR_BASE,
                             "package is a delta but this device does not know the SHA-256 of "
                             "its running image: send it the full package");
        if (memcmp(m->base_sha256, dev->installed_sha256, 32) ||
            (dev->installed_len && m->base_len && dev->installed_len != m->base_len)) {
            char want[65], have[65];
            ofpkg_hex(m->base_sha256, 32, want);
            ofpkg_hex(dev->installed_sha256, 32, have);
            return pkg__fail(msg, msglen, OFPKG_ERR_BASE,
                             "package is a delta from base image %.16s... but this device runs "
                             "%.16s...: send it the full package or a delta made from its image",
                             want, have);
        }
    }
    if (m->payload_len > dev->slot_size)
        return pkg__fail(msg, msglen, OFPKG_ERR_TOO_BIG,
                         "package payload is %llu bytes but the slot holds %llu"
                         ": build a smaller image or a delta",
                         (unsigned long long)m->payload_len, (unsigned long long)dev->slot_size);
    if (m->result_len > dev->slot_size)
        return pkg__fail(msg, msglen, OFPKG_ERR_TOO_BIG,
                         "package would produce a %llu-byte image but the slot holds %llu"
                         ": build a smaller image",
                         (unsigned long long)m->result_len, (unsigned long long)dev->slot_size);
    return OFPKG_OK;
}
