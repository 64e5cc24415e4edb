/*
 * store_sqlite.c — the SQLite backend of store.h.
 *
 * <data>/openfota.db in WAL mode. Two connections: the admin one commits
 * with synchronous=FULL (an acknowledged admin write survives kill -9 and
 * power loss); the writer one uses synchronous=NORMAL for event batches (a
 * commit survives kill -9; after a power loss the last batches of history may
 * be lost, never the database) and FULL for batches that an admin action
 * waits on. SQL text outside this file's pragmas is portable (standard
 * INSERT ... ON CONFLICT, LIMIT/OFFSET, bound parameters only).
 */
#include "store.h"

#include "log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000
#define SCHEMA_VERSION 1

typedef struct sqlite_store {
    store base;
    sqlite3 *adm;
    sqlite3 *wr;
    pthread_mutex_t adm_mu;
    sqlite3_stmt *wr_dev;
    sqlite3_stmt *wr_ev;
    int wr_sync_full;
} sqlite_store;

#define SS(s) ((sqlite_store *)(s))

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS projects ("
    " id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " listed_only INTEGER NOT NULL, upgrades_enabled INTEGER NOT NULL,"
    " max_daily_deliveries INTEGER NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS firmware ("
    " id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " suffix INTEGER NOT NULL, created BIGINT NOT NULL, UNIQUE (project_id, name))",
    "CREATE TABLE IF NOT EXISTS packages ("
    " id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, firmware_id INTEGER NOT NULL,"
    " core INTEGER NOT NULL, script_x INTEGER NOT NULL, script_z INTEGER NOT NULL,"
    " base_core INTEGER, suffix INTEGER NOT NULL, kind INTEGER NOT NULL, size BIGINT NOT NULL,"
    " md5 TEXT NOT NULL, sha256 TEXT NOT NULL, filename TEXT NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS files ("
    " name TEXT PRIMARY KEY, size BIGINT NOT NULL, sha256 TEXT NOT NULL, created BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS listed_devices ("
    " project_id INTEGER NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (project_id, device_id))",
    "CREATE TABLE IF NOT EXISTS devices ("
    " id TEXT PRIMARY KEY, project_id INTEGER NOT NULL, firmware TEXT NOT NULL, suffix INTEGER NOT NULL,"
    " has_version INTEGER NOT NULL, core INTEGER NOT NULL, script_x INTEGER NOT NULL, script_z INTEGER NOT NULL,"
    " forbidden INTEGER NOT NULL, banned INTEGER NOT NULL, banned_at BIGINT NOT NULL,"
    " deliveries_today INTEGER NOT NULL, delivery_day BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " last_code INTEGER NOT NULL, failed_upgrades INTEGER NOT NULL, pending_package BIGINT NOT NULL,"
    " pending_core INTEGER NOT NULL, pending_x INTEGER NOT NULL, pending_z INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, time BIGINT NOT NULL, version TEXT NOT NULL,"
    " code INTEGER NOT NULL, decision INTEGER NOT NULL, package_id BIGINT NOT NULL,"
    " bytes_sent BIGINT NOT NULL, complete INTEGER NOT NULL, note TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_device ON events (device_id, id)",
    "CREATE INDEX IF NOT EXISTS events_by_time ON events (time)",
    /* facts of signed packages (kind 2) from their checked manifest */
    "CREATE TABLE IF NOT EXISTS signed_packages ("
    " package_id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, counter BIGINT NOT NULL,"
    " result_len BIGINT NOT NULL, result_sha256 TEXT NOT NULL)",
    /* deltas generated between two signed releases */
    "CREATE TABLE IF NOT EXISTS deltas ("
    " base_package_id BIGINT NOT NULL, target_package_id BIGINT NOT NULL, state INTEGER NOT NULL,"
    " size BIGINT NOT NULL, full_size BIGINT NOT NULL, sha256 TEXT NOT NULL, created BIGINT NOT NULL,"
    " PRIMARY KEY (base_package_id, target_package_id))",
};

/*
 * Schema migrations. `schema` above is version 1 (what every database made
 * before migrations existed holds; CREATE ... IF NOT EXISTS keeps it
 * idempotent). Each step names the version it leads to, in rising order;
 * meta.schema_version records where a database stands. They run at open,
 * inside the same BEGIN IMMEDIATE as the schema, so two servers starting on
 * one folder cannot race. Append only: never edit a step that has shipped.
 * A step may hold several statements separated by ';'.
 */
static store_err exec(sqlite3 *db, const char *sql);

