/* Fuzz the request-head check and split (server/http/http_head.c): what the
 * HTTP layer does with the bytes a client sends before its body. The
 * properties: no crash, a refusal always carries a status and a reason, and
 * an accepted head's strings all lie inside the buffer it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_head.h"

static int inside(const char *p, const char *b, size_t n)
{
    return p >= b && p + strlen(p) < b + n + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t hl = http_head_length((const char *)data, size);
    if (hl == 0)
        return 0;
    if (hl > size)
        abort();
    char *b = malloc(hl + 1);
    if (b == NULL)
        return 0;
    memcpy(b, data, hl);
    b[hl] = 0;
    http_head h;
    const char *why = NULL;
    unsigned st = http_head_parse(b, hl, &h, &why);
    if (why == NULL)
        abort();
    if (st != 0) {
        if (st != 400 && st != 417 && st != 431 && st != 501 && st != 505)
            abort();
        if (why[0] == 0)
            abort();
    } else {
        if (!inside(h.target, b, hl) || strlen(h.target) != h.target_len || h.nfields > HTTP_HEAD_MAX_HEADERS)
            abort();
        if (h.chunked && h.has_content_length)
            abort();
        if (h.http_minor > 1 || h.method == NULL)
            abort();
        for (size_t i = 0; i < h.nfields; i++)
            if (!inside(h.fields[i].name, b, hl) || !inside(h.fields[i].value, b, hl) || h.fields[i].name[0] == 0)
                abort();
    }
    free(b);
    return 0;
}
