/*
 * report_auth.h — signed device status reports (docs/api.md, "Device
 * status reports"). A report that moves rollout counters must be signed
 * with the device's key, the same per-device key as on the push port:
 * HMAC-SHA256(push master key, device id) (`openfota push key ID`).
 *
 *   X-Openfota-Time: <milliseconds since 1970, decimal>
 *   X-Openfota-Auth: <hex HMAC-SHA256(device key, time + "\n" + body)>
 *
 * The time must be within REPORT_AUTH_WINDOW_MS of the server's clock and
 * later than the last signed report accepted from that device (kept in
 * memory: a replay inside the window is refused). MACs are compared in
 * constant time. Without a push key (push_key_file) no report can be
 * verified: reports are then history only.
 */
#ifndef OPENFOTA_SERVER_REPORT_AUTH_H
#define OPENFOTA_SERVER_REPORT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_AUTH_WINDOW_MS 300000LL

struct of_server;

typedef enum report_auth {
    REPORT_UNSIGNED = 0, /* no X-Openfota-Auth: history only ("unverified") */
    REPORT_SIGNED = 1,   /* signature and time good (replay still to check) */
    REPORT_BAD = -1      /* signed, but wrong: *why says what */
} report_auth;

/* Load the push master key (s->cfg.push_key_file) for report checks into
 * s->report_key. 0 ok or no key configured, -1 unreadable/invalid (logged). */
int report_auth_load(struct of_server *s);

/* Check a report's signature. time_hdr/auth_hdr may be NULL. *t_ms gets
 * the report's time when signed. */
report_auth report_auth_check(const struct of_server *s, const char *id, const char *time_hdr, const char *auth_hdr,
                              const char *body, size_t len, int64_t now_ms, int64_t *t_ms, const char **why);

#endif
