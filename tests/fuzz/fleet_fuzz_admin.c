/* libFuzzer target: admin request bodies and paths into the fleet's admin
 * router (no listeners are started), and stored rollout/push state read back
 * at start. Input: first byte picks the route, the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet_internal.h"

static int pkg_info(void *ctx, const char *id, fleet_package_info *out)
{
    (void)ctx;
    if (strcmp(id, "42"))
        return -1;
    strcpy(out->project, "demo");
    strcpy(out->firmware, "FW");
    strcpy(out->version, "2012.1.4");
    return 0;
}

static void quiet(void *ctx, int level, const char *msg)
{
    (void)ctx;
    (void)level;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static offleet *f;
    if (!f) {
        fleet_config cfg;
        fleet_config_default(&cfg);
        fleet_hooks h = {.package_info = pkg_info, .log = quiet};
        f = fleet_create(&cfg, &h);
    }
    if (size < 1)
        return 0;
    static const char *routes[][2] = {
        {"POST", "/rollouts"}, {"POST", "/push"}, {"PUT", "/push/rate"}, {"GET", "/rollouts?project=%zz&state="},
        {"POST", "/rollouts/x/pause"}, {"GET", "/push/devices/../x"}, {"STORE", "rollout"}, {"STORE", "push"},
    };
    unsigned r = data[0] % 8;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (!strcmp(routes[r][0], "STORE")) {
        json_t *j = json_loadb(body, len, 0, NULL);
        if (j) {
            if (r == 6)
                rollout_free(rollout_from_json(j));
            else
                push_free(push_from_json(j));
            json_decref(j);
        }
        return 0;
    }
    char *out = NULL;
    int st = 0;
    fleet_admin_handle(f, routes[r][0], routes[r][1], body, len, &out, &st);
    if (st < 200 || st > 599)
        __builtin_trap();
    free(out);
    /* keep memory flat: drop what the inputs created */
    pthread_mutex_lock(&f->mu);
    const char *k;
    void *v;
    for (size_t i = 0; smap_next(&f->rollouts, &i, &k, &v);)
        rollout_free(v);
    smap_free(&f->rollouts, NULL);
    smap_free(&f->pending, NULL);
    for (size_t i = 0; smap_next(&f->pushes, &i, &k, &v);)
        push_free(v);
    smap_free(&f->pushes, NULL);
    f->ob_len = 0;
    f->ob_head = 0;
    pthread_mutex_unlock(&f->mu);
    return 0;
}
