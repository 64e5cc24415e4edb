/*
 * store_pg.c — the PostgreSQL backend of store.h (libpq).
 *
 * `serve --db postgresql://...`: the same tables as the SQLite backend, the
 * same numbered schema steps (pg_migrations[] mirrors store_sqlite.c's
 * migrations[]; test_store_pg checks that both end at the same version),
 * applied at open inside one transaction holding pg_advisory_xact_lock, so
 * two nodes starting together do not race.
 *
 * Connections: a bounded pool (db_pool, default 4) shared by the admin side
 * and the writer thread; a caller waits up to POOL_WAIT_MS for a free one. A
 * connection found broken (the server restarted, the network dropped) is
 * reset on its next use; while the database cannot be reached every call
 * returns STORE_UNAVAILABLE at once (admin requests answer 503, the writer
 * keeps its batch queued and retries), and the first call after it is back
 * reconnects — the node never needs a restart.
 *
 * Durability: admin writes commit with synchronous_commit on (the server's
 * default: acknowledged once on disk); writer batches that nobody waits on
 * use SET LOCAL synchronous_commit = off (like SQLite's synchronous=NORMAL a
 * crash of the database host may lose the last batches, never the database).
 */
#include "store.h"
#include "store_pg.h"

#include "log.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_WAIT_MS 5000
#define CONNECT_TIMEOUT_S "5"
#define LOCK_TIMEOUT_MS "5000"
#define ADVISORY_KEY "7345120938475601" /* "openfota schema" lock */
#define PARAMS_MAX 24

typedef struct pg_store {
    store base;
    char *uri;
    unsigned cap;    /* pool size */
    PGconn **conns;  /* cap slots; NULL until first needed */
    int *inuse;
    unsigned *epoch_of; /* the epoch each connection was (re)made in */
    unsigned epoch;     /* bumped when a connection is found lost: every
                         * older connection is reset before its next use */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    int down;        /* last connect failed: logged once until it works again */
} pg_store;

#define PS(s) ((pg_store *)(s))

/* The version-1 schema: the SQLite one's tables and columns, in PostgreSQL
 * types (ids BIGSERIAL so inserts number them; `db copy` sets the sequences
 * past copied ids). Never edit: append steps to pg_migrations[]. */
