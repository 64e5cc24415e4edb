/* libFuzzer target: the first line a device sends on the TCP push port
 * (IMEI digits, hex id or JSON {"imei":…}) and the command builder fed
 * with whatever it accepted. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "offleet.h"
#include "push_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1];
    const char *why = NULL;
    /* the listener never hands over more than line_max bytes */
    if (size > 4096)
        size = 4096;
    int rc = push_parse_ident((const char *)data, size, id, ver, &why);
    if (rc == 0) {
        if (!push_id_valid(id, strlen(id)) || strlen(ver) > PUSH_VERSION_MAX)
            __builtin_trap();
        char url[160], line[512];
        memcpy(url, "http://h/u?imei=", 16);
        strcpy(url + 16, id);
        if (push_build_command(url, ver, line, sizeof line) <= 0)
            __builtin_trap();
    } else if (!why) {
        __builtin_trap(); /* every refusal says why */
    }
    return 0;
}
