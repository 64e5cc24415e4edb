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
    char tls_base_url[CONFIG_STR_MAX + 64]; /* the same over HTTPS, "" without an HTTPS listener */
    int64_t started;
    store *st;
    snap_holder snaps;
    devtab *devices;
    writer *wr;
    http_server *http;     /* plain HTTP listener, NULL with --listen none */
    http_server *https;    /* HTTPS listener, NULL without --tls-listen */
    struct tls_ctx *tls;   /* its certificate (http/tls.h), re-read on SIGHUP; owned */
    pthread_mutex_t admin_mu;
    http_prebuilt *pre[PRE_COUNT];
    struct offleet *fleet; /* push channels and staged rollouts (fleet/), owned */
    struct webhook *webhook; /* operator notifications (notify/webhook.h), owned; NULL when not configured */
    signed_keys keys;      /* delta signing key and trusted upload keys (signed.c) */
    dcache *deltas;        /* which deltas exist / are being made (delta_cache.c), owned */
    delta_gen *dgen;       /* delta generator threads (delta_gen.c), owned; NULL without a signing key */
    struct auth_tokens *auth; /* named admin tokens and roles (admin/auth.c), owned */
    struct session_store *sessions; /* console login sessions (console/session.h), owned */
    struct guard *guard;   /* flood limits of checks and downloads (guard.c), owned; NULL = none */
    unsigned char report_key[64]; /* push master key for signed status reports (report_auth.c) */
    size_t report_key_len;        /* 0: no key, reports are history only */
} of_server;

/* Reload the catalog from the store and swap the snapshot (admin_mu held).
 * 0 ok, -1 on a storage error. */
int server_reload(of_server *s);

/* What each folder offers the router (serve.c): */
#include "admin.h" /* the admin side: /admin/v1, tokens and roles, audit, the fleet hooks */
#include "proto.h" /* the device-facing protocols */

#endif