static const char *const pg_schema[] = {
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projects ("
    " id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " listed_only INTEGER NOT NULL, upgrades_enabled INTEGER NOT NULL,"
    " max_daily_deliveries BIGINT NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS firmware ("
    " id BIGSERIAL PRIMARY KEY, project_id BIGINT NOT NULL, name TEXT NOT NULL,"
    " suffix INTEGER NOT NULL, created BIGINT NOT NULL, UNIQUE (project_id, name))",
    "CREATE TABLE IF NOT EXISTS packages ("
    " id BIGSERIAL PRIMARY KEY, project_id BIGINT NOT NULL, firmware_id BIGINT NOT NULL,"
    " core BIGINT NOT NULL, script_x BIGINT NOT NULL, script_z BIGINT NOT NULL,"
    " base_core BIGINT, suffix INTEGER NOT NULL, kind INTEGER NOT NULL, size BIGINT NOT NULL,"
    " md5 TEXT NOT NULL, sha256 TEXT NOT NULL, filename TEXT NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS files ("
    " name TEXT PRIMARY KEY, size BIGINT NOT NULL, sha256 TEXT NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS listed_devices ("
    " project_id BIGINT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (project_id, device_id))",
    "CREATE TABLE IF NOT EXISTS devices ("
    " id TEXT PRIMARY KEY, project_id BIGINT NOT NULL, firmware TEXT NOT NULL, suffix INTEGER NOT NULL,"
    " has_version INTEGER NOT NULL, core BIGINT NOT NULL, script_x BIGINT NOT NULL, script_z BIGINT NOT NULL,"
    " forbidden INTEGER NOT NULL, banned INTEGER NOT NULL, banned_at BIGINT NOT NULL,"
    " deliveries_today BIGINT NOT NULL, delivery_day BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " last_code INTEGER NOT NULL, failed_upgrades BIGINT NOT NULL, pending_package BIGINT NOT NULL,"
    " pending_core BIGINT NOT NULL, pending_x BIGINT NOT NULL, pending_z BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events ("
    " id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, time BIGINT NOT NULL, version TEXT NOT NULL,"
    " code INTEGER NOT NULL, decision INTEGER NOT NULL, package_id BIGINT NOT NULL,"
    " bytes_sent BIGINT NOT NULL, complete INTEGER NOT NULL, note TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_device ON events (device_id, id)",
    "CREATE INDEX IF NOT EXISTS events_by_time ON events (time)",
    "CREATE TABLE IF NOT EXISTS signed_packages ("
    " package_id BIGINT PRIMARY KEY, kind INTEGER NOT NULL, counter BIGINT NOT NULL,"
    " result_len BIGINT NOT NULL, result_sha256 TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS deltas ("
    " base_package_id BIGINT NOT NULL, target_package_id BIGINT NOT NULL, state INTEGER NOT NULL,"
    " size BIGINT NOT NULL, full_size BIGINT NOT NULL, sha256 TEXT NOT NULL, created BIGINT NOT NULL,"
    " PRIMARY KEY (base_package_id, target_package_id))",
};

/* Schema steps, numbered as in store_sqlite.c's migrations[] (append only; a
 * step may hold several statements separated by ';'). */
typedef struct pg_step {
    int to;
    const char *sql; /* NULL ends the list */
} pg_step;
#define PG_SEQ_PAST(table, mentions)                                                                                 \
    "SELECT setval(pg_get_serial_sequence('" table "', 'id'), GREATEST(m, 1), m > 0) FROM (SELECT COALESCE(MAX(m), 0)" \
    " AS m FROM (" mentions " UNION ALL SELECT pg_sequence_last_value(pg_get_serial_sequence('" table                 \
    "', 'id')::regclass)) AS u) AS t"
static const pg_step pg_migrations[] = {
    /* 2: named admin tokens with roles (hashes only) and the audit log */
    {2, "CREATE TABLE IF NOT EXISTS admin_tokens ("
        " id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, role INTEGER NOT NULL,"
        " sha256 TEXT NOT NULL UNIQUE, created BIGINT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS audit ("
        " id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL, token TEXT NOT NULL, addr TEXT NOT NULL,"
        " method TEXT NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL,"
        " detail TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (time)"},
    /* 3: ids are never reused. Sequences never go back by themselves; this
     * step sets each one past the highest id the database mentions anywhere
     * (as SQLite's step 3 seeds meta.last_id.<table>). */
    {3, PG_SEQ_PAST("projects", "SELECT MAX(id) AS m FROM projects UNION ALL SELECT MAX(project_id) FROM firmware"
                                " UNION ALL SELECT MAX(project_id) FROM packages UNION ALL SELECT MAX(project_id)"
                                " FROM devices UNION ALL SELECT MAX(project_id) FROM listed_devices") ";"
        PG_SEQ_PAST("firmware", "SELECT MAX(id) AS m FROM firmware UNION ALL SELECT MAX(firmware_id) FROM packages") ";"
        PG_SEQ_PAST("packages", "SELECT MAX(id) AS m FROM packages UNION ALL SELECT MAX(package_id) FROM events"
                                " UNION ALL SELECT MAX(pending_package) FROM devices UNION ALL SELECT MAX(package_id)"
                                " FROM signed_packages UNION ALL SELECT MAX(base_package_id) FROM deltas"
                                " UNION ALL SELECT MAX(target_package_id) FROM deltas")},
    /* 4: the base version of an uploaded signed delta */
    {4, "ALTER TABLE signed_packages ADD COLUMN IF NOT EXISTS base_core BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE signed_packages ADD COLUMN IF NOT EXISTS base_x BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE signed_packages ADD COLUMN IF NOT EXISTS base_z BIGINT NOT NULL DEFAULT 0"},
    /* 5: draft packages: offered only through a rollout of them until released */
    {5, "ALTER TABLE packages ADD COLUMN IF NOT EXISTS draft INTEGER NOT NULL DEFAULT 0"},
    /* 6: a project's cap on its devices (0: none) */
    {6, "ALTER TABLE projects ADD COLUMN IF NOT EXISTS max_devices BIGINT NOT NULL DEFAULT 0"},
    /* 7: devices that received a whole package never expire (device_expire_days) */
    {7, "ALTER TABLE devices ADD COLUMN IF NOT EXISTS upgraded INTEGER NOT NULL DEFAULT 0;"
        "UPDATE devices SET upgraded = 1 WHERE failed_upgrades > 0 OR pending_package != 0"
        " OR id IN (SELECT device_id FROM events WHERE complete = 1)"},
    {0, NULL},
};

int store_pg_schema_version(void)
{
    int v = 1;
    for (const pg_step *m = pg_migrations; m->sql; m++)
        v = m->to;
    return v;
}

/* --- connections ----------------------------------------------------------- */

static PGconn *connect_uri(const char *uri)
{
    /* defaults first; the URI (expanded dbname) overrides them */
    /* lock_timeout: a write waiting on another session's lock gives up like
     * SQLite's busy timeout does (STORE_BUSY, answered 503) */
    const char *kw[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    const char *val[] = {CONNECT_TIMEOUT_S, "openfota", "-c lock_timeout=" LOCK_TIMEOUT_MS, uri, NULL};
    return PQconnectdbParams(kw, val, 1);
}

/* Silence the server's NOTICEs (CREATE ... IF NOT EXISTS says "already exists"). */
static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Takes a connection from the pool, connecting or resetting it as needed.
 * NULL with *e = STORE_UNAVAILABLE (database unreachable) or STORE_BUSY
 * (every connection in use past POOL_WAIT_MS). */
static PGconn *pool_get(pg_store *ps, int *slot, store_err *e)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += POOL_WAIT_MS / 1000;
    pthread_mutex_lock(&ps->mu);
    int i;
    for (;;) {
        int empty = -1;
        for (i = 0; i < (int)ps->cap; i++) {
            if (ps->inuse[i])
                continue;
            if (ps->conns[i])
                break;
            if (empty < 0)
                empty = i;
        }
        if (i == (int)ps->cap && empty >= 0)
            i = empty;
        if (i < (int)ps->cap)
            break;
        if (pthread_cond_timedwait(&ps->freed, &ps->mu, &dl) != 0) {
            pthread_mutex_unlock(&ps->mu);
            *e = STORE_BUSY;
            return NULL;
        }
    }
    ps->inuse[i] = 1;
    PGconn *c = ps->conns[i];
    int stale = ps->epoch_of[i] != ps->epoch;
    ps->epoch_of[i] = ps->epoch;
    pthread_mutex_unlock(&ps->mu);

    /* a connection idle while the server restarted still says OK: reset
     * every connection older than the last loss seen */
    if (c && (stale || PQstatus(c) != CONNECTION_OK))
        PQreset(c);
    if (c == NULL) {
        c = connect_uri(ps->uri);
        if (c)
            PQsetNoticeProcessor(c, quiet_notice, NULL);
    }
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        pthread_mutex_lock(&ps->mu);
        if (!ps->down)
            log_error("database: cannot connect: %s", c ? PQerrorMessage(c) : "out of memory");
        ps->down = 1;
        ps->conns[i] = c;
        ps->inuse[i] = 0;
        pthread_cond_signal(&ps->freed);
        pthread_mutex_unlock(&ps->mu);
        *e = STORE_UNAVAILABLE;
        return NULL;
    }
    pthread_mutex_lock(&ps->mu);
    if (ps->down)
        log_info("database: connected again");
    ps->down = 0;
    ps->conns[i] = c;
    pthread_mutex_unlock(&ps->mu);
    *slot = i;
    *e = STORE_OK;
    return c;
}

