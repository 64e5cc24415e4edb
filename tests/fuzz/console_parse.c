/* libFuzzer target: the console's parsers (console_parse.h) on any bytes:
 * the Cookie header, the login body as JSON and as a form, the Origin check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    char out[65];
    const char *why;
    console_cookie_get(s, "openfota_session", out, sizeof out);
    console_login_token("application/json", s, size, out, sizeof out, &why);
    console_login_token("application/x-www-form-urlencoded", s, size, out, sizeof out, &why);
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        console_origin_ok(s, nl + 1, nl + 1);
    } else {
        console_origin_ok(s, "127.0.0.1:8080", "https://fota.example.com");
    }
    free(s);
    return 0;
}
