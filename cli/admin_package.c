/*
 * admin_package.c — `openfota package add|list|show|rm` over the admin API,
 * and the local `package sign|verify|keygen` handed to the pkg component.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col list_cols[] = {
    {"ID", "id", false},
    {"PROJECT", "project", false},
    {"FIRMWARE", "firmware", false},
    {"VERSION", "version", false},
    {"BASE-CORE", "base_core", false},
    {"SUFFIX", "suffix", false},
    {"KIND", "kind", false},
    {"DRAFT", "draft", false},
    {"SIZE", "size", false},
    {"CREATED", "created", true},
};

static const struct admin_col show_cols[] = {
    {"id", "id", false},
    {"project", "project", false},
    {"firmware", "firmware", false},
    {"version", "version", false},
    {"core", "core", false},
    {"script", "script", false},
    {"base core", "base_core", false},
    {"suffix", "suffix", false},
    {"kind", "kind", false},
    {"draft", "draft", false},
    {"size", "size", false},
    {"md5", "md5", false},
    {"sha256", "sha256", false},
    {"file name", "filename", false},
    {"created", "created", true},
};

static void package_help(FILE *out)
{
    fprintf(out,
            "usage: openfota package <subcommand> [options]\n\n"
            "subcommands (on the server):\n"
            "  add --project KEY --firmware NAME --version CORE.X.Z [--base-core N]\n"
            "      [--suffix S] [--raw] [--draft] FILE\n"
            "        upload a package. NAME is the firmware_name devices send (created when\n"
            "        new). CORE.X.Z is the version devices will report after the upgrade:\n"
            "        core build number, then the first and third parts of the script VERSION.\n"
            "        --base-core N marks a core+script package that applies to devices on core\n"
            "        N; without it the package is script-only and applies to devices already\n"
            "        on CORE. --suffix is the layout suffix (1 for *_1.soc; default from the\n"
            "        file name's _N, else 1). A LuatOS upgrade .bin is checked (magic, header\n"
            "        CRC, lengths, MD5s, versions); any other file is stored as kind 'raw',\n"
            "        except for a LuatOS firmware name (..._LuatOS-SoC_...): a module running\n"
            "        it installs only Luat upgrade .bin files, so another file is refused\n"
            "        unless --raw says the devices on NAME really take it.\n"
            "        A signed openfota package (openfota package sign) is checked against\n"
            "        the server's keys and kept as a release for deltas; its --version may be\n"
            "        left out (the manifest's target version is used).\n"
            "        --draft uploads it as a draft: no device is offered it until a rollout\n"
            "        of it (openfota rollout start --package ID) or 'package release ID'.\n"
            "        Prints the package id and its sha256; exits 1 with the server's reason\n"
            "        when the package is refused.\n"
            "  list [--project KEY] [--firmware NAME]   packages, newest first\n"
            "  show ID                                  one package\n"
            "  rm ID                                    remove a package (downloads under way\n"
            "                                           finish)\n"
            "  release ID                               a draft becomes an ordinary package,\n"
            "                                           offered to every eligible device\n\n"
            "subcommands (local files, no server):\n"
            "  sign ...     sign a package       (openfota package sign --help)\n"
            "  verify ...   verify a signature   (openfota package verify --help)\n"
            "  keygen ...   make a signing key   (openfota package keygen --help)\n\n"
            "example:\n"
            "  openfota package add --project KEY --firmware FOTA2_DEMO_LuatOS-SoC_Air780EHV \\\n"
            "      --version 2012.1.2 script_v2.bin\n");
    admin_print_common_help(out);
}

static int package_add(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    const char *firmware = admin_args_value(a, "--firmware");
    const char *version = admin_args_value(a, "--version");
    const char *base_core = admin_args_value(a, "--base-core");
    const char *suffix = admin_args_value(a, "--suffix");
    bool raw = admin_args_flag(a, "--raw");
    bool draft = admin_args_flag(a, "--draft");
    if (!admin_args_check(a, "package add"))
        return 2;
    const char *file = admin_args_pos(a, 0);
    const char *usage = "package add --project KEY --firmware NAME --version CORE.X.Z "
                        "[--base-core N] [--suffix S] [--raw] [--draft] FILE";
    if (!file || a->argc != 1)
        return admin_usage("package add", usage);
    /* --version may be left out: the server takes a signed package's version
     * from its manifest and refuses other kinds without one, saying why. */
    if (!project || !firmware) {
        fprintf(stderr, "openfota package add: %s is required\n  usage: openfota %s\n",
                !project ? "--project KEY" : "--firmware NAME", usage);
        return 2;
    }
    long long n;
    if (base_core && admin_parse_uint(base_core, 4294967295LL, &n)) {
        fprintf(stderr,
                "openfota package add: --base-core takes the core build number the devices run "
                "(e.g. 2012), not '%s'\n",
                base_core);
        return 2;
    }
    if (suffix && admin_parse_suffix(suffix, &n)) {
        fprintf(stderr, "openfota package add: --suffix takes a layout number like 1 or _1, not '%s'\n",
                suffix);
        return 2;
    }
    if (admin_ctx_connect(ctx))
        return 1;

    int rc = 1;
    char *pe = admin_escape(project), *fe = admin_escape(firmware), *ve = admin_escape(version ? version : "");
    char *dup = strdup(file);
    char *ne = dup ? admin_escape(basename(dup)) : NULL;
    char *be = base_core ? admin_escape(base_core) : NULL;
    char *se = suffix ? admin_escape(suffix[0] == '_' ? suffix + 1 : suffix) : NULL;
    char *path = NULL;
    json_t *r = NULL;
    if (!pe || !fe || !ve || !ne || (base_core && !be) || (suffix && !se) ||
        asprintf(&path, "/admin/v1/projects/%s/packages?firmware=%s%s%s&filename=%s%s%s%s%s%s%s",
                 pe, fe, version ? "&version=" : "", version ? ve : "", ne, be ? "&base_core=" : "", be ? be : "", se ? "&suffix=" : "",
                 se ? se : "", raw ? "&raw=1" : "", draft ? "&draft=1" : "") < 0) {
        path = NULL;
        fprintf(stderr, "openfota: out of memory\n");
        goto out;
    }
    if (admin_upload(ctx, "POST", path, file, &r, NULL)) {
        fprintf(stderr, "openfota package add: %s was not added\n", file);
        goto out;
    }
    if (ctx->json) {
        admin_print_json(r);
    } else {
        char b1[256], b2[256], b3[256];
        printf("package added%s: %s %s version %s (%s, %s bytes)\n", draft ? " as a draft" : "", project, firmware,
               admin_cell(json_object_get(r, "version"), b1, sizeof b1),
               admin_cell(json_object_get(r, "kind"), b2, sizeof b2),
               admin_cell(json_object_get(r, "size"), b3, sizeof b3));
        printf("id:     %s\n", admin_cell(json_object_get(r, "id"), b1, sizeof b1));
        printf("sha256: %s\n", admin_cell(json_object_get(r, "sha256"), b1, sizeof b1));
        printf("see it: openfota package show %s\n", admin_cell(json_object_get(r, "id"), b1, sizeof b1));
    }
    rc = 0;