static void pool_put(pg_store *ps, int slot)
{
    pthread_mutex_lock(&ps->mu);
    if (PQstatus(ps->conns[slot]) != CONNECTION_OK)
        ps->epoch_of[slot] = ++ps->epoch;
    ps->inuse[slot] = 0;
    pthread_cond_signal(&ps->freed);
    pthread_mutex_unlock(&ps->mu);
}

/* --- queries ---------------------------------------------------------------- */

typedef struct pq_args {
    const char *v[PARAMS_MAX];
    char buf[PARAMS_MAX][24];
    int n;
} pq_args;

static void a_i64(pq_args *a, long long x)
{
    snprintf(a->buf[a->n], sizeof a->buf[a->n], "%lld", x);
    a->v[a->n] = a->buf[a->n];
    a->n++;
}
static void a_str(pq_args *a, const char *s)
{
    a->v[a->n++] = s;
}
static void a_null(pq_args *a)
{
    a->v[a->n++] = NULL;
}

static store_err map_res(PGconn *c, PGresult *r, const char *what)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return STORE_OK;
    if (PQstatus(c) != CONNECTION_OK) {
        log_warn("database: %s: connection lost: %s", what, PQerrorMessage(c));
        return STORE_UNAVAILABLE;
    }
    const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (code && !strcmp(code, "23505"))
        return STORE_CONFLICT;
    /* serialization failure, deadlock, lock not available, shutting down,
     * too many connections: transient */
    if (code && (!strcmp(code, "40001") || !strcmp(code, "40P01") || !strcmp(code, "55P03") ||
                 !strncmp(code, "57P", 3) || !strcmp(code, "53300")))
        return STORE_BUSY;
    log_error("database: %s: %s", what, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    return STORE_ERROR;
}

/* Runs sql with args; *out gets the result when wanted (caller PQclear's),
 * *changes the affected rows. */
static store_err q(PGconn *c, const char *sql, const pq_args *a, PGresult **out, long *changes, const char *what)
{
    PGresult *r = PQexecParams(c, sql, a ? a->n : 0, NULL, a ? a->v : NULL, NULL, NULL, 0);
    store_err e = map_res(c, r, what);
    if (e == STORE_OK && changes) {
        const char *t = PQcmdTuples(r);
        *changes = t && *t ? atol(t) : 0;
    }
    if (e == STORE_OK && out)
        *out = r;
    else
        PQclear(r);
    return e;
}

static store_err ex(PGconn *c, const char *sql)
{
    return q(c, sql, NULL, NULL, NULL, sql);
}

static void rollback(PGconn *c)
{
    if (PQstatus(c) == CONNECTION_OK)
        PQclear(PQexec(c, "ROLLBACK"));
}

