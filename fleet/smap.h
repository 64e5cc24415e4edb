/*
 * smap.h — a string-keyed hash map (open addressing, linear probing,
 * tombstone-free deletion by backward shift). Keys are copied and owned by
 * the map; values are opaque pointers owned by the caller. Not thread-safe:
 * the fleet holds its mutex around every use.
 */
#ifndef OPENFOTA_FLEET_SMAP_H
#define OPENFOTA_FLEET_SMAP_H

#include <stddef.h>
#include <stdint.h>

struct smap_slot {
    char *key;
    void *val;
    uint64_t hash;
};

struct smap {
    struct smap_slot *slots;
    size_t cap;   /* power of two or 0 */
    size_t count;
};

uint64_t smap_hash(const char *s, size_t len); /* FNV-1a 64 */
void smap_init(struct smap *m);
/* Frees the keys and the table; calls free_val(val) for each value when not NULL. */
void smap_free(struct smap *m, void (*free_val)(void *));
void *smap_get(const struct smap *m, const char *key);
/* Inserts or replaces; returns 0, or -1 on out of memory. *old (may be NULL)
 * gets the replaced value or NULL. */
int smap_put(struct smap *m, const char *key, void *val, void **old);
/* Removes key; returns its value or NULL. */
void *smap_del(struct smap *m, const char *key);
/* Iteration: for (size_t i = 0; smap_next(m, &i, &k, &v);) … — must not be
 * combined with put/del. */
int smap_next(const struct smap *m, size_t *i, const char **key, void **val);

#endif
