/*
 * fleet_internal.h — the fleet object shared by fleet.c (life cycle, check
 * hooks, threads), push.c (push records, pending pushes, dispatcher) and
 * admin.c (JSON routes). Everything in struct offleet below `mu` is guarded by
 * it; hooks into the server are never called with mu held (the server may
 * hold its own locks while it calls fleet_rollout_decide).
 */
#ifndef OPENFOTA_FLEET_INTERNAL_H
#define OPENFOTA_FLEET_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "offleet.h"
#include "push_mqtt.h"
#include "push_tcp.h"
#include "rate.h"
#include "rollout.h"
#include "smap.h"

#define FLEET_MAX_NAMES 100000 /* distinct project/firmware names remembered */

/* A device the fleet has seen check (learnt from fleet_on_check). */
struct fdev {
    const char *project;  /* interned, owned by offleet.strings */
    const char *firmware; /* interned */
    char version[32];
    int64_t last_check;
    uint32_t ewma_s;      /* learnt check interval */
    uint32_t nchecks;
};

enum push_tstate {
    PT_QUEUED = 0, /* waiting for a rate token */
    PT_SENT,       /* written to the device's TCP connection (done) */
    PT_PUBLISHED,  /* published on MQTT; open until the device checks */
    PT_WAITING,    /* not reachable now; open until it connects or checks */
    PT_CHECKED,    /* the device checked after the push (done) */
    PT_EXPIRED,    /* not delivered before the expiry (done) */
    PT_SUPERSEDED, /* a newer push to the same device replaced it (done) */
    PT_FAILED,     /* no check URL could be built for it (done) */
    PT__COUNT
};
const char *push_tstate_name(int s);

struct push;
struct push_target {
    struct push *owner;
    char device[65];
    uint8_t state;
    uint8_t mqtt_done;
    int64_t at;       /* time of the last state change */
};

struct push {
    char id[32];
    int64_t created, expires;
    char project[128];  /* group pushes: the group; "" for a list */
    char firmware[160];
    size_t n;
    struct push_target *t;
    uint32_t counts[PT__COUNT];
    int dirty;
    int busy;           /* the dispatcher is using it outside the lock */
    size_t in_outbox;   /* references to it in the outbox: freed only at 0 */
    int expiry_done;    /* open targets were marked expired */
    int64_t saved_at;   /* last persisted */
};

struct outref {
    struct push *p;
    size_t idx;
};

struct offleet {
    fleet_config cfg;
    fleet_hooks hooks;
    /* owned copies of the config strings */
    char *s_push_listen, *s_mqtt_broker, *s_mqtt_topic, *s_client_id, *s_state_dir;
    const fleet_store_ops *store;
    void *store_ctx;
    void *file_store; /* the default store, when used */

    struct push_tcp *tcp;
    struct push_mqtt *mqtt;
    pthread_t tick_thr, disp_thr;
    int started, stopping;

    pthread_mutex_t mu;
    pthread_cond_t cond;        /* dispatcher: outbox not empty / stopping */
    struct fleet_rate rate;
    struct smap devices;        /* id → struct fdev * */
    struct smap strings;        /* interned project / firmware names */
    struct smap rollouts;       /* id → struct rollout * */
    struct smap pushes;         /* id → struct push * */
    struct smap pending;        /* device id → struct push_target * (its latest) */
    struct outref *outbox;      /* ring */
    size_t ob_head, ob_len, ob_cap;
    int mqtt_resend;            /* the broker (re)connected: republish open pushes */
    uint64_t offers, holds, pushes_total;
    uint64_t deleted_pushes;
    struct smap deleted;        /* kind:id to delete from the store (values unused) */
};

/* time helpers */
int64_t fleet_now(void);       /* Unix seconds */
double fleet_mono(void);       /* monotonic seconds */
void fleet_log(offleet *f, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fleet_random_id(char prefix, char *out, size_t size);
const char *fleet_intern(offleet *f, const char *s); /* mu held */
/* The rollout that governs a firmware (the newest of it), or NULL; mu held. */
struct rollout *fleet_governing(offleet *f, const char *project, const char *firmware);

/* Tells hooks.notify what changed in r since before_state / before_finished
 * (paused, cancelled, finished); mu held. */
void fleet_rollout_events(offleet *f, struct rollout *r, int before_state, int64_t before_finished);

/* push.c (mu held unless said otherwise) */
int push_create(offleet *f, const char *const *ids, size_t n, const char *project, const char *firmware,
                unsigned ttl_s, int64_t now, struct push **out);
void push_free(void *p);
void push_set_state(offleet *f, struct push *p, size_t i, int st, int64_t now);
int outbox_push(offleet *f, struct push *p, size_t idx);
void push_on_connect(offleet *f, const char *device_id, int64_t now);
void push_on_check(offleet *f, const char *device_id, int64_t now);
void push_on_undelivered(offleet *f, const char *device_id, int64_t now);
void push_tick(offleet *f, int64_t now);
json_t *push_to_json(const struct push *p, int with_targets);
struct push *push_from_json(const json_t *j);
void *push_dispatch_thread(void *arg); /* takes mu itself */

/* store_file.c */
void *fleet_file_store_open(const char *dir);
void fleet_file_store_close(void *s);
extern const fleet_store_ops fleet_file_store_ops;

#endif
