/*
 * admin_project.c — `openfota project add|list|show|set|rm|devices`.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"

static const struct admin_col project_cols[] = {
    {"KEY", "key", false},
    {"NAME", "name", false},
    {"LISTED-ONLY", "listed_only", false},
    {"UPGRADES", "upgrades_enabled", false},
    {"MAX-DAILY", "max_daily_deliveries", false},
    {"MAX-DEVICES", "max_devices", false},
    {"CREATED", "created", true},
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col project_fields[] = {
    {"key", "key", false},
    {"name", "name", false},
    {"listed devices only", "listed_only", false},
    {"upgrades", "upgrades_enabled", false},
    {"max deliveries/day", "max_daily_deliveries", false},
    {"max devices (0: no cap)", "max_devices", false},
    {"created", "created", true},
};

static const struct admin_col firmware_cols[] = {
    {"FIRMWARE", "name", false},
    {"SUFFIX", "suffix", false},
    {"CREATED", "created", true},
};

static void project_help(FILE *out)
{
    fprintf(out,
            "usage: openfota project <subcommand> [options]\n\n"
            "Projects group devices, firmware names and packages. Devices name their project\n"
            "with project_key= in every check, so the key goes into the device script\n"
            "(PRODUCT_KEY or opts.project_key).\n\n"
            "subcommands:\n"
            "  add NAME [--key KEY]          create a project; prints its key alone on the last\n"
            "                                line (the server makes one unless --key is given)\n"
            "  list                          all projects\n"
            "  show KEY                      one project and its firmware names\n"
            "  set KEY [--listed-only on|off] [--upgrades on|off] [--max-daily N]\n"
            "          [--max-devices N] [--name NAME]\n"
            "                                change switches: listed-only = only devices added\n"
            "                                with 'project devices add' get upgrades (others get\n"
            "                                code 27); upgrades off = nobody gets upgrades (27);\n"
            "                                max-daily = package deliveries per device per day\n"
            "                                before the device is banned (code 40), 1 to 1000;\n"
            "                                max-devices = devices checks may create for the\n"
            "                                project, 0 = no cap (new ones past it get code 27);\n"
            "                                name = a new display name (the key stays)\n"
            "  rm KEY                        remove a project (refused while it has packages)\n"
            "  devices add KEY ID...         put device ids (IMEI or MAC) on the project's list\n\n"
            "examples:\n"
            "  openfota project add demo\n"
            "  openfota project set KEY --listed-only on\n"
            "  openfota project devices add KEY 860123456789012 860123456789013\n");
    admin_print_common_help(out);
}

static char *project_path(const char *key, const char *tail)
{
    char *k = admin_escape(key);
    char *p = NULL;
    if (k && asprintf(&p, "/admin/v1/projects/%s%s", k, tail ? tail : "") < 0)
        p = NULL;
    free(k);
    if (!p)
        fprintf(stderr, "openfota: out of memory\n");
    return p;
}

static void print_project(const struct admin_ctx *ctx, json_t *p)
{
    if (ctx->json)
        admin_print_json(p);
    else
        admin_print_fields(p, project_fields, NCOLS(project_fields));
}

static int project_add(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *key = admin_args_value(a, "--key");
    if (!admin_args_check(a, "project add"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1)
        return admin_usage("project add", "project add NAME [--key KEY]");
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *body = json_pack("{s:s}", "name", name);
    if (key)
        json_object_set_new(body, "key", json_string(key));
    json_t *p = NULL;
    int rc = admin_request(ctx, "POST", "/admin/v1/projects", body, &p, NULL);
    json_decref(body);
    if (rc)
        return 1;
    const char *k = json_string_value(json_object_get(p, "key"));
    if (ctx->json) {
        admin_print_json(p);
    } else {
        printf("project '%s' created. Put this key in the device script (PRODUCT_KEY) and use it "
               "with 'openfota package add --project %s' (or --project %s):\n",
               name, k ? k : "KEY", name);
        printf("%s\n", k ? k : "");
    }
    json_decref(p);
    if (!k) {
        fprintf(stderr, "openfota: the server's answer has no project key\n");
        return 1;
    }
    return 0;
}

static int project_list(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "project list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("project list", "project list");
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *r = NULL;
    if (admin_request(ctx, "GET", "/admin/v1/projects", NULL, &r, NULL))
        return 1;
    if (ctx->json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "projects"), project_cols, NCOLS(project_cols),
                          "no projects yet: create one with 'openfota project add NAME'");
    json_decref(r);
    return 0;
}

static int project_show(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "project show"))
        return 2;
    const char *key = admin_args_pos(a, 0);
    if (!key || a->argc != 1)
        return admin_usage("project show", "project show KEY");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = project_path(key, NULL);
    char *fpath = project_path(key, "/firmware");
    json_t *p = NULL, *f = NULL;
    int rc = 1;
    if (!path || !fpath || admin_request(ctx, "GET", path, NULL, &p, NULL))
        goto out;
    if (admin_request(ctx, "GET", fpath, NULL, &f, NULL))
        goto out;
    if (ctx->json) {
        json_object_set(p, "firmware", json_object_get(f, "firmware"));
        admin_print_json(p);
    } else {
        print_project(ctx, p);
        printf("\n");
        admin_print_table(json_object_get(f, "firmware"), firmware_cols, NCOLS(firmware_cols),
                          "no firmware names yet ('openfota package add' creates them)");
    }
    rc = 0;
out:
    json_decref(p);
    json_decref(f);
    free(path);
    free(fpath);
    return rc;
}

static int project_set(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *listed = admin_args_value(a, "--listed-only");
    const char *upgrades = admin_args_value(a, "--upgrades");
    const char *max_daily = admin_args_value(a, "--max-daily");
    const char *max_devices = admin_args_value(a, "--max-devices");
    const char *new_name = admin_args_value(a, "--name");
    if (!admin_args_check(a, "project set"))
        return 2;
    const char *key = admin_args_pos(a, 0);
    const char *usage = "project set KEY [--listed-only on|off] [--upgrades on|off] [--max-daily N] "
                        "[--max-devices N] [--name NAME]";
    if (!key || a->argc != 1)
        return admin_usage("project set", usage);
    if (!listed && !upgrades && !max_daily && !max_devices && !new_name) {
        fprintf(stderr, "openfota project set: nothing to change: give --listed-only, --upgrades, "
                        "--max-daily, --max-devices or --name\n");
        return 2;
    }
    json_t *body = json_object();
    if (new_name)
        json_object_set_new(body, "name", json_string(new_name));
    if (listed) {
        int v = admin_parse_switch(listed);
        if (v < 0) {
            fprintf(stderr, "openfota project set: --listed-only takes on or off, not '%s'\n", listed);
            json_decref(body);
            return 2;
        }
        json_object_set_new(body, "listed_only", json_boolean(v));
    }
    if (upgrades) {
        int v = admin_parse_switch(upgrades);
        if (v < 0) {
            fprintf(stderr, "openfota project set: --upgrades takes on or off, not '%s'\n", upgrades);
            json_decref(body);
            return 2;
        }
        json_object_set_new(body, "upgrades_enabled", json_boolean(v));
    }
    if (max_daily) {
        long long n;
        if (admin_parse_uint(max_daily, 1000, &n) || n < 1) {
            fprintf(stderr,
                    "openfota project set: --max-daily takes a whole number from 1 to 1000, "
                    "not '%s'\n",
                    max_daily);
            json_decref(body);
            return 2;
        }
        json_object_set_new(body, "max_daily_deliveries", json_integer(n));
    }
    if (max_devices) {
        long long n;
        if (admin_parse_uint(max_devices, 100000000, &n)) {
            fprintf(stderr,
                    "openfota project set: --max-devices takes a whole number from 0 (no cap) to 100000000, "
                    "not '%s'\n",
                    max_devices);
            json_decref(body);
            return 2;
        }
        json_object_set_new(body, "max_devices", json_integer(n));
    }
    int rc = 1;
    json_t *p = NULL;
    char *path = NULL;
    if (admin_ctx_connect(ctx))
        goto out;
    path = project_path(key, NULL);
    if (!path || admin_request(ctx, "PATCH", path, body, &p, NULL))
        goto out;
    print_project(ctx, p);
    rc = 0;
out:
    json_decref(body);
    json_decref(p);
    free(path);
    return rc;
}

static int project_rm(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "project rm"))
        return 2;
    const char *key = admin_args_pos(a, 0);
    if (!key || a->argc != 1)
        return admin_usage("project rm", "project rm KEY");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = project_path(key, NULL);
    int rc = path && !admin_request(ctx, "DELETE", path, NULL, NULL, NULL) ? 0 : 1;
    free(path);
    if (rc == 0 && !ctx->json)
        printf("project %s removed\n", key);
    else if (rc == 0)
        printf("{}\n");
    return rc;
}

static int project_devices(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "project devices"))
        return 2;
    const char *verb = admin_args_pos(a, 0);
    const char *key = admin_args_pos(a, 1);
    if (!verb || strcmp(verb, "add") || !key || a->argc < 3)
        return admin_usage("project devices", "project devices add KEY ID...");
    json_t *ids = json_array();
    for (int i = 2; i < a->argc; i++)
        json_array_append_new(ids, json_string(a->argv[i]));
    json_t *body = json_pack("{s:o}", "ids", ids);
    int rc = 1;
    json_t *r = NULL;
    char *path = NULL;
    if (admin_ctx_connect(ctx))
        goto out;
    path = project_path(key, "/devices");
    if (!path || admin_request(ctx, "POST", path, body, &r, NULL))
        goto out;
    if (ctx->json)
        admin_print_json(r);
    else
        printf("%lld device(s) added to the list of project %s\n",
               (long long)json_integer_value(json_object_get(r, "added")), key);
    rc = 0;
out:
    json_decref(body);
    json_decref(r);
    free(path);
    return rc;
}

int admin_cli_project(int argc, char **argv)
{
    static const struct admin_sub subs[] = {
        {"add", project_add},   {"list", project_list}, {"ls", project_list},
        {"show", project_show}, {"set", project_set},   {"rm", project_rm},
        {"remove", project_rm}, {"devices", project_devices},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), project_help);
}
