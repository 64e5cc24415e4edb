/*
 * smap.c — string-keyed open-addressing hash map (see smap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "smap.h"

uint64_t smap_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

void smap_init(struct smap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void smap_free(struct smap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key) {
            free(m->slots[i].key);
            if (free_val)
                free_val(m->slots[i].val);
        }
    }
    free(m->slots);
    smap_init(m);
}

static size_t smap_find(const struct smap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].key) {
        if (m->slots[i].hash == h && !strcmp(m->slots[i].key, key))
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *smap_get(const struct smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = smap_find(m, key, smap_hash(key, strlen(key)));
    return m->slots[i].key ? m->slots[i].val : NULL;
}

static int smap_grow(struct smap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct smap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = (size_t)m->slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int smap_put(struct smap *m, const char *key, void *val, void **old)
{
    if (old)
        *old = NULL;
    if ((m->count + 1) * 4 > m->cap * 3 && smap_grow(m) < 0)
        return -1;
    uint64_t h = smap_hash(key, strlen(key));
    size_t i = smap_find(m, key, h);
    if (m->slots[i].key) {
        if (old)
            *old = m->slots[i].val;
        m->slots[i].val = val;
        return 0;
    }
    char *k = strdup(key);
    if (!k)
        return -1;
    m->slots[i].key = k;
    m->slots[i].val = val;
    m->slots[i].hash = h;
    m->count++;
    return 0;
}

void *smap_del(struct smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = smap_find(m, key, smap_hash(key, strlen(key)));
    if (!m->slots[i].key)
        return NULL;
    void *val = m->slots[i].val;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->count--;
    /* backward-shift the cluster that follows */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key)
            break;
        size_t home = (size_t)m->slots[j].hash & mask;
        /* move j into the hole i when home is not in (i, j] cyclically */
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
    return val;
}

int smap_next(const struct smap *m, size_t *i, const char **key, void **val)
{
    while (*i < m->cap) {
        size_t k = (*i)++;
        if (m->slots[k].key) {
            if (key)
                *key = m->slots[k].key;
            if (val)
                *val = m->slots[k].val;
            return 1;
        }
    }
    return 0;
}
