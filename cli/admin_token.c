/*
 * admin_token.c — `openfota token add|list|revoke` (named admin tokens with
 * a role each) and `openfota audit` (who changed what).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "commands.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct admin_col token_cols[] = {
    {"NAME", "name", false},
    {"ROLE", "role", false},
    {"CREATED", "created", true},
};

static const struct admin_col audit_cols[] = {
    {"TIME", "time", true},     {"TOKEN", "token", false},   {"ADDRESS", "addr", false},
    {"METHOD", "method", false}, {"ROUTE", "route", false},  {"TARGET", "target", false},
    {"STATUS", "status", false}, {"DETAIL", "detail", false},
};

static void token_help(FILE *out)
{
    fprintf(out,
            "usage: openfota token <subcommand> [options]\n\n"
            "Named admin tokens, each with a role:\n"
            "  viewer    reads everything (not the token list)\n"
            "  operator  also devices, pushes, rollouts, uploads\n"
            "  admin     everything, including tokens and project settings\n\n"
            "subcommands:\n"
            "  add NAME --role ROLE   make a token; prints it alone on the last line, once:\n"
            "                         the server keeps only its hash\n"
            "  list                   every token's name, role and creation time\n"
            "  revoke NAME            the token stops working at once (the last admin token\n"
            "                         cannot be revoked)\n");
    admin_print_common_help(out);
}

static int token_add(struct admin_ctx *ctx, struct admin_args *a)
{
    const char *role = admin_args_value(a, "--role");
    if (!admin_args_check(a, "token add"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1 || !role)
        return admin_usage("token add", "token add NAME --role viewer|operator|admin");
    if (strcmp(role, "viewer") && strcmp(role, "operator") && strcmp(role, "admin")) {
        fprintf(stderr, "openfota token add: --role must be viewer, operator or admin (not '%s')\n", role);
        return 2;
    }
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *body = json_pack("{s:s,s:s}", "name", name, "role", role), *r = NULL;
    int rc = admin_request(ctx, "POST", "/admin/v1/tokens", body, &r, NULL) ? 1 : 0;
    json_decref(body);
    if (rc == 0) {
        const char *tok = json_string_value(json_object_get(r, "token"));
        if (ctx->json) {
            admin_print_json(r);
        } else if (tok) {
            printf("token '%s' (%s) added. It is shown only now; keep it where its user can read it:\n", name,
                   role);
            printf("%s\n", tok);
        } else {
            fprintf(stderr, "openfota token add: the server's answer has no token\n");
            rc = 1;
        }
    }
    json_decref(r);
    return rc;
}

static int token_list(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "token list"))
        return 2;
    if (a->argc != 0)
        return admin_usage("token list", "token list");
    if (admin_ctx_connect(ctx))
        return 1;
    json_t *r = NULL;
    if (admin_request(ctx, "GET", "/admin/v1/tokens", NULL, &r, NULL))
        return 1;
    if (ctx->json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "tokens"), token_cols, NCOLS(token_cols), "no tokens");
    json_decref(r);
    return 0;
}

static int token_revoke(struct admin_ctx *ctx, struct admin_args *a)
{
    if (!admin_args_check(a, "token revoke"))
        return 2;
    const char *name = admin_args_pos(a, 0);
    if (!name || a->argc != 1)
        return admin_usage("token revoke", "token revoke NAME");
    if (admin_ctx_connect(ctx))
        return 1;
    char *ne = admin_escape(name), *path = NULL;
    int rc = 1;
    if (ne && asprintf(&path, "/admin/v1/tokens/%s", ne) >= 0) {
        rc = admin_request(ctx, "DELETE", path, NULL, NULL, NULL) ? 1 : 0;
        free(path);
    } else {
        fprintf(stderr, "openfota: out of memory\n");
    }
    free(ne);
    if (rc == 0)
        printf(ctx->json ? "{}\n" : "token '%s' revoked\n", name);
    return rc;
}

int admin_cli_token(int argc, char **argv)
{
    static const struct admin_sub subs[] = {
        {"add", token_add}, {"list", token_list}, {"ls", token_list}, {"revoke", token_revoke}, {"rm", token_revoke},
    };
    return admin_run_noun(argc, argv, subs, NCOLS(subs), token_help);
}

static void audit_help(FILE *out)
{
    fprintf(out, "usage: openfota audit [--limit N] [--before ID] [options]\n\n"
                 "The audit log, newest first: every admin write and every refused login, with\n"
                 "the token's name, the client address, the route, the target and the answer's\n"
                 "status. --limit N entries (default 100, at most 10000); --before ID pages back.\n");
    admin_print_common_help(out);
}

int admin_cli_audit(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            audit_help(stdout);
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
    const char *limit = admin_args_value(&a, "--limit"), *before = admin_args_value(&a, "--before");
    int rc = 2;
    json_t *r = NULL;
    char path[128];
    long long lv = 100, bv = 0;
    if (!admin_args_check(&a, "audit"))
        goto out;
    if (a.argc != 0 || (limit && admin_parse_uint(limit, 10000, &lv)) ||
        (before && admin_parse_uint(before, 1ll << 62, &bv))) {
        rc = admin_usage("audit", "audit [--limit N] [--before ID]");
        goto out;
    }
    snprintf(path, sizeof path, "/admin/v1/audit?limit=%lld&before=%lld", lv, bv);
    rc = 1;
    if (admin_ctx_connect(&ctx) || admin_request(&ctx, "GET", path, NULL, &r, NULL))
        goto out;
    if (ctx.json)
        admin_print_json(r);
    else
        admin_print_table(json_object_get(r, "entries"), audit_cols, NCOLS(audit_cols), "the audit log is empty");
    rc = 0;
out:
    json_decref(r);
    admin_ctx_free(&ctx);
    admin_args_free(&a);
    return rc;
}
