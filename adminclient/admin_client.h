/*
 * admin_client.h — the one client of the admin HTTP API (docs/api.md), used
 * by every command that talks to a running server: `openfota project|
 * firmware|package|device|file|status` (cli/) and `openfota push|rollout`
 * (fleet/cli_fleet.c). It lives in its own library (of_adminclient) so that
 * both cli/ and fleet/ can link it without fleet depending on cli.
 *
 *   admin_lookup.c  finding the server URL and token: flags, then
 *                   OPENFOTA_URL / OPENFOTA_TOKEN, then the data folder
 *   admin_client.c  HTTP over libcurl: JSON requests, streamed uploads,
 *                   bounded answer buffer, error messages for people
 *
 * Ownership, pointer by pointer:
 *   - struct admin_ctx: opt_url, opt_token and opt_data are borrowed (they
 *     usually point into argv) and must outlive admin_ctx_connect; url and
 *     token are owned by the ctx (malloc'd by admin_ctx_connect, released by
 *     admin_ctx_free); url_from and token_from point at string literals.
 *   - Request bodies (json_t *body) are borrowed: the caller keeps its
 *     reference and decrefs it.
 *   - Decoded answers (*out) are new references owned by the caller
 *     (json_decref them).
 *   - admin_escape returns a malloc'd string owned by the caller (free it).
 *   - Nothing here keeps a pointer after the call returns, except the ctx
 *     fields above.
 */
#ifndef OPENFOTA_ADMIN_CLIENT_H
#define OPENFOTA_ADMIN_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

/* ---- connection settings ------------------------------------------------ */

struct admin_ctx {
    const char *opt_url;    /* --url as given (borrowed), or NULL */
    const char *opt_token;  /* --token as given (borrowed), or NULL */
    const char *opt_data;   /* --data as given (borrowed), or NULL */
    char *url;              /* base URL without trailing '/' (owned) */
    char *token;            /* admin token (owned) */
    const char *url_from;   /* where the URL came from, for messages (static) */
    const char *token_from; /* where the token came from (static) */
    bool json;              /* --json: the command prints raw JSON */
};

/* Resolves URL and token, separately, first found wins: opt_url/opt_token,
 * then OPENFOTA_URL/OPENFOTA_TOKEN (skipped when opt_data is set: an explicit
 * data folder is a flag too), then the data folder (opt_data, default ./var):
 * DIR/serve.json "url" and DIR/admin.token. Prints what is missing and what
 * to do. Returns 0, or -1 with url and token freed. */
int admin_ctx_connect(struct admin_ctx *ctx);
/* Frees url and token; the ctx may be connected again. Safe on a ctx that
 * was zeroed or never connected. */
void admin_ctx_free(struct admin_ctx *ctx);

/* ---- HTTP --------------------------------------------------------------- */

/* Largest answer body the client accepts (bytes); a larger one aborts the
 * transfer. The buffer grows only up to this size. */
#define ADMIN_MAX_RESPONSE (16u * 1024u * 1024u)

/* Sends METHOD base_url+path with an optional JSON body (borrowed). On a 2xx
 * answer stores the decoded body in *out (owned by the caller; NULL for an
 * empty body) and returns 0. On any failure prints a message for a person
 * (server's "error" and "hint" for 4xx/5xx; how to reach the server when it
 * cannot be reached) and returns -1. *status gets the HTTP status (0 when no
 * answer); out and status may be NULL. */
int admin_request(const struct admin_ctx *ctx, const char *method, const char *path,
                  json_t *body, json_t **out, long *status);

/* Streams the file at file_path as the body of METHOD path (octet-stream),
 * never holding the whole file in memory. Same answer handling as
 * admin_request. */
int admin_upload(const struct admin_ctx *ctx, const char *method, const char *path,
                 const char *file_path, json_t **out, long *status);

/* Percent-encodes s for use in a URL path segment or query value (all but
 * A-Z a-z 0-9 - . _ ~). Returns a malloc'd string owned by the caller, or
 * NULL on out of memory. */
char *admin_escape(const char *s);

#endif