static long long gi(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void gs(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    const char *s = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
    size_t l = strlen(s);
    if (l >= cap)
        l = cap - 1;
    memcpy(dst, s, l);
    dst[l] = 0;
}

#define BEGIN_CONN(ps)                                                                                                 \
    int slot_;                                                                                                         \
    store_err e;                                                                                                       \
    PGconn *c = pool_get((ps), &slot_, &e);                                                                            \
    if (c == NULL)                                                                                                     \
        return e;
#define END_CONN(ps) pool_put((ps), slot_)

/* --- loading ----------------------------------------------------------------- */

#define GROW(arr, n, cap)                                                                                              \
    do {                                                                                                               \
        if ((size_t)(n) >= (cap)) {                                                                                    \
            void *na = realloc((arr), ((cap) = (n) + 1) * sizeof *(arr));                                              \
            if (na == NULL) {                                                                                          \
                e = STORE_ERROR;                                                                                       \
                goto out;                                                                                              \
            }                                                                                                          \
            (arr) = na;                                                                                                \
        }                                                                                                              \
    } while (0)

static store_err load_catalog(store *s, catalog *cat)
{
    memset(cat, 0, sizeof *cat);
    BEGIN_CONN(PS(s));
    PGresult *r = NULL;
    size_t cap;
    int n;
    e = ex(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    if (e != STORE_OK)
        goto out;
    e = q(c, "SELECT id, key, name, listed_only, upgrades_enabled, max_daily_deliveries, created, max_devices"
             " FROM projects", NULL,
          &r, NULL, "load projects");
    if (e != STORE_OK)
        goto out;
    n = PQntuples(r);
    cap = 0;
    GROW(cat->projects, n, cap);
    for (int i = 0; i < n; i++) {
        cat_project *p = &cat->projects[cat->nprojects++];
        memset(p, 0, sizeof *p);
        p->id = gi(r, i, 0);
        gs(p->key, sizeof p->key, r, i, 1);
        gs(p->name, sizeof p->name, r, i, 2);
        p->listed_only = (int)gi(r, i, 3);
        p->upgrades_enabled = (int)gi(r, i, 4);
        p->max_daily_deliveries = (unsigned)gi(r, i, 5);
        p->created = gi(r, i, 6);
        p->max_devices = (unsigned)gi(r, i, 7);
    }
    PQclear(r);
    r = NULL;
    e = q(c, "SELECT id, project_id, name, suffix, created FROM firmware", NULL, &r, NULL, "load firmware");
    if (e != STORE_OK)
        goto out;
    n = PQntuples(r);
    cap = 0;
    GROW(cat->firmware, n, cap);
    for (int i = 0; i < n; i++) {
        cat_firmware *f = &cat->firmware[cat->nfirmware++];
        memset(f, 0, sizeof *f);
        f->id = gi(r, i, 0);
        f->project_id = gi(r, i, 1);
        gs(f->name, sizeof f->name, r, i, 2);
        f->suffix = (int)gi(r, i, 3);
        f->created = gi(r, i, 4);
    }
    PQclear(r);
    r = NULL;
    e = q(c,
          "SELECT p.id, p.project_id, p.firmware_id, p.core, p.script_x, p.script_z, p.base_core,"
          " p.suffix, p.kind, p.size, p.md5, p.sha256, p.filename, p.created,"
          " s.kind, s.counter, s.result_len, s.result_sha256, s.base_core, s.base_x, s.base_z, p.draft"
          " FROM packages p LEFT JOIN signed_packages s ON s.package_id = p.id",
          NULL, &r, NULL, "load packages");
    if (e != STORE_OK)
        goto out;
    n = PQntuples(r);
    cap = 0;
    GROW(cat->packages, n, cap);
    for (int i = 0; i < n; i++) {
        cat_package *p = &cat->packages[cat->npackages++];
        memset(p, 0, sizeof *p);
        p->id = gi(r, i, 0);
        p->project_id = gi(r, i, 1);
        p->firmware_id = gi(r, i, 2);
        p->ver.core = (uint32_t)gi(r, i, 3);
        p->ver.x = (uint32_t)gi(r, i, 4);
        p->ver.z = (uint32_t)gi(r, i, 5);
        p->base_core = PQgetisnull(r, i, 6) ? -1 : gi(r, i, 6);
        p->suffix = (int)gi(r, i, 7);
        p->kind = (int)gi(r, i, 8);
        p->size = (uint64_t)gi(r, i, 9);
        gs(p->md5, sizeof p->md5, r, i, 10);
        gs(p->sha256, sizeof p->sha256, r, i, 11);
        gs(p->filename, sizeof p->filename, r, i, 12);
        p->created = gi(r, i, 13);
        p->draft = gi(r, i, 21) != 0;
        if (!PQgetisnull(r, i, 14)) {
            p->sg_kind = (int)gi(r, i, 14);
            p->sg_counter = (uint64_t)gi(r, i, 15);
            p->sg_result_len = (uint64_t)gi(r, i, 16);
            gs(p->sg_result_sha256, sizeof p->sg_result_sha256, r, i, 17);
            p->sg_base.core = (uint32_t)gi(r, i, 18);
            p->sg_base.x = (uint32_t)gi(r, i, 19);
            p->sg_base.z = (uint32_t)gi(r, i, 20);
        }
    }
    PQclear(r);
    r = NULL;
    e = q(c, "SELECT name, size, sha256, created FROM files", NULL, &r, NULL, "load files");
    if (e != STORE_OK)
        goto out;
    n = PQntuples(r);
    cap = 0;
    GROW(cat->files, n, cap);
    for (int i = 0; i < n; i++) {
        cat_file *f = &cat->files[cat->nfiles++];
        memset(f, 0, sizeof *f);
        gs(f->name, sizeof f->name, r, i, 0);
        f->size = (uint64_t)gi(r, i, 1);
        gs(f->sha256, sizeof f->sha256, r, i, 2);
        f->created = gi(r, i, 3);
    }
    PQclear(r);
    r = NULL;
    e = q(c, "SELECT project_id, device_id FROM listed_devices", NULL, &r, NULL, "load listed devices");
    if (e != STORE_OK)
        goto out;
    n = PQntuples(r);
    cap = 0;
    GROW(cat->listed, n, cap);
    for (int i = 0; i < n; i++) {
        cat_listed *l = &cat->listed[cat->nlisted++];
        memset(l, 0, sizeof *l);
        l->project_id = gi(r, i, 0);
        gs(l->device_id, sizeof l->device_id, r, i, 1);
    }
out:
    PQclear(r);
    rollback(c); /* read only: ends the snapshot */
    END_CONN(PS(s));
    if (e != STORE_OK)
        catalog_free(cat);
    return e;
}

static store_err load_devices(store *s, store_device_cb cb, void *arg)
{
    BEGIN_CONN(PS(s));
    PGresult *r = NULL;
    e = q(c,
          "SELECT id, project_id, firmware, suffix, has_version, core, script_x, script_z,"
          " forbidden, banned, banned_at, deliveries_today, delivery_day, last_seen, last_code,"
          " failed_upgrades, pending_package, pending_core, pending_x, pending_z, upgraded FROM devices",
          NULL, &r, NULL, "load devices");
    int n = e == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; i < n && e == STORE_OK; i++) {
        dev_state d;
        memset(&d, 0, sizeof d);
        gs(d.id, sizeof d.id, r, i, 0);
        d.project_id = gi(r, i, 1);
        gs(d.firmware, sizeof d.firmware, r, i, 2);
        d.suffix = (int)gi(r, i, 3);
        d.has_version = (int)gi(r, i, 4);
        d.version.core = (uint32_t)gi(r, i, 5);
        d.version.x = (uint32_t)gi(r, i, 6);
        d.version.z = (uint32_t)gi(r, i, 7);
        d.forbidden = (int)gi(r, i, 8);
        d.banned = (int)gi(r, i, 9);
        d.banned_at = gi(r, i, 10);
        d.deliveries_today = (unsigned)gi(r, i, 11);
        d.delivery_day = gi(r, i, 12);
        d.last_seen = gi(r, i, 13);
        d.last_code = (int)gi(r, i, 14);
        d.failed_upgrades = (unsigned)gi(r, i, 15);
        d.pending_package = gi(r, i, 16);
        d.pending_from.core = (uint32_t)gi(r, i, 17);
        d.pending_from.x = (uint32_t)gi(r, i, 18);
        d.pending_from.z = (uint32_t)gi(r, i, 19);
        d.upgraded = (int)gi(r, i, 20);
        if (cb(arg, &d) != 0)
            e = STORE_ERROR;
    }
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

/* --- writer side --------------------------------------------------------- */

static store_err write_batch(store *s, const dev_state *devs, size_t ndev, const store_event *evs, size_t nev,
                             int durable)
{
    BEGIN_CONN(PS(s));
    e = ex(c, "BEGIN");
    if (e == STORE_OK && !durable)
        e = ex(c, "SET LOCAL synchronous_commit = off");
    for (size_t i = 0; i < ndev && e == STORE_OK; i++) {
        const dev_state *d = &devs[i];
        pq_args a = {.n = 0};
        a_str(&a, d->id);
        a_i64(&a, d->project_id);
        a_str(&a, d->firmware);
        a_i64(&a, d->suffix);
        a_i64(&a, d->has_version);
        a_i64(&a, d->version.core);
        a_i64(&a, d->version.x);
        a_i64(&a, d->version.z);
        a_i64(&a, d->forbidden);
        a_i64(&a, d->banned);
        a_i64(&a, d->banned_at);
        a_i64(&a, d->deliveries_today);
        a_i64(&a, d->delivery_day);
        a_i64(&a, d->last_seen);
        a_i64(&a, d->last_code);
        a_i64(&a, d->failed_upgrades);
        a_i64(&a, d->pending_package);
        a_i64(&a, d->pending_from.core);
        a_i64(&a, d->pending_from.x);
        a_i64(&a, d->pending_from.z);
        a_i64(&a, d->upgraded);
        e = q(c,
              "INSERT INTO devices (id, project_id, firmware, suffix, has_version, core, script_x,"
              " script_z, forbidden, banned, banned_at, deliveries_today, delivery_day, last_seen,"
              " last_code, failed_upgrades, pending_package, pending_core, pending_x, pending_z, upgraded)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
              " $21)"
              " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
              " firmware = excluded.firmware, suffix = excluded.suffix,"
              " has_version = excluded.has_version, core = excluded.core,"
              " script_x = excluded.script_x, script_z = excluded.script_z,"
              " forbidden = excluded.forbidden, banned = excluded.banned,"
              " banned_at = excluded.banned_at, deliveries_today = excluded.deliveries_today,"
              " delivery_day = excluded.delivery_day, last_seen = excluded.last_seen,"
              " last_code = excluded.last_code, failed_upgrades = excluded.failed_upgrades,"
              " pending_package = excluded.pending_package, pending_core = excluded.pending_core,"
              " pending_x = excluded.pending_x, pending_z = excluded.pending_z, upgraded = excluded.upgraded",
              &a, NULL, NULL, "save device");
    }
    for (size_t i = 0; i < nev && e == STORE_OK; i++) {
        const store_event *v = &evs[i];
        pq_args a = {.n = 0};
        a_str(&a, v->device_id);
        a_i64(&a, v->time);
        a_str(&a, v->version);
        a_i64(&a, v->code);
        a_i64(&a, v->decision);
        a_i64(&a, v->package_id);
        a_i64(&a, (long long)v->bytes_sent);
        a_i64(&a, v->complete);
        a_str(&a, v->note);
        e = q(c,
              "INSERT INTO events (device_id, time, version, code, decision, package_id, bytes_sent,"
              " complete, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
              &a, NULL, NULL, "save event");
    }
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e;
}

static store_err prune_age(store *s, int64_t older_than)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, older_than);
    e = q(c, "DELETE FROM events WHERE time < $1", &a, NULL, NULL, "prune events");
    END_CONN(PS(s));
    return e;
}

