/*
 * admin.h — the admin client: the `openfota project|firmware|package|device|
 * file|status` commands, which talk to a running server over the admin HTTP
 * API (docs/api.md).
 *
 * Pieces, one file each:
 *   admin_args.c    taking options out of argv (--name V, --name=V, flags)
 *   admin_config.c  the common options (--url, --token, --data, --json)
 *   admin_output.c  tables and time formatting
 *   admin_<noun>.c  one file per command noun
 * Finding the server and token, and HTTP itself, are the shared admin client
 * (adminclient/admin_client.h, library of_adminclient), which `openfota push`
 * and `openfota rollout` use too.
 *
 * Ownership: nothing here keeps pointers into argv beyond the command that
 * was given them; json_t values returned to a caller are owned by the caller
 * (json_decref them). The admin_ctx pointers are described in admin_client.h.
 */
#ifndef OPENFOTA_CLI_ADMIN_H
#define OPENFOTA_CLI_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "admin_client.h"

/* ---- argument list ------------------------------------------------------ */

/* A mutable view of a command's arguments; options are removed as they are
 * taken, leaving the positional arguments. ptrs is owned (a copy of the
 * pointer array); the strings belong to the original argv. */
struct admin_args {
    int argc;
    char **argv;
    bool bad;           /* an option was given without its value */
    char bad_name[64];  /* which one */
};

/* Copies argv[0..argc-1] (all arguments after the noun). Returns 0 or -1 on
 * out of memory. */
int admin_args_init(struct admin_args *a, int argc, char **argv);
void admin_args_free(struct admin_args *a);
/* Takes "--name VALUE" or "--name=VALUE"; the last occurrence wins. Returns
 * the value (owned by argv) or NULL when absent; a missing value sets a->bad. */
const char *admin_args_value(struct admin_args *a, const char *name);
/* Takes a flag "--name"; returns true when present. */
bool admin_args_flag(struct admin_args *a, const char *name);
/* After all options were taken: prints an error for an option left over or
 * missing its value. Returns true when the arguments are fine. */
bool admin_args_check(struct admin_args *a, const char *cmd);
/* The index-th positional argument, or NULL. */
const char *admin_args_pos(const struct admin_args *a, int index);

/* ---- connection settings ------------------------------------------------ */

/* Takes the common options (--url, --token, --data, --json) out of a; the
 * ctx borrows their values from a's argv. Returns 0. */
int admin_ctx_init(struct admin_ctx *ctx, struct admin_args *a);
/* (admin_ctx_connect in admin_client.h then finds URL and token.) */

/* Help text for the common options (printed by every noun's --help). */
void admin_print_common_help(FILE *out);

/* ---- command nouns ------------------------------------------------------ */

/* A subcommand: it takes its own options from a, checks them with
 * admin_args_check, then calls admin_ctx_connect before talking to the
 * server. Returns the exit status (0, 1 failure/refusal, 2 usage). */
struct admin_sub {
    const char *name;
    int (*run)(struct admin_ctx *ctx, struct admin_args *a);
};
/* Dispatches `openfota NOUN SUB ...` (argv[0] is the noun); prints help for
 * --help anywhere. */
int admin_run_noun(int argc, char **argv, const struct admin_sub *subs, size_t nsubs,
                   void (*help)(FILE *out));
/* Prints "openfota NOUN SUB: usage: ..." style errors: the standard message
 * for a missing or extra positional argument. Returns 2. */
int admin_usage(const char *cmd, const char *usage);

/* ---- output ------------------------------------------------------------- */

/* Prints j as indented JSON on stdout. */
void admin_print_json(const json_t *j);
/* Formats a JSON value for a table cell into buf: strings as is, integers,
 * booleans yes/no, null "-". */
const char *admin_cell(const json_t *v, char *buf, size_t size);
/* Formats a Unix time (JSON integer) as "YYYY-MM-DD HH:MM:SS" UTC. */
const char *admin_time(const json_t *v, char *buf, size_t size);

/* A column of a table: header and the object key it shows; time columns
 * are formatted as dates. */
struct admin_col {
    const char *header;
    const char *key;
    bool is_time;
};
/* Prints an array of objects as a table with the given columns; prints
 * `empty_msg` when the array is empty. */
void admin_print_table(const json_t *rows, const struct admin_col *cols, size_t ncols,
                       const char *empty_msg);
/* Prints one object as "key: value" lines for the given columns. */
void admin_print_fields(const json_t *obj, const struct admin_col *cols, size_t ncols);

/* Parses "on"/"off"/"yes"/"no"/"true"/"false"/"1"/"0". Returns 1, 0 or -1. */
int admin_parse_switch(const char *s);
/* Parses a layout suffix "1" or "_1" (1..99). Returns 0 or -1. */
int admin_parse_suffix(const char *s, long long *out);
/* Parses a non-negative decimal integer up to max. Returns 0 or -1. */
int admin_parse_uint(const char *s, long long max, long long *out);

#endif
