/*
 * auth.c — named admin tokens with roles, the role matrix, and the login
 * back-off (auth.h).
 */
#include "auth.h"

#include "log.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

typedef struct tok {
    char name[AUTH_NAME_MAX + 1];
    auth_role role;
    unsigned char hash[32];
    int64_t created;
} tok;

typedef struct addr_slot {
    char addr[64];
    unsigned fails;     /* failures in a row */
    int64_t until;      /* no try looked at before this time */
    int64_t last;       /* last failure, for eviction */
} addr_slot;

struct auth_tokens {
    store *st;
    pthread_mutex_t mu;
    tok *toks;
    size_t n;
    addr_slot *slots; /* AUTH_ADDR_SLOTS, empty when addr[0] == 0 */
};

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

auth_role auth_role_parse(const char *text)
{
    for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++)
        if (text && !strcmp(text, role_names[r]))
            return (auth_role)r;
    return ROLE_NONE;
}

const char *auth_role_name(auth_role r)
{
    return r >= ROLE_NONE && r <= ROLE_ADMIN ? role_names[r] : "none";
}

int auth_name_valid(const char *name)
{
    size_t l = strlen(name);
    if (l == 0 || l > AUTH_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < l; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static void sha256_of(const char *text, size_t len, unsigned char out[32])
{
    SHA256((const unsigned char *)text, len, out);
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = 0;
}

static int from_hex(const char *in, unsigned char *out, size_t n)
{
    if (strlen(in) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = in[2 * i + (size_t)k];
            unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16u;
            if (d > 15)
                return -1;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

struct load_arg {
    auth_tokens *t;
    int bad;
};

static int load_cb(void *arg, const store_token *row)
{
    struct load_arg *la = arg;
    auth_tokens *t = la->t;
    if (t->n == AUTH_TOKENS_MAX)
        return 1;
    tok *k = &t->toks[t->n];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", row->name);
    k->role = row->role >= ROLE_VIEWER && row->role <= ROLE_ADMIN ? (auth_role)row->role : ROLE_NONE;
    k->created = row->created;
    if (from_hex(row->sha256, k->hash, sizeof k->hash) < 0 || k->role == ROLE_NONE) {
        la->bad++;
        return 0;
    }
    t->n++;
    return 0;
}

/* Re-reads every token from the store (mu held). */
static store_err reload(auth_tokens *t)
{
    size_t keep = t->n;
    t->n = 0;
    struct load_arg la = {t, 0};
    store_err e = t->st->ops->tokens_load(t->st, load_cb, &la);
    if (e != STORE_OK) {
        t->n = keep;
        return e;
    }
    if (la.bad)
        log_warn("admin tokens: %d stored token(s) have a bad hash or role and are ignored", la.bad);
    return STORE_OK;
}

auth_tokens *auth_tokens_open(store *st, char *err, size_t errlen)
{
    auth_tokens *t = calloc(1, sizeof *t);
    if (t == NULL || (t->toks = calloc(AUTH_TOKENS_MAX, sizeof *t->toks)) == NULL ||
        (t->slots = calloc(AUTH_ADDR_SLOTS, sizeof *t->slots)) == NULL) {
        snprintf(err, errlen, "out of memory");
        auth_tokens_free(t);
        return NULL;
    }
    t->st = st;
    pthread_mutex_init(&t->mu, NULL);
    store_err e = reload(t);
    if (e != STORE_OK) {
        snprintf(err, errlen, "cannot read the admin tokens: %s", store_strerror(e));
        auth_tokens_free(t);
        return NULL;
    }
    return t;
}

void auth_tokens_free(auth_tokens *t)
{
    if (t == NULL)
        return;
    if (t->toks)
        pthread_mutex_destroy(&t->mu);
    free(t->toks);
    free(t->slots);
    free(t);
}

static tok *by_name(auth_tokens *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->toks[i].name, name))
            return &t->toks[i];
    return NULL;
}

int auth_tokens_sync_initial(auth_tokens *t, const char *text)
{
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (text == NULL) {
        rc = 1;
        for (size_t i = 0; i < t->n; i++)
            if (t->toks[i].role == ROLE_ADMIN)
                rc = 0;
        goto out;
    }
    unsigned char h[32];
    sha256_of(text, strlen(text), h);
    for (size_t i = 0; i < t->n; i++)
        if (CRYPTO_memcmp(t->toks[i].hash, h, sizeof h) == 0)
            goto out; /* already known (as "initial" or under another name) */
    store_token row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "initial");
    row.role = ROLE_ADMIN;
    to_hex(h, sizeof h, row.sha256);
    row.created = (int64_t)time(NULL);
    if (t->st->ops->token_upsert(t->st, &row) != STORE_OK || reload(t) != STORE_OK) {
        rc = -1;
        goto out;
    }
    log_info("admin tokens: the token in admin.token is the admin token 'initial'");
out:
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int auth_tokens_check(auth_tokens *t, const char *token, size_t len, auth_principal *out)
{
    unsigned char h[32];
    sha256_of(token, len, h);
    int found = 0;
    pthread_mutex_lock(&t->mu);
    /* every stored hash is compared, in constant time each */
    for (size_t i = 0; i < t->n; i++) {
        int eq = CRYPTO_memcmp(t->toks[i].hash, h, sizeof h) == 0;
        if (eq && !found) {
            found = 1;
            snprintf(out->name, sizeof out->name, "%s", t->toks[i].name);
            out->role = t->toks[i].role;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return found;
}

store_err auth_tokens_add(auth_tokens *t, const char *name, auth_role role, char *text_out)
{
    unsigned char rnd[AUTH_TOKEN_TEXT / 2];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        log_error("admin tokens: no random bytes for a new token");
        return STORE_ERROR;
    }
    to_hex(rnd, sizeof rnd, text_out);
    store_token row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "%s", name);
    row.role = role;
    unsigned char h[32];
    sha256_of(text_out, AUTH_TOKEN_TEXT, h);
    to_hex(h, sizeof h, row.sha256);
    row.created = (int64_t)time(NULL);
    pthread_mutex_lock(&t->mu);
    store_err e = STORE_OK;
    if (by_name(t, name))
        e = STORE_CONFLICT;
    else if (t->n >= AUTH_TOKENS_MAX)
        e = STORE_INUSE;
    else
        e = t->st->ops->token_insert(t->st, &row);
    if (e == STORE_OK)
        e = reload(t);
    pthread_mutex_unlock(&t->mu);
    if (e != STORE_OK)
        memset(text_out, 0, AUTH_TOKEN_TEXT + 1);
    return e;
}

store_err auth_tokens_revoke(auth_tokens *t, const char *name)
{
    pthread_mutex_lock(&t->mu);
    store_err e = by_name(t, name) ? t->st->ops->token_delete(t->st, name) : STORE_NOTFOUND;
    if (e == STORE_OK)
        e = reload(t);
    pthread_mutex_unlock(&t->mu);
    return e;
}

size_t auth_tokens_count(auth_tokens *t, auth_role min)
{
    size_t c = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        c += t->toks[i].role >= min;
    pthread_mutex_unlock(&t->mu);
    return c;
}

size_t auth_tokens_list(auth_tokens *t, store_token *out, size_t max)
{
    size_t c = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n && c < max; i++, c++) {
        memset(&out[c], 0, sizeof out[c]);
        snprintf(out[c].name, sizeof out[c].name, "%s", t->toks[i].name);
        out[c].role = t->toks[i].role;
        out[c].created = t->toks[i].created;
    }
    pthread_mutex_unlock(&t->mu);
    return c; /* the store returns them sorted by name */
}

/* ---- the role matrix ------------------------------------------------------ */

/* Patterns over the path segments after /admin/v1: "*" is one segment,
 * "**" any rest (also none). First match wins; the method "*" matches any. */
typedef struct role_rule {
    const char *method;
    const char *pattern;
    auth_role role;
} role_rule;

static const role_rule role_rules[] = {
    /* tokens are an admin's alone, even to read */
    {"*", "tokens/**", ROLE_ADMIN},
    {"*", "ddi/**", ROLE_ADMIN},
    /* everything else may be read by every role */
    {"GET", "**", ROLE_VIEWER},
    {"HEAD", "**", ROLE_VIEWER},
    /* uploads, devices, pushes and rollouts: operators */
    {"POST", "projects/*/packages", ROLE_OPERATOR},
    {"POST", "projects/*/firmware", ROLE_OPERATOR},
    {"DELETE", "projects/*/firmware/*", ROLE_OPERATOR},
    {"POST", "projects/*/devices", ROLE_OPERATOR},
    {"DELETE", "packages/*", ROLE_OPERATOR},
    {"POST", "packages/*/**", ROLE_OPERATOR},
    {"POST", "devices/**", ROLE_OPERATOR},
    {"PUT", "files/*", ROLE_OPERATOR},
    {"DELETE", "files/*", ROLE_OPERATOR},
    {"*", "push/**", ROLE_OPERATOR},
    {"*", "push", ROLE_OPERATOR},
    {"*", "rollouts/**", ROLE_OPERATOR},
    {"*", "rollouts", ROLE_OPERATOR},
    /* projects and their settings, and anything not named above: admins */
    {"*", "**", ROLE_ADMIN},
};

/* Does pattern match the segments of path[0..len)? */
static int pattern_match(const char *pat, const char *path, size_t len)
{
    size_t i = 0;
    while (i < len && path[i] == '/')
        i++;
    for (;;) {
        if (!strcmp(pat, "**"))
            return 1;
        const char *pe = strchr(pat, '/');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        if (i >= len)
            return 0; /* path ended, pattern did not */
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (!(pl == 1 && pat[0] == '*') && !(pl == j - i && !memcmp(pat, path + i, pl)))
            return 0;
        i = j;
        while (i < len && path[i] == '/')
            i++;
        if (pe == NULL)
            return i >= len;
        pat = pe + 1;
    }
}

auth_role auth_route_role(const char *method, const char *path, size_t len)
{
    for (size_t k = 0; k < sizeof role_rules / sizeof role_rules[0]; k++) {
        const role_rule *rr = &role_rules[k];
        if (strcmp(rr->method, "*") && strcmp(rr->method, method))
            continue;
        if (pattern_match(rr->pattern, path, len))
            return rr->role;
    }
    return ROLE_ADMIN;
}

/* ---- login back-off -------------------------------------------------------- */

static addr_slot *slot_find(auth_tokens *t, const char *addr, int create)
{
    addr_slot *empty = NULL, *oldest = NULL;
    for (size_t i = 0; i < AUTH_ADDR_SLOTS; i++) {
        addr_slot *s = &t->slots[i];
        if (s->addr[0] == 0) {
            if (empty == NULL)
                empty = s;
            continue;
        }
        if (!strcmp(s->addr, addr))
            return s;
        if (oldest == NULL || s->last < oldest->last)
            oldest = s;
    }
    if (!create)
        return NULL;
    addr_slot *v = empty ? empty : oldest; /* the longest quiet address makes room */
    memset(v, 0, sizeof *v);
    snprintf(v->addr, sizeof v->addr, "%s", addr);
    return v;
}

unsigned auth_backoff_wait(auth_tokens *t, const char *addr, int64_t now)
{
    unsigned w = 0;
    pthread_mutex_lock(&t->mu);
    addr_slot *s = slot_find(t, addr, 0);
    if (s && s->until > now)
        w = (unsigned)(s->until - now);
    pthread_mutex_unlock(&t->mu);
    return w;
}

void auth_backoff_fail(auth_tokens *t, const char *addr, int64_t now)
{
    pthread_mutex_lock(&t->mu);
    addr_slot *s = slot_find(t, addr, 1);
    if (s) {
        s->fails++;
        s->last = now;
        if (s->fails >= AUTH_FREE_FAILS) {
            unsigned shift = s->fails - AUTH_FREE_FAILS;
            int64_t wait = shift >= 9 ? AUTH_BACKOFF_MAX_S : (int64_t)1 << shift;
            if (wait > AUTH_BACKOFF_MAX_S)
                wait = AUTH_BACKOFF_MAX_S;
            s->until = now + wait;
        }
    }
    pthread_mutex_unlock(&t->mu);
}

void auth_backoff_ok(auth_tokens *t, const char *addr)
{
    pthread_mutex_lock(&t->mu);
    addr_slot *s = slot_find(t, addr, 0);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&t->mu);
}
