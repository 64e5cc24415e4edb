/*
 * cli_http.h — the small admin client used by `openfota push` and
 * `openfota rollout`: finds the server URL and token and sends JSON requests
 * over libcurl. (Kept inside fleet/ so the fleet builds on its own; it
 * follows the same lookup as the other admin commands.)
 *
 * Lookup: --url/--token, then OPENFOTA_URL/OPENFOTA_TOKEN, then the data
 * folder (--data DIR, default ./var): DIR/serve.json {"url":…} and
 * DIR/admin.token.
 */
#ifndef OPENFOTA_FLEET_CLI_HTTP_H
#define OPENFOTA_FLEET_CLI_HTTP_H

#include <jansson.h>

#define FLEET_CLI_MAX_RESPONSE (16u * 1024u * 1024u)

struct fleet_cli {
    char *url;   /* owned, no trailing '/' */
    char *token; /* owned */
    int json;    /* --json: print raw JSON */
};

/* Removes the common options (--url V, --token V, --data V, --json; also the
 * --name=V form) from argv in place and updates *argc. Returns 0, or -1 (message
 * printed) when an option lacks its value. */
int fleet_cli_take_common(int *argc, char **argv, const char **url, const char **token, const char **data,
                          int *json);
/* Resolves URL and token. Returns 0 or -1 (message printed, with what to do). */
int fleet_cli_connect(struct fleet_cli *c, const char *url, const char *token, const char *data);
void fleet_cli_free(struct fleet_cli *c);
/* METHOD url+path with an optional JSON body (borrowed). On 2xx: *out gets
 * the decoded body (caller decrefs; NULL when empty) and 0 is returned. On
 * failure prints the server's error and hint (or why it could not be reached)
 * and returns -1. */
int fleet_cli_request(const struct fleet_cli *c, const char *method, const char *path, json_t *body,
                      json_t **out);

#endif
