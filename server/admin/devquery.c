/*
 * devquery.c — see devquery.h.
 */
#include "devquery.h"

#include <stdlib.h>
#include <string.h>

int devquery_parse(devquery *q, const char *state, const char *sort, const char *order, const char *version,
                   const char **why)
{
    q->state = DQ_ANY;
    if (state && state[0]) {
        if (!strcmp(state, "banned"))
            q->state = DQ_BANNED;
        else if (!strcmp(state, "forbidden"))
            q->state = DQ_FORBIDDEN;
        else if (!strcmp(state, "failed"))
            q->state = DQ_FAILED;
        else {
            *why = "state must be banned, forbidden or failed";
            return -1;
        }
    }
    q->sort = DQ_SORT_ID;
    if (sort && sort[0]) {
        if (!strcmp(sort, "id"))
            q->sort = DQ_SORT_ID;
        else if (!strcmp(sort, "last_seen"))
            q->sort = DQ_SORT_LAST_SEEN;
        else if (!strcmp(sort, "version"))
            q->sort = DQ_SORT_VERSION;
        else if (!strcmp(sort, "project"))
            q->sort = DQ_SORT_PROJECT;
        else {
            *why = "sort must be id, last_seen, version or project";
            return -1;
        }
    }
    q->desc = 0;
    if (order && order[0]) {
        if (!strcmp(order, "desc"))
            q->desc = 1;
        else if (strcmp(order, "asc")) {
            *why = "order must be asc or desc";
            return -1;
        }
    }
    q->has_version = 0;
    if (version && version[0]) {
        if (version_parse(version, strlen(version), &q->version) != VERSION_OK) {
            *why = "version must be CORE.X.Z (e.g. 2012.001.001)";
            return -1;
        }
        q->has_version = 1;
    }
    return 0;
}

static int match(const devquery *q, const dev_state *d)
{
    if (q->project_id >= 0 && d->project_id != q->project_id)
        return 0;
    if (q->state == DQ_BANNED && !d->banned)
        return 0;
    if (q->state == DQ_FORBIDDEN && !d->forbidden)
        return 0;
    if (q->state == DQ_FAILED && d->failed_upgrades == 0)
        return 0;
    if (q->firmware && strcmp(d->firmware, q->firmware))
        return 0;
    if (q->has_version && (!d->has_version || version_cmp(&d->version, &q->version) != 0))
        return 0;
    if (q->q && q->q[0] && strcasestr(d->id, q->q) == NULL)
        return 0;
    return 1;
}

static int cmp64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

/* <0 when a comes before b in the requested order. */
static int order_cmp(const devquery *q, const dev_state *a, const dev_state *b)
{
    int c = 0;
    switch (q->sort) {
    case DQ_SORT_LAST_SEEN: c = cmp64(a->last_seen, b->last_seen); break;
    case DQ_SORT_VERSION:
        /* devices without a version sort first */
        c = a->has_version != b->has_version ? (a->has_version ? 1 : -1)
                                             : (a->has_version ? version_cmp(&a->version, &b->version) : 0);
        break;
    case DQ_SORT_PROJECT: c = cmp64(a->project_id, b->project_id); break;
    default: break;
    }
    if (c == 0)
        c = strcmp(a->id, b->id);
    return q->desc ? -c : c;
}

/* Max-heap on order_cmp: the root is the entry that comes last. */
static void sift_down(const devquery *q, const dev_state **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && order_cmp(q, h[l], h[m]) > 0)
            m = l;
        if (r < n && order_cmp(q, h[r], h[m]) > 0)
            m = r;
        if (m == i)
            return;
        const dev_state *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(const devquery *q, const dev_state **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (order_cmp(q, h[i], h[p]) <= 0)
            return;
        const dev_state *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

int devquery_run(const devquery *q, const dev_state *all, size_t n, const dev_state ***page, size_t *npage,
                 size_t *total)
{
    *page = NULL;
    *npage = 0;
    *total = 0;
    size_t k = q->limit == 0 ? 0 : q->offset + q->limit;
    if (k < q->offset || k > n)
        k = n; /* overflow, or more than there is */
    const dev_state **h = NULL;
    if (k > 0 && (h = malloc(k * sizeof *h)) == NULL)
        return -1;
    size_t hn = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        const dev_state *d = &all[i];
        if (!match(q, d))
            continue;
        tot++;
        if (k == 0)
            continue;
        if (hn < k) {
            h[hn] = d;
            sift_up(q, h, hn++);
        } else if (order_cmp(q, d, h[0]) < 0) {
            h[0] = d;
            sift_down(q, h, hn, 0);
        }
    }
    *total = tot;
    /* heap sort in place: ascending in the requested order */
    for (size_t end = hn; end > 1; end--) {
        const dev_state *t = h[0];
        h[0] = h[end - 1];
        h[end - 1] = t;
        sift_down(q, h, end - 1, 0);
    }
    if (hn <= q->offset) {
        free(h);
        return 0;
    }
    size_t m = hn - q->offset;
    memmove(h, h + q->offset, m * sizeof *h);
    *page = h;
    *npage = m;
    return 0;
}
