/*
 * admin_file.c — `openfota file put|list|rm`: static files served at
 * /download/<name> for devices configured with a '###' URL.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col file_cols[] = {
    {"NAME", "name", false},
    {"SIZE", "size", false},
    {"SHA256", "sha256", false},
    {"URL", "url", false},
};

static void file_help(FILE *out)
{
    fprintf(out,
            "usage: openfota file <subcommand> [options]\n\n"
            "Static files for devices whose URL starts with '###' (the device downloads the\n"
            "URL as is and sends nothing about itself).\n\n"
            "subcommands:\n"
            "  put FILE [--name NAME]  upload FILE (as NAME, default its base name; letters,\n"
            "                          digits, '.', '_', '-'); prints the download URL on its\n"
            "                          last line: paste it after '###' in the device script\n"
            "  list                    the uploaded files\n"
            "  rm NAME                 remove a file\n");
    admin_print_common_help(out);
}

/* Same rule as the server: [A-Za-z0-9._-], not starting with '.'. */
static bool name_ok(const char *s)
{
    if (!*s || *s == '.' || strlen(s) > 255)
        return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int file_put(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *name = admin_args_value(a, "--name");
    if (!admin_args_check(a, "file put"))
        return 2;
    const char *file = admin_args_pos(a, 0);
    if (!file || a->argc != 1)
        return admin_usage("file put", "file put FILE [--name NAME]");
    char *dup = strdup(file);
    if (!dup) {
        fprintf(stderr, "openfota: out of memory\n");
        return 1;
    }
    if (!name)
        name = basename(dup);
    int rc = 1;
    char *ne = NULL, *path = NULL;
    json_t *r = NULL;
    if (!name_ok(name)) {
        fprintf(stderr,
                "openfota file put: the name '%s' is not allowed: use letters, digits, '.', '_' "
                "and '-' only, not starting with '.' (give one with --name NAME)\n",
                name);
        rc = 2;
        goto out;
    }
    if (admin_ctx_connect(ctx))
        goto out;
    ne = admin_escape(name);
    if (!ne || asprintf(&path, "/admin/v1/files/%s", ne) < 0) {
        path = NULL;
        fprintf(stderr, "openfota: out of memory\n");
        goto out;
    }
    if (admin_upload(ctx, "PUT", path, file, &r, NULL)) {
        fprintf(stderr, "openfota file put: %s was not uploaded\n", file);
        goto out;
    }
    const char *url = json_string_value(json_object_get(r, "url"));
    if (ctx->json) {
        admin_print_json(r);
    } else {
        char b1[256], b2[256];
        printf("uploaded %s (%s bytes, sha256 %s). Device URL (put '###' in front of it):\n",
               name, admin_cell(json_object_get(r, "size"), b1, sizeof b1),
               admin_cell(json_object_get(r, "sha256"), b2, sizeof b2));
        printf("%s\n", url ? url : "");
    }
    if (!url) {
        fprintf(stderr, "openfota file put: the server's answer has no download URL\n");
        goto out;
    }
    rc = 0;
out:
    free(dup);
    free(ne);
    free(path);
    json_decref(r);
    return rc;
}

static int file_list(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "file list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("file list", "file list");
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *r = NULL;
    if (admin_request(ctx, "GET", "/admin/v1/files", NULL, &r, NULL))
        return 1;
    if (ctx->json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "files"), file_cols, NCOLS(file_cols),
                          "no files: upload one with 'openfota file put FILE'");
    json_decref(r);
    return 0;
}

static int file_rm(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "file rm"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1)
        return admin_usage("file rm", "file rm NAME");
    if (admin_ctx_connect(ctx))
        return 1;
    char *ne = admin_escape(name);
    char *path = NULL;
    int rc = 1;
    if (ne && asprintf(&path, "/admin/v1/files/%s", ne) >= 0) {
        rc = admin_request(ctx, "DELETE", path, NULL, NULL, NULL) ? 1 : 0;
        free(path);
    } else {
        fprintf(stderr, "openfota: out of memory\n");
    }
    free(ne);
    if (rc == 0 && ctx->json)
        printf("{}\n");
    else if (rc == 0)
        printf("file %s removed\n", name);
    return rc;
}

int admin_cli_file(int argc, char **argv)
{
    static const struct admin_sub subs[] = {
        {"put", file_put}, {"list", file_list}, {"ls", file_list},
        {"rm", file_rm},   {"remove", file_rm},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), file_help);
}