typedef struct schema_step {
    int to;          /* the version this step leads to (2, 3, ...) */
    const char *sql; /* NULL ends the list */
} schema_step;
static const schema_step migrations[] = {
    /* named admin tokens with roles (hashes only) and the audit log */
    {2, "CREATE TABLE IF NOT EXISTS admin_tokens ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, role INTEGER NOT NULL,"
        " sha256 TEXT NOT NULL UNIQUE, created BIGINT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS audit ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, time BIGINT NOT NULL, token TEXT NOT NULL, addr TEXT NOT NULL,"
        " method TEXT NOT NULL, route TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL,"
        " detail TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS audit_by_time ON audit (time)"},
    /* 3: ids are never reused. SQLite's INTEGER PRIMARY KEY hands out the
     * largest id + 1, so removing the newest package gave its id to the next
     * upload. meta.last_id.<table> remembers the highest id ever given; it
     * starts at the highest id the database still mentions anywhere (rows,
     * device history, pending deliveries, deltas), so an id already reused or
     * freed before this step is not handed out again either. */
    {3, "INSERT INTO meta (key, value) SELECT 'last_id.projects', COALESCE(MAX(m), 0) FROM ("
        " SELECT MAX(id) AS m FROM projects UNION ALL SELECT MAX(project_id) FROM firmware"
        " UNION ALL SELECT MAX(project_id) FROM packages UNION ALL SELECT MAX(project_id) FROM devices"
        " UNION ALL SELECT MAX(project_id) FROM listed_devices) AS t"
        " WHERE 1 = 1 ON CONFLICT (key) DO NOTHING;"
        "INSERT INTO meta (key, value) SELECT 'last_id.firmware', COALESCE(MAX(m), 0) FROM ("
        " SELECT MAX(id) AS m FROM firmware UNION ALL SELECT MAX(firmware_id) FROM packages) AS t"
        " WHERE 1 = 1 ON CONFLICT (key) DO NOTHING;"
        "INSERT INTO meta (key, value) SELECT 'last_id.packages', COALESCE(MAX(m), 0) FROM ("
        " SELECT MAX(id) AS m FROM packages UNION ALL SELECT MAX(package_id) FROM events"
        " UNION ALL SELECT MAX(pending_package) FROM devices UNION ALL SELECT MAX(package_id) FROM signed_packages"
        " UNION ALL SELECT MAX(base_package_id) FROM deltas UNION ALL SELECT MAX(target_package_id) FROM deltas) AS t"
        " WHERE 1 = 1 ON CONFLICT (key) DO NOTHING"},
    /* 4: the base version of an uploaded signed delta: it is offered only to
     * devices running exactly that version (rules.c); 0.0.0 = not known */
    {4, "ALTER TABLE signed_packages ADD COLUMN base_core BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE signed_packages ADD COLUMN base_x BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE signed_packages ADD COLUMN base_z BIGINT NOT NULL DEFAULT 0"},
    /* 5: draft packages: offered only through a rollout of them until released */
    {5, "ALTER TABLE packages ADD COLUMN draft INTEGER NOT NULL DEFAULT 0"},
    /* 6: a project's cap on its devices (0: none), docs/api.md */
    {6, "ALTER TABLE projects ADD COLUMN max_devices INTEGER NOT NULL DEFAULT 0"},
    /* 7: devices that received a whole package never expire (device_expire_days) */
    {7, "ALTER TABLE devices ADD COLUMN upgraded INTEGER NOT NULL DEFAULT 0;"
        "UPDATE devices SET upgraded = 1 WHERE failed_upgrades > 0 OR pending_package != 0"
        " OR id IN (SELECT device_id FROM events WHERE complete = 1)"},
    {0, NULL},
};

/* The version a database has after every step: 1 + the number of steps. */
static int schema_latest(void)
{
    int v = 1;
    for (const schema_step *m = migrations; m->sql; m++)
        v = m->to;
    return v;
}

int store_sqlite_schema_version(void)
{
    return schema_latest();
}

/* Apply every step above the database's version (inside the caller's
 * transaction). 0 ok, -1 with err set. */
