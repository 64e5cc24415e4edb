/*
 * admin.h — the admin side of the server: what operators and their tools
 * reach.
 *
 *   admin.c       the /admin/v1 JSON API (projects, firmware, packages,
 *                 devices, files, status); Bearer-token auth; runs on the
 *                 HTTP engine's admin worker so slow writes never hold up
 *                 device checks
 *   auth.c        named admin tokens with roles (viewer, operator, admin),
 *                 the role matrix, the failed-login back-off
 *   admin_auth.c  the gate every admin request passes (401/403/429), the
 *                 token and audit routes, the audit log of every write
 *   metrics.c     per-thread counters and histograms, summed when read
 *                 (metrics.h)
 *   metrics_http.c GET /metrics (Prometheus text) and GET /admin/v1/stats
 *   fleet_glue.c  the hooks that connect the fleet component (fleet/: push
 *                 channels, staged rollouts) to the server's snapshot,
 *                 device table and writer; starts the webhook sender
 *                 (notify/webhook.h) the fleet's events go to
 *   drafts.c      draft packages: the upload's ?draft= and the release
 *                 route (drafts.h)
 *
 * Admin writes are serialized by of_server.admin_mu, go to the store first
 * and then swap a fresh snapshot (server_reload).
 */
#ifndef OPENFOTA_SERVER_ADMIN_H
#define OPENFOTA_SERVER_ADMIN_H

#include <stddef.h>

#include <jansson.h>

#include "auth.h"
#include "http.h"

struct of_server;

/* The admin API's JSON answers, shared by every admin/ file: the object j
 * (consumed; 500 when it cannot be written), or {"error","hint"}. */
void admin_reply_json(http_req *r, unsigned status, json_t *j);
void admin_reply_err(http_req *r, unsigned status, const char *error, const char *hint);

/* Every request under /admin/v1 (routed in serve.c). */
void admin_handle(struct of_server *s, http_req *r, http_phase phase, const char *data, size_t len);

/* Who calls, and may they (the role matrix)? Answers 429 (login back-off),
 * 401 or 403 itself and returns 0; returns 1 with *who filled when the
 * request may go on. Records refusals in the audit log. */
int admin_gate(struct of_server *s, http_req *r, auth_principal *who);
/* The token and audit routes (seg0 "tokens" or "audit"): answers and
 * returns 1, or 0 when seg0 is neither. body is the JSON body (len bytes). */
int admin_auth_route(struct of_server *s, http_req *r, const char *seg0, int nseg, const char *seg1,
                     const char *body, size_t len, const auth_principal *who);
/* Append one entry to the audit log (route is route_len bytes, not
 * NUL-terminated); every ~1000 entries, prune past audit_retention_days. */
void audit_record(struct of_server *s, const char *token, const char *addr, const char *method, const char *route,
                  size_t route_len, const char *target, unsigned status, const char *detail);
/* Drop audit entries older than audit_retention_days. */
void audit_prune(struct of_server *s);

/* GET /metrics (any admin token; routed in serve.c, run on the admin
 * worker) and GET /admin/v1/stats (after admin_gate). metrics_http.c. */
void metrics_handle(struct of_server *s, http_req *r, http_phase phase);
void stats_handle(struct of_server *s, http_req *r);

/* Create and start the fleet component with the server's hooks.
 * 0 ok, -1 failed (logged). */
int fleet_glue_start(struct of_server *s);

#endif
