/*
 * offleet.h — the fleet component: push channels (TCP line push, MQTT),
 * one rate controller for pushes and rollout offers, pending pushes for
 * sleeping (PSM) devices, and staged rollouts with status inference and an
 * abort rule.
 *
 * The fleet is a library the update server embeds. The server gives it a
 * few callbacks (fleet_hooks) and calls it at three places:
 *
 *   1. at start/stop:            fleet_create / fleet_start / fleet_stop / fleet_destroy
 *   2. in the device check:      fleet_rollout_decide (before answering) and
 *                                fleet_on_check (after the answer is finished)
 *   3. in the admin API router:  fleet_admin_handle for /admin/v1/push… and
 *                                /admin/v1/rollouts…  (docs/fleet-api.md)
 *
 * Threads: fleet_start starts the TCP push thread (epoll), a dispatcher that
 * sends pushes at the capped rate, a maintenance tick (stage timers, silence,
 * expiry, persistence) and the MQTT client thread. fleet_rollout_decide and
 * fleet_on_check touch memory only (one mutex, no I/O, never wait on a
 * network peer) and may be called from any number of server threads.
 * Persistence runs on the maintenance thread through fleet_store_ops.
 *
 * Ownership: every const char * argument is borrowed for the duration of the
 * call only; the fleet copies what it keeps. Strings returned through out
 * parameters are owned by the caller as documented per function.
 *
 * Errors: functions return 0 on success or a negative fleet_err.
 */
#ifndef OPENFOTA_FLEET_H
#define OPENFOTA_FLEET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fleet_err {
    FLEET_OK = 0,
    FLEET_ERR_NOMEM = -1,    /* out of memory */
    FLEET_ERR_INVAL = -2,    /* a bad argument or request field */
    FLEET_ERR_IO = -3,       /* socket, file or store failure */
    FLEET_ERR_NOTFOUND = -4, /* no such rollout/push/package */
    FLEET_ERR_CONFLICT = -5, /* e.g. a second active rollout for one firmware */
    FLEET_ERR_PROTOCOL = -6, /* malformed input from a peer */
    FLEET_ERR_LIMIT = -7,    /* a size or count limit was reached */
    FLEET_ERR_STATE = -8,    /* not allowed in the current state */
} fleet_err;

/* Static text for a fleet_err. */
const char *fleet_strerror(int err);

/* ---- configuration ------------------------------------------------------ */

typedef struct fleet_config {
    /* TCP push listener "HOST:PORT" (port 0 = any free port, read it back with
     * fleet_push_port); NULL = no TCP push. */
    const char *push_listen;
    /* MQTT broker "HOST:PORT"; NULL = no MQTT. */
    const char *mqtt_broker;
    /* Topic template; {project}, {firmware} and {device} are replaced.
     * Default "openfota/{project}/{device}/cmd". */
    const char *mqtt_topic;
    /* 0: payload is the text "update" (the seed's MQTT demo);
     * 1: payload is the JSON command line. Default 0. */
    int mqtt_payload_json;
    /* MQTT client id; default "openfota-<pid>". */
    const char *mqtt_client_id;

    /* Rate controller shared by pushes and new rollout offers. */
    double rate_per_s;          /* default 50 */
    double rate_burst;          /* default = rate_per_s */

    /* TCP push listener limits. */
    unsigned max_connections;   /* default 12000 (RLIMIT_NOFILE raised as needed) */
    unsigned line_max;          /* longest line a device may send, default 256 */
    unsigned handshake_ms;      /* first line must arrive within, default 10000 */
    unsigned idle_s;            /* close after this long without a byte, default 600 */
    unsigned keepalive_s;       /* TCP keepalive idle time, default 60 */
    /* Device authentication on the TCP push port (docs/fleet.md, "Device
     * authentication"): the master push key, 16..64 bytes; push_key_len 0 =
     * off (any device may claim any id, as without it). With a key the
     * listener sends {"nonce":"…"} first and accepts only identification
     * lines whose "auth" is HMAC-SHA256(device_key, nonce + device_id),
     * device_key = HMAC-SHA256(push_key, device_id). */
    unsigned char push_key[64];
    size_t push_key_len;

    /* Pending pushes (sleeping devices). */
    unsigned push_ttl_s;        /* default expiry of a push, default 86400 */
    unsigned max_push_targets;  /* largest push, default 1000000 */

    /* Rollout defaults (each rollout may override). */
    double abort_ratio;         /* default 0.2 */
    unsigned abort_min;         /* default 5 */
    unsigned expected_interval_s; /* a device's check interval before its history
                                     says otherwise, default 14400 (4 h) */
    unsigned silent_factor;     /* silent after factor × interval, default 3 */
    unsigned loop_downloads;    /* full downloads before "looping", default 3 */

    /* Default persistence when hooks->store is NULL: a folder where the
     * fleet keeps fleet-<kind>.json files. NULL = memory only. */
    const char *state_dir;
} fleet_config;

