/*
 * proxy.h — the client's address behind a reverse proxy the operator trusts.
 *
 * A request whose direct peer is one of the trusted proxies (addresses or
 * networks, "127.0.0.1, 10.0.0.0/8, ::1") carries the client's address in
 * X-Forwarded-For: the client is the rightmost entry that is not itself a
 * trusted proxy (entries further left were written by whoever sent the
 * request and prove nothing). X-Real-IP is used when there is no
 * X-Forwarded-For. From any other peer both headers are ignored.
 *
 * Pure functions over caller-owned memory; the header text is outside
 * input (bounded by PROXY_XFF_MAX; fuzzed; fixtures in
 * tests/fixtures/bad/xff).
 */
#ifndef OPENFOTA_SERVER_PROXY_H
#define OPENFOTA_SERVER_PROXY_H

#include <stddef.h>

#define PROXY_NETS_MAX 32
#define PROXY_XFF_MAX 2048 /* longer headers are not read */
#define PROXY_ADDR_TEXT 64

typedef struct proxy_net {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix; /* bits */
} proxy_net;

typedef struct proxy_list {
    proxy_net nets[PROXY_NETS_MAX];
    size_t n;
} proxy_list;

/* Parse "ADDR[/BITS][, ...]" (IPv4 or IPv6; "" or "none" = empty list).
 * 0 ok, -1 with a message in err naming the entry. */
int proxy_list_parse(const char *text, proxy_list *out, char *err, size_t errlen);
/* 1 when addr (4 or 16 bytes of family) lies in one of the networks. */
int proxy_list_match(const proxy_list *l, int family, const unsigned char *addr);
/* The client address from X-Forwarded-For (xff) or X-Real-IP (real_ip),
 * either may be NULL, as canonical text into out[cap]. 1 found, 0 when the
 * headers name no usable address (then the direct peer is the client). */
int proxy_client(const proxy_list *l, const char *xff, const char *real_ip, char *out, size_t cap);

#endif
