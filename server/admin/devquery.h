/*
 * devquery.h — one page of the device list (GET /admin/v1/devices): filters,
 * search by ID, sort and paging over a copy of the device table, without
 * sorting the whole fleet: the page is picked with a bounded heap of
 * offset + limit entries (n log k), and the total of matching devices is
 * counted on the way.
 *
 * Pure: no server state, no allocation kept; devquery_run only reads the
 * array it is given and returns pointers into it.
 */
#ifndef OPENFOTA_SERVER_DEVQUERY_H
#define OPENFOTA_SERVER_DEVQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "version.h"

enum { DQ_ANY = 0, DQ_BANNED, DQ_FORBIDDEN, DQ_FAILED };
enum { DQ_SORT_ID = 0, DQ_SORT_LAST_SEEN, DQ_SORT_VERSION, DQ_SORT_PROJECT };

typedef struct devquery {
    int64_t project_id;   /* -1: any project */
    const char *q;        /* ID substring (case-insensitive); NULL or "": any */
    const char *firmware; /* exact firmware name; NULL: any */
    int has_version;      /* 1: only devices on exactly this version */
    of_version version;
    int state;            /* DQ_ANY, DQ_BANNED, DQ_FORBIDDEN, DQ_FAILED */
    int sort;             /* DQ_SORT_*; ties are broken by ID */
    int desc;             /* 1: descending */
    size_t offset, limit;
} devquery;

/* Parse the text forms of the query arguments (NULL or "" = default):
 * state (banned|forbidden|failed), sort (id|last_seen|version|project),
 * order (asc|desc), version (CORE.X.Z). 0 ok, -1 with *why naming the
 * argument and its accepted values. */
int devquery_parse(devquery *q, const char *state, const char *sort, const char *order, const char *version,
                   const char **why);

/* The page: *page gets a malloc'ed array (caller frees; NULL when empty) of
 * pointers into all[], in order, at most q->limit of them; *npage its
 * length; *total the count of devices matching the filters.
 * 0 ok, -1 out of memory. */
int devquery_run(const devquery *q, const dev_state *all, size_t n, const dev_state ***page, size_t *npage,
                 size_t *total);

#endif