/* Fills cfg with the defaults above (all pointers NULL). */
void fleet_config_default(fleet_config *cfg);

/* Reads a push key from text: 32..128 hex digits (16..64 bytes), blanks and
 * newlines around them ignored. Returns 0 and fills cfg->push_key /
 * push_key_len, or FLEET_ERR_INVAL with *why (static text) set. */
int fleet_config_push_key(fleet_config *cfg, const char *text, size_t len, const char **why);

/* A device's push key: hex HMAC-SHA256(push_key, device_id) into
 * out[65], for programming into the device. device_id is canonicalised as
 * the push port does (hex ids upper case, no separators). Returns 0, or
 * FLEET_ERR_INVAL for an id the push port would refuse. */
int fleet_push_device_key(const unsigned char *push_key, size_t push_key_len, const char *device_id,
                          char out[65]);

/* ---- hooks into the server ---------------------------------------------- */

/* A key/value store the fleet persists into: kind is "rollout" or "push",
 * id the object's id, json its whole state (NUL-terminated). Called only from
 * the fleet's maintenance thread and from fleet_start (load). Return 0 or -1. */
typedef struct fleet_store_ops {
    int (*put)(void *ctx, const char *kind, const char *id, const char *json);
    int (*del)(void *ctx, const char *kind, const char *id);
    /* Calls each(arg, id, json) for every stored object of kind. */
    int (*load)(void *ctx, const char *kind,
                int (*each)(void *arg, const char *id, const char *json), void *arg);
} fleet_store_ops;

/* Portable SQL (SQLite and PostgreSQL) for a store that keeps the objects
 * in one table: the server runs it once, then implements put as
 *   INSERT INTO fleet_state(kind,id,body,updated) VALUES(?,?,?,?)
 *     ON CONFLICT(kind,id) DO UPDATE SET body=excluded.body, updated=excluded.updated
 * del as DELETE … WHERE kind=? AND id=?, load as SELECT id, body … WHERE kind=?. */
extern const char fleet_store_sql_ddl[];

/* Level for fleet_hooks.log. */
enum fleet_log_level { FLEET_LOG_ERROR = 0, FLEET_LOG_WARN = 1, FLEET_LOG_INFO = 2, FLEET_LOG_DEBUG = 3 };

typedef struct fleet_device_info {
    char project[128];
    char firmware[160];
    char version[32];   /* last reported version, "" when unknown */
} fleet_device_info;

typedef struct fleet_package_info {
    char project[128];
    char firmware[160];
    char version[32];   /* the version a device reports after installing it */
    uint64_t size;      /* bytes */
} fleet_package_info;

/* Callbacks into the server. Every member may be NULL (documented fallback).
 * They are called from fleet threads and from fleet_admin_handle, must be
 * thread-safe and should answer from memory. */
