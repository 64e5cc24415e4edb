/*
 * sim_request.c — the bytes a simulated device sends.
 *
 * Requests come from the device library's fota_build_request(), so the
 * simulator and a device built on of_device send byte-identical checks (and
 * both follow docs/api.md and the libfota2 protocol: parameters appended
 * without separator or encoding unless the URL starts with "###", Host with
 * the port, Connection: Close). The agent profile resumes like
 * fota_download(): the same request plus "Range: bytes=N-" and, when the
 * server gave an ETag, "If-Range: <etag>".
 */
#include "sim_internal.h"

#include <fota.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int sim_request_build(const sim_req_params *p, char *out, size_t cap, sim_target *target,
                      char *err, size_t errcap)
{
    char ver[32];
    char extra[64 + SIM_ETAG_MAX];
    if (sim_version_format(p->version, ver, sizeof(ver)) < 0) {
        snprintf(err, errcap, "version does not fit");
        return -1;
    }
    fota_opts o;
    memset(&o, 0, sizeof(o));
    o.url = p->url;
    o.version = ver;
    o.project_key = p->project_key;
    o.imei = p->imei;
    o.firmware_name = p->firmware;
    if (p->resume_from > 0) {
        int n;
        if (p->etag && p->etag[0])
            n = snprintf(extra, sizeof(extra), "Range: bytes=%llu-\r\nIf-Range: %s\r\n",
                         (unsigned long long)p->resume_from, p->etag);
        else
            n = snprintf(extra, sizeof(extra), "Range: bytes=%llu-\r\n",
                         (unsigned long long)p->resume_from);
        if (n < 0 || (size_t)n >= sizeof(extra)) {
            snprintf(err, errcap, "resume headers do not fit");
            return -1;
        }
        o.headers = extra;
    }
    fota_target t;
    memset(&t, 0, sizeof(t));
    int n = fota_build_request(&o, out, cap, &t);
    if (n < 0) {
        snprintf(err, errcap, "%s", fota_strerror(n));
        return -1;
    }
    if (target) {
        snprintf(target->host, sizeof(target->host), "%s", t.host);
        target->port = t.port;
        target->tls = t.tls;
    }
    return n;
}

int sim_addr_is_loopback(const void *sockaddr)
{
    const struct sockaddr *sa = sockaddr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = sockaddr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = sockaddr;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return a[12] == 127;
    }
    return 0;
}