static int schema_migrate(sqlite3 *db, char *err, size_t errlen)
{
    int have = 1, latest = schema_latest();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        have = atoi((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (have > latest) {
        snprintf(err, errlen,
                 "the database is at schema version %d, newer than this openfota knows (%d): run the newer openfota, "
                 "or restore a backup made before the upgrade",
                 have, latest);
        return -1;
    }
    for (const schema_step *m = migrations; m->sql; m++) {
        if (m->to <= have)
            continue;
        if (exec(db, m->sql) != STORE_OK) {
            snprintf(err, errlen, "cannot migrate the database to schema version %d: %s", m->to, sqlite3_errmsg(db));
            return -1;
        }
    }
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT INTO meta (key, value) VALUES ('schema_version', '%d')"
             " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
             latest);
    if (exec(db, sql) != STORE_OK) {
        snprintf(err, errlen, "cannot record the schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

const char *store_strerror(store_err e)
{
    switch (e) {
    case STORE_OK: return "ok";
    case STORE_ERROR: return "storage error (see the server log)";
    case STORE_BUSY: return "database busy; retry in a moment";
    case STORE_CONFLICT: return "already exists";
    case STORE_NOTFOUND: return "not found";
    case STORE_INUSE: return "still in use";
    case STORE_FULL: return "the server's disk is full";
    case STORE_UNAVAILABLE: return "database unavailable, retry";
    }
    return "storage error";
}

static store_err map_rc(sqlite3 *db, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return STORE_OK;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return STORE_BUSY;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return STORE_CONFLICT;
    log_error("database: %s: %s", what, sqlite3_errmsg(db));
    return (rc & 0xff) == SQLITE_FULL ? STORE_FULL : STORE_ERROR;
}

static store_err exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (rc != SQLITE_BUSY)
            log_error("database: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return rc == SQLITE_BUSY ? STORE_BUSY : (rc & 0xff) == SQLITE_FULL ? STORE_FULL : STORE_ERROR;
    }
    return STORE_OK;
}

static int open_conn(const char *path, sqlite3 **db, int full, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        return -1;
    }
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    if (exec(*db, "PRAGMA journal_mode=WAL") || exec(*db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
        exec(*db, "PRAGMA foreign_keys=OFF")) {
        snprintf(err, errlen, "cannot configure %s: %s", path, sqlite3_errmsg(*db));
        return -1;
    }
    return 0;
}

static void scopy(char *dst, size_t cap, const unsigned char *src)
{
    if (src == NULL) {
        dst[0] = 0;
        return;
    }
    size_t l = strlen((const char *)src);
    if (l >= cap)
        l = cap - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

/* --- loading ----------------------------------------------------------- */

static store_err load_catalog(store *s, catalog *c)
{
    sqlite3 *db = SS(s)->adm;
    memset(c, 0, sizeof *c);
    store_err e = STORE_OK;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
#define GROW(arr, n, cap)                                                                                              \
    do {                                                                                                               \
        if ((n) == (cap)) {                                                                                            \
            size_t nc = (cap) ? (cap) * 2 : 16;                                                                        \
            void *na = realloc((arr), nc * sizeof *(arr));                                                             \
            if (na == NULL) {                                                                                          \
                e = STORE_ERROR;                                                                                       \
                goto out;                                                                                              \
            }                                                                                                          \
            (arr) = na;                                                                                                \
            (cap) = nc;                                                                                                \
        }                                                                                                              \
    } while (0)
    size_t cap;
    int rc;
    if (exec(db, "BEGIN") != STORE_OK) {
        e = STORE_BUSY;
        goto out;
    }
    cap = 0;
    sqlite3_prepare_v2(db, "SELECT id, key, name, listed_only, upgrades_enabled, max_daily_deliveries, created, max_devices FROM projects", -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        GROW(c->projects, c->nprojects, cap);
        cat_project *p = &c->projects[c->nprojects++];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(st, 0);
        scopy(p->key, sizeof p->key, sqlite3_column_text(st, 1));
        scopy(p->name, sizeof p->name, sqlite3_column_text(st, 2));
        p->listed_only = sqlite3_column_int(st, 3);
        p->upgrades_enabled = sqlite3_column_int(st, 4);
        p->max_daily_deliveries = (unsigned)sqlite3_column_int(st, 5);
        p->created = sqlite3_column_int64(st, 6);
        p->max_devices = (unsigned)sqlite3_column_int64(st, 7);
    }
    sqlite3_finalize(st);
    st = NULL;
    cap = 0;
    sqlite3_prepare_v2(db, "SELECT id, project_id, name, suffix, created FROM firmware", -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        GROW(c->firmware, c->nfirmware, cap);
        cat_firmware *f = &c->firmware[c->nfirmware++];
        memset(f, 0, sizeof *f);
        f->id = sqlite3_column_int64(st, 0);
        f->project_id = sqlite3_column_int64(st, 1);
        scopy(f->name, sizeof f->name, sqlite3_column_text(st, 2));
        f->suffix = sqlite3_column_int(st, 3);
        f->created = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    st = NULL;
    cap = 0;
    sqlite3_prepare_v2(db,
                       "SELECT p.id, p.project_id, p.firmware_id, p.core, p.script_x, p.script_z, p.base_core,"
                       " p.suffix, p.kind, p.size, p.md5, p.sha256, p.filename, p.created,"
                       " s.kind, s.counter, s.result_len, s.result_sha256, s.base_core, s.base_x, s.base_z, p.draft"
                       " FROM packages p LEFT JOIN signed_packages s ON s.package_id = p.id",
                       -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        GROW(c->packages, c->npackages, cap);
        cat_package *p = &c->packages[c->npackages++];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(st, 0);
        p->project_id = sqlite3_column_int64(st, 1);
        p->firmware_id = sqlite3_column_int64(st, 2);
        p->ver.core = (uint32_t)sqlite3_column_int64(st, 3);
        p->ver.x = (uint32_t)sqlite3_column_int64(st, 4);
        p->ver.z = (uint32_t)sqlite3_column_int64(st, 5);
        p->base_core = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
        p->suffix = sqlite3_column_int(st, 7);
        p->kind = sqlite3_column_int(st, 8);
        p->size = (uint64_t)sqlite3_column_int64(st, 9);
        scopy(p->md5, sizeof p->md5, sqlite3_column_text(st, 10));
        scopy(p->sha256, sizeof p->sha256, sqlite3_column_text(st, 11));
        scopy(p->filename, sizeof p->filename, sqlite3_column_text(st, 12));
        p->created = sqlite3_column_int64(st, 13);
        if (sqlite3_column_type(st, 14) != SQLITE_NULL) {
            p->sg_kind = sqlite3_column_int(st, 14);
            p->sg_counter = (uint64_t)sqlite3_column_int64(st, 15);
            p->sg_result_len = (uint64_t)sqlite3_column_int64(st, 16);
            scopy(p->sg_result_sha256, sizeof p->sg_result_sha256, sqlite3_column_text(st, 17));
            p->sg_base.core = (uint32_t)sqlite3_column_int64(st, 18);
            p->sg_base.x = (uint32_t)sqlite3_column_int64(st, 19);
            p->sg_base.z = (uint32_t)sqlite3_column_int64(st, 20);
        }
        p->draft = sqlite3_column_int(st, 21) != 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    cap = 0;
    sqlite3_prepare_v2(db, "SELECT name, size, sha256, created FROM files", -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        GROW(c->files, c->nfiles, cap);
        cat_file *f = &c->files[c->nfiles++];
        memset(f, 0, sizeof *f);
        scopy(f->name, sizeof f->name, sqlite3_column_text(st, 0));
        f->size = (uint64_t)sqlite3_column_int64(st, 1);
        scopy(f->sha256, sizeof f->sha256, sqlite3_column_text(st, 2));
        f->created = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    st = NULL;
    cap = 0;
    sqlite3_prepare_v2(db, "SELECT project_id, device_id FROM listed_devices", -1, &st, NULL);
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        GROW(c->listed, c->nlisted, cap);
        cat_listed *l = &c->listed[c->nlisted++];
        memset(l, 0, sizeof *l);
        l->project_id = sqlite3_column_int64(st, 0);
        scopy(l->device_id, sizeof l->device_id, sqlite3_column_text(st, 1));
    }
    (void)rc;
out:
    if (st)
        sqlite3_finalize(st);
    exec(db, "COMMIT");
    pthread_mutex_unlock(&SS(s)->adm_mu);
    if (e != STORE_OK)
        catalog_free(c);
    return e;
#undef GROW
}

static store_err load_devices(store *s, store_device_cb cb, void *arg)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, project_id, firmware, suffix, has_version, core, script_x, script_z,"
                                " forbidden, banned, banned_at, deliveries_today, delivery_day, last_seen, last_code,"
                                " failed_upgrades, pending_package, pending_core, pending_x, pending_z, upgraded FROM devices",
                                -1, &st, NULL);
    store_err e = map_rc(db, rc, "load devices");
    while (e == STORE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        dev_state d;
        memset(&d, 0, sizeof d);
        scopy(d.id, sizeof d.id, sqlite3_column_text(st, 0));
        d.project_id = sqlite3_column_int64(st, 1);
        scopy(d.firmware, sizeof d.firmware, sqlite3_column_text(st, 2));
        d.suffix = sqlite3_column_int(st, 3);
        d.has_version = sqlite3_column_int(st, 4);
        d.version.core = (uint32_t)sqlite3_column_int64(st, 5);
        d.version.x = (uint32_t)sqlite3_column_int64(st, 6);
        d.version.z = (uint32_t)sqlite3_column_int64(st, 7);
        d.forbidden = sqlite3_column_int(st, 8);
        d.banned = sqlite3_column_int(st, 9);
        d.banned_at = sqlite3_column_int64(st, 10);
        d.deliveries_today = (unsigned)sqlite3_column_int64(st, 11);
        d.delivery_day = sqlite3_column_int64(st, 12);
        d.last_seen = sqlite3_column_int64(st, 13);
        d.last_code = sqlite3_column_int(st, 14);
        d.failed_upgrades = (unsigned)sqlite3_column_int64(st, 15);
        d.pending_package = sqlite3_column_int64(st, 16);
        d.pending_from.core = (uint32_t)sqlite3_column_int64(st, 17);
        d.pending_from.x = (uint32_t)sqlite3_column_int64(st, 18);
        d.pending_from.z = (uint32_t)sqlite3_column_int64(st, 19);
        d.upgraded = sqlite3_column_int(st, 20);
        if (cb(arg, &d) != 0)
            e = STORE_ERROR;
    }
    if (e == STORE_OK && rc != SQLITE_DONE)
        e = map_rc(db, rc, "load devices");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

/* --- writer side --------------------------------------------------------- */

static store_err write_batch(store *s, const dev_state *devs, size_t ndev, const store_event *evs, size_t nev,
                             int durable)
{
    sqlite_store *ss = SS(s);
    sqlite3 *db = ss->wr;
    if (durable != ss->wr_sync_full) {
        exec(db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        ss->wr_sync_full = durable;
    }
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        return e;
    for (size_t i = 0; i < ndev && e == STORE_OK; i++) {
        const dev_state *d = &devs[i];
        sqlite3_stmt *st = ss->wr_dev;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, d->project_id);
        sqlite3_bind_text(st, 3, d->firmware, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, d->suffix);
        sqlite3_bind_int(st, 5, d->has_version);
        sqlite3_bind_int64(st, 6, d->version.core);
        sqlite3_bind_int64(st, 7, d->version.x);
        sqlite3_bind_int64(st, 8, d->version.z);
        sqlite3_bind_int(st, 9, d->forbidden);
        sqlite3_bind_int(st, 10, d->banned);
        sqlite3_bind_int64(st, 11, d->banned_at);
        sqlite3_bind_int64(st, 12, d->deliveries_today);
        sqlite3_bind_int64(st, 13, d->delivery_day);
        sqlite3_bind_int64(st, 14, d->last_seen);
        sqlite3_bind_int(st, 15, d->last_code);
        sqlite3_bind_int64(st, 16, d->failed_upgrades);
        sqlite3_bind_int64(st, 17, d->pending_package);
        sqlite3_bind_int64(st, 18, d->pending_from.core);
        sqlite3_bind_int64(st, 19, d->pending_from.x);
        sqlite3_bind_int64(st, 20, d->pending_from.z);
        sqlite3_bind_int(st, 21, d->upgraded);
        e = map_rc(db, sqlite3_step(st), "save device");
        sqlite3_clear_bindings(st);
    }
    for (size_t i = 0; i < nev && e == STORE_OK; i++) {
        const store_event *v = &evs[i];
        sqlite3_stmt *st = ss->wr_ev;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, v->device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, v->time);
        sqlite3_bind_text(st, 3, v->version, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, v->code);
        sqlite3_bind_int(st, 5, v->decision);
        sqlite3_bind_int64(st, 6, v->package_id);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)v->bytes_sent);
        sqlite3_bind_int(st, 8, v->complete);
        sqlite3_bind_text(st, 9, v->note, -1, SQLITE_STATIC);
        e = map_rc(db, sqlite3_step(st), "save event");
        sqlite3_clear_bindings(st);
    }
    if (e != STORE_OK) {
        exec(db, "ROLLBACK");
        return e;
    }
    e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
    return e;
}

static store_err run1(sqlite3 *db, const char *sql, const char *what, int (*bind)(sqlite3_stmt *, const void *),
                      const void *arg, int *changes)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return map_rc(db, rc, what);
    if (bind)
        bind(st, arg);
    rc = sqlite3_step(st);
    store_err e = map_rc(db, rc, what);
    sqlite3_finalize(st);
    if (changes)
        *changes = sqlite3_changes(db);
    return e;
}

static int bind_i64(sqlite3_stmt *st, const void *a)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)a);
    return 0;
}

