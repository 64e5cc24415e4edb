/*
 * health.h — GET /healthz and GET /readyz: answers for load balancers and
 * the systemd watchdog, without the admin token.
 *
 *   /healthz  200 {"status":"alive"} whenever a worker answers at all.
 *   /readyz   200 {"ready":true,...} when the database takes writes (the
 *             writer's last write succeeded, within the last
 *             HEALTH_WRITE_STALE_S seconds, and no write has waited more
 *             than HEALTH_WRITE_SLOW_S for the database) and the writer's
 *             queue is below its bound; else 503 {"ready":false,"reason":...}.
 * Both answer from memory (writer_health), never touching the database, so
 * they are safe on the device workers. GET and HEAD only (405 otherwise).
 */
#ifndef OPENFOTA_SERVER_HEALTH_H
#define OPENFOTA_SERVER_HEALTH_H

#include <stddef.h>

#include "http.h"

#define HEALTH_WRITE_STALE_S 30 /* no successful write for this long: not ready */
#define HEALTH_WRITE_SLOW_S 8   /* a write waiting this long for the database: not ready */

struct of_server;

/* 1 when path (len bytes, raw) is /healthz or /readyz. */
int health_is_path(const char *path, size_t len);
/* The router's handler for those two paths. */
void health_handle(struct of_server *s, http_req *r, http_phase phase);

/* The /readyz verdict: 1 ready, 0 not (reason filled, NUL-terminated). */
int health_ready(struct of_server *s, char *reason, size_t cap);

#endif
