/*
 * admin_args.c — taking options out of a command's arguments.
 *
 * Options may appear anywhere among the positional arguments, as
 * "--name VALUE" or "--name=VALUE". A lone "--" ends the options: what
 * follows is positional even when it starts with "--".
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int admin_args_init(struct admin_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->argv = calloc((size_t)argc + 1, sizeof *a->argv);
    if (!a->argv)
        return -1;
    for (int i = 0; i < argc; i++)
        a->argv[i] = argv[i];
    a->argc = argc;
    return 0;
}

void admin_args_free(struct admin_args *a)
{
    free(a->argv);
    a->argv = NULL;
    a->argc = 0;
}

static void args_remove(struct admin_args *a, int i, int n)
{
    memmove(&a->argv[i], &a->argv[i + n], (size_t)(a->argc - i - n + 1) * sizeof *a->argv);
    a->argc -= n;
}

/* Index of the "--" terminator, or argc. */
static int args_end(const struct admin_args *a)
{
    for (int i = 0; i < a->argc; i++)
        if (!strcmp(a->argv[i], "--"))
            return i;
    return a->argc;
}

const char *admin_args_value(struct admin_args *a, const char *name)
{
    const char *value = NULL;
    size_t len = strlen(name);
    int i = 0;
    while (i < args_end(a)) {
        char *arg = a->argv[i];
        if (!strcmp(arg, name)) {
            if (i + 1 >= args_end(a)) {
                a->bad = true;
                snprintf(a->bad_name, sizeof a->bad_name, "%s", name);
                args_remove(a, i, 1);
                continue;
            }
            value = a->argv[i + 1];
            args_remove(a, i, 2);
            continue;
        }
        if (!strncmp(arg, name, len) && arg[len] == '=') {
            value = arg + len + 1;
            args_remove(a, i, 1);
            continue;
        }
        i++;
    }
    return value;
}

bool admin_args_flag(struct admin_args *a, const char *name)
{
    bool found = false;
    int i = 0;
    while (i < args_end(a)) {
        if (!strcmp(a->argv[i], name)) {
            found = true;
            args_remove(a, i, 1);
            continue;
        }
        i++;
    }
    return found;
}

bool admin_args_check(struct admin_args *a, const char *cmd)
{
    if (a->bad) {
        fprintf(stderr, "openfota %s: option %s needs a value (see 'openfota %s --help')\n", cmd,
                a->bad_name, cmd);
        return false;
    }
    int end = args_end(a);
    for (int i = 0; i < end; i++) {
        const char *arg = a->argv[i];
        if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "openfota %s: unknown option '%s' (see 'openfota %s --help')\n", cmd,
                    arg, cmd);
            return false;
        }
    }
    if (end < a->argc)
        args_remove(a, end, 1);
    return true;
}

const char *admin_args_pos(const struct admin_args *a, int index)
{
    if (index < 0 || index >= a->argc)
        return NULL;
    return a->argv[index];
}

int admin_parse_switch(const char *s)
{
    static const char *on[] = {"on", "yes", "true", "1"};
    static const char *off[] = {"off", "no", "false", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(s, on[i]))
            return 1;
        if (!strcmp(s, off[i]))
            return 0;
    }
    return -1;
}

int admin_parse_uint(const char *s, long long max, long long *out)
{
    long long v = 0;
    if (!*s)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}