static store_err prune_age(store *s, int64_t older_than)
{
    return run1(SS(s)->wr, "DELETE FROM events WHERE time < ?", "prune events", bind_i64, &older_than, NULL);
}

struct prune_arg {
    const char *id;
    unsigned keep;
};
static int bind_prune(sqlite3_stmt *st, const void *a)
{
    const struct prune_arg *p = a;
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, p->keep);
    return 0;
}

static store_err prune_device(store *s, const char *device_id, unsigned keep)
{
    struct prune_arg a = {device_id, keep};
    return run1(SS(s)->wr,
                "DELETE FROM events WHERE device_id = ? AND id <= "
                "(SELECT id FROM events WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                "prune device events", bind_prune, &a, NULL);
}

static int bind_text1(sqlite3_stmt *st, const void *a);

/* Devices the server forgets (device_expire_days): their rows and history,
 * in one transaction on the writer's connection. */
static store_err devices_delete(store *s, const char (*ids)[DEVICE_ID_MAX], size_t n)
{
    sqlite3 *db = SS(s)->wr;
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        return e;
    for (size_t i = 0; i < n && e == STORE_OK; i++) {
        e = run1(db, "DELETE FROM events WHERE device_id = ?", "forget device", bind_text1, ids[i], NULL);
        if (e == STORE_OK)
            e = run1(db, "DELETE FROM devices WHERE id = ?", "forget device", bind_text1, ids[i], NULL);
    }
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
    return e;
}

/* --- admin side -----------------------------------------------------------
 * Each call is one statement (autocommit = its own durable transaction) or an
 * explicit transaction, under adm_mu. */

/* The next id of a table (projects, firmware, packages), inside the
 * caller's transaction: one above both meta.last_id.<table> and the table's
 * largest id, recorded back into meta so it is never handed out again. */
static store_err next_id(sqlite3 *db, const char *table, int64_t *id)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT MAX(COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_id.%s'), 0),"
             " COALESCE((SELECT MAX(id) FROM %s), 0)) + 1",
             table, table);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return map_rc(db, rc, "next id");
    rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    store_err e = rc == SQLITE_ROW ? STORE_OK : map_rc(db, rc, "next id");
    sqlite3_finalize(st);
    if (e != STORE_OK)
        return e;
    snprintf(sql, sizeof sql,
             "INSERT INTO meta (key, value) VALUES ('last_id.%s', '%lld')"
             " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
             table, (long long)*id);
    return exec(db, sql);
}

