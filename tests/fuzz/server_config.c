/* Fuzz the `key = value` config file parser: any text gives a result or an
 * error message, and accepted settings stay inside their bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    of_config c;
    char err[512];
    config_defaults(&c);
    err[0] = 0;
    if (config_parse_text(&c, (const char *)data, size, err, sizeof err) == 0) {
        if (c.threads < 1 || c.threads > 64 || c.conn_memory < 4096 || c.upload_max == 0 ||
            strnlen(c.listen, sizeof c.listen) == sizeof c.listen || strnlen(c.data, sizeof c.data) == sizeof c.data)
            abort();
    } else if (err[0] == 0) {
        abort();
    }
    return 0;
}
