/* libFuzzer target: a server's answer as the simulator reads it. */
#include <stddef.h>
#include <stdint.h>

#include "sim_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    if (size > 65536)
        return 0;
    size_t end = sim_http_head_end(p, size);
    sim_http_head h;
    if (end) {
        if (sim_http_parse_head(p, end, &h) == SIM_HTTP_OK) {
            /* invariants the loop relies on */
            if (h.status < 100 || h.status > 599)
                __builtin_trap();
            if (h.etag[sizeof(h.etag) - 1] != '\0' || h.version[sizeof(h.version) - 1] != '\0')
                __builtin_trap();
        }
        (void)sim_http_json_code(p + end, size - end);
    } else {
        (void)sim_http_parse_head(p, size, &h);
        (void)sim_http_json_code(p, size);
    }
    return 0;
}