static int bind_project(sqlite3_stmt *st, const void *a)
{
    const cat_project *p = a;
    sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, p->listed_only);
    sqlite3_bind_int(st, 4, p->upgrades_enabled);
    sqlite3_bind_int64(st, 5, p->max_daily_deliveries);
    sqlite3_bind_int64(st, 6, p->created);
    sqlite3_bind_int64(st, 7, p->id);
    sqlite3_bind_int64(st, 8, p->max_devices);
    return 0;
}

static store_err project_insert(store *s, cat_project *p)
{
    sqlite3 *db = SS(s)->adm;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e == STORE_OK) {
        e = next_id(db, "projects", &p->id);
        if (e == STORE_OK)
            e = run1(db,
                     "INSERT INTO projects (key, name, listed_only, upgrades_enabled, max_daily_deliveries, created,"
                     " id, max_devices) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                     "add project", bind_project, p, NULL);
        if (e == STORE_OK)
            e = exec(db, "COMMIT");
        if (e != STORE_OK)
            exec(db, "ROLLBACK");
    }
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err project_update(store *s, const cat_project *p)
{
    int ch = 0;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm,
                       "UPDATE projects SET key = ?1, name = ?2, listed_only = ?3, upgrades_enabled = ?4,"
                       " max_daily_deliveries = ?5, created = ?6, max_devices = ?8 WHERE id = ?7",
                       "change project", bind_project, p, &ch);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err count_where(sqlite3 *db, const char *sql, int64_t id, long long *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return map_rc(db, rc, sql);
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    store_err e = rc == SQLITE_ROW ? STORE_OK : map_rc(db, rc, sql);
    sqlite3_finalize(st);
    return e;
}

static store_err project_delete(store *s, int64_t id)
{
    sqlite3 *db = SS(s)->adm;
    pthread_mutex_lock(&SS(s)->adm_mu);
    long long n = 0;
    int ch = 0;
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        goto out;
    e = count_where(db, "SELECT COUNT(*) FROM packages WHERE project_id = ?", id, &n);
    if (e == STORE_OK && n > 0)
        e = STORE_INUSE;
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM firmware WHERE project_id = ?", "remove project firmware", bind_i64, &id, NULL);
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM listed_devices WHERE project_id = ?", "remove project list", bind_i64, &id, NULL);
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM projects WHERE id = ?", "remove project", bind_i64, &id, &ch);
    if (e == STORE_OK && ch == 0)
        e = STORE_NOTFOUND;
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
out:
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static int bind_fw(sqlite3_stmt *st, const void *a)
{
    const cat_firmware *f = a;
    sqlite3_bind_int64(st, 1, f->project_id);
    sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, f->suffix);
    sqlite3_bind_int64(st, 4, f->created);
    sqlite3_bind_int64(st, 5, f->id);
    return 0;
}

static store_err firmware_insert(store *s, cat_firmware *f)
{
    sqlite3 *db = SS(s)->adm;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e == STORE_OK) {
        e = next_id(db, "firmware", &f->id);
        if (e == STORE_OK)
            e = run1(db, "INSERT INTO firmware (project_id, name, suffix, created, id) VALUES (?, ?, ?, ?, ?)",
                     "add firmware", bind_fw, f, NULL);
        if (e == STORE_OK)
            e = exec(db, "COMMIT");
        if (e != STORE_OK)
            exec(db, "ROLLBACK");
    }
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err firmware_delete(store *s, int64_t id)
{
    sqlite3 *db = SS(s)->adm;
    pthread_mutex_lock(&SS(s)->adm_mu);
    long long n = 0;
    int ch = 0;
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        goto out;
    e = count_where(db, "SELECT COUNT(*) FROM packages WHERE firmware_id = ?", id, &n);
    if (e == STORE_OK && n > 0)
        e = STORE_INUSE;
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM firmware WHERE id = ?", "remove firmware", bind_i64, &id, &ch);
    if (e == STORE_OK && ch == 0)
        e = STORE_NOTFOUND;
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
out:
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static int bind_pkg(sqlite3_stmt *st, const void *a)
{
    const cat_package *p = a;
    sqlite3_bind_int64(st, 1, p->project_id);
    sqlite3_bind_int64(st, 2, p->firmware_id);
    sqlite3_bind_int64(st, 3, p->ver.core);
    sqlite3_bind_int64(st, 4, p->ver.x);
    sqlite3_bind_int64(st, 5, p->ver.z);
    if (p->base_core < 0)
        sqlite3_bind_null(st, 6);
    else
        sqlite3_bind_int64(st, 6, p->base_core);
    sqlite3_bind_int(st, 7, p->suffix);
    sqlite3_bind_int(st, 8, p->kind);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)p->size);
    sqlite3_bind_text(st, 10, p->md5, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, p->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, p->filename, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 13, p->created);
    sqlite3_bind_int64(st, 14, p->id);
    sqlite3_bind_int(st, 15, p->draft);
    return 0;
}

