/*
 * server.h — the running server's shared context (internal).
 *
 * Owned by serve.c for the life of `openfota serve`; every handler receives
 * a pointer to it. Admin mutations are serialized by admin_mu; the hot path
 * only reads the snapshot and locks one device stripe.
 */
#ifndef OPENFOTA_SERVER_SERVER_H
#define OPENFOTA_SERVER_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "delta_cache.h"
#include "devtab.h"
#include "http.h"
#include "signed.h"
#include "snapshot.h"
#include "store.h"
#include "writer.h"

#define ADMIN_TOKEN_HEX 64

enum { PRE_LATEST, PRE_COUNT }; /* prebuilt answers of the hot path */

typedef struct of_server {
    of_config cfg;
    char data[CONFIG_STR_MAX];
    char token[ADMIN_TOKEN_HEX + 1];
    char base_url[CONFIG_STR_MAX + 64];  /* what devices and operators use, no trailing '/' */
    int64_t started;
    store *st;
    snap_holder snaps;
    devtab *devices;
    writer *wr;
    http_server *http;
    pthread_mutex_t admin_mu;
    http_prebuilt *pre[PRE_COUNT];
    struct offleet *fleet; /* push channels and staged rollouts (fleet/), owned */
    signed_keys keys;      /* delta signing key and trusted upload keys (signed.c) */
    dcache *deltas;        /* which deltas exist / are being made (delta_cache.c), owned */
    delta_gen *dgen;       /* delta generator threads (delta_gen.c), owned; NULL without a signing key */
} of_server;

/* Create and start the fleet component with the server's hooks
 * (fleet_glue.c). 0 ok, -1 failed (logged). */
int fleet_glue_start(of_server *s);

/* Reload the catalog from the store and swap the snapshot (admin_mu held).
 * 0 ok, -1 on a storage error. */
int server_reload(of_server *s);

/* Handlers (route in serve.c) */
void check_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len);
int check_is_path(const char *path, size_t len);
void static_handle(of_server *s, http_req *r, http_phase phase);
void admin_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len);
void report_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len);

/* Shared by the download paths: answer with a blob (200/206/416, ETag,
 * Accept-Ranges) and call done(arg, ok, bytes) via r->on_done when set by
 * the caller beforehand. Returns the status sent. */
unsigned serve_blob(of_server *s, http_req *r, const char *sha256, uint64_t size);
/* Same with extra headers (copied by the HTTP layer). */
unsigned serve_blob_ex(of_server *s, http_req *r, const char *sha256, uint64_t size, const http_hdr *extra,
                       size_t nextra);

/* Static names: [A-Za-z0-9._-]{1,128}, not starting with '.'. 1 valid. */
int static_name_valid(const char *name, size_t len);

/* JSON error for device-facing answers {"code":N,"msg":"..."}. */
void reply_code(http_req *r, unsigned status, int code, const char *msg);
/* The same with a Retry-After header (code 43: delta being generated). */
void reply_code_retry(http_req *r, unsigned status, int code, const char *msg, unsigned retry_after);

#endif