static store_err prune_device(store *s, const char *device_id, unsigned keep)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, device_id);
    a_i64(&a, keep);
    e = q(c,
          "DELETE FROM events WHERE device_id = $1 AND id <= "
          "(SELECT id FROM events WHERE device_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
          &a, NULL, NULL, "prune device events");
    END_CONN(PS(s));
    return e;
}

/* --- admin side ----------------------------------------------------------- */

static void args_project(pq_args *a, const cat_project *p)
{
    a_str(a, p->key);
    a_str(a, p->name);
    a_i64(a, p->listed_only);
    a_i64(a, p->upgrades_enabled);
    a_i64(a, p->max_daily_deliveries);
    a_i64(a, p->created);
    a_i64(a, p->max_devices);
}

static store_err project_insert(store *s, cat_project *p)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    args_project(&a, p);
    PGresult *r = NULL;
    e = q(c,
          "INSERT INTO projects (key, name, listed_only, upgrades_enabled, max_daily_deliveries, created,"
          " max_devices) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
          &a, &r, NULL, "add project");
    if (e == STORE_OK)
        p->id = gi(r, 0, 0);
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err project_update(store *s, const cat_project *p)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    args_project(&a, p);
    a_i64(&a, p->id);
    long ch = 0;
    e = q(c,
          "UPDATE projects SET key = $1, name = $2, listed_only = $3, upgrades_enabled = $4,"
          " max_daily_deliveries = $5, created = $6, max_devices = $7 WHERE id = $8",
          &a, NULL, &ch, "change project");
    END_CONN(PS(s));
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err count_where(PGconn *c, const char *sql, int64_t id, long long *n)
{
    pq_args a = {.n = 0};
    a_i64(&a, id);
    PGresult *r = NULL;
    store_err e = q(c, sql, &a, &r, NULL, sql);
    *n = e == STORE_OK ? gi(r, 0, 0) : 0;
    PQclear(r);
    return e;
}

static store_err del_by_id(PGconn *c, const char *sql, int64_t id, long *ch, const char *what)
{
    pq_args a = {.n = 0};
    a_i64(&a, id);
    return q(c, sql, &a, NULL, ch, what);
}

static store_err project_delete(store *s, int64_t id)
{
    BEGIN_CONN(PS(s));
    long long n = 0;
    long ch = 0;
    e = ex(c, "BEGIN");
    if (e == STORE_OK)
        e = ex(c, "LOCK TABLE packages IN SHARE ROW EXCLUSIVE MODE");
    if (e == STORE_OK)
        e = count_where(c, "SELECT COUNT(*) FROM packages WHERE project_id = $1", id, &n);
    if (e == STORE_OK && n > 0)
        e = STORE_INUSE;
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM firmware WHERE project_id = $1", id, NULL, "remove project firmware");
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM listed_devices WHERE project_id = $1", id, NULL, "remove project list");
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM projects WHERE id = $1", id, &ch, "remove project");
    if (e == STORE_OK && ch == 0)
        e = STORE_NOTFOUND;
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e;
}