static int bind_signed(sqlite3_stmt *st, const void *a)
{
    const cat_package *p = a;
    sqlite3_bind_int64(st, 1, p->id);
    sqlite3_bind_int(st, 2, p->sg_kind);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)p->sg_counter);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)p->sg_result_len);
    sqlite3_bind_text(st, 5, p->sg_result_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, p->sg_base.core);
    sqlite3_bind_int64(st, 7, p->sg_base.x);
    sqlite3_bind_int64(st, 8, p->sg_base.z);
    return 0;
}

static store_err package_insert(store *s, cat_package *p)
{
    sqlite3 *db = SS(s)->adm;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        goto out;
    e = next_id(db, "packages", &p->id);
    if (e == STORE_OK)
        e = run1(db,
                 "INSERT INTO packages (project_id, firmware_id, core, script_x, script_z, base_core, suffix,"
                 " kind, size, md5, sha256, filename, created, id, draft)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "add package", bind_pkg, p, NULL);
    if (e == STORE_OK && p->kind == PKG_KIND_SIGNED)
        e = run1(db,
                 "INSERT INTO signed_packages (package_id, kind, counter, result_len, result_sha256, base_core,"
                 " base_x, base_z) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (package_id) DO UPDATE SET"
                 " kind = excluded.kind, counter = excluded.counter, result_len = excluded.result_len,"
                 " result_sha256 = excluded.result_sha256, base_core = excluded.base_core,"
                 " base_x = excluded.base_x, base_z = excluded.base_z",
                 "add signed package", bind_signed, p, NULL);
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
out:
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

typedef struct draft_arg {
    int64_t id;
    int draft;
} draft_arg;

static int bind_draft(sqlite3_stmt *st, const void *a)
{
    const draft_arg *d = a;
    sqlite3_bind_int(st, 1, d->draft);
    sqlite3_bind_int64(st, 2, d->id);
    return 0;
}

static store_err package_set_draft(store *s, int64_t id, int draft)
{
    sqlite3 *db = SS(s)->adm;
    int ch = 0;
    draft_arg d = {id, draft != 0};
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(db, "UPDATE packages SET draft = ? WHERE id = ?", "release package", bind_draft, &d, &ch);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static int bind_i64x2(sqlite3_stmt *st, const void *a)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)a);
    sqlite3_bind_int64(st, 2, *(const int64_t *)a);
    return 0;
}

static store_err package_delete(store *s, int64_t id)
{
    sqlite3 *db = SS(s)->adm;
    int ch = 0;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        goto out;
    e = run1(db, "DELETE FROM packages WHERE id = ?", "remove package", bind_i64, &id, &ch);
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM signed_packages WHERE package_id = ?", "remove package", bind_i64, &id, NULL);
    if (e == STORE_OK)
        e = run1(db, "DELETE FROM deltas WHERE base_package_id = ? OR target_package_id = ?", "remove deltas",
                 bind_i64x2, &id, NULL);
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK)
        exec(db, "ROLLBACK");
out:
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static int bind_delta(sqlite3_stmt *st, const void *a)
{
    const store_delta *d = a;
    sqlite3_bind_int64(st, 1, d->base_id);
    sqlite3_bind_int64(st, 2, d->target_id);
    sqlite3_bind_int(st, 3, d->state);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)d->size);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)d->full_size);
    sqlite3_bind_text(st, 6, d->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, d->created);
    return 0;
}

static store_err delta_put(store *s, const store_delta *d)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm,
                       "INSERT INTO deltas (base_package_id, target_package_id, state, size, full_size, sha256,"
                       " created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (base_package_id, target_package_id)"
                       " DO UPDATE SET state = excluded.state, size = excluded.size,"
                       " full_size = excluded.full_size, sha256 = excluded.sha256, created = excluded.created",
                       "record delta", bind_delta, d, NULL);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err deltas_load(store *s, store_delta_cb cb, void *arg)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT base_package_id, target_package_id, state, size, full_size, sha256, created"
                                " FROM deltas",
                                -1, &st, NULL);
    store_err e = map_rc(db, rc, "load deltas");
    if (e == STORE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store_delta d;
            memset(&d, 0, sizeof d);
            d.base_id = sqlite3_column_int64(st, 0);
            d.target_id = sqlite3_column_int64(st, 1);
            d.state = sqlite3_column_int(st, 2);
            d.size = (uint64_t)sqlite3_column_int64(st, 3);
            d.full_size = (uint64_t)sqlite3_column_int64(st, 4);
            scopy(d.sha256, sizeof d.sha256, sqlite3_column_text(st, 5));
            d.created = sqlite3_column_int64(st, 6);
            if (cb(arg, &d) != 0)
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = map_rc(db, rc, "load deltas");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static int bind_file(sqlite3_stmt *st, const void *a)
{
    const cat_file *f = a;
    sqlite3_bind_text(st, 1, f->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)f->size);
    sqlite3_bind_text(st, 3, f->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, f->created);
    return 0;
}

