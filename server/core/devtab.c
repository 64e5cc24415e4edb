/*
 * devtab.c — striped hash table of device state (devtab.h).
 */
#include "devtab.h"

#include "log.h"
#include "siphash.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define BUCKETS_INIT 1024

struct dev_entry {
    dev_state st;
    dev_entry *next;       /* hash chain */
    dev_entry *dirty_next; /* dirty list */
    int dirty;
    unsigned stripe;
};

struct stripe {
    pthread_mutex_t mu;
    dev_entry **buckets;
    size_t nbuckets;
    size_t count;
};

struct devtab {
    struct stripe stripes[STRIPES];
    pthread_mutex_t dirty_mu;
    dev_entry *dirty_head;
    atomic_size_t total;
    siphash_key key; /* random per table: ids chosen by a client cannot be made to share a bucket */
};

static uint64_t hash_id(const devtab *t, const char *s)
{
    return siphash24(&t->key, s, strlen(s));
}

devtab *devtab_new(void)
{
    devtab *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    if (siphash_random_key(&t->key) < 0)
        log_warn("devices: getrandom gave no key; the device table's hash key comes from the clock");
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&t->stripes[i].mu, NULL);
        t->stripes[i].nbuckets = BUCKETS_INIT / STRIPES;
        t->stripes[i].buckets = calloc(t->stripes[i].nbuckets, sizeof(dev_entry *));
        if (t->stripes[i].buckets == NULL) {
            devtab_free(t);
            return NULL;
        }
    }
    pthread_mutex_init(&t->dirty_mu, NULL);
    return t;
}

void devtab_free(devtab *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &t->stripes[i];
        for (size_t b = 0; s->buckets && b < s->nbuckets; b++) {
            dev_entry *e = s->buckets[b];
            while (e) {
                dev_entry *n = e->next;
                free(e);
                e = n;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    pthread_mutex_destroy(&t->dirty_mu);
    free(t);
}

static void grow(const devtab *t, struct stripe *s)
{
    size_t nb = s->nbuckets * 2;
    dev_entry **nbk = calloc(nb, sizeof *nbk);
    if (nbk == NULL)
        return; /* keep the old size: longer chains, still correct */
    for (size_t b = 0; b < s->nbuckets; b++) {
        dev_entry *e = s->buckets[b];
        while (e) {
            dev_entry *n = e->next;
            size_t i = (hash_id(t, e->st.id) / STRIPES) % nb;
            e->next = nbk[i];
            nbk[i] = e;
            e = n;
        }
    }
    free(s->buckets);
    s->buckets = nbk;
    s->nbuckets = nb;
}

/* stripe must be held */
static dev_entry *find_or_add(devtab *t, struct stripe *s, unsigned si, uint64_t h, const char *id, int create)
{
    size_t b = (h / STRIPES) % s->nbuckets;
    for (dev_entry *e = s->buckets[b]; e; e = e->next)
        if (strcmp(e->st.id, id) == 0)
            return e;
    if (!create)
        return NULL;
    dev_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    size_t l = strlen(id);
    if (l >= sizeof e->st.id)
        l = sizeof e->st.id - 1;
    memcpy(e->st.id, id, l);
    e->stripe = si;
    e->next = s->buckets[b];
    s->buckets[b] = e;
    s->count++;
    atomic_fetch_add(&t->total, 1);
    if (s->count > s->nbuckets * 2)
        grow(t, s);
    return e;
}

dev_entry *devtab_lock(devtab *t, const char *id, int create)
{
    uint64_t h = hash_id(t, id);
    unsigned si = (unsigned)(h % STRIPES);
    struct stripe *s = &t->stripes[si];
    pthread_mutex_lock(&s->mu);
    dev_entry *e = find_or_add(t, s, si, h, id, create);
    if (e == NULL)
        pthread_mutex_unlock(&s->mu);
    return e;
}

void devtab_unlock(devtab *t, dev_entry *e) { pthread_mutex_unlock(&t->stripes[e->stripe].mu); }

dev_state *devtab_state(dev_entry *e) { return &e->st; }

void devtab_mark_dirty(devtab *t, dev_entry *e)
{
    if (e->dirty)
        return;
    e->dirty = 1;
    pthread_mutex_lock(&t->dirty_mu);
    e->dirty_next = t->dirty_head;
    t->dirty_head = e;
    pthread_mutex_unlock(&t->dirty_mu);
}

int devtab_load(devtab *t, const dev_state *st)
{
    dev_entry *e = devtab_lock(t, st->id, 1);
    if (e == NULL)
        return -1;
    e->st = *st;
    devtab_unlock(t, e);
    return 0;
}

size_t devtab_take_dirty(devtab *t, dev_state *out, size_t max)
{
    size_t n = 0;
    while (n < max) {
        pthread_mutex_lock(&t->dirty_mu);
        dev_entry *e = t->dirty_head;
        if (e)
            t->dirty_head = e->dirty_next;
        pthread_mutex_unlock(&t->dirty_mu);
        if (e == NULL)
            break;
        pthread_mutex_lock(&t->stripes[e->stripe].mu);
        out[n++] = e->st;
        e->dirty = 0;
        e->dirty_next = NULL;
        pthread_mutex_unlock(&t->stripes[e->stripe].mu);
    }
    return n;
}

size_t devtab_count(devtab *t) { return atomic_load(&t->total); }

size_t devtab_expire(devtab *t, int64_t seen_before, char (*ids)[DEVICE_ID_MAX], size_t max)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES && n < max; i++) {
        struct stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets && n < max; b++) {
            dev_entry **pp = &s->buckets[b];
            while (*pp && n < max) {
                dev_entry *e = *pp;
                if (!e->dirty && !e->st.upgraded && !e->st.forbidden && !e->st.banned && e->st.last_seen < seen_before) {
                    *pp = e->next;
                    memcpy(ids[n++], e->st.id, DEVICE_ID_MAX);
                    s->count--;
                    atomic_fetch_sub(&t->total, 1);
                    free(e);
                } else {
                    pp = &e->next;
                }
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

size_t devtab_max_chain(devtab *t)
{
    size_t best = 0;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets; b++) {
            size_t n = 0;
            for (dev_entry *e = s->buckets[b]; e; e = e->next)
                n++;
            if (n > best)
                best = n;
        }
        pthread_mutex_unlock(&s->mu);
    }
    return best;
}

int devtab_snapshot_all(devtab *t, dev_state **out, size_t *n)
{
    size_t cap = devtab_count(t) + 16, cnt = 0;
    dev_state *arr = malloc(cap * sizeof *arr);
    if (arr == NULL)
        return -1;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets; b++) {
            for (dev_entry *e = s->buckets[b]; e; e = e->next) {
                if (cnt == cap) {
                    size_t nc = cap * 2;
                    dev_state *na = realloc(arr, nc * sizeof *arr);
                    if (na == NULL) {
                        pthread_mutex_unlock(&s->mu);
                        free(arr);
                        return -1;
                    }
                    arr = na;
                    cap = nc;
                }
                arr[cnt++] = e->st;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    *out = arr;
    *n = cnt;
    return 0;
}

void devtab_foreach(devtab *t, void (*fn)(void *arg, const dev_state *st), void *arg)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &t->stripes[i];
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets; b++)
            for (dev_entry *e = s->buckets[b]; e; e = e->next)
                fn(arg, &e->st);
        pthread_mutex_unlock(&s->mu);
    }
}
