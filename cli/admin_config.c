/*
 * admin_config.c — the common options of the admin commands (--url, --token,
 * --data, --json) and their help. The lookup they feed is in the shared
 * admin client (adminclient/admin_lookup.c).
 */
#include <string.h>

#include "admin.h"

void admin_print_common_help(FILE *out)
{
    fprintf(out,
            "\ncommon options:\n"
            "  --url URL      server base URL (default: $OPENFOTA_URL, else the \"url\" in\n"
            "                 DIR/serve.json written by 'openfota serve --data DIR')\n"
            "  --token TOKEN  admin token (default: $OPENFOTA_TOKEN, else DIR/admin.token)\n"
            "  --data DIR     data folder of a local server (default ./var); when given,\n"
            "                 it is used before OPENFOTA_URL/OPENFOTA_TOKEN\n"
            "  --json         print the server's JSON answer instead of a table\n"
            "  -h, --help     this help\n");
}

int admin_ctx_init(struct admin_ctx *ctx, struct admin_args *a)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->opt_url = admin_args_value(a, "--url");
    ctx->opt_token = admin_args_value(a, "--token");
    ctx->opt_data = admin_args_value(a, "--data");
    ctx->json = admin_args_flag(a, "--json");
    return 0;
}