static store_err file_put(store *s, const cat_file *f)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm,
                       "INSERT INTO files (name, size, sha256, created) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT (name) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,"
                       " created = excluded.created",
                       "put file", bind_file, f, NULL);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static int bind_text1(sqlite3_stmt *st, const void *a)
{
    sqlite3_bind_text(st, 1, (const char *)a, -1, SQLITE_STATIC);
    return 0;
}

static store_err file_delete(store *s, const char *name)
{
    int ch = 0;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm, "DELETE FROM files WHERE name = ?", "remove file", bind_text1, name, &ch);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static store_err listed_add(store *s, int64_t project_id, const char (*ids)[DEVICE_ID_MAX], size_t n, size_t *added)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    *added = 0;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = exec(db, "BEGIN IMMEDIATE");
    if (e != STORE_OK)
        goto out;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO listed_devices (project_id, device_id) VALUES (?, ?)"
                                " ON CONFLICT (project_id, device_id) DO NOTHING",
                                -1, &st, NULL);
    e = map_rc(db, rc, "list devices");
    for (size_t i = 0; i < n && e == STORE_OK; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, project_id);
        sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
        e = map_rc(db, sqlite3_step(st), "list device");
        if (e == STORE_OK)
            *added += (size_t)sqlite3_changes(db);
    }
    sqlite3_finalize(st);
    if (e == STORE_OK)
        e = exec(db, "COMMIT");
    if (e != STORE_OK) {
        exec(db, "ROLLBACK");
        *added = 0;
    }
out:
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err blob_refs(store *s, const char *sha256, long long *count)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT (SELECT COUNT(*) FROM packages WHERE sha256 = ?)"
                                " + (SELECT COUNT(*) FROM files WHERE sha256 = ?)"
                                " + (SELECT COUNT(*) FROM deltas WHERE sha256 = ?)",
                                -1, &st, NULL);
    store_err e = map_rc(db, rc, "blob refs");
    if (e == STORE_OK) {
        sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *count = sqlite3_column_int64(st, 0);
        else
            e = map_rc(db, rc, "blob refs");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err events_for_device(store *s, const char *device_id, unsigned limit, store_event_cb cb, void *arg)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT time, version, code, decision, package_id, bytes_sent, complete, note"
                                " FROM events WHERE device_id = ? ORDER BY id DESC LIMIT ?",
                                -1, &st, NULL);
    store_err e = map_rc(db, rc, "device history");
    if (e == STORE_OK) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store_event ev;
            memset(&ev, 0, sizeof ev);
            scopy(ev.device_id, sizeof ev.device_id, (const unsigned char *)device_id);
            ev.time = sqlite3_column_int64(st, 0);
            scopy(ev.version, sizeof ev.version, sqlite3_column_text(st, 1));
            ev.code = sqlite3_column_int(st, 2);
            ev.decision = sqlite3_column_int(st, 3);
            ev.package_id = sqlite3_column_int64(st, 4);
            ev.bytes_sent = (uint64_t)sqlite3_column_int64(st, 5);
            ev.complete = sqlite3_column_int(st, 6);
            scopy(ev.note, sizeof ev.note, sqlite3_column_text(st, 7));
            if (cb(arg, &ev) != 0)
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = map_rc(db, rc, "device history");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

/* --- admin tokens and the audit log ------------------------------------- */

static store_err tokens_load(store *s, store_token_cb cb, void *arg)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db, "SELECT name, role, sha256, created FROM admin_tokens ORDER BY name", -1, &st,
                                NULL);
    store_err e = map_rc(db, rc, "load admin tokens");
    if (e == STORE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store_token t;
            memset(&t, 0, sizeof t);
            scopy(t.name, sizeof t.name, sqlite3_column_text(st, 0));
            t.role = sqlite3_column_int(st, 1);
            scopy(t.sha256, sizeof t.sha256, sqlite3_column_text(st, 2));
            t.created = sqlite3_column_int64(st, 3);
            if (cb(arg, &t) != 0)
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = map_rc(db, rc, "load admin tokens");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static int bind_token(sqlite3_stmt *st, const void *a)
{
    const store_token *t = a;
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, t->role);
    sqlite3_bind_text(st, 3, t->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, t->created);
    return 0;
}

static store_err token_insert(store *s, const store_token *t)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm, "INSERT INTO admin_tokens (name, role, sha256, created) VALUES (?, ?, ?, ?)",
                       "add admin token", bind_token, t, NULL);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err token_upsert(store *s, const store_token *t)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm,
                       "INSERT INTO admin_tokens (name, role, sha256, created) VALUES (?, ?, ?, ?)"
                       " ON CONFLICT (name) DO UPDATE SET role = excluded.role, sha256 = excluded.sha256,"
                       " created = excluded.created",
                       "set admin token", bind_token, t, NULL);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err token_delete(store *s, const char *name)
{
    int ch = 0;
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm, "DELETE FROM admin_tokens WHERE name = ?", "revoke admin token", bind_text1, name,
                       &ch);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e == STORE_OK && ch == 0 ? STORE_NOTFOUND : e;
}

static int bind_audit(sqlite3_stmt *st, const void *arg)
{
    const store_audit *a = arg;
    sqlite3_bind_int64(st, 1, a->time);
    sqlite3_bind_text(st, 2, a->token, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, a->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, a->route, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, a->target, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, (int)a->status);
    sqlite3_bind_text(st, 8, a->detail, -1, SQLITE_STATIC);
    return 0;
}