static store_err firmware_insert(store *s, cat_firmware *f)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, f->project_id);
    a_str(&a, f->name);
    a_i64(&a, f->suffix);
    a_i64(&a, f->created);
    PGresult *r = NULL;
    e = q(c, "INSERT INTO firmware (project_id, name, suffix, created) VALUES ($1, $2, $3, $4) RETURNING id", &a, &r,
          NULL, "add firmware");
    if (e == STORE_OK)
        f->id = gi(r, 0, 0);
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err firmware_delete(store *s, int64_t id)
{
    BEGIN_CONN(PS(s));
    long long n = 0;
    long ch = 0;
    e = ex(c, "BEGIN");
    if (e == STORE_OK)
        e = ex(c, "LOCK TABLE packages IN SHARE ROW EXCLUSIVE MODE");
    if (e == STORE_OK)
        e = count_where(c, "SELECT COUNT(*) FROM packages WHERE firmware_id = $1", id, &n);
    if (e == STORE_OK && n > 0)
        e = STORE_INUSE;
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM firmware WHERE id = $1", id, &ch, "remove firmware");
    if (e == STORE_OK && ch == 0)
        e = STORE_NOTFOUND;
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e;
}

static store_err package_insert(store *s, cat_package *p)
{
    BEGIN_CONN(PS(s));
    PGresult *r = NULL;
    pq_args a = {.n = 0};
    a_i64(&a, p->project_id);
    a_i64(&a, p->firmware_id);
    a_i64(&a, p->ver.core);
    a_i64(&a, p->ver.x);
    a_i64(&a, p->ver.z);
    if (p->base_core < 0)
        a_null(&a);
    else
        a_i64(&a, p->base_core);
    a_i64(&a, p->suffix);
    a_i64(&a, p->kind);
    a_i64(&a, (long long)p->size);
    a_str(&a, p->md5);
    a_str(&a, p->sha256);
    a_str(&a, p->filename);
    a_i64(&a, p->created);
    a_i64(&a, p->draft);
    e = ex(c, "BEGIN");
    if (e == STORE_OK)
        e = q(c,
              "INSERT INTO packages (project_id, firmware_id, core, script_x, script_z, base_core, suffix,"
              " kind, size, md5, sha256, filename, created, draft)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
              &a, &r, NULL, "add package");
    if (e == STORE_OK)
        p->id = gi(r, 0, 0);
    PQclear(r);
    if (e == STORE_OK && p->kind == PKG_KIND_SIGNED) {
        pq_args b = {.n = 0};
        a_i64(&b, p->id);
        a_i64(&b, p->sg_kind);
        a_i64(&b, (long long)p->sg_counter);
        a_i64(&b, (long long)p->sg_result_len);
        a_str(&b, p->sg_result_sha256);
        a_i64(&b, p->sg_base.core);
        a_i64(&b, p->sg_base.x);
        a_i64(&b, p->sg_base.z);
        e = q(c,
              "INSERT INTO signed_packages (package_id, kind, counter, result_len, result_sha256, base_core,"
              " base_x, base_z) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (package_id) DO UPDATE SET"
              " kind = excluded.kind, counter = excluded.counter, result_len = excluded.result_len,"
              " result_sha256 = excluded.result_sha256, base_core = excluded.base_core,"
              " base_x = excluded.base_x, base_z = excluded.base_z",
              &b, NULL, NULL, "add signed package");
    }
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e;
}

static store_err package_delete(store *s, int64_t id)
{
    BEGIN_CONN(PS(s));
    long ch = 0;
    e = ex(c, "BEGIN");
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM packages WHERE id = $1", id, &ch, "remove package");
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM signed_packages WHERE package_id = $1", id, NULL, "remove package");
    if (e == STORE_OK)
        e = del_by_id(c, "DELETE FROM deltas WHERE base_package_id = $1 OR target_package_id = $1", id, NULL,
                      "remove deltas");
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err delta_put(store *s, const store_delta *d)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, d->base_id);
    a_i64(&a, d->target_id);
    a_i64(&a, d->state);
    a_i64(&a, (long long)d->size);
    a_i64(&a, (long long)d->full_size);
    a_str(&a, d->sha256);
    a_i64(&a, d->created);
    e = q(c,
          "INSERT INTO deltas (base_package_id, target_package_id, state, size, full_size, sha256,"
          " created) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (base_package_id, target_package_id)"
          " DO UPDATE SET state = excluded.state, size = excluded.size,"
          " full_size = excluded.full_size, sha256 = excluded.sha256, created = excluded.created",
          &a, NULL, NULL, "record delta");
    END_CONN(PS(s));
    return e;
}

static store_err deltas_load(store *s, store_delta_cb cb, void *arg)
{
    BEGIN_CONN(PS(s));
    PGresult *r = NULL;
    e = q(c, "SELECT base_package_id, target_package_id, state, size, full_size, sha256, created FROM deltas", NULL,
          &r, NULL, "load deltas");
    int n = e == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        store_delta d;
        memset(&d, 0, sizeof d);
        d.base_id = gi(r, i, 0);
        d.target_id = gi(r, i, 1);
        d.state = (int)gi(r, i, 2);
        d.size = (uint64_t)gi(r, i, 3);
        d.full_size = (uint64_t)gi(r, i, 4);
        gs(d.sha256, sizeof d.sha256, r, i, 5);
        d.created = gi(r, i, 6);
        if (cb(arg, &d) != 0)
            break;
    }
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err file_put(store *s, const cat_file *f)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, f->name);
    a_i64(&a, (long long)f->size);
    a_str(&a, f->sha256);
    a_i64(&a, f->created);
    e = q(c,
          "INSERT INTO files (name, size, sha256, created) VALUES ($1, $2, $3, $4)"
          " ON CONFLICT (name) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,"
          " created = excluded.created",
          &a, NULL, NULL, "put file");
    END_CONN(PS(s));
    return e;
}

