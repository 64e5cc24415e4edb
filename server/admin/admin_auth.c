/*
 * admin_auth.c — the admin API's gate (who calls, may they) and its routes
 * for tokens and the audit log (admin.h):
 *
 *   GET    /admin/v1/tokens            every token's name, role, created (no secrets)
 *   POST   /admin/v1/tokens            {"name","role"} -> {"name","role","token"} (shown once)
 *   DELETE /admin/v1/tokens/{name}
 *   GET    /admin/v1/audit[?limit=N][&before=ID]
 *
 * Every admin write and every refused login is recorded in the audit log:
 * time, token name, client address, method, route, target, status.
 */
#include "server.h"

#include "auth.h"
#include "console.h"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_LIST_DEFAULT 100
#define AUDIT_LIST_MAX 10000
#define AUDIT_PRUNE_EVERY 1000 /* writes between two prunes */

/* ---- the audit log ------------------------------------------------------- */

static void copy_clean(char *dst, size_t cap, const char *src, size_t len)
{
    /* bounded, printable ASCII only: an audit line must always render */
    size_t o = 0;
    for (size_t i = 0; i < len && src[i] && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[o] = 0;
}

void audit_record(of_server *s, const char *token, const char *addr, const char *method, const char *route,
                  size_t route_len, const char *target, unsigned status, const char *detail)
{
    static unsigned writes; /* admin worker only */
    store_audit a;
    memset(&a, 0, sizeof a);
    a.time = (int64_t)time(NULL);
    copy_clean(a.token, sizeof a.token, token && token[0] ? token : "-", SIZE_MAX);
    copy_clean(a.addr, sizeof a.addr, addr ? addr : "?", SIZE_MAX);
    copy_clean(a.method, sizeof a.method, method, SIZE_MAX);
    copy_clean(a.route, sizeof a.route, route, route_len);
    copy_clean(a.target, sizeof a.target, target ? target : "", SIZE_MAX);
    a.status = status;
    copy_clean(a.detail, sizeof a.detail, detail ? detail : "", SIZE_MAX);
    pthread_mutex_lock(&s->admin_mu);
    store_err e = s->st->ops->audit_insert(s->st, &a);
    pthread_mutex_unlock(&s->admin_mu);
    if (e != STORE_OK)
        log_error("audit: cannot record %s %s by %s (%s): %s", a.method, a.route, a.token, a.addr,
                  store_strerror(e));
    if (++writes % AUDIT_PRUNE_EVERY == 0)
        audit_prune(s);
}

void audit_prune(of_server *s)
{
    int64_t cut = (int64_t)time(NULL) - (int64_t)s->cfg.audit_retention_days * 86400;
    pthread_mutex_lock(&s->admin_mu);
    store_err e = s->st->ops->audit_prune(s->st, cut);
    pthread_mutex_unlock(&s->admin_mu);
    if (e != STORE_OK)
        log_warn("audit: cannot drop entries older than %u days: %s", s->cfg.audit_retention_days,
                 store_strerror(e));
}

static int audit_cb(void *arg, const store_audit *a)
{
    json_array_append_new(arg, json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "id", (json_int_t)a->id, "time",
                                         (json_int_t)a->time, "token", a->token, "addr", a->addr, "method",
                                         a->method, "route", a->route, "target", a->target, "status",
                                         (int)a->status, "detail", a->detail));
    return 0;
}

static int parse_count(const char *t, unsigned long long max, unsigned long long *out)
{
    if (t == NULL || t[0] == 0)
        return 0;
    unsigned long long v = 0;
    for (const char *p = t; *p; p++) {
        if (*p < '0' || *p > '9' || v > max / 10)
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static void h_audit(of_server *s, http_req *r)
{
    unsigned long long limit = AUDIT_LIST_DEFAULT, before = 0;
    if (parse_count(http_arg(r, "limit"), AUDIT_LIST_MAX, &limit) < 0 ||
        parse_count(http_arg(r, "before"), 1ull << 62, &before) < 0) {
        admin_reply_err(r, 400, "limit (0-10000) and before must be whole numbers", "?limit=100&before=ID");
        return;
    }
    json_t *arr = json_array();
    pthread_mutex_lock(&s->admin_mu);
    store_err e = s->st->ops->audit_list(s->st, (unsigned)limit, (int64_t)before, audit_cb, arr);
    pthread_mutex_unlock(&s->admin_mu);
    if (e != STORE_OK) {
        json_decref(arr);
        admin_reply_err(r, e == STORE_BUSY ? 503 : 500, store_strerror(e), "retry; see the server log");
        return;
    }
    admin_reply_json(r, 200, json_pack("{s:o}", "entries", arr));
}

/* ---- tokens ---------------------------------------------------------------- */

static void h_tokens(of_server *s, http_req *r)
{
    store_token *list = calloc(AUTH_TOKENS_MAX, sizeof *list);
    if (list == NULL) {
        admin_reply_err(r, 503, "out of memory", "retry");
        return;
    }
    size_t n = auth_tokens_list(s->auth, list, AUTH_TOKENS_MAX);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "name", list[i].name, "role",
                                             auth_role_name((auth_role)list[i].role), "created",
                                             (json_int_t)list[i].created));
    free(list);
    admin_reply_json(r, 200, json_pack("{s:o}", "tokens", arr));
}

