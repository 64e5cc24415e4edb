/*
 * guard.h — flood limits of the device-facing side (docs/server.md,
 * "Limits"): per-device and per-address token buckets on checks, a
 * per-address limit on devices seen for the first time, and caps on
 * package downloads running at once (server-wide and per address).
 *
 * Owned by of_server (s->guard), created at start from the settings, freed
 * at stop after the HTTP layer. Tables are bounded (ratelimit.h); the hot path
 * takes one stripe lock per table consulted.
 *
 * Codes of our own (docs/api.md): 61 with HTTP 429 (too many checks, or too
 * many new devices from one address), 62 with HTTP 503 (too many downloads
 * running); both carry Retry-After.
 */
#ifndef OPENFOTA_SERVER_GUARD_H
#define OPENFOTA_SERVER_GUARD_H

#include <stdint.h>

#include "http.h"

#define GUARD_CODE_RATE 61
#define GUARD_CODE_BUSY 62

#define GUARD_DEVICE_ENTRIES 65536  /* per-device buckets kept at once */
#define GUARD_ADDRESS_ENTRIES 16384 /* per-address buckets and download counters */

struct of_server;
typedef struct guard guard;

typedef struct guard_stats {
    unsigned long long refused_device, refused_address, refused_new_device, refused_downloads;
    unsigned downloads_running;
    unsigned long long evicted_busy; /* buckets forgotten while not idle: tables too small */
} guard_stats;

/* Address as a table key: IPv4 whole, IPv6 its /64 (one subscriber). */
typedef struct guard_addr {
    unsigned char b[16];
} guard_addr;

guard *guard_new(const struct of_server *s);
void guard_free(guard *g);

/* Before a check of device id (canonical) is decided: the per-address and
 * per-device buckets. 1: go on. 0: answered 429 (code 60, Retry-After).
 * When a device's refusal streak ends here, one history event is written
 * for it ("rate limited: N checks refused ..."), when the device is known. */
int guard_check(struct of_server *s, http_req *r, const char *id, int64_t now);

/* Before a check creates a device: the per-address new-device bucket.
 * 1: go on. 0: answered 429 (code 60). */
int guard_new_device(struct of_server *s, http_req *r);

/* Before a package is sent: one download slot server-wide and for the
 * address (kept in *a for guard_download_end). 1: go on. 0: answered 503
 * (code 61, Retry-After). */
int guard_download_begin(struct of_server *s, http_req *r, guard_addr *a);
void guard_download_end(struct of_server *s, const guard_addr *a);

void guard_get_stats(struct of_server *s, guard_stats *out);

/* Devices per project, for a project's max_devices: counted once at start
 * from the device table (guard_count_devices), then one more for each
 * device a check creates. guard_project_admit: before a check creates a
 * device for project p: 1 go on (counted), 0 the project has max_devices
 * devices (answered 404, code 27, nothing created). */
struct cat_project;
void guard_count_devices(struct of_server *s);
int guard_project_admit(struct of_server *s, http_req *r, const struct cat_project *p);

/* Adds the counters to an admin status object (GET /admin/v1/status):
 * checks_limited (device + address), new_devices_limited,
 * downloads_refused, downloads_running. */
struct json_t;
void guard_json(struct of_server *s, struct json_t *status);

#endif
