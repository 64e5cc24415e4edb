/*
 * health.c — GET /healthz and GET /readyz (health.h).
 */
#include "health.h"

#include "server.h"

#include <stdio.h>
#include <string.h>

int health_is_path(const char *path, size_t len)
{
    return (len == 8 && !memcmp(path, "/healthz", 8)) || (len == 7 && !memcmp(path, "/readyz", 7));
}

int health_ready(of_server *s, char *reason, size_t cap)
{
    writer_status ws;
    writer_health(s->wr, &ws);
    if (ws.failing) {
        snprintf(reason, cap, "the database refused the last %u writes (see the server log)", ws.failing);
        return 0;
    }
    if (ws.in_write > HEALTH_WRITE_SLOW_S) {
        snprintf(reason, cap, "a write has waited %lld s for the database (locked by another process, or the disk "
                              "hangs)",
                 (long long)ws.in_write);
        return 0;
    }
    if (ws.since_ok > HEALTH_WRITE_STALE_S) {
        snprintf(reason, cap, "no write reached the database for %lld s (the database is locked or the disk hangs)",
                 (long long)ws.since_ok);
        return 0;
    }
    if (ws.queued >= ws.queue_max) {
        snprintf(reason, cap, "the history queue is full (%zu events): the disk does not keep up", ws.queued);
        return 0;
    }
    reason[0] = 0;
    return 1;
}

void health_handle(of_server *s, http_req *r, http_phase phase)
{
    if (phase != HTTP_PHASE_END)
        return;
    static const http_hdr nocache[] = {{"Cache-Control", "no-store"}, {"Allow", "GET, HEAD"}};
    if (strcmp(r->method, "GET") != 0 && !r->is_head) {
        static const char body[] = "{\"error\":\"method not allowed\",\"hint\":\"use GET or HEAD\"}";
        http_reply(r, 405, "application/json", body, sizeof body - 1, nocache, 2);
        return;
    }
    if (r->path_len == 8) { /* /healthz */
        static const char body[] = "{\"status\":\"alive\"}";
        http_reply(r, 200, "application/json", body, sizeof body - 1, nocache, 1);
        return;
    }
    char reason[200], body[400];
    writer_status ws;
    writer_health(s->wr, &ws);
    int ok = health_ready(s, reason, sizeof reason);
    int n;
    if (ok)
        n = snprintf(body, sizeof body,
                     "{\"ready\":true,\"database\":\"writable\",\"writer_queue\":%zu,\"writer_queue_max\":%zu}",
                     ws.queued, ws.queue_max);
    else
        n = snprintf(body, sizeof body,
                     "{\"ready\":false,\"reason\":\"%s\",\"writer_queue\":%zu,\"writer_queue_max\":%zu}", reason,
                     ws.queued, ws.queue_max);
    http_reply(r, ok ? 200 : 503, "application/json", body, (size_t)n, nocache, 1);
}
