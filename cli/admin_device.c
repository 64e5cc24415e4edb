/*
 * admin_device.c — `openfota device list|show|forbid|allow|unban|move|unbind`.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"
#include "device_cert.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col list_cols[] = {
    {"ID", "id", false},
    {"PROJECT", "project", false},
    {"FIRMWARE", "firmware", false},
    {"VERSION", "version", false},
    {"FORBIDDEN", "forbidden", false},
    {"BANNED", "banned", false},
    {"TODAY", "deliveries_today", false},
    {"FAILED", "failed_upgrades", false},
    {"LAST-CODE", "last_code", false},
    {"LAST-SEEN", "last_seen", true},
};

static const struct admin_col show_cols[] = {
    {"id", "id", false},
    {"project", "project", false},
    {"firmware", "firmware", false},
    {"version", "version", false},
    {"forbidden", "forbidden", false},
    {"banned", "banned", false},
    {"banned at", "banned_at", true},
    {"deliveries today", "deliveries_today", false},
    {"failed upgrades", "failed_upgrades", false},
    {"last code", "last_code", false},
    {"last seen", "last_seen", true},
};

static const struct admin_col history_cols[] = {
    {"TIME", "time", true},
    {"VERSION", "version", false},
    {"CODE", "code", false},
    {"DECISION", "decision", false},
    {"PACKAGE", "package", false},
    {"BYTES", "bytes_sent", false},
    {"COMPLETE", "complete", false},
    {"NOTE", "note", false},
};

static void device_help(FILE *out)
{
    fprintf(out,
            "usage: openfota device <subcommand> [options]\n\n"
            "Devices appear at their first check (IMEI or MAC as the id).\n\n"
            "subcommands:\n"
            "  list [--project KEY] [--state banned|forbidden|failed] [--limit N] [--offset N]\n"
            "       [--search TEXT] [--firmware NAME] [--version CORE.X.Z]\n"
            "       [--sort id|last_seen|version|project] [--order asc|desc]\n"
            "                      devices, filtered; 'failed' = came back on the old version\n"
            "                      after receiving a whole package; --search matches part\n"
            "                      of the ID\n"
            "  show ID [--history N]  one device and its latest N checks (default: the\n"
            "                      server's default)\n"
            "  forbid ID           no upgrades for this device (it gets code 21)\n"
            "  allow ID            lift 'forbid'\n"
            "  unban ID            lift the loop ban (code 40) set after too many deliveries\n"
            "                      in one day; fix the package or the versions first\n"
            "  cert ID --ca-dir DIR [--days N]\n"
            "                      a client certificate and key for the device (mutual TLS),\n"
            "                      signed by the device CA in DIR (made there on first use);\n"
            "                      offline, on the files\n"
            "  move ID --project KEY\n"
            "                      bind the device to another project (KEY or its name); the\n"
            "                      way out of code 17 \"device belongs to another project\"\n"
            "  unbind ID           forget the device's project: its next check binds it to\n"
            "                      the project it asks for\n"
            "move and unbind are recorded in the device's history.\n");
    admin_print_common_help(out);
}

static char *device_path(const char *id, const char *tail)
{
    char *e = admin_escape(id);
    char *p = NULL;
    if (e && asprintf(&p, "/admin/v1/devices/%s%s", e, tail ? tail : "") < 0)
        p = NULL;
    free(e);
    if (!p)
        fprintf(stderr, "openfota: out of memory\n");
    return p;
}

static int device_list(struct admin_ctx *ctx, struct admin_args *a)
{
    /* option, query argument */
    static const char *const opts[][2] = {
        {"--project", "project"}, {"--state", "state"},      {"--limit", "limit"},
        {"--offset", "offset"},   {"--search", "q"},         {"--firmware", "firmware"},
        {"--version", "version"}, {"--sort", "sort"},        {"--order", "order"},
    };
    enum { NOPT = sizeof opts / sizeof opts[0] };
    const char *val[NOPT];
    for (size_t i = 0; i < NOPT; i++)
        val[i] = admin_args_value(a, opts[i][0]);
    const char *state = val[1], *limit = val[2], *offset = val[3];
    if (!admin_args_check(a, "device list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("device list", "device list [--project KEY] [--state banned|forbidden|failed] "
                                          "[--limit N] [--offset N] [--search TEXT] [--firmware NAME] "
                                          "[--version CORE.X.Z] [--sort id|last_seen|version|project] "
                                          "[--order asc|desc]");
    if (state && strcmp(state, "banned") && strcmp(state, "forbidden") && strcmp(state, "failed")) {
        fprintf(stderr, "openfota device list: --state takes banned, forbidden or failed, not '%s'\n",
                state);
        return 2;
    }
    long long n;
    if ((limit && admin_parse_uint(limit, 1000000000, &n)) ||
        (offset && admin_parse_uint(offset, 1000000000000LL, &n))) {
        fprintf(stderr, "openfota device list: --limit and --offset take whole numbers\n");
        return 2;
    }
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = strdup("/admin/v1/devices?");
    json_t *r = NULL;
    int rc = 1;
    for (size_t i = 0; i < NOPT && path; i++) {
        if (val[i] == NULL)
            continue;
        char *e = admin_escape(val[i]), *np = NULL;
        if (e == NULL || asprintf(&np, "%s&%s=%s", path, opts[i][1], e) < 0)
            np = NULL;
        free(e);
        free(path);
        path = np;
    }
    if (path == NULL) {
        fprintf(stderr, "openfota: out of memory\n");
        goto out;
    }
    if (admin_request(ctx, "GET", path, NULL, &r, NULL))
        goto out;
    if (ctx->json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "devices"), list_cols, NCOLS(list_cols),
                          "no devices match (devices appear at their first check)");
    rc = 0;
