/* Fuzz the device check parsing: a raw request target split like the HTTP
 * layer does, the URL-without-'?' detector, the query parser, the identity
 * rules and the version parser on what the query carried. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (t == NULL)
        return 0;
    memcpy(t, data, size);
    t[size] = 0;
    size_t len = strlen(t); /* the HTTP layer sees a C string */
    char *q = memchr(t, '?', len);
    size_t plen = q ? (size_t)(q - t) : len;
    size_t off;
    const char *query = q ? q + 1 : NULL;
    size_t qlen = q ? len - plen - 1 : 0;
    if (query_path_mistake(t, plen, &off)) {
        query = t + off;
        qlen = plen - off;
    }
    dev_query d;
    if (query_parse(query, qlen, &d) == QUERY_OK) {
        char id[DEVICE_ID_MAX];
        const char *why = NULL;
        if (query_identity(&d, id, &why) == 0) {
            if (strlen(id) >= DEVICE_ID_MAX)
                abort();
        } else if (why == NULL) {
            abort();
        }
        of_version v;
        if (version_parse(d.version.p, d.version.len, &v) == VERSION_OK &&
            (v.core > VERSION_CORE_MAX || v.x > VERSION_PART_MAX || v.z > VERSION_PART_MAX))
            abort();
        if (d.project_key.p && (d.project_key.p < query || d.project_key.p + d.project_key.len > query + qlen))
            abort();
    }
    char id2[DEVICE_ID_MAX];
    const char *why2;
    device_id_canon(t, len, id2, &why2);
    free(t);
    return 0;
}
