/*
 * sim_local.c — is a server address on this machine? Loopback, or one of
 * the machine's own interface addresses (getifaddrs): the first screen of
 * `openfota serve --listen 0.0.0.0:…` prints such an address, and a load
 * on it stays on this machine.
 */
#include "sim_internal.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* The IPv4 address an AF_INET or v4-mapped AF_INET6 sockaddr holds; 0 none. */
static int v4_of(const struct sockaddr *sa, struct in_addr *out)
{
    if (sa->sa_family == AF_INET) {
        *out = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        return 1;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            memcpy(&out->s_addr, a->s6_addr + 12, 4);
            return 1;
        }
    }
    return 0;
}

int sim_addr_is_local(const void *sockaddr)
{
    const struct sockaddr *sa = sockaddr;
    if (sim_addr_is_loopback(sockaddr))
        return 1;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return 0;
    int local = 0;
    struct in_addr want4, have4;
    int is4 = v4_of(sa, &want4);
    for (struct ifaddrs *i = ifs; i && !local; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (is4) {
            local = v4_of(i->ifa_addr, &have4) && have4.s_addr == want4.s_addr;
        } else if (sa->sa_family == AF_INET6 && i->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const void *)sa, *b = (const void *)i->ifa_addr;
            local = memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0 &&
                    (!IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || a->sin6_scope_id == 0 ||
                     a->sin6_scope_id == b->sin6_scope_id);
        }
    }
    freeifaddrs(ifs);
    return local;
}
