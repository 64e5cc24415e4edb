/*
 * catalog.h — the rows operators manage (projects, firmware, packages, static
 * files, listed devices) and the per-device state, as plain C structs shared
 * by the store, the snapshot and the rules. Fixed-size text fields: every
 * value is bounded before it is stored.
 */
#ifndef OPENFOTA_SERVER_CATALOG_H
#define OPENFOTA_SERVER_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "version.h"

#define NAME_MAX_LEN 128 /* project names, firmware names, file names */
#define KEY_MAX_LEN 64   /* project keys */
#define NOTE_MAX 120

typedef struct cat_project {
    int64_t id;
    char key[KEY_MAX_LEN + 1];
    char name[NAME_MAX_LEN + 1];
    int listed_only;
    int upgrades_enabled;
    unsigned max_daily_deliveries;
    int64_t created;
    unsigned max_devices;   /* devices a check may create for it at most, 0 = no cap (store column max_devices) */
} cat_project;

typedef struct cat_firmware {
    int64_t id;
    int64_t project_id;
    char name[NAME_MAX_LEN + 1];
    int suffix;
    int64_t created;
} cat_firmware;

enum { PKG_KIND_RAW = 0, PKG_KIND_LUAT = 1, PKG_KIND_SIGNED = 2 };

typedef struct cat_package {
    int64_t id;
    int64_t project_id;
    int64_t firmware_id;
    of_version ver;      /* target core and script */
    int64_t base_core;   /* -1: script-only package */
    int suffix;
    int kind;            /* PKG_KIND_* */
    uint64_t size;
    char md5[33];
    char sha256[65];
    char filename[NAME_MAX_LEN + 1];
    int64_t created;
    /* kind signed (openfota package, docs/package-format.md): from its checked manifest */
    int sg_kind;                /* 1 full (a release: its payload is the whole image), 2 delta, 0 not signed */
    uint64_t sg_counter;        /* release counter */
    uint64_t sg_result_len;     /* bytes of the image after install */
    char sg_result_sha256[65];  /* its SHA-256 (hex) */
    of_version sg_base;         /* delta: the version it applies to (manifest base); all zero when not known
                                   (a delta uploaded before this was recorded: offered to no device) */
    int draft;                  /* 1: no device is offered it unless a rollout of it governs the
                                 * firmware, until it is released (store op package_set_draft) */
} cat_package;

typedef struct cat_file {
    char name[NAME_MAX_LEN + 1];
    uint64_t size;
    char sha256[65];
    int64_t created;
} cat_file;

typedef struct cat_listed {
    int64_t project_id;
    char device_id[DEVICE_ID_MAX];
} cat_listed;

/* Everything the snapshot is built from. Arrays are malloc'ed; catalog_free
 * releases them. */
typedef struct catalog {
    cat_project *projects;
    size_t nprojects;
    cat_firmware *firmware;
    size_t nfirmware;
    cat_package *packages;
    size_t npackages;
    cat_file *files;
    size_t nfiles;
    cat_listed *listed;
    size_t nlisted;
} catalog;

void catalog_free(catalog *c);

/* Per-device state kept in memory and persisted by the writer. */
typedef struct dev_state {
    char id[DEVICE_ID_MAX];
    int64_t project_id;            /* 0: not bound yet */
    char firmware[NAME_MAX_LEN + 1]; /* last firmware name reported */
    int suffix;                    /* layout suffix of the device's lineage, 0 unknown */
    int has_version;
    of_version version;            /* last version reported */
    int forbidden;
    int banned;
    int64_t banned_at;
    unsigned deliveries_today;
    int64_t delivery_day;          /* UTC day number the counter belongs to */
    int64_t last_seen;
    int last_code;
    unsigned failed_upgrades;
    int64_t pending_package;       /* last package sent completely, 0 none */
    of_version pending_from;       /* version the device had when it got it */
    int upgraded;                  /* 1 once a whole package reached it (never expires then) */
    /* loop guard byte accounting (rules_account), memory only: bytes of one
     * package (as served: full or delta) received on delivery_day */
    int64_t acct_package;
    uint64_t acct_size;
    uint64_t acct_bytes;
    int64_t report_last_ms;        /* time of the last signed report accepted (memory only) */
} dev_state;

/* One check (or admin action) in a device's history. */
enum { DECISION_UPGRADE = 1, DECISION_NO_UPGRADE = 2, DECISION_REFUSED = 3, DECISION_ADMIN = 4, DECISION_REPORT = 5 };
const char *decision_name(int d);

typedef struct store_event {
    char device_id[DEVICE_ID_MAX];
    int64_t time;
    char version[VERSION_TEXT_MAX]; /* as reported, canonical; "" if none */
    int code;                       /* vendor code, 0 for a delivery */
    int decision;                   /* DECISION_* */
    int64_t package_id;             /* 0 none */
    uint64_t bytes_sent;
    int complete;
    char note[NOTE_MAX];
} store_event;

#endif