static void h_token_add(of_server *s, http_req *r, const char *body, size_t len)
{
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
    const char *name = j ? json_string_value(json_object_get(j, "name")) : NULL;
    const char *role_s = j ? json_string_value(json_object_get(j, "role")) : NULL;
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        admin_reply_err(r, 400, "body is not a JSON object", "send {\"name\":\"ci\",\"role\":\"viewer\"}");
        return;
    }
    if (name == NULL || !auth_name_valid(name)) {
        json_decref(j);
        admin_reply_err(r, 422, "name: 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -)",
                  "send {\"name\":\"ci\",\"role\":\"viewer\"}");
        return;
    }
    auth_role role = auth_role_parse(role_s);
    if (role == ROLE_NONE) {
        json_decref(j);
        admin_reply_err(r, 422, "role: must be viewer, operator or admin", "send {\"name\":\"ci\",\"role\":\"viewer\"}");
        return;
    }
    char text[AUTH_TOKEN_TEXT + 1];
    store_err e = auth_tokens_add(s->auth, name, role, text);
    if (e == STORE_CONFLICT) {
        char msg[160];
        snprintf(msg, sizeof msg, "a token named '%s' exists", name);
        json_decref(j);
        admin_reply_err(r, 409, msg, "choose another name, or revoke it first (openfota token revoke NAME)");
        return;
    }
    if (e == STORE_INUSE) {
        json_decref(j);
        admin_reply_err(r, 409, "this server holds the most tokens it keeps (1000)", "revoke tokens no longer used");
        return;
    }
    if (e != STORE_OK) {
        json_decref(j);
        admin_reply_err(r, e == STORE_BUSY ? 503 : 500, store_strerror(e), "retry; see the server log");
        return;
    }
    admin_reply_json(r, 201, json_pack("{s:s,s:s,s:s}", "name", name, "role", auth_role_name(role), "token", text));
    memset(text, 0, sizeof text);
    json_decref(j);
}

static void h_token_revoke(of_server *s, http_req *r, const char *name, const auth_principal *who)
{
    /* never leave the server without an admin token */
    store_token *list = calloc(AUTH_TOKENS_MAX, sizeof *list);
    if (list == NULL) {
        admin_reply_err(r, 503, "out of memory", "retry");
        return;
    }
    size_t n = auth_tokens_list(s->auth, list, AUTH_TOKENS_MAX);
    int found = 0, is_admin = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i].name, name)) {
            found = 1;
            is_admin = list[i].role == ROLE_ADMIN;
        }
    free(list);
    if (!found) {
        admin_reply_err(r, 404, "no such token", "openfota token list");
        return;
    }
    if (is_admin && auth_tokens_count(s->auth, ROLE_ADMIN) <= 1) {
        admin_reply_err(r, 409, "this is the last admin token",
                  "add another admin token first (openfota token add NAME --role admin)");
        return;
    }
    store_err e = auth_tokens_revoke(s->auth, name);
    if (e != STORE_OK) {
        admin_reply_err(r, e == STORE_NOTFOUND ? 404 : e == STORE_BUSY ? 503 : 500, store_strerror(e), "retry");
        return;
    }
    if (!strcmp(name, "initial")) {
        /* the file's token is dead: do not leave it lying around (nor let
         * the next start bring it back as "initial") */
        char path[CONFIG_STR_MAX + 64];
        snprintf(path, sizeof path, "%s/admin.token", s->data);
        if (unlink(path) == 0)
            log_info("admin tokens: 'initial' revoked, %s removed", path);
        s->token[0] = 0;
    }
    log_info("admin tokens: '%s' revoked by '%s'", name, who->name);
    http_reply(r, 204, NULL, "", 0, NULL, 0);
}