typedef struct fleet_hooks {
    void *ctx; /* passed to every hook */

    /* Writes the device's check URL, ending in '?', into buf (NUL-terminated).
     * Return 0, or -1 when it cannot be built. NULL: the push command has no
     * URL and is not sent (logged). */
    int (*check_url)(void *ctx, const char *project, const char *firmware,
                     const char *device_id, char *buf, size_t size);
    /* Looks a device up in the server's device table. Return 0 when known.
     * NULL: the fleet uses what it learnt from fleet_on_check. */
    int (*device_info)(void *ctx, const char *device_id, fleet_device_info *out);
    /* Calls fn for every device of project (and of firmware when not NULL).
     * fn returns 0 to go on, non-zero to stop. NULL: the fleet walks the
     * devices it learnt from fleet_on_check. */
    int (*device_foreach)(void *ctx, const char *project, const char *firmware,
                          int (*fn)(void *arg, const char *device_id), void *arg);
    /* Looks a package up by id. Return 0 when it exists. NULL: a rollout
     * request must name project, firmware and version itself. */
    int (*package_info)(void *ctx, const char *package_id, fleet_package_info *out);
    /* One log line (no newline). NULL: lines go to stderr. */
    void (*log)(void *ctx, int level, const char *msg);
    /* An event for the operator (webhooks): event is "rollout.paused",
     * "rollout.finished" or "rollout.cancelled"; json a JSON object text
     * (borrowed for the call) {"rollout","project","firmware","package",
     * "target_version","state","stage","percent","reason","by_rule",
     * "finished","failures","succeeded"}. Called WITH the fleet's lock held,
     * unlike the other hooks: it must only queue the event (never block,
     * never call into the fleet). NULL: no events. */
    void (*notify)(void *ctx, const char *event, const char *json);

    /* Persistence; NULL: the file store in cfg->state_dir, or memory only. */
    const fleet_store_ops *store;
    void *store_ctx;
} fleet_hooks;

/* ---- life cycle ----------------------------------------------------------- */

typedef struct offleet offleet;

/* Copies cfg and hooks (hooks->ctx and store_ctx stay borrowed and must live
 * until fleet_destroy). Opens nothing yet. Returns NULL on a bad config (logged). */
offleet *fleet_create(const fleet_config *cfg, const fleet_hooks *hooks);
/* Loads persisted state, raises RLIMIT_NOFILE, binds the push port and
 * starts the threads. Returns 0 or a negative fleet_err (logged). */
int fleet_start(offleet *f);
/* Stops the threads, flushes state to the store, closes every connection.
 * Safe to call twice. */
void fleet_stop(offleet *f);
/* Stops if needed and frees everything. NULL is accepted. */
void fleet_destroy(offleet *f);

/* Port the TCP push listener is bound to (after fleet_start), 0 if none. */
int fleet_push_port(const offleet *f);

/* ---- device check (hot path: memory only) ------------------------------- */

typedef enum fleet_offer_kind {
    FLEET_OFFER_NONE = 0,  /* no rollout governs this firmware: decide as usual */
    FLEET_OFFER_PACKAGE,   /* deliver package_id (the rollout's) to this device */
    FLEET_OFFER_HOLD,      /* a rollout governs this firmware and this device may
                              not have its package now: do not deliver
                              package_id; answer FLEET_HELD_CODE */
} fleet_offer_kind;

/* Why a rollout holds its package back from a device (fleet_offer.hold).
 * The server answers every hold with FLEET_HELD_CODE and writes the reason's
 * name (fleet_hold_name) into the device's history. */
typedef enum fleet_hold_kind {
    FLEET_HOLD_NONE = 0,
    FLEET_HOLD_STAGE,     /* not in the rollout's current stage yet */
    FLEET_HOLD_RATE,      /* the shared rate cap: a later check gets it */
    FLEET_HOLD_PAUSED,    /* the rollout is paused */
    FLEET_HOLD_CANCELLED, /* the rollout was cancelled */
    FLEET_HOLD_FAILED,    /* the device failed, looped on, or was banned over this package */
} fleet_hold_kind;

/* "stage", "rate cap", "paused", "cancelled", "failed before" ("" for NONE). */
const char *fleet_hold_name(int hold);

/* The answer code for a device a rollout holds back: openfota's own, outside
 * the vendor's codes (docs/api.md), sent with HTTP 404 so that a stock
 * libfota2 module reads it as "no upgrade" (result 4) and never flashes it. */
#define FLEET_HELD_CODE 60

typedef struct fleet_offer {
    fleet_offer_kind kind;
    fleet_hold_kind hold;  /* set with FLEET_OFFER_HOLD */
    char rollout_id[32];
    char package_id[64];
    char target_version[32];
    const char *reason; /* static text for logs / the 27 message */
} fleet_offer;

/* Is there a rollout package this device may get now? Memory only. project,
 * firmware, device_id and reported_version are the check's parameters
 * (reported_version may be "" or NULL). now = time(NULL) or 0 for "now".
 * Returns the decision (also stored in *out when out is not NULL). */
