/*
 * admin.h — the admin side of the server: what operators and their tools
 * reach.
 *
 *   admin.c       the /admin/v1 JSON API (projects, firmware, packages,
 *                 devices, files, status); Bearer-token auth; runs on the
 *                 HTTP engine's admin worker so slow writes never hold up
 *                 device checks
 *   fleet_glue.c  the hooks that connect the fleet component (fleet/: push
 *                 channels, staged rollouts) to the server's snapshot,
 *                 device table and writer
 *
 * Admin writes are serialized by of_server.admin_mu, go to the store first
 * and then swap a fresh snapshot (server_reload).
 */
#ifndef OPENFOTA_SERVER_ADMIN_H
#define OPENFOTA_SERVER_ADMIN_H

#include <stddef.h>

#include "http.h"

struct of_server;

/* Every request under /admin/v1 (routed in serve.c). */
void admin_handle(struct of_server *s, http_req *r, http_phase phase, const char *data, size_t len);

/* Create and start the fleet component with the server's hooks.
 * 0 ok, -1 failed (logged). */
int fleet_glue_start(struct of_server *s);

#endif
