/*
 * auth.h — who is calling the admin API, and may they.
 *
 *   Named admin tokens, each with a role (viewer < operator < admin), kept
 *   in the store only as SHA-256 hashes and cached here in memory for the
 *   admin worker. The token of DATA/admin.token is the admin token named
 *   "initial" (auth_tokens_sync_initial at start).
 *
 *   The role matrix: auth_route_role names the least role a method + route
 *   under /admin/v1 needs (docs/api.md, "Roles"). Unknown writes need admin.
 *
 *   Failed logins are slowed per client address: after AUTH_FREE_FAILS
 *   failures in a row, further wrong tokens from that address are answered
 *   429 for 1 s, then 2, 4 ... up to AUTH_BACKOFF_MAX_S (a good token still
 *   passes, so a guesser cannot lock an operator out).
 *
 * Threads: every function may be called from any thread (one mutex); the
 * admin worker is the only caller on the request path.
 * Ownership: auth_tokens is created and freed by the server; strings passed
 * in are borrowed for the call.
 */
#ifndef OPENFOTA_SERVER_AUTH_H
#define OPENFOTA_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef enum auth_role { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 } auth_role;

#define AUTH_NAME_MAX 64        /* token names: [A-Za-z0-9._-]{1,64} */
#define AUTH_TOKENS_MAX 1000    /* named tokens per server */
#define AUTH_TOKEN_TEXT 64      /* hex digits of a token made here (256 bits) */
#define AUTH_FREE_FAILS 5       /* failed logins per address before the back-off */
#define AUTH_BACKOFF_MAX_S 300
#define AUTH_ADDR_SLOTS 4096    /* addresses tracked for the back-off (oldest evicted) */

/* The caller of one admin request. */
typedef struct auth_principal {
    char name[AUTH_NAME_MAX + 1];
    auth_role role;
} auth_principal;

typedef struct auth_tokens auth_tokens;

/* "viewer" / "operator" / "admin"; ROLE_NONE for anything else. */
auth_role auth_role_parse(const char *text);
const char *auth_role_name(auth_role r);
/* 1 when name is a valid token name. */
int auth_name_valid(const char *name);

/* Loads every token from st (which must outlive the table). NULL with err. */
auth_tokens *auth_tokens_open(store *st, char *err, size_t errlen);
void auth_tokens_free(auth_tokens *t);

/* Makes the token text of DATA/admin.token the admin token "initial" (adds
 * it, or gives "initial" this hash). With text NULL (no file): returns 1
 * when no admin token exists at all, so the caller makes a new file, else 0.
 * -1 on a storage error (logged). */
int auth_tokens_sync_initial(auth_tokens *t, const char *text);

/* Looks the bearer token up (constant time per stored token). 1 and *out
 * filled when known, 0 when not. */
int auth_tokens_check(auth_tokens *t, const char *token, size_t len, auth_principal *out);

/* Adds a token; writes the new token's text (AUTH_TOKEN_TEXT hex digits) to
 * text_out[AUTH_TOKEN_TEXT + 1]. STORE_CONFLICT when the name is taken,
 * STORE_INUSE when AUTH_TOKENS_MAX are there. */
store_err auth_tokens_add(auth_tokens *t, const char *name, auth_role role, char *text_out);
/* Revokes by name. STORE_NOTFOUND when absent. */
store_err auth_tokens_revoke(auth_tokens *t, const char *name);
/* Counts tokens of at least role min (e.g. admins left after a revoke). */
size_t auth_tokens_count(auth_tokens *t, auth_role min);
/* Copies up to max token infos (no secrets), sorted by name. Returns the count. */
size_t auth_tokens_list(auth_tokens *t, store_token *out, size_t max);

/* The least role method + path (the raw path after "/admin/v1", e.g.
 * "/projects/KEY") needs. */
auth_role auth_route_role(const char *method, const char *path, size_t len);

/* Login back-off by client address: auth_backoff_wait returns the seconds an
 * address must still wait (0: try now); auth_backoff_fail / _ok record a
 * failed / good try at time now. */
unsigned auth_backoff_wait(auth_tokens *t, const char *addr, int64_t now);
void auth_backoff_fail(auth_tokens *t, const char *addr, int64_t now);
void auth_backoff_ok(auth_tokens *t, const char *addr);

#endif
