/*
 * admin_status.c — `openfota status`: is the server up, where, and how much
 * it holds.
 */
#include <string.h>

#include "admin.h"
#include "commands.h"

static const struct admin_col status_cols[] = {
    {"server", "version", false},
    {"uptime (s)", "uptime_s", false},
    {"projects", "projects", false},
    {"devices", "devices", false},
    {"packages", "packages", false},
    {"files", "files", false},
    {"history events dropped", "events_dropped", false},
    {"deltas made by the server", "deltas_enabled", false},
    {"deltas being made", "deltas_pending", false},
    {"checks refused (429)", "checks_limited", false},
    {"new devices refused (429)", "new_devices_limited", false},
    {"downloads refused (503)", "downloads_refused", false},
    {"device check URL", "check_url", false},
    {"admin URL", "admin_url", false},
};

static long long jnum(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Push channels and rollouts (GET /admin/v1/push, /admin/v1/rollouts). */
static void print_fleet(const struct admin_ctx *ctx)
{
    json_t *p = NULL, *ro = NULL;
    if (admin_request(ctx, "GET", "/admin/v1/push", NULL, &p, NULL) == 0) {
        json_t *t = json_object_get(p, "tcp"), *m = json_object_get(p, "mqtt");
        if (json_is_object(t))
            printf("push (TCP):        port %lld, %lld devices connected\n", jnum(t, "port"), jnum(t, "connected"));
        else
            printf("push (TCP):        off\n");
        if (json_is_object(m))
            printf("push (MQTT):       %s, %s\n", json_string_value(json_object_get(m, "broker")),
                   json_is_true(json_object_get(m, "connected")) ? "connected" : "NOT connected");
        else
            printf("push (MQTT):       off\n");
        printf("pushes:            %zu kept, %lld device(s) still to reach\n",
               json_array_size(json_object_get(p, "pushes")), jnum(p, "open_targets"));
    }
    if (admin_request(ctx, "GET", "/admin/v1/rollouts", NULL, &ro, NULL) == 0) {
        size_t i, n[3] = {0, 0, 0};
        json_t *r;
        json_array_foreach(json_object_get(ro, "rollouts"), i, r) {
            const char *s = json_string_value(json_object_get(r, "state"));
            n[s && !strcmp(s, "paused") ? 1 : s && !strcmp(s, "cancelled") ? 2 : 0]++;
        }
        printf("rollouts:          %zu running, %zu paused, %zu cancelled%s\n", n[0], n[1], n[2],
               n[0] + n[1] ? " (openfota rollout list)" : "");
        json_array_foreach(json_object_get(ro, "rollouts"), i, r) {
            const char *s = json_string_value(json_object_get(r, "state"));
            const char *id = json_string_value(json_object_get(r, "id"));
            const char *why = json_string_value(json_object_get(r, "pause_reason"));
            if (s && !strcmp(s, "paused"))
                printf("  rollout %s paused: %s (openfota rollout resume %s)\n", id ? id : "?",
                       why ? why : "by an operator", id ? id : "?");
        }
    }
    json_decref(p);
    json_decref(ro);
}

/* A short summary of GET /admin/v1/stats: the last hour, this minute, device states. */
static void print_stats(const struct admin_ctx *ctx)
{
    json_t *st = NULL;
    if (admin_request(ctx, "GET", "/admin/v1/stats", NULL, &st, NULL) != 0)
        return;
    json_t *mins = json_object_get(st, "minutes"), *dev = json_object_get(st, "devices");
    long long h[4] = {0, 0, 0, 0};
    static const char *const keys[4] = {"checks", "deliveries", "failed", "cut"};
    size_t i, n = json_array_size(mins);
    json_t *m;
    json_array_foreach(mins, i, m)
        for (int k = 0; k < 4; k++)
            h[k] += jnum(m, keys[k]);
    json_t *cur = n ? json_array_get(mins, n - 1) : NULL;
    printf("last hour:         %lld checks, %lld deliveries, %lld failed upgrades, %lld downloads cut\n", h[0], h[1],
           h[2], h[3]);
    if (cur)
        printf("this minute:       %lld checks, %lld deliveries, %lld failed upgrades, %lld downloads cut\n",
               jnum(cur, "checks"), jnum(cur, "deliveries"), jnum(cur, "failed"), jnum(cur, "cut"));
    if (json_is_object(dev))
        printf("device states:     %lld banned, %lld forbidden, %lld with a failed upgrade\n", jnum(dev, "banned"),
               jnum(dev, "forbidden"), jnum(dev, "failed"));
    json_decref(st);
}

static void status_help(FILE *out)
{
    fprintf(out, "usage: openfota status [options]\n\n"
                 "Asks the running server for its version, uptime, counts and URLs, whether it\n"
                 "makes deltas (and how many are being made), its push channels and rollouts,\n"
                 "and its activity (GET /admin/v1/stats): checks, deliveries, failed upgrades\n"
                 "and cut downloads in the last hour and this minute, device states.\n");
    admin_print_common_help(out);
}

int admin_cli_status(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            status_help(stdout);
            return 0;
        }
    }
    struct admin_args a;
    if (admin_args_init(&a, argc - 1, argv + 1)) {
        fprintf(stderr, "openfota: out of memory\n");
        return 1;
    }
    struct admin_ctx ctx;
    admin_ctx_init(&ctx, &a);
    int rc = 2;
    json_t *r = NULL;
    if (!admin_args_check(&a, "status"))
        goto out;
    if (a.argc != 0) {
        rc = admin_usage("status", "status [--url URL] [--token TOKEN] [--data DIR] [--json]");
        goto out;
    }
    rc = 1;
    if (admin_ctx_connect(&ctx) || admin_request(&ctx, "GET", "/admin/v1/status", NULL, &r, NULL))
        goto out;
    if (ctx.json) {
        admin_print_json(r);
    } else {
        printf("server at %s is up\n", ctx.url);
        admin_print_fields(r, status_cols, sizeof status_cols / sizeof status_cols[0]);
        print_fleet(&ctx);
        print_stats(&ctx);
    }
    rc = 0;
out:
    json_decref(r);
    admin_ctx_free(&ctx);
    admin_args_free(&a);
    return rc;
}
