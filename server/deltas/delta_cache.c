/*
 * delta_cache.c — the in-memory delta index and the check's delta decision
 * (delta_cache.h).
 */
#include "delta_cache.h"

#include <stdlib.h>
#include <string.h>

dcache *dcache_new(void)
{
    dcache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

void dcache_free(dcache *c)
{
    if (c == NULL)
        return;
    pthread_rwlock_destroy(&c->lock);
    free(c->e);
    free(c);
}

static int key_cmp(int64_t b1, int64_t t1, int64_t b2, int64_t t2)
{
    if (b1 != b2)
        return b1 < b2 ? -1 : 1;
    return t1 < t2 ? -1 : t1 > t2;
}

/* Index of the entry, or -(insertion point) - 1. Lock held. */
static long find(const dcache *c, int64_t base, int64_t target)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = key_cmp(c->e[mid].base_id, c->e[mid].target_id, base, target);
        if (k == 0)
            return (long)mid;
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

int dcache_get(dcache *c, int64_t base, int64_t target, dc_entry *out)
{
    pthread_rwlock_rdlock(&c->lock);
    long i = find(c, base, target);
    if (i >= 0)
        *out = c->e[i];
    pthread_rwlock_unlock(&c->lock);
    return i >= 0;
}

/* Insert at the insertion point of a missing key. Lock held. */
static int insert_at(dcache *c, long i, const dc_entry *e)
{
    size_t at = (size_t)(-i - 1);
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        dc_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (ne == NULL)
            return -1;
        c->e = ne;
        c->cap = nc;
    }
    memmove(&c->e[at + 1], &c->e[at], (c->n - at) * sizeof *c->e);
    c->e[at] = *e;
    c->n++;
    return 0;
}

int dcache_put(dcache *c, const dc_entry *e)
{
    pthread_rwlock_wrlock(&c->lock);
    long i = find(c, e->base_id, e->target_id);
    int rc = 0;
    if (i >= 0)
        c->e[i] = *e;
    else
        rc = insert_at(c, i, e);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int dcache_claim(dcache *c, int64_t base, int64_t target, uint64_t full_size, int64_t now, int64_t retry_after)
{
    dc_entry e;
    memset(&e, 0, sizeof e);
    e.base_id = base;
    e.target_id = target;
    e.state = DC_QUEUED;
    e.full_size = full_size;
    e.created = now;
    pthread_rwlock_wrlock(&c->lock);
    long i = find(c, base, target);
    int rc;
    if (i >= 0) {
        if (c->e[i].state == DC_FAILED && now - c->e[i].created >= retry_after) {
            c->e[i] = e;
            rc = 1;
        } else {
            rc = 0;
        }
    } else {
        rc = insert_at(c, i, &e) == 0 ? 1 : -1;
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int dcache_set_state(dcache *c, int64_t base, int64_t target, int state, int64_t when)
{
    pthread_rwlock_wrlock(&c->lock);
    long i = find(c, base, target);
    if (i >= 0) {
        c->e[i].state = state;
        c->e[i].created = when;
    }
    pthread_rwlock_unlock(&c->lock);
    return i >= 0;
}

void dcache_remove(dcache *c, int64_t base, int64_t target)
{
    pthread_rwlock_wrlock(&c->lock);
    long i = find(c, base, target);
    if (i >= 0) {
        memmove(&c->e[i], &c->e[i + 1], (c->n - (size_t)i - 1) * sizeof *c->e);
        c->n--;
    }
    pthread_rwlock_unlock(&c->lock);
}

size_t dcache_for_package(dcache *c, int64_t id, int drop, dc_entry **out)
{
    *out = NULL;
    if (drop)
        pthread_rwlock_wrlock(&c->lock);
    else
        pthread_rwlock_rdlock(&c->lock);
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->e[i].base_id == id || c->e[i].target_id == id;
    dc_entry *res = n ? malloc(n * sizeof *res) : NULL;
    size_t k = 0, w = 0;
    for (size_t i = 0; i < c->n; i++) {
        int hit = c->e[i].base_id == id || c->e[i].target_id == id;
        if (hit && res)
            res[k++] = c->e[i];
        if (!(hit && drop))
            c->e[w++] = c->e[i];
    }
    if (drop)
        c->n = w;
    pthread_rwlock_unlock(&c->lock);
    *out = res;
    return res ? k : 0;
}

/* ---- decision ------------------------------------------------------------ */

int delta_small_enough(uint64_t size, uint64_t full, double margin)
{
    /* compare in thousandths so 0.8 x 1000 is exactly 800 */
    uint64_t permille = (uint64_t)(margin * 1000.0 + 0.5);
    return (long double)size * 1000.0L <= (long double)full * (long double)permille;
}

static void out_set(delta_out *o, delta_action a, int enqueue, const char *why)
{
    o->action = a;
    o->enqueue = enqueue;
    o->why = why;
}

void delta_decide(const delta_in *in, delta_out *out)
{
    if (!in->target_release) {
        out_set(out, DD_FULL, 0, "target is not a signed release");
        return;
    }
    if (!in->have_base) {
        out_set(out, DD_FULL, 0, "device version is not a stored release");
        return;
    }
    if (!in->can_sign) {
        out_set(out, DD_FULL, 0, "no signing key: deltas are not made");
        return;
    }
    const dc_entry *c = in->cached;
    int generate = 0;
    if (c != NULL) {
        switch (c->state) {
        case DC_READY:
            if (delta_small_enough(c->size, in->full_size, in->margin))
                out_set(out, DD_DELTA, 0, "delta cached");
            else
                out_set(out, DD_FULL, 0, "cached delta not smaller than the full package by the margin");
            return;
        case DC_NOT_SMALLER:
            out_set(out, DD_FULL, 0, "delta not smaller than the full package by the margin");
            return;
        case DC_FAILED:
            if (in->now - c->created < DC_RETRY_FAILED_S) {
                out_set(out, DD_FULL, 0, "delta generation failed recently");
                return;
            }
            generate = 1;
            break;
        default: /* queued or generating */
            break;
        }
    } else {
        generate = 1;
    }
    if (in->agent || !in->full_while_generating)
        out_set(out, DD_WAIT, generate, "delta being generated");
    else
        out_set(out, DD_FULL, generate, "delta being generated; full package meanwhile");
}
