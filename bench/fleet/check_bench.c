/*
 * check_bench — cost of the two calls the server makes on every device
 * check (fleet_rollout_decide + fleet_on_check) with a rollout running over
 * 100,000 devices, from 1 and 2 threads. No network.
 *
 *   check_bench [DEVICES] [CALLS_PER_THREAD]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offleet.h"

static int devices = 100000, calls = 1000000;
static offleet *f;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pkg(void *ctx, const char *id, fleet_package_info *out)
{
    (void)ctx;
    (void)id;
    strcpy(out->project, "demo");
    strcpy(out->firmware, "FW");
    strcpy(out->version, "2012.001.004");
    return 0;
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg * 7919u + 1;
    char id[32];
    for (int i = 0; i < calls; i++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(id, sizeof id, "86%013u", (seed >> 4) % (unsigned)devices);
        fleet_offer o;
        fleet_offer_kind k = fleet_rollout_decide(f, "demo", "FW", id, "2012.001.003", 0, &o);
        fleet_check_event ev = {"demo", "FW", id, "2012.001.003", k == FLEET_OFFER_PACKAGE ? 0 : 27,
                                k == FLEET_OFFER_PACKAGE ? o.package_id : NULL, k == FLEET_OFFER_PACKAGE ? 1000 : 0,
                                0, 0};
        fleet_on_check(f, &ev);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        devices = atoi(argv[1]);
    if (argc > 2)
        calls = atoi(argv[2]);
    fleet_config cfg;
    fleet_config_default(&cfg);
    cfg.rate_per_s = 1e6;
    cfg.abort_ratio = 1.0;
    cfg.abort_min = 1000000000u;
    fleet_hooks h = {.package_info = pkg};
    f = fleet_create(&cfg, &h);
    fleet_start(f);
    char *out = NULL;
    int st;
    const char *body = "{\"package\":\"42\",\"stages\":[50,100]}";
    fleet_admin_handle(f, "POST", "/rollouts", body, strlen(body), &out, &st);
    free(out);
    for (int threads = 1; threads <= 2; threads++) {
        pthread_t t[2];
        double t0 = now_s();
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, worker, (void *)(size_t)(i + threads * 10));
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        double el = now_s() - t0;
        printf("check path: %d thread(s), %d devices in a 50%% rollout: %.0f checks/s (%.2f us per "
               "decide + on_check)\n",
               threads, devices, threads * (double)calls / el, el * 1e6 / calls);
    }
    fleet_destroy(f);
    return 0;
}
