/* Fuzz the X-Forwarded-For reading (http/proxy.c): whatever the header
 * holds, the answer is an address that parses, or none. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static proxy_list l;
    static int init;
    char err[128];
    if (!init) {
        proxy_list_parse("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8", &l, err, sizeof err);
        init = 1;
    }
    char *h = malloc(size + 1);
    if (h == NULL)
        return 0;
    memcpy(h, data, size);
    h[size] = 0;
    char out[PROXY_ADDR_TEXT];
    unsigned char a[16];
    if (proxy_client(&l, h, NULL, out, sizeof out) &&
        inet_pton(AF_INET, out, a) != 1 && inet_pton(AF_INET6, out, a) != 1)
        abort();
    if (proxy_client(&l, NULL, h, out, sizeof out) &&
        inet_pton(AF_INET, out, a) != 1 && inet_pton(AF_INET6, out, a) != 1)
        abort();
    proxy_list pl;
    (void)proxy_list_parse(h, &pl, err, sizeof err);
    free(h);
    return 0;
}