out:
    free(path);
    json_decref(r);
    return rc;
}

static int device_show(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *history = admin_args_value(a, "--history");
    if (!admin_args_check(a, "device show"))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1)
        return admin_usage("device show", "device show ID [--history N]");
    long long n;
    if (history && admin_parse_uint(history, 1000000, &n)) {
        fprintf(stderr, "openfota device show: --history takes a whole number, not '%s'\n", history);
        return 2;
    }
    if (admin_ctx_connect(ctx))
        return 1;
    char tail[64] = "";
    if (history)
        snprintf(tail, sizeof tail, "?history=%lld", n);
    char *path = device_path(id, tail);
    json_t *r = NULL;
    int rc = 1;
    if (path && !admin_request(ctx, "GET", path, NULL, &r, NULL)) {
        if (ctx->json) {
            admin_print_json(r);
        } else {
            admin_print_fields(r, show_cols, NCOLS(show_cols));
            printf("\nhistory (newest first):\n");
            admin_print_table(json_object_get(r, "history"), history_cols, NCOLS(history_cols),
                              "no checks recorded");
        }
        rc = 0;
    }
    free(path);
    json_decref(r);
    return rc;
}

static int device_action(struct admin_ctx *ctx, struct admin_args *a, const char *action,
                         const char *done)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "device %s", action);
    if (!admin_args_check(a, cmd))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1) {
        char usage[64];
        snprintf(usage, sizeof usage, "device %s ID", action);
        return admin_usage(cmd, usage);
    }
    if (admin_ctx_connect(ctx))
        return 1;
    char tail[32];
    snprintf(tail, sizeof tail, "/%s", action);
    char *path = device_path(id, tail);
    json_t *r = NULL;
    int rc = 1;
    if (path && !admin_request(ctx, "POST", path, NULL, &r, NULL)) {
        if (ctx->json) {
            admin_print_json(r);
        } else {
            if (!strcmp(action, "allow") && json_is_true(json_object_get(r, "banned")))
                printf("device %s is no longer forbidden, but it is still banned for looping upgrades (code "
                       "40): check why the package does not apply, then openfota device unban %s\n",
                       id, id);
            else
                printf("device %s %s\n", id, done);
            admin_print_fields(r, show_cols, NCOLS(show_cols));
        }
        rc = 0;
    }
    free(path);
    json_decref(r);
    return rc;
}

static int device_forbid(struct admin_ctx *ctx, struct admin_args *a)
{
    return device_action(ctx, a, "forbid", "is forbidden to upgrade (code 21)");
}

static int device_allow(struct admin_ctx *ctx, struct admin_args *a)
{
    return device_action(ctx, a, "allow", "may upgrade again");
}

static int device_unban(struct admin_ctx *ctx, struct admin_args *a)
{
    return device_action(ctx, a, "unban", "is no longer banned");
}

static int device_unbind(struct admin_ctx *ctx, struct admin_args *a)
{
    return device_action(ctx, a, "unbind", "is unbound: its next check binds it to the project it asks for");
}

static int device_move(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    if (!admin_args_check(a, "device move"))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1 || !project)
        return admin_usage("device move", "device move ID --project KEY");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = device_path(id, "/move");
    json_t *body = json_pack("{s:s}", "project", project), *r = NULL;
    int rc = 1;
    if (path && body && !admin_request(ctx, "POST", path, body, &r, NULL)) {
        if (ctx->json) {
            admin_print_json(r);
        } else {
            char b[256];
            printf("device %s moved to project %s\n", id, admin_cell(json_object_get(r, "project"), b, sizeof b));
            admin_print_fields(r, show_cols, NCOLS(show_cols));
        }
        rc = 0;
    }
    free(path);
    json_decref(body);
    json_decref(r);
    return rc;
}

int admin_cli_device(int argc, char **argv)
{
    static const struct admin_sub subs[] = {
        {"list", device_list},     {"ls", device_list},     {"show", device_show},
        {"forbid", device_forbid}, {"allow", device_allow}, {"unban", device_unban},
        {"cert", device_cert_run},
        {"move", device_move},     {"unbind", device_unbind},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), device_help);
}
