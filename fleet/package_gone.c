/*
 * package_gone.c — forgetting what the fleet keyed by a package id when the
 * package is removed (offleet.h, fleet_package_removed).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fleet_internal.h"

int fleet_package_removed(offleet *f, const char *package_id)
{
    if (!f || !package_id || !*package_id)
        return 0;
    pthread_mutex_lock(&f->mu);
    char ids[64][32];
    size_t n = 0, total = 0;
    for (;;) {
        /* collect first, remove after: the map must not change while walked */
        n = 0;
        const char *k;
        void *v;
        for (size_t i = 0; n < sizeof ids / sizeof ids[0] && smap_next(&f->rollouts, &i, &k, &v);) {
            const struct rollout *r = v;
            if (!strcmp(r->package_id, package_id))
                memcpy(ids[n++], r->id, sizeof ids[0]);
        }
        for (size_t i = 0; i < n; i++) {
            struct rollout *r = smap_del(&f->rollouts, ids[i]);
            char key[48];
            snprintf(key, sizeof key, "rollout:%.31s", ids[i]);
            smap_put(&f->deleted, key, NULL, NULL);
            fleet_log(f, FLEET_LOG_INFO, "rollout %s removed with its package %s", ids[i], package_id);
            rollout_free(r);
        }
        total += n;
        if (n < sizeof ids / sizeof ids[0])
            break;
    }
    pthread_mutex_unlock(&f->mu);
    return (int)total;
}
