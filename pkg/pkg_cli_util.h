/*
 * pkg_cli_util.h — small helpers shared by the pkg command-line front ends
 * (argument parsing, whole-file read/write). Not part of the library API.
 */
#ifndef OPENFOTA_PKG_CLI_UTIL_H
#define OPENFOTA_PKG_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* An option that takes one value: "--name VALUE" stores VALUE (a pointer
 * into argv) in *dst. */
typedef struct pkgcli_opt {
    const char *name;
    const char **dst;
} pkgcli_opt;

/* Parses argv[1..argc-1] against opts, plus exactly-at-most one positional
 * argument stored in *pos (named pos_name in messages). Returns 0 when parsed,
 * 1 when --help/-h was given (the caller prints its usage), 2 on a usage error
 * (message already printed to stderr, prefixed "openfota CMD:"). */
int pkgcli_parse_opts(const char *cmd, int argc, char **argv, const pkgcli_opt *opts, size_t n,
                      const char **pos, const char *pos_name);

/* Strict decimal: digits only, value <= max. 0 on success. */
int pkgcli_parse_ulong(const char *s, unsigned long max, unsigned long *out);
/* CORE.X.Z: three decimal parts, core <= 99999, X and Z <= 999. 0 on success. */
int pkgcli_parse_version(const char *s, unsigned *core, unsigned *x, unsigned *z);
/* Read a whole file of at most max bytes into a malloc'ed buffer (caller
 * frees *out; *out may be NULL for an empty file). 0 on success, else -1
 * with a reason in err. */
int pkgcli_read_file(const char *path, size_t max, uint8_t **out, size_t *len, char *err,
                     size_t errlen);
/* Write len bytes to path through a temporary file and rename, so a failed
 * write never leaves a half file under the final name. 0 on success. */
int pkgcli_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen);

#endif
