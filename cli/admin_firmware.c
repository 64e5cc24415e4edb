/*
 * admin_firmware.c — `openfota firmware add|list|rm`: the firmware names
 * inside a project (the firmware_name devices send), each bound to one
 * layout suffix (_1, _2).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col firmware_cols[] = {
    {"PROJECT", "project", false},
    {"NAME", "name", false},
    {"SUFFIX", "suffix", false},
    {"CREATED", "created", true},
};

static void firmware_help(FILE *out)
{
    fprintf(out,
            "usage: openfota firmware <subcommand> --project KEY [options]\n\n"
            "A firmware name is what devices send as firmware_name=, e.g.\n"
            "FOTA2_DEMO_LuatOS-SoC_Air780EHV (<PROJECT>_LuatOS-SoC_<model>). Each is bound to\n"
            "one layout suffix (the _1 or _2 at the end of the core's .soc name); packages for\n"
            "another suffix are refused at upload.\n\n"
            "subcommands:\n"
            "  add --project KEY NAME [--suffix S]   create a firmware name (suffix 1 unless\n"
            "                                        given; S is 1, 2, ... or _1, _2, ...)\n"
            "  list --project KEY                    the project's firmware names\n"
            "  rm --project KEY NAME                 remove one (refused while it has packages)\n\n"
            "'openfota package add' creates a firmware name on its first package, so 'add'\n"
            "is only needed to fix the suffix in advance.\n");
    admin_print_common_help(out);
}

/* Parses a layout suffix "1" or "_1". Returns 0 and *out, or -1. */
int admin_parse_suffix(const char *s, long long *out)
{
    if (*s == '_')
        s++;
    return admin_parse_uint(s, 99, out) == 0 && *out >= 1 ? 0 : -1;
}

static char *fw_path(const char *key, const char *name)
{
    char *k = admin_escape(key);
    char *n = name ? admin_escape(name) : NULL;
    char *p = NULL;
    if (k && (!name || n) &&
        asprintf(&p, "/admin/v1/projects/%s/firmware%s%s", k, name ? "/" : "", name ? n : "") < 0)
        p = NULL;
    free(k);
    free(n);
    if (!p)
        fprintf(stderr, "openfota: out of memory\n");
    return p;
}

static int need_project(const char *project, const char *cmd)
{
    if (project)
        return 0;
    fprintf(stderr,
            "openfota %s: --project KEY is required (see 'openfota project list' for the keys)\n",
            cmd);
    return 2;
}

static int firmware_add(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    const char *suffix = admin_args_value(a, "--suffix");
    if (!admin_args_check(a, "firmware add"))
        return 2;
    if (need_project(project, "firmware add"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1)
        return admin_usage("firmware add", "firmware add --project KEY NAME [--suffix S]");
    long long sfx = 1;
    if (suffix && admin_parse_suffix(suffix, &sfx)) {
        fprintf(stderr, "openfota firmware add: --suffix takes a layout number like 1 or _1, not '%s'\n",
                suffix);
        return 2;
    }
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *body = json_pack("{s:s,s:I}", "name", name, "suffix", (json_int_t)sfx);
    char *path = fw_path(project, NULL);
    json_t *r = NULL;
    int rc = 1;
    if (path && !admin_request(ctx, "POST", path, body, &r, NULL)) {
        if (ctx->json)
            admin_print_json(r);
        else
            admin_print_fields(r, firmware_cols, NCOLS(firmware_cols));
        rc = 0;
    }
    json_decref(body);
    json_decref(r);
    free(path);
    return rc;
}

static int firmware_list(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    if (!admin_args_check(a, "firmware list"))
        return 2;
    if (need_project(project, "firmware list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("firmware list", "firmware list --project KEY");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = fw_path(project, NULL);
    json_t *r = NULL;
    int rc = 1;
    if (path && !admin_request(ctx, "GET", path, NULL, &r, NULL)) {
        if (ctx->json)
            admin_print_json(r);
        else
            admin_print_table(json_object_get(r, "firmware"), firmware_cols, NCOLS(firmware_cols),
                              "no firmware names in this project yet");
        rc = 0;
    }
    json_decref(r);
    free(path);
    return rc;
}

static int firmware_rm(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    if (!admin_args_check(a, "firmware rm"))
        return 2;
    if (need_project(project, "firmware rm"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1)
        return admin_usage("firmware rm", "firmware rm --project KEY NAME");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = fw_path(project, name);
    int rc = path && !admin_request(ctx, "DELETE", path, NULL, NULL, NULL) ? 0 : 1;
    free(path);
    if (rc == 0 && ctx->json)
        printf("{}\n");
    else if (rc == 0)
        printf("firmware %s removed\n", name);
    return rc;
}

int admin_cli_firmware(int argc, char **argv)
{
    static const struct admin_sub subs[] = {
        {"add", firmware_add}, {"list", firmware_list}, {"ls", firmware_list},
        {"rm", firmware_rm},   {"remove", firmware_rm},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), firmware_help);
}