out:
    free(pe);
    free(fe);
    free(ve);
    free(ne);
    free(be);
    free(se);
    free(dup);
    free(path);
    json_decref(r);
    return rc;
}

static int package_list(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *project = admin_args_value(a, "--project");
    const char *firmware = admin_args_value(a, "--firmware");
    if (!admin_args_check(a, "package list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("package list", "package list [--project KEY] [--firmware NAME]");
    if (admin_ctx_connect(ctx))
        return 1;
    char *pe = project ? admin_escape(project) : NULL;
    char *fe = firmware ? admin_escape(firmware) : NULL;
    char *path = NULL;
    json_t *r = NULL;
    int rc = 1;
    if ((project && !pe) || (firmware && !fe) ||
        asprintf(&path, "/admin/v1/packages%s%s%s%s%s", (pe || fe) ? "?" : "",
                 pe ? "project=" : "", pe ? pe : "", fe ? (pe ? "&firmware=" : "firmware=") : "",
                 fe ? fe : "") < 0) {
        path = NULL;
        fprintf(stderr, "openfota: out of memory\n");
        goto out;
    }
    if (admin_request(ctx, "GET", path, NULL, &r, NULL))
        goto out;
    if (ctx->json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "packages"), list_cols, NCOLS(list_cols),
                          "no packages: upload one with 'openfota package add'");
    rc = 0;
out:
    free(pe);
    free(fe);
    free(path);
    json_decref(r);
    return rc;
}

static char *package_path(const char *id)
{
    char *e = admin_escape(id);
    char *p = NULL;
    if (e && asprintf(&p, "/admin/v1/packages/%s", e) < 0)
        p = NULL;
    free(e);
    if (!p)
        fprintf(stderr, "openfota: out of memory\n");
    return p;
}

static const struct admin_col delta_cols[] = {
    {"BASE", "base", false},   {"TARGET", "target", false},        {"STATE", "state", false},
    {"SIZE", "size", false},   {"FULL-SIZE", "full_size", false},  {"CREATED", "created", true},
};

/* Signature state and the deltas of a package (package show). */
static void print_signature_and_deltas(json_t *r)
{
    json_t *sg = json_object_get(r, "signed");
    char b1[256], b2[256];
    if (!json_is_object(sg)) {
        printf("signature:        none (%s package; deltas are made only between signed releases)\n",
               admin_cell(json_object_get(r, "kind"), b1, sizeof b1));
        return;
    }
    const char *kind = json_string_value(json_object_get(sg, "kind"));
    printf("signature:        checked at upload (%s package, release counter %s)\n", kind ? kind : "?",
           admin_cell(json_object_get(sg, "counter"), b1, sizeof b1));
    if (kind && !strcmp(kind, "delta")) {
        json_t *bv = json_object_get(sg, "base_version");
        if (json_is_string(bv))
            printf("applies to:       devices on %s only (an uploaded delta patches that one image)\n",
                   json_string_value(bv));
        else
            printf("applies to:       no device (its base version is not known: upload it again)\n");
    }
    printf("result:           %s bytes, sha256 %s\n", admin_cell(json_object_get(sg, "result_len"), b1, sizeof b1),
           admin_cell(json_object_get(sg, "result_sha256"), b2, sizeof b2));
    json_t *d = json_object_get(r, "deltas");
    if (json_is_array(d)) {
        printf("\ndeltas (made by the server; base and target are package ids):\n");
        admin_print_table(d, delta_cols, NCOLS(delta_cols), "none yet (made at the first check of a device on "
                                                             "an older signed release)");
    }
}

static int package_show(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "package show"))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1)
        return admin_usage("package show", "package show ID");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = package_path(id);
    json_t *r = NULL;
    int rc = 1;
    if (path && !admin_request(ctx, "GET", path, NULL, &r, NULL)) {
        if (ctx->json) {
            admin_print_json(r);
        } else {
            admin_print_fields(r, show_cols, NCOLS(show_cols));
            print_signature_and_deltas(r);
        }
        rc = 0;
    }
    free(path);
    json_decref(r);
    return rc;
}

