/*
 * webhook.h — operator notifications: each event is POSTed as JSON to one
 * configured http:// URL by a sender thread of its own, signed with
 * HMAC-SHA256 over the raw body, retried with back-off, and dropped (logged
 * and counted) after a bounded number of tries (docs/server.md, "Webhooks").
 *
 * Body: {"event":"rollout.paused","time":UNIX,"id":"<delivery id>","data":{…}}
 * Headers: Content-Type: application/json, X-Openfota-Event: <event>,
 *          X-Openfota-Delivery: <id>, and with a secret
 *          X-Openfota-Signature: sha256=<hex HMAC-SHA256(secret, body)>.
 * A 2xx answer is a delivery; anything else (other status, no connection,
 * timeout) is a failed try, retried after backoff_ms × 2^(tries-1), at most
 * 60 s, until `tries` tries were made.
 *
 * Threads: webhook_post never blocks on the network (one mutex, one malloc):
 * it may be called from the check path and with other locks held. The
 * sender thread does the I/O (libcurl) without the mutex.
 *
 * Ownership: config strings are copied by webhook_create; the caller keeps
 * its own. webhook_post takes ownership of `data` (one reference) in every
 * case. The webhook is owned by its creator and freed by webhook_destroy.
 */
#ifndef OPENFOTA_SERVER_WEBHOOK_H
#define OPENFOTA_SERVER_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WEBHOOK_URL_MAX 512      /* longest URL accepted */
#define WEBHOOK_SECRET_MAX 256   /* longest secret (bytes) */
#define WEBHOOK_BODY_MAX 16384   /* an event body larger than this is cut to its event and time */

typedef struct webhook_config {
    const char *url;          /* http://HOST[:PORT][/PATH]; required */
    const unsigned char *secret; /* HMAC key; NULL/0 = unsigned (a warning is logged) */
    size_t secret_len;
    unsigned tries;           /* tries per event before it is dropped, default 5 */
    unsigned backoff_ms;      /* wait after the first failed try, doubled each time, default 1000 */
    unsigned timeout_ms;      /* connect + answer deadline per try, default 5000 */
    unsigned queue_max;       /* events waiting at most; more are dropped, default 256 */
} webhook_config;

typedef struct webhook webhook;

typedef struct webhook_stats {
    uint64_t queued;    /* accepted by webhook_post */
    uint64_t delivered; /* answered 2xx */
    uint64_t retries;   /* failed tries that were tried again */
    uint64_t failed;    /* dropped after the last try */
    uint64_t overflow;  /* refused because the queue was full */
    unsigned waiting;   /* in the queue now */
} webhook_stats;

/* Checks the config (only http:// URLs with a host; secret size) and starts
 * the sender thread. NULL with a message in err (for a person) otherwise. */
webhook *webhook_create(const webhook_config *cfg, char *err, size_t errlen);

/* Queues one event (event: a short name such as "device.banned"; data: a
 * JSON object, reference stolen, may be NULL). 0 queued, -1 dropped (queue
 * full, or out of memory; counted and logged). Safe on a NULL webhook
 * (data is released, -1). */
int webhook_post(webhook *w, const char *event, json_t *data);

void webhook_get_stats(webhook *w, webhook_stats *out);
/* The counters as JSON for GET /admin/v1/status (new reference):
 * {"queued","delivered","retries","failed","overflow","waiting"}, or JSON
 * null for a NULL webhook (none configured). */
json_t *webhook_stats_json(webhook *w);

/* Gives queued events up to grace_ms to go out, stops the thread, frees
 * everything. NULL is accepted. */
void webhook_destroy(webhook *w, unsigned grace_ms);

/* The signature header value for body (testing and docs): "sha256=<64 hex>"
 * into out[72]. */
void webhook_sign(const unsigned char *secret, size_t secret_len, const char *body, size_t len, char out[72]);

#endif