static store_err audit_insert(store *s, store_audit *a)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm,
                       "INSERT INTO audit (time, token, addr, method, route, target, status, detail)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       "write audit entry", bind_audit, a, NULL);
    if (e == STORE_OK)
        a->id = sqlite3_last_insert_rowid(SS(s)->adm);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err audit_list(store *s, unsigned limit, int64_t before, store_audit_cb cb, void *arg)
{
    sqlite3 *db = SS(s)->adm;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&SS(s)->adm_mu);
    int rc = sqlite3_prepare_v2(db,
                                "SELECT id, time, token, addr, method, route, target, status, detail FROM audit"
                                " WHERE (? <= 0 OR id < ?) ORDER BY id DESC LIMIT ?",
                                -1, &st, NULL);
    store_err e = map_rc(db, rc, "read audit log");
    if (e == STORE_OK) {
        sqlite3_bind_int64(st, 1, before);
        sqlite3_bind_int64(st, 2, before);
        sqlite3_bind_int64(st, 3, limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            store_audit a;
            memset(&a, 0, sizeof a);
            a.id = sqlite3_column_int64(st, 0);
            a.time = sqlite3_column_int64(st, 1);
            scopy(a.token, sizeof a.token, sqlite3_column_text(st, 2));
            scopy(a.addr, sizeof a.addr, sqlite3_column_text(st, 3));
            scopy(a.method, sizeof a.method, sqlite3_column_text(st, 4));
            scopy(a.route, sizeof a.route, sqlite3_column_text(st, 5));
            scopy(a.target, sizeof a.target, sqlite3_column_text(st, 6));
            a.status = (unsigned)sqlite3_column_int(st, 7);
            scopy(a.detail, sizeof a.detail, sqlite3_column_text(st, 8));
            if (cb(arg, &a) != 0)
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = map_rc(db, rc, "read audit log");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static store_err audit_prune(store *s, int64_t older_than)
{
    pthread_mutex_lock(&SS(s)->adm_mu);
    store_err e = run1(SS(s)->adm, "DELETE FROM audit WHERE time < ?", "prune audit log", bind_i64, &older_than, NULL);
    pthread_mutex_unlock(&SS(s)->adm_mu);
    return e;
}

static void sqlite_close(store *s)
{
    sqlite_store *ss = SS(s);
    if (ss == NULL)
        return;
    sqlite3_finalize(ss->wr_dev);
    sqlite3_finalize(ss->wr_ev);
    if (ss->wr)
        sqlite3_close(ss->wr);
    if (ss->adm) {
        /* fold the WAL back so the database file alone is complete */
        sqlite3_wal_checkpoint_v2(ss->adm, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(ss->adm);
    }
    pthread_mutex_destroy(&ss->adm_mu);
    free(ss);
}

static const store_ops sqlite_ops = {
    .close = sqlite_close,
    .load_catalog = load_catalog,
    .load_devices = load_devices,
    .write_batch = write_batch,
    .prune_age = prune_age,
    .prune_device = prune_device,
    .devices_delete = devices_delete,
    .project_insert = project_insert,
    .project_update = project_update,
    .project_delete = project_delete,
    .firmware_insert = firmware_insert,
    .firmware_delete = firmware_delete,
    .package_insert = package_insert,
    .package_delete = package_delete,
    .package_set_draft = package_set_draft,
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
};

store *store_sqlite_open(const char *dir, char *err, size_t errlen)
{
    sqlite_store *ss = calloc(1, sizeof *ss);
    if (ss == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ss->base.ops = &sqlite_ops;
    pthread_mutex_init(&ss->adm_mu, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/openfota.db", dir);
    if (open_conn(path, &ss->adm, 1, err, errlen) < 0)
        goto fail;
    if (exec(ss->adm, "BEGIN IMMEDIATE") != STORE_OK) {
        snprintf(err, errlen, "%s is locked by another process (is another server running on this data folder?)",
                 path);
        goto fail;
    }
    for (size_t i = 0; i < sizeof schema / sizeof schema[0]; i++) {
        if (exec(ss->adm, schema[i]) != STORE_OK) {
            snprintf(err, errlen, "cannot create the database schema in %s: %s", path, sqlite3_errmsg(ss->adm));
            exec(ss->adm, "ROLLBACK");
            goto fail;
        }
    }
    if (exec(ss->adm, "INSERT INTO meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING") !=
            STORE_OK ||
        schema_migrate(ss->adm, err, errlen) < 0) {
        exec(ss->adm, "ROLLBACK");
        goto fail;
    }
    if (exec(ss->adm, "COMMIT") != STORE_OK) {
        snprintf(err, errlen, "cannot commit the schema in %s", path);
        goto fail;
    }
    if (open_conn(path, &ss->wr, 0, err, errlen) < 0)
        goto fail;
    if (sqlite3_prepare_v2(ss->wr,
                           "INSERT INTO devices (id, project_id, firmware, suffix, has_version, core, script_x,"
                           " script_z, forbidden, banned, banned_at, deliveries_today, delivery_day, last_seen,"
                           " last_code, failed_upgrades, pending_package, pending_core, pending_x, pending_z,"
                           " upgraded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT (id) DO UPDATE SET project_id = excluded.project_id,"
                           " firmware = excluded.firmware, suffix = excluded.suffix,"
                           " has_version = excluded.has_version, core = excluded.core,"
                           " script_x = excluded.script_x, script_z = excluded.script_z,"
                           " forbidden = excluded.forbidden, banned = excluded.banned,"
                           " banned_at = excluded.banned_at, deliveries_today = excluded.deliveries_today,"
                           " delivery_day = excluded.delivery_day, last_seen = excluded.last_seen,"
                           " last_code = excluded.last_code, failed_upgrades = excluded.failed_upgrades,"
                           " pending_package = excluded.pending_package, pending_core = excluded.pending_core,"
                           " pending_x = excluded.pending_x, pending_z = excluded.pending_z,"
                           " upgraded = excluded.upgraded",
                           -1, &ss->wr_dev, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(ss->wr,
                           "INSERT INTO events (device_id, time, version, code, decision, package_id, bytes_sent,"
                           " complete, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &ss->wr_ev, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot prepare statements: %s", sqlite3_errmsg(ss->wr));
        goto fail;
    }
    return &ss->base;
fail:
    sqlite_close(&ss->base);
    return NULL;
}
