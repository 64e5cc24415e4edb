/*
 * ratelimit.c — bounded token-bucket tables (ratelimit.h).
 */
#include "ratelimit.h"

#include "siphash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 64
#define WAYS 8

typedef struct lim_entry {
    uint64_t h;
    unsigned char klen;
    unsigned char used;
    unsigned char key[LIM_KEY_MAX];
    unsigned active;      /* concurrent activities running */
    unsigned refused;     /* refusals in the open streak */
    double tokens;
    double last;          /* last take or acquire */
    double first_refused;
} lim_entry;

struct stripe {
    pthread_mutex_t mu;
    lim_entry *sets; /* nsets * WAYS */
    size_t count;
    unsigned long long evicted_busy;
};

struct lim_table {
    struct stripe st[STRIPES];
    size_t nsets; /* per stripe */
    double rate, burst;
    siphash_key key;
};

lim_table *lim_new(size_t max_entries, double rate, double burst)
{
    lim_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->nsets = max_entries / (STRIPES * WAYS);
    if (t->nsets == 0)
        t->nsets = 1;
    t->rate = rate;
    t->burst = burst;
    siphash_random_key(&t->key);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&t->st[i].mu, NULL);
        t->st[i].sets = calloc(t->nsets * WAYS, sizeof(lim_entry));
        if (t->st[i].sets == NULL) {
            lim_free(t);
            return NULL;
        }
    }
    return t;
}

void lim_free(lim_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < STRIPES; i++) {
        free(t->st[i].sets);
        pthread_mutex_destroy(&t->st[i].mu);
    }
    free(t);
}

static int limited(const lim_table *t) { return t->rate > 0 && t->burst > 0; }

static double tokens_now(const lim_table *t, const lim_entry *e, double now)
{
    double dt = now - e->last;
    double v = e->tokens + (dt > 0 ? dt * t->rate : 0);
    return v > t->burst ? t->burst : v;
}

/* Find or place key; stripe locked on return (*sp). NULL: no slot (every
 * way runs downloads). */
static lim_entry *find(lim_table *t, const void *key, size_t klen, double now, struct stripe **sp)
{
    if (klen > LIM_KEY_MAX)
        klen = LIM_KEY_MAX;
    uint64_t h = siphash24(&t->key, key, klen);
    struct stripe *s = &t->st[h % STRIPES];
    *sp = s;
    pthread_mutex_lock(&s->mu);
    lim_entry *set = s->sets + ((h / STRIPES) % t->nsets) * WAYS;
    lim_entry *free_slot = NULL, *idle = NULL, *busy = NULL;
    for (int i = 0; i < WAYS; i++) {
        lim_entry *e = &set[i];
        if (!e->used) {
            if (free_slot == NULL)
                free_slot = e;
            continue;
        }
        if (e->h == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
        if (e->active)
            continue;
        int is_idle = e->refused == 0 && (!limited(t) || tokens_now(t, e, now) >= t->burst);
        if (is_idle) {
            if (idle == NULL || e->last < idle->last)
                idle = e;
        } else if (busy == NULL || e->last < busy->last) {
            busy = e;
        }
    }
    lim_entry *e = free_slot ? free_slot : idle ? idle : busy;
    if (e == NULL)
        return NULL;
    if (e == busy)
        s->evicted_busy++;
    if (!e->used)
        s->count++;
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->h = h;
    e->klen = (unsigned char)klen;
    memcpy(e->key, key, klen);
    e->tokens = t->burst;
    e->last = now;
    return e;
}

void lim_take(lim_table *t, const void *key, size_t klen, double now, lim_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->allowed = 1;
    if (!limited(t))
        return;
    struct stripe *s;
    lim_entry *e = find(t, key, klen, now, &s);
    if (e == NULL) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    double tok = tokens_now(t, e, now);
    e->last = now;
    if (tok >= 1.0) {
        e->tokens = tok - 1.0;
        if (e->refused) {
            v->streak = e->refused;
            v->streak_first = e->first_refused;
            e->refused = 0;
        }
    } else {
        e->tokens = tok;
        if (e->refused++ == 0)
            e->first_refused = now;
        v->allowed = 0;
        v->refused_run = e->refused;
        double wait = (1.0 - tok) / t->rate;
        unsigned w = wait > 86400.0 ? 86400u : (unsigned)wait;
        v->retry_after = w < 1 ? 1u : w + ((double)w < wait);
    }
    pthread_mutex_unlock(&s->mu);
}

int lim_acquire(lim_table *t, const void *key, size_t klen, unsigned max, double now)
{
    if (max == 0)
        return 1;
    struct stripe *s;
    lim_entry *e = find(t, key, klen, now, &s);
    int ok = 0;
    if (e && e->active < max) {
        e->active++;
        e->last = now;
        ok = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void lim_release(lim_table *t, const void *key, size_t klen)
{
    if (klen > LIM_KEY_MAX)
        klen = LIM_KEY_MAX;
    uint64_t h = siphash24(&t->key, key, klen);
    struct stripe *s = &t->st[h % STRIPES];
    pthread_mutex_lock(&s->mu);
    lim_entry *set = s->sets + ((h / STRIPES) % t->nsets) * WAYS;
    for (int i = 0; i < WAYS; i++) {
        lim_entry *e = &set[i];
        if (e->used && e->h == h && e->klen == klen && memcmp(e->key, key, klen) == 0) {
            if (e->active)
                e->active--;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void lim_get_stats(lim_table *t, lim_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&t->st[i].mu);
        out->entries += t->st[i].count;
        out->evicted_busy += t->st[i].evicted_busy;
        pthread_mutex_unlock(&t->st[i].mu);
    }
}
