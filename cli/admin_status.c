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
    {"device check URL", "check_url", false},
    {"admin URL", "admin_url", false},
};

static void status_help(FILE *out)
{
    fprintf(out, "usage: openfota status [options]\n\n"
                 "Asks the running server for its version, uptime, counts and URLs.\n");
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
    }
    rc = 0;
out:
    json_decref(r);
    admin_ctx_free(&ctx);
    admin_args_free(&a);
    return rc;
}