static store_err file_delete(store *s, const char *name)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, name);
    long ch = 0;
    e = q(c, "DELETE FROM files WHERE name = $1", &a, NULL, &ch, "remove file");
    END_CONN(PS(s));
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err package_set_draft(store *s, int64_t id, int draft)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, draft != 0);
    a_i64(&a, id);
    long ch = 0;
    e = q(c, "UPDATE packages SET draft = $1 WHERE id = $2", &a, NULL, &ch, "release package");
    END_CONN(PS(s));
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err devices_delete(store *s, const char (*ids)[DEVICE_ID_MAX], size_t n)
{
    BEGIN_CONN(PS(s));
    e = ex(c, "BEGIN");
    for (size_t i = 0; i < n && e == STORE_OK; i++) {
        pq_args a = {.n = 0};
        a_str(&a, ids[i]);
        e = q(c, "DELETE FROM events WHERE device_id = $1", &a, NULL, NULL, "forget device history");
        if (e == STORE_OK)
            e = q(c, "DELETE FROM devices WHERE id = $1", &a, NULL, NULL, "forget device");
    }
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK)
        rollback(c);
    END_CONN(PS(s));
    return e;
}

static store_err listed_add(store *s, int64_t project_id, const char (*ids)[DEVICE_ID_MAX], size_t n, size_t *added)
{
    *added = 0;
    BEGIN_CONN(PS(s));
    e = ex(c, "BEGIN");
    for (size_t i = 0; i < n && e == STORE_OK; i++) {
        pq_args a = {.n = 0};
        a_i64(&a, project_id);
        a_str(&a, ids[i]);
        long ch = 0;
        e = q(c,
              "INSERT INTO listed_devices (project_id, device_id) VALUES ($1, $2)"
              " ON CONFLICT (project_id, device_id) DO NOTHING",
              &a, NULL, &ch, "list device");
        if (e == STORE_OK)
            *added += (size_t)ch;
    }
    if (e == STORE_OK)
        e = ex(c, "COMMIT");
    if (e != STORE_OK) {
        rollback(c);
        *added = 0;
    }
    END_CONN(PS(s));
    return e;
}

static store_err blob_refs(store *s, const char *sha256, long long *count)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, sha256);
    PGresult *r = NULL;
    e = q(c,
          "SELECT (SELECT COUNT(*) FROM packages WHERE sha256 = $1)"
          " + (SELECT COUNT(*) FROM files WHERE sha256 = $1)"
          " + (SELECT COUNT(*) FROM deltas WHERE sha256 = $1)",
          &a, &r, NULL, "blob refs");
    if (e == STORE_OK)
        *count = gi(r, 0, 0);
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err events_for_device(store *s, const char *device_id, unsigned limit, store_event_cb cb, void *arg)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, device_id);
    a_i64(&a, limit);
    PGresult *r = NULL;
    e = q(c,
          "SELECT time, version, code, decision, package_id, bytes_sent, complete, note"
          " FROM events WHERE device_id = $1 ORDER BY id DESC LIMIT $2",
          &a, &r, NULL, "device history");
    int n = e == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        store_event ev;
        memset(&ev, 0, sizeof ev);
        snprintf(ev.device_id, sizeof ev.device_id, "%s", device_id);
        ev.time = gi(r, i, 0);
        gs(ev.version, sizeof ev.version, r, i, 1);
        ev.code = (int)gi(r, i, 2);
        ev.decision = (int)gi(r, i, 3);
        ev.package_id = gi(r, i, 4);
        ev.bytes_sent = (uint64_t)gi(r, i, 5);
        ev.complete = (int)gi(r, i, 6);
        gs(ev.note, sizeof ev.note, r, i, 7);
        if (cb(arg, &ev) != 0)
            break;
    }
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

/* --- admin tokens and the audit log --------------------------------------- */

static store_err tokens_load(store *s, store_token_cb cb, void *arg)
{
    BEGIN_CONN(PS(s));
    PGresult *r = NULL;
    e = q(c, "SELECT name, role, sha256, created FROM admin_tokens ORDER BY name", NULL, &r, NULL,
          "load admin tokens");
    int n = e == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        store_token t;
        memset(&t, 0, sizeof t);
        gs(t.name, sizeof t.name, r, i, 0);
        t.role = (int)gi(r, i, 1);
        gs(t.sha256, sizeof t.sha256, r, i, 2);
        t.created = gi(r, i, 3);
        if (cb(arg, &t) != 0)
            break;
    }
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static void args_token(pq_args *a, const store_token *t)
{
    a_str(a, t->name);
    a_i64(a, t->role);
    a_str(a, t->sha256);
    a_i64(a, t->created);
}

static store_err token_insert(store *s, const store_token *t)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    args_token(&a, t);
    e = q(c, "INSERT INTO admin_tokens (name, role, sha256, created) VALUES ($1, $2, $3, $4)", &a, NULL, NULL,
          "add admin token");
    END_CONN(PS(s));
    return e;
}

static store_err token_upsert(store *s, const store_token *t)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    args_token(&a, t);
    e = q(c,
          "INSERT INTO admin_tokens (name, role, sha256, created) VALUES ($1, $2, $3, $4)"
          " ON CONFLICT (name) DO UPDATE SET role = excluded.role, sha256 = excluded.sha256,"
          " created = excluded.created",
          &a, NULL, NULL, "set admin token");
    END_CONN(PS(s));
    return e;
}

static store_err token_delete(store *s, const char *name)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_str(&a, name);
    long ch = 0;
    e = q(c, "DELETE FROM admin_tokens WHERE name = $1", &a, NULL, &ch, "revoke admin token");
    END_CONN(PS(s));
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err audit_insert(store *s, store_audit *au)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, au->time);
    a_str(&a, au->token);
    a_str(&a, au->addr);
    a_str(&a, au->method);
    a_str(&a, au->route);
    a_str(&a, au->target);
    a_i64(&a, au->status);
    a_str(&a, au->detail);
    PGresult *r = NULL;
    e = q(c,
          "INSERT INTO audit (time, token, addr, method, route, target, status, detail)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
          &a, &r, NULL, "write audit entry");
    if (e == STORE_OK)
        au->id = gi(r, 0, 0);
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err audit_list(store *s, unsigned limit, int64_t before, store_audit_cb cb, void *arg)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, before);
    a_i64(&a, limit);
    PGresult *r = NULL;
    e = q(c,
          "SELECT id, time, token, addr, method, route, target, status, detail FROM audit"
          " WHERE ($1::bigint <= 0 OR id < $1::bigint) ORDER BY id DESC LIMIT $2",
          &a, &r, NULL, "read audit log");
    int n = e == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++) {
        store_audit au;
        memset(&au, 0, sizeof au);
        au.id = gi(r, i, 0);
        au.time = gi(r, i, 1);
        gs(au.token, sizeof au.token, r, i, 2);
        gs(au.addr, sizeof au.addr, r, i, 3);
        gs(au.method, sizeof au.method, r, i, 4);
        gs(au.route, sizeof au.route, r, i, 5);
        gs(au.target, sizeof au.target, r, i, 6);
        au.status = (unsigned)gi(r, i, 7);
        gs(au.detail, sizeof au.detail, r, i, 8);
        if (cb(arg, &au) != 0)
            break;
    }
    PQclear(r);
    END_CONN(PS(s));
    return e;
}