fleet_offer_kind fleet_rollout_decide(offleet *f, const char *project, const char *firmware,
                                      const char *device_id, const char *reported_version,
                                      int64_t now, fleet_offer *out);

/* The package id (decimal text, into out[64]) of the rollout that governs
 * project/firmware, when it is running or paused (not cancelled): a draft
 * package may be offered only through it. Returns 1 and fills out, or 0
 * (out = ""). Memory only, like fleet_rollout_decide. */
int fleet_rollout_package(offleet *f, const char *project, const char *firmware, char out[64]);

/* The outcome of one check, reported after the answer was sent (or failed). */
typedef struct fleet_check_event {
    const char *project;
    const char *firmware;
    const char *device_id;
    const char *version;     /* reported version ("" when missing) */
    int code;                /* vendor code answered: 0 = package delivered,
                                27 no upgrade, 40 banned, 21 forbidden, … */
    const char *package_id;  /* package served, NULL when none */
    uint64_t bytes_sent;     /* body bytes actually written */
    int complete;            /* 1 when the whole package was sent */
    int64_t time;            /* Unix seconds, 0 = now */
} fleet_check_event;

/* Feeds status inference, pending-push delivery (a queued push is delivered
 * by the device's next check), rollout counters and the abort rule. Memory
 * only. Checks answered with code 3, 4, 25 or 26 (no such device, version,
 * project or firmware) are ignored. */
void fleet_on_check(offleet *f, const fleet_check_event *ev);

/* What an agent device (openfota device library) reports about an update. */
typedef enum fleet_report_state {
    FLEET_REPORT_DOWNLOADING = 0,
    FLEET_REPORT_DOWNLOADED,
    FLEET_REPORT_INSTALLED,
    FLEET_REPORT_FAILED,
} fleet_report_state;

/* Parses "downloading" | "downloaded" | "installed" | "failed"; -1 otherwise. */
int fleet_report_state_parse(const char *s);

/* A device's own status report refines the inferred status in the rollout
 * that governs its firmware (project and firmware as learnt from its checks):
 * installed on the target version → succeeded, failed → failed (counted by the
 * abort rule at once), downloading/downloaded → as said. version is the
 * version the report is about (the target), may be NULL. Reports for devices
 * no rollout has offered its package to are ignored. Memory only. */
void fleet_on_report(offleet *f, const char *device_id, fleet_report_state state, const char *version,
                     int64_t time);

/* The server removed package package_id: every rollout of it (running,
 * paused or cancelled) is removed too, from memory and from the store, so no
 * rollout state outlives its package. Returns how many were removed. Memory
 * only (the store forgets them on the next maintenance pass). package_gone.c */
int fleet_package_removed(offleet *f, const char *package_id);

/* ---- push (also reachable through the admin API) ------------------------ */

/* Queues the update command for devices: an explicit list (ids/n_ids) or a
 * group (project, optionally firmware). ttl_s 0 = config default. On success
 * *push_id_out (may be NULL) gets the push id (caller frees). A group with no
 * known device gives FLEET_ERR_NOTFOUND, a group over max_push_targets
 * FLEET_ERR_LIMIT. */
int fleet_push(offleet *f, const char *const *ids, size_t n_ids, const char *project,
               const char *firmware, unsigned ttl_s, char **push_id_out);

/* ---- admin API ----------------------------------------------------------- */

/* Routes one admin request. method is "GET"/"POST"/"PUT"/"PATCH"/"DELETE";
 * path is the part after "/admin/v1" including the query, e.g.
 * "/rollouts/r1/promote" or "/rollouts?project=demo". body/len the request body
 * (may be NULL/0). Returns 1 when the path belongs to the fleet (then
 * *out_json is a malloc'd JSON text owned by the caller — NULL for 204 — and
 * *http_status the status), 0 when the path is not a fleet route (nothing
 * written). Errors are {"error","hint"} bodies as in docs/api.md. */
int fleet_admin_handle(offleet *f, const char *method, const char *path, const char *body,
                       size_t len, char **out_json, int *http_status);

/* ---- CLI entry points (cli/commands.h) ----------------------------------- */
int fleet_cli_push(int argc, char **argv);
int fleet_cli_rollout(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
