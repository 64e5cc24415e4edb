/*
 * push_devid.c — is an id given to `push` a device id at all? The same
 * forms the update server takes as a device's identity (server/proto/query.c,
 * device_id_canon): an IMEI of 14 to 17 digits (an IMEI has 15), a Wi-Fi MAC
 * with ':' or '-' separators, or 12 to 32 hex digits (MAC, MCU unique id).
 */
#include "push_parse.h"

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int push_device_id_valid(const char *s, size_t len, const char **why)
{
    static const char *const what =
        "not a device id: an IMEI (15 digits; 14 to 17 accepted), a MAC (aa:bb:cc:dd:ee:ff or 12 hex digits) "
        "or an MCU unique id (12 to 32 hex digits)";
    *why = what;
    if (s == NULL || len == 0)
        return 0;
    int digits = 1, hex = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            digits = 0;
        if (!is_hex(s[i]))
            hex = 0;
    }
    if (digits && len >= 14 && len <= 17)
        return 1;
    if (len == 17 && (s[2] == ':' || s[2] == '-')) {
        for (size_t i = 0; i < 17; i++)
            if (i % 3 == 2 ? s[i] != s[2] : !is_hex(s[i]))
                return 0;
        return 1;
    }
    return hex && len >= 12 && len <= 32;
}
