/*
 * session_mem.c — the in-memory session store (session.h): a fixed array of
 * at most max sessions under one mutex. Lookups scan the array comparing ids
 * in constant time; a few hundred operators' sessions at most, so a scan is
 * cheaper than any index.
 */
#include "session.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct mem_store {
    session_store base;
    pthread_mutex_t mu;
    size_t max;
    int64_t idle_s, absolute_s;
    session_info *s; /* s[i].id[0] == 0: free slot */
} mem_store;

static int64_t expires_of(const mem_store *m, const session_info *i)
{
    int64_t a = i->last_used + m->idle_s, b = i->created + m->absolute_s;
    return a < b ? a : b;
}

static int random_hex(char *out)
{
    unsigned char rnd[SESSION_HEX / 2];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof rnd; i++) {
        out[2 * i] = hx[rnd[i] >> 4];
        out[2 * i + 1] = hx[rnd[i] & 15];
    }
    out[SESSION_HEX] = 0;
    return 0;
}

static int mem_create(session_store *st, int64_t now, session_info *out)
{
    mem_store *m = (mem_store *)st;
    session_info n;
    memset(&n, 0, sizeof n);
    memcpy(n.who, out->who, sizeof n.who);
    n.who[sizeof n.who - 1] = 0;
    n.role = out->role;
    if (random_hex(n.id) < 0 || random_hex(n.csrf) < 0)
        return -1;
    n.created = n.last_used = now;
    n.expires = expires_of(m, &n);
    pthread_mutex_lock(&m->mu);
    size_t slot = m->max, lru = 0;
    for (size_t i = 0; i < m->max; i++) {
        if (m->s[i].id[0] == 0 || expires_of(m, &m->s[i]) <= now) {
            slot = i;
            break;
        }
        if (m->s[i].last_used < m->s[lru].last_used)
            lru = i;
    }
    if (slot == m->max)
        slot = lru; /* full: the least recently used session ends */
    m->s[slot] = n;
    pthread_mutex_unlock(&m->mu);
    *out = n;
    return 0;
}

/* Index of id or -1 (mutex held). Every slot is compared, in constant time. */
static long find(mem_store *m, const char *id)
{
    size_t l = strnlen(id, SESSION_HEX + 1);
    if (l != SESSION_HEX)
        return -1;
    long hit = -1;
    for (size_t i = 0; i < m->max; i++)
        if (m->s[i].id[0] && CRYPTO_memcmp(m->s[i].id, id, SESSION_HEX) == 0)
            hit = (long)i;
    return hit;
}

static int mem_lookup(session_store *st, const char *id, int64_t now, session_info *out)
{
    mem_store *m = (mem_store *)st;
    pthread_mutex_lock(&m->mu);
    long i = find(m, id);
    int rc = -1;
    if (i >= 0) {
        session_info *si = &m->s[i];
        if (expires_of(m, si) <= now) {
            memset(si, 0, sizeof *si);
        } else {
            if (now > si->last_used)
                si->last_used = now;
            si->expires = expires_of(m, si);
            *out = *si;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int mem_destroy(session_store *st, const char *id)
{
    mem_store *m = (mem_store *)st;
    pthread_mutex_lock(&m->mu);
    long i = find(m, id);
    if (i >= 0)
        memset(&m->s[i], 0, sizeof m->s[i]);
    pthread_mutex_unlock(&m->mu);
    return i >= 0 ? 0 : -1;
}

static size_t mem_count(session_store *st, int64_t now)
{
    mem_store *m = (mem_store *)st;
    size_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->max; i++)
        if (m->s[i].id[0] && expires_of(m, &m->s[i]) > now)
            n++;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static void mem_close(session_store *st)
{
    mem_store *m = (mem_store *)st;
    if (m == NULL)
        return;
    OPENSSL_cleanse(m->s, m->max * sizeof *m->s);
    free(m->s);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const session_ops mem_ops = {mem_create, mem_lookup, mem_destroy, mem_count, mem_close};

session_store *session_mem_new(size_t max, int64_t idle_s, int64_t absolute_s)
{
    if (max == 0)
        return NULL;
    mem_store *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->s = calloc(max, sizeof *m->s);
    if (m->s == NULL) {
        free(m);
        return NULL;
    }
    m->base.ops = &mem_ops;
    m->max = max;
    m->idle_s = idle_s;
    m->absolute_s = absolute_s;
    pthread_mutex_init(&m->mu, NULL);
    return &m->base;
}
