/*
 * store.h — durable storage behind a vtable; the folder's front door.
 *
 *   store.h / store_sqlite.c  the vtable and its SQLite backend (schema,
 *                             versioned migrations)
 *   writer.h / writer.c       the history writer thread: device state and
 *                             events from the hot path, batched to the store
 *   blobs.h / blobs.c         content-addressed package and file bodies in
 *                             <data>/blobs, served with sendfile
 *
 * The vtable: the SQLite backend
 * (store_sqlite.c) is the default; the queries are portable SQL with bound
 * parameters so a PostgreSQL backend can implement the same table.
 *
 * Threads: the admin functions are called under the server's admin lock;
 * write_batch / prune are called by the writer thread only; a backend uses
 * one connection per side (SQLite) or a bounded pool (PostgreSQL). Every function returns a store_err.
 * Durability: an admin write returns STORE_OK only after its commit is on
 * disk; write_batch is durable when `durable` is set.
 * Ids: project, firmware and package ids are never reused, not even after the
 * row with the highest id is removed (history, rollouts and deltas name
 * packages by id). SQLite keeps the highest id ever given in
 * meta.last_id.<table> (schema step 3); a backend with sequences that never
 * go back (PostgreSQL identity columns) satisfies this by itself.
 */
#ifndef OPENFOTA_SERVER_STORE_H
#define OPENFOTA_SERVER_STORE_H

#include "catalog.h"

typedef enum store_err {
    STORE_OK = 0,
    STORE_ERROR,     /* I/O or internal error (logged) */
    STORE_BUSY,      /* database locked past the busy timeout: answer 503 */
    STORE_CONFLICT,  /* unique key taken */
    STORE_NOTFOUND,
    STORE_INUSE,     /* still referenced (project with packages ...) */
    STORE_FULL,      /* the disk (or the database's quota) is full: answer 507 (logged) */
    STORE_UNAVAILABLE, /* database unreachable (PostgreSQL restarting): answer 503, retry later */
} store_err;

typedef struct store store;

/* A generated delta between two signed releases (delta_cache.h). */
enum { DELTA_READY = 1, DELTA_NOT_SMALLER = 2 };
typedef struct store_delta {
    int64_t base_id;    /* package the device runs (a signed full package) */
    int64_t target_id;  /* package it upgrades to (a signed full package) */
    int state;          /* DELTA_READY: blob sha256 holds the signed delta package; DELTA_NOT_SMALLER */
    uint64_t size;      /* bytes of the signed delta package (also recorded when not smaller) */
    uint64_t full_size; /* bytes of the target's full package when it was made */
    char sha256[65];    /* blob of the delta package, "" when not smaller */
    int64_t created;
} store_delta;
typedef int (*store_delta_cb)(void *arg, const store_delta *d);

/* A named admin token: only the SHA-256 (hex) of its text is kept. */
typedef struct store_token {
    char name[65];
    int role;          /* auth_role (admin/auth.h) */
    char sha256[65];
    int64_t created;
} store_token;
typedef int (*store_token_cb)(void *arg, const store_token *t);

/* One audit entry: an admin write or a login, and how it ended. */
typedef struct store_audit {
    int64_t id;        /* set by the store, rising */
    int64_t time;
    char token[65];    /* token name, or "-" when none was accepted */
    char addr[64];     /* client address */
    char method[12];
    char route[256];   /* path as requested, without the query */
    char target[160];  /* the object acted on, "" when none */
    unsigned status;   /* HTTP status of the answer */
    char detail[160];  /* e.g. the error of a refused request */
} store_audit;
typedef int (*store_audit_cb)(void *arg, const store_audit *a);

typedef int (*store_device_cb)(void *arg, const dev_state *st);
typedef int (*store_event_cb)(void *arg, const store_event *ev);

typedef struct store_ops {
    void (*close)(store *s);
    store_err (*load_catalog)(store *s, catalog *out);
    store_err (*load_devices)(store *s, store_device_cb cb, void *arg);
    /* writer side */
    store_err (*write_batch)(store *s, const dev_state *devs, size_t ndev, const store_event *evs, size_t nev,
                             int durable);
    store_err (*prune_age)(store *s, int64_t older_than);
    store_err (*prune_device)(store *s, const char *device_id, unsigned keep);
    /* forget n devices: delete their rows and all their events (one
     * transaction). Called by the writer for expired devices
     * (device_expire_days). The devices table also has the column
     * `upgraded` (dev_state.upgraded), saved and loaded like the others. */
    store_err (*devices_delete)(store *s, const char (*ids)[DEVICE_ID_MAX], size_t n);
    /* admin side */
    store_err (*project_insert)(store *s, cat_project *p); /* sets p->id */
    store_err (*project_update)(store *s, const cat_project *p);
    store_err (*project_delete)(store *s, int64_t id);
    store_err (*firmware_insert)(store *s, cat_firmware *f);
    store_err (*firmware_delete)(store *s, int64_t id);
    store_err (*package_insert)(store *s, cat_package *p);
    store_err (*package_delete)(store *s, int64_t id); /* also its signed facts and its deltas' rows */
    /* Column packages.draft (INTEGER NOT NULL DEFAULT 0, schema version 5;
     * package_insert writes it from p->draft, load_catalog reads it):
     *   UPDATE packages SET draft = ? WHERE id = ?
     * STORE_NOTFOUND when no row changed. Durable on return like every admin write. */
    store_err (*package_set_draft)(store *s, int64_t id, int draft);
    store_err (*file_put)(store *s, const cat_file *f);
    store_err (*file_delete)(store *s, const char *name);
    store_err (*listed_add)(store *s, int64_t project_id, const char (*ids)[DEVICE_ID_MAX], size_t n, size_t *added);
    /* count of packages + files still pointing at a blob */
    store_err (*blob_refs)(store *s, const char *sha256, long long *count);
    /* newest first, at most limit */
    store_err (*events_for_device)(store *s, const char *device_id, unsigned limit, store_event_cb cb, void *arg);
    /* deltas: insert or replace the row of (base_id, target_id); every row */
    store_err (*delta_put)(store *s, const store_delta *d);
    store_err (*deltas_load)(store *s, store_delta_cb cb, void *arg);
    /* admin tokens (admin/auth.c): every row; insert (STORE_CONFLICT when the
     * name or hash is taken); insert or replace the hash of a name; delete */
    store_err (*tokens_load)(store *s, store_token_cb cb, void *arg);
    store_err (*token_insert)(store *s, const store_token *t);
    store_err (*token_upsert)(store *s, const store_token *t);
    store_err (*token_delete)(store *s, const char *name);
    /* audit log (admin/audit.c): append (sets a->id); newest first, at most
     * limit, only entries with id < before when before > 0; drop entries
     * older than a time */
    store_err (*audit_insert)(store *s, store_audit *a);
    store_err (*audit_list)(store *s, unsigned limit, int64_t before, store_audit_cb cb, void *arg);
    store_err (*audit_prune)(store *s, int64_t older_than);
} store_ops;

struct store {
    const store_ops *ops;
};

/* Open (creating and migrating) <dir>/openfota.db. NULL with err on failure. */
store *store_sqlite_open(const char *dir, char *err, size_t errlen);
/* The schema version the SQLite steps lead to (1 + steps). */
int store_sqlite_schema_version(void);
/* The PostgreSQL backend: store_pg.h. */

const char *store_strerror(store_err e);

#endif
