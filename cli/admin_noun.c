/*
 * admin_noun.c — shared dispatch of `openfota NOUN SUBCOMMAND ...`.
 */
#include <string.h>

#include "admin.h"

static bool is_help(const char *s)
{
    return !strcmp(s, "--help") || !strcmp(s, "-h") || !strcmp(s, "help");
}

int admin_usage(const char *cmd, const char *usage)
{
    fprintf(stderr, "openfota %s: usage: openfota %s\n  (see 'openfota %s --help')\n", cmd, usage,
            cmd);
    return 2;
}

int admin_run_noun(int argc, char **argv, const struct admin_sub *subs, size_t nsubs,
                   void (*help)(FILE *out))
{
    const char *noun = argv[0];
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    if (is_help(argv[1])) {
        help(stdout);
        return 0;
    }
    const struct admin_sub *sub = NULL;
    for (size_t i = 0; i < nsubs; i++)
        if (!strcmp(argv[1], subs[i].name))
            sub = &subs[i];
    if (!sub) {
        fprintf(stderr, "openfota %s: unknown subcommand '%s'. Run 'openfota %s --help' for the list.\n",
                noun, argv[1], noun);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return 0;
        }
    }
    struct admin_args a;
    if (admin_args_init(&a, argc - 2, argv + 2)) {
        fprintf(stderr, "openfota: out of memory\n");
        return 1;
    }
    struct admin_ctx ctx;
    admin_ctx_init(&ctx, &a);
    int rc = sub->run(&ctx, &a);
    admin_ctx_free(&ctx);
    admin_args_free(&a);
    return rc;
}