static int package_rm(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "package rm"))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1)
        return admin_usage("package rm", "package rm ID");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = package_path(id);
    int rc = path && !admin_request(ctx, "DELETE", path, NULL, NULL, NULL) ? 0 : 1;
    free(path);
    if (rc == 0 && ctx->json)
        printf("{}\n");
    else if (rc == 0)
        printf("package %s removed (downloads under way finish)\n", id);
    return rc;
}

static int package_release(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "package release"))
        return 2;
    const char *id = admin_args_pos(a, 0);
    if (!id || a->argc != 1)
        return admin_usage("package release", "package release ID");
    if (admin_ctx_connect(ctx))
        return 1;
    char *path = package_path(id), *rel = NULL;
    json_t *r = NULL;
    int rc = 1;
    if (path && asprintf(&rel, "%s/release", path) < 0)
        rel = NULL;
    if (rel && !admin_request(ctx, "POST", rel, NULL, &r, NULL)) {
        if (ctx->json)
            admin_print_json(r);
        else
            printf("package %s released: offered to every eligible device from now on\n", id);
        rc = 0;
    }
    free(rel);
    free(path);
    json_decref(r);
    return rc;
}

int admin_cli_package(int argc, char **argv)
{
    /* Local commands: handed over whole, argv[0] = "sign" etc. */
    if (argc >= 2) {
        if (!strcmp(argv[1], "sign"))
            return pkg_cli_sign(argc - 1, argv + 1);
        if (!strcmp(argv[1], "verify"))
            return pkg_cli_verify(argc - 1, argv + 1);
        if (!strcmp(argv[1], "keygen"))
            return pkg_cli_keygen(argc - 1, argv + 1);
    }
    static const struct admin_sub subs[] = {
        {"add", package_add},   {"upload", package_add}, {"list", package_list},
        {"ls", package_list},   {"show", package_show},  {"rm", package_rm},
        {"remove", package_rm}, {"release", package_release},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), package_help);
}