static store_err audit_prune(store *s, int64_t older_than)
{
    BEGIN_CONN(PS(s));
    pq_args a = {.n = 0};
    a_i64(&a, older_than);
    e = q(c, "DELETE FROM audit WHERE time < $1", &a, NULL, NULL, "prune audit log");
    END_CONN(PS(s));
    return e;
}

static void pg_close(store *s)
{
    pg_store *ps = PS(s);
    if (ps == NULL)
        return;
    for (unsigned i = 0; i < ps->cap; i++)
        if (ps->conns[i])
            PQfinish(ps->conns[i]);
    free(ps->conns);
    free(ps->inuse);
    free(ps->epoch_of);
    free(ps->uri);
    pthread_cond_destroy(&ps->freed);
    pthread_mutex_destroy(&ps->mu);
    free(ps);
}

static const store_ops pg_ops = {
    .close = pg_close,
    .load_catalog = load_catalog,
    .load_devices = load_devices,
    .write_batch = write_batch,
    .prune_age = prune_age,
    .prune_device = prune_device,
    .project_insert = project_insert,
    .project_update = project_update,
    .project_delete = project_delete,
    .firmware_insert = firmware_insert,
    .firmware_delete = firmware_delete,
    .package_insert = package_insert,
    .package_delete = package_delete,
    .file_put = file_put,
    .file_delete = file_delete,
    .listed_add = listed_add,
    .blob_refs = blob_refs,
    .events_for_device = events_for_device,
    .delta_put = delta_put,
    .deltas_load = deltas_load,
    .tokens_load = tokens_load,
    .token_insert = token_insert,
    .token_upsert = token_upsert,
    .token_delete = token_delete,
    .audit_insert = audit_insert,
    .audit_list = audit_list,
    .audit_prune = audit_prune,
    .package_set_draft = package_set_draft,
    .devices_delete = devices_delete,
};

/* Runs a ';'-separated step statement by statement (simple query protocol
 * takes several at once). */
static int run_step(PGconn *c, const char *sql, char *err, size_t errlen, int to)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "cannot migrate the database to schema version %d: %s", to, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

int store_pg_migrate(PGconn *c, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, "BEGIN; SELECT pg_advisory_xact_lock(" ADVISORY_KEY ")");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot lock the schema: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    for (size_t i = 0; i < sizeof pg_schema / sizeof pg_schema[0]; i++) {
        if (run_step(c, pg_schema[i], err, errlen, 1) < 0)
            goto fail;
    }
    r = PQexec(c, "INSERT INTO meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;"
                  " SELECT value FROM meta WHERE key = 'schema_version'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "cannot read the schema version: %s", PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    int have = atoi(PQgetvalue(r, 0, 0)), latest = store_pg_schema_version();
    PQclear(r);
    if (have > latest) {
        snprintf(err, errlen,
                 "the database is at schema version %d, newer than this openfota knows (%d): run the newer openfota, "
                 "or restore a backup made before the upgrade",
                 have, latest);
        goto fail;
    }
    for (const pg_step *m = pg_migrations; m->sql; m++) {
        if (m->to > have && run_step(c, m->sql, err, errlen, m->to) < 0)
            goto fail;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE meta SET value = '%d' WHERE key = 'schema_version'; COMMIT", latest);
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "cannot commit the schema: %s", PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    return 0;
fail:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}

PGconn *store_pg_connect(const char *uri, char *err, size_t errlen)
{
    PGconn *c = connect_uri(uri);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
        size_t l = strlen(msg);
        while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
            msg[--l] = 0;
        snprintf(err, errlen, "cannot connect to the database: %s (check the --db URI and that PostgreSQL runs)",
                 msg);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    return c;
}

int store_pg_uri_ok(const char *uri)
{
    return !strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11);
}

store *store_pg_open(const char *uri, unsigned pool, char *err, size_t errlen)
{
    if (!store_pg_uri_ok(uri)) {
        snprintf(err, errlen, "--db: '%.80s' is not a postgresql:// URI", uri);
        return NULL;
    }
    pg_store *ps = calloc(1, sizeof *ps);
    if (ps == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ps->base.ops = &pg_ops;
    ps->cap = pool ? pool : STORE_PG_POOL_DEFAULT;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->freed, NULL);
    ps->uri = strdup(uri);
    ps->conns = calloc(ps->cap, sizeof *ps->conns);
    ps->inuse = calloc(ps->cap, sizeof *ps->inuse);
    ps->epoch_of = calloc(ps->cap, sizeof *ps->epoch_of);
    if (ps->uri == NULL || ps->conns == NULL || ps->inuse == NULL || ps->epoch_of == NULL) {
        snprintf(err, errlen, "out of memory");
        pg_close(&ps->base);
        return NULL;
    }
    PGconn *c = store_pg_connect(uri, err, errlen);
    if (c == NULL) {
        pg_close(&ps->base);
        return NULL;
    }
    if (store_pg_migrate(c, err, errlen) < 0) {
        PQfinish(c);
        pg_close(&ps->base);
        return NULL;
    }
    ps->conns[0] = c; /* the first pooled connection */
    return &ps->base;
}
