/*
 * static.c — GET/HEAD /download/<name>: files uploaded for '###' URLs.
 *
 * The name is validated on the RAW request path (no decoding happens, so
 * %2e%2e, ..%5c, double encoding and overlong UTF-8 all fail the character
 * rule) and then looked up in the snapshot; the file is opened by its
 * SHA-256 path. No filesystem path is ever built from the request.
 */
#include "server.h"

#include <string.h>

int static_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > NAME_MAX_LEN || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static void not_found(http_req *r)
{
    static const char body[] = "{\"error\":\"no such file\","
                               "\"hint\":\"upload it with openfota file put FILE; names are [A-Za-z0-9._-]\"}";
    http_reply(r, 404, "application/json", body, sizeof body - 1, NULL, 0);
}

void static_handle(of_server *s, http_req *r, http_phase phase)
{
    /* answered once the request is complete (any body is discarded): an
     * answer queued before that closes the connection after it */
    if (phase != HTTP_PHASE_END)
        return;
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        static const char body[] = "{\"error\":\"method not allowed\",\"hint\":\"use GET or HEAD\"}";
        http_hdr h[] = {{"Allow", "GET, HEAD"}};
        http_reply(r, 405, "application/json", body, sizeof body - 1, h, 1);
        return;
    }
    const char *name = r->path + 10; /* after "/download/" */
    size_t len = r->path_len - 10;
    if (!static_name_valid(name, len)) {
        not_found(r);
        return;
    }
    snapshot *snap = snap_acquire(&s->snaps);
    const cat_file *f = snap_file_by_name(snap, name, len);
    if (f == NULL) {
        snapshot_unref(snap);
        not_found(r);
        return;
    }
    char sha[65];
    memcpy(sha, f->sha256, sizeof sha);
    uint64_t size = f->size;
    snapshot_unref(snap);
    serve_blob(s, r, sha, size);
}