int admin_auth_route(of_server *s, http_req *r, const char *seg0, int nseg, const char *seg1, const char *body,
                     size_t len, const auth_principal *who)
{
    int get = !strcmp(r->method, "GET") || r->is_head;
    if (!strcmp(seg0, "audit")) {
        if (nseg != 1)
            admin_reply_err(r, 404, "no such admin endpoint", "see docs/api.md");
        else if (get)
            h_audit(s, r);
        else
            admin_reply_err(r, 405, "method not allowed here", "see docs/api.md");
        return 1;
    }
    if (strcmp(seg0, "tokens"))
        return 0;
    if (nseg == 1 && get)
        h_tokens(s, r);
    else if (nseg == 1 && !strcmp(r->method, "POST"))
        h_token_add(s, r, body, len);
    else if (nseg == 2 && !strcmp(r->method, "DELETE"))
        h_token_revoke(s, r, seg1, who);
    else if (nseg <= 2)
        admin_reply_err(r, 405, "method not allowed here", "see docs/api.md");
    else
        admin_reply_err(r, 404, "no such admin endpoint", "see docs/api.md");
    return 1;
}

/* ---- the gate ------------------------------------------------------------ */

int admin_gate(of_server *s, http_req *r, auth_principal *who)
{
    char addr[64];
    http_peer(r, addr, sizeof addr);
    int64_t now = (int64_t)time(NULL);
    const char *route = r->path + 9; /* after "/admin/v1" */
    size_t route_len = r->path_len - 9;
    const char *h = http_header(r, "Authorization");
    memset(who, 0, sizeof *who);
    int ok = 0;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        size_t tl = strlen(t);
        while (tl && t[tl - 1] == ' ')
            tl--;
        ok = tl > 0 && tl <= 256 && auth_tokens_check(s->auth, t, tl, who);
    } else if (h == NULL) {
        /* the web console: its session cookie (+ anti-forgery token for changes) */
        const char *why = NULL;
        int c = console_admin_auth(s, r, who, &why);
        if (c < 0) {
            audit_record(s, who->name, addr, r->method, r->path, r->path_len, "", 403, why);
            admin_reply_err(r, 403, why, "reload the console page");
            return 0;
        }
        ok = c == 1;
    }
    if (!ok) {
        /* A good token always passes (an operator behind the same address
         * as a guesser is not locked out); wrong ones from an address that
         * keeps failing wait, unlogged, so guessing stays slow and cheap. */
        unsigned wait = auth_backoff_wait(s->auth, addr, now);
        if (wait) {
            char ra[16], msg[160];
            snprintf(ra, sizeof ra, "%u", wait);
            snprintf(msg, sizeof msg, "too many failed logins from %s: wait %u s", addr, wait);
            json_t *j = json_pack("{s:s,s:s}", "error", msg, "hint", "use a valid admin token");
            char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            http_hdr rh[] = {{"Retry-After", ra}};
            http_reply(r, 429, "application/json", txt ? txt : "{}", txt ? strlen(txt) : 2, rh, 1);
            free(txt);
            return 0;
        }
        auth_backoff_fail(s->auth, addr, now);
        audit_record(s, "-", addr, r->method, r->path, r->path_len, "", 401,
                     h ? "wrong admin token" : "no admin token");
        log_info("admin: %s %.*s from %s refused: %s", r->method, (int)(r->path_len > 80 ? 80 : r->path_len),
                 r->path, addr, h ? "wrong admin token" : "no admin token");
        http_hdr hh[] = {{"WWW-Authenticate", "Bearer"}};
        static const char body[] = "{\"error\":\"missing or wrong admin token\","
                                   "\"hint\":\"send Authorization: Bearer <token from DATA/admin.token or openfota "
                                   "token add>\"}";
        http_reply(r, 401, "application/json", body, sizeof body - 1, hh, 1);
        return 0;
    }
    auth_backoff_ok(s->auth, addr);
    auth_role need = auth_route_role(r->method, route, route_len);
    if (who->role < need) {
        char msg[200], hint[160];
        snprintf(msg, sizeof msg, "this needs the %s role; token '%s' has the %s role", auth_role_name(need), who->name,
                 auth_role_name(who->role));
        snprintf(hint, sizeof hint, "use a token with the %s role (openfota token add NAME --role %s)",
                 auth_role_name(need), auth_role_name(need));
        if (strcmp(r->method, "GET") && !r->is_head)
            audit_record(s, who->name, addr, r->method, r->path, r->path_len, "", 403, msg);
        admin_reply_json(r, 403, json_pack("{s:s,s:s,s:s}", "error", msg, "hint", hint, "role_needed",
                                     auth_role_name(need)));
        return 0;
    }
    return 1;
}
