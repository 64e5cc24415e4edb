/*
 * console.c — the web console's routes (see console.h, docs/console.md).
 */
#include "console.h"

#include "admin.h"
#include "console_assets.h"
#include "console_parse.h"
#include "log.h"
#include "server.h"
#include "session.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CSP "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " \
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

/* The headers of every console answer; extra ones follow. */
#define SEC_HDRS                                                                                          \
    {"Content-Security-Policy", CSP}, {"X-Content-Type-Options", "nosniff"}, {"X-Frame-Options", "DENY"}, \
        {"Referrer-Policy", "no-referrer"}, {"Cross-Origin-Opener-Policy", "same-origin"}

typedef struct console_req {
    char *buf;
    size_t len;
    int over;
} console_req;

int console_is_path(const char *p, size_t len)
{
    return (len == 1 && p[0] == '/') || (len == 6 && !strncmp(p, "/login", 6)) ||
           (len == 12 && !strncmp(p, "/favicon.ico", 12)) || (len > 8 && !strncmp(p, "/assets/", 8)) ||
           (len > 9 && !strncmp(p, "/console/", 9));
}

int console_start(of_server *s)
{
    s->sessions = session_mem_new(CONSOLE_SESSIONS_MAX, CONSOLE_IDLE_S, CONSOLE_ABSOLUTE_S);
    return s->sessions ? 0 : -1;
}

void console_stop(of_server *s)
{
    if (s->sessions)
        s->sessions->ops->close(s->sessions);
    s->sessions = NULL;
}

static const console_asset *asset_find(const char *rel, size_t len)
{
    for (size_t i = 0; i < console_nassets; i++)
        if (strlen(console_assets[i].path) == len && !memcmp(console_assets[i].path, rel, len))
            return &console_assets[i];
    return NULL;
}

static int is_get(http_req *r) { return !strcmp(r->method, "GET") || r->is_head; }

static void reply_json_err(http_req *r, unsigned status, const char *error, const char *hint)
{
    char body[700];
    /* error and hint are our own sentences: no quotes or backslashes in them */
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"hint\":\"%s\"}", error, hint);
    http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}};
    http_reply(r, status, "application/json", body, (size_t)n, h, sizeof h / sizeof h[0]);
}

static void send_asset(http_req *r, const console_asset *a)
{
    const char *inm = http_header(r, "If-None-Match");
    http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-cache"}, {"ETag", a->etag}};
    size_t nh = sizeof h / sizeof h[0];
    if (inm && strstr(inm, a->etag)) {
        http_reply(r, 304, NULL, "", 0, h, nh);
        return;
    }
    http_reply(r, 200, a->ctype, a->data, a->len, h, nh);
}

/* The live session of the request's cookie, or -1. */
static int cookie_session(of_server *s, http_req *r, session_info *out)
{
    const char *c = http_header(r, "Cookie");
    char id[SESSION_HEX + 8];
    if (s->sessions == NULL || c == NULL || console_cookie_get(c, CONSOLE_COOKIE, id, sizeof id) < 0)
        return -1;
    return s->sessions->ops->lookup(s->sessions, id, (int64_t)time(NULL), out);
}

static int is_https(of_server *s, http_req *r)
{
    const char *xf = http_header(r, "X-Forwarded-Proto");
    return http_is_tls(r) || !strncmp(s->base_url, "https:", 6) || (xf && !strcmp(xf, "https"));
}

/* Cross-site checks of a state-changing request: NULL ok, else why not. */
static const char *cross_site_why(of_server *s, http_req *r)
{
    const char *sfs = http_header(r, "Sec-Fetch-Site");
    if (sfs && !strcmp(sfs, "cross-site"))
        return "cross-site request refused (Sec-Fetch-Site: cross-site)";
    if (!console_origin_ok(http_header(r, "Origin"), http_header(r, "Host"), s->base_url))
        return "cross-site request refused: the Origin header does not name this server";
    return NULL;
}

int console_admin_auth(of_server *s, http_req *r, auth_principal *who, const char **why)
{
    *why = NULL;
    session_info si;
    if (cookie_session(s, r, &si) < 0)
        return 0;
    memset(who, 0, sizeof *who);
    snprintf(who->name, sizeof who->name, "%s", si.who);
    who->role = (auth_role)si.role;
    if (!strcmp(r->method, "GET") || r->is_head)
        return 1;
    const char *x = cross_site_why(s, r);
    if (x) {
        *why = x;
        return -1;
    }
    const char *t = http_header(r, "X-CSRF-Token");
    if (t == NULL || strlen(t) != SESSION_HEX || CRYPTO_memcmp(t, si.csrf, SESSION_HEX) != 0) {
        *why = "missing or wrong X-CSRF-Token: a request authenticated by the console session must carry the "
               "session's anti-forgery token (reload the console)";
        return -1;
    }
    return 1;
}

static void session_answer(of_server *s, http_req *r, unsigned status, const session_info *si, const char *cookie)
{
    char body[400];
    /* who: a token name, [A-Za-z0-9._-] only (auth_name_valid) */
    int n = snprintf(body, sizeof body,
                     "{\"csrf\":\"%s\",\"created\":%lld,\"expires\":%lld,\"idle_s\":%d,\"absolute_s\":%d,"
                     "\"token\":\"%s\",\"role\":\"%s\"}",
                     si->csrf, (long long)si->created, (long long)si->expires, CONSOLE_IDLE_S, CONSOLE_ABSOLUTE_S,
                     si->who, auth_role_name((auth_role)si->role));
    http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Set-Cookie", cookie}};
    http_reply(r, status, "application/json", body, (size_t)n, h, sizeof h / sizeof h[0] - (cookie ? 0 : 1));
}

static void h_login(of_server *s, console_req *c, http_req *r)
{
    const char *ct = http_header(r, "Content-Type");
    int form = !(ct && !strncmp(ct, "application/json", 16));
    const char *x = cross_site_why(s, r);
    if (x) {
        reply_json_err(r, 403, x, "open the console from this server's own address");
        return;
    }
    char tok[128];
    const char *why = NULL;
    if (c->over) {
        reply_json_err(r, 413, "the login body is larger than 4 KiB", "send token=<admin token>");
        return;
    }
    if (console_login_token(ct, c->buf, c->len, tok, sizeof tok, &why) < 0) {
        reply_json_err(r, 400, why, "paste the admin token (DATA/admin.token) into the login form");
        return;
    }
    char addr[64];
    http_peer(r, addr, sizeof addr);
    int64_t now = (int64_t)time(NULL);
    /* the admin API's back-off for wrong tokens applies here too */
    unsigned wait = auth_backoff_wait(s->auth, addr, now);
    if (wait) {
        OPENSSL_cleanse(tok, sizeof tok);
        char msg[160], ra[16];
        snprintf(msg, sizeof msg, "too many failed logins from %s: wait %u s", addr, wait);
        snprintf(ra, sizeof ra, "%u", wait);
        char body[300];
        int bn = snprintf(body, sizeof body, "{\"error\":\"%s\",\"hint\":\"use a valid admin token\"}", msg);
        http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Retry-After", ra}};
        http_reply(r, 429, "application/json", body, (size_t)bn, h, sizeof h / sizeof h[0]);
        return;
    }
    auth_principal who;
    memset(&who, 0, sizeof who);
    int ok = auth_tokens_check(s->auth, tok, strlen(tok), &who);
    OPENSSL_cleanse(tok, sizeof tok);
    if (!ok) {
        auth_backoff_fail(s->auth, addr, now);
        audit_record(s, "-", addr, "POST", r->path, r->path_len, "", 401, "console login: wrong admin token");
        log_warn("console: login from %s refused (wrong admin token)", addr);
        if (form) {
            http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Location", "/login?failed=1"}};
            http_reply(r, 303, NULL, "", 0, h, sizeof h / sizeof h[0]);
            return;
        }
        reply_json_err(r, 401, "wrong admin token",
                       "the token is in DATA/admin.token on the server and printed when it starts");
        return;
    }
    auth_backoff_ok(s->auth, addr);
    session_info si;
    memset(&si, 0, sizeof si);
    snprintf(si.who, sizeof si.who, "%s", who.name);
    si.role = (int)who.role;
    if (s->sessions->ops->create(s->sessions, now, &si) < 0) {
        reply_json_err(r, 503, "no session could be made (no randomness)", "retry");
        return;
    }
    char cookie[300];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", CONSOLE_COOKIE, si.id,
             CONSOLE_ABSOLUTE_S, is_https(s, r) ? "; Secure" : "");
    audit_record(s, who.name, addr, "POST", r->path, r->path_len, "", 200, "console login");
    log_info("console: login from %s with token '%s' (%s), %zu session(s) live", addr, who.name,
             auth_role_name(who.role), s->sessions->ops->count(s->sessions, now));
    if (form) {
        http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Set-Cookie", cookie}, {"Location", "/"}};
        http_reply(r, 303, NULL, "", 0, h, sizeof h / sizeof h[0]);
    } else {
        session_answer(s, r, 200, &si, cookie);
    }
    OPENSSL_cleanse(&si, sizeof si);
}

static void h_logout(of_server *s, http_req *r)
{
    const char *why;
    auth_principal who;
    int a = console_admin_auth(s, r, &who, &why);
    if (a == 0) {
        reply_json_err(r, 401, "no live console session", "log in again");
        return;
    }
    if (a < 0) {
        reply_json_err(r, 403, why, "reload the console");
        return;
    }
    char id[SESSION_HEX + 8];
    console_cookie_get(http_header(r, "Cookie"), CONSOLE_COOKIE, id, sizeof id);
    s->sessions->ops->destroy(s->sessions, id);
    char cookie[200];
    snprintf(cookie, sizeof cookie, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", CONSOLE_COOKIE,
             is_https(s, r) ? "; Secure" : "");
    http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Set-Cookie", cookie}};
    http_reply(r, 204, NULL, "", 0, h, sizeof h / sizeof h[0]);
}

static void done_cb(http_req *r, int ok, uint64_t sent)
{
    (void)ok;
    (void)sent;
    console_req *c = r->user;
    if (c) {
        if (c->buf)
            OPENSSL_cleanse(c->buf, c->len);
        free(c->buf);
        free(c);
    }
    r->user = NULL;
}

void console_handle(of_server *s, http_req *r, http_phase phase, const char *data, size_t len)
{
    const char *p = r->path;
    size_t pl = r->path_len;
    int login_post = pl == 14 && !strncmp(p, "/console/login", 14) && !strcmp(r->method, "POST");
    if (phase == HTTP_PHASE_HEADERS && s->cfg.admin_tls_only && !http_is_tls(r)) {
        /* tokens and session cookies never cross plain HTTP on such a server */
        if (is_get(r) && s->tls_base_url[0]) {
            char loc[CONFIG_STR_MAX + 80];
            snprintf(loc, sizeof loc, "%s/", s->tls_base_url);
            http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Location", loc}};
            http_reply(r, 303, NULL, "", 0, h, sizeof h / sizeof h[0]);
        } else {
            reply_json_err(r, 403, "the console answers only over HTTPS on this server",
                           "use the https:// address (admin_tls_only is set)");
        }
        return;
    }
    if (phase == HTTP_PHASE_HEADERS) {
        if (login_post) {
            if (r->has_content_length && r->content_length > CONSOLE_LOGIN_MAX) {
                reply_json_err(r, 413, "the login body is larger than 4 KiB", "send token=<admin token>");
                return;
            }
            console_req *c = calloc(1, sizeof *c);
            if (c == NULL) {
                reply_json_err(r, 503, "out of memory", "retry");
                return;
            }
            r->user = c;
            r->on_done = done_cb;
        }
        return;
    }
    if (phase == HTTP_PHASE_BODY) {
        console_req *c = r->user;
        if (c == NULL)
            return; /* other routes take no body: dropped */
        if (c->over || c->len + len > CONSOLE_LOGIN_MAX) {
            c->over = 1;
            http_reply_now_and_close(r, 413, "Content Too Large",
                                     "{\"error\":\"the login body is larger than 4 KiB\",\"hint\":\"send token=<admin token>\"}");
            return;
        }
        char *nb = realloc(c->buf, c->len + len + 1);
        if (nb == NULL) {
            c->over = 1;
            return;
        }
        c->buf = nb;
        memcpy(c->buf + c->len, data, len);
        c->len += len;
        return;
    }
    /* HTTP_PHASE_END */
    if (login_post) {
        h_login(s, r->user, r);
        return;
    }
    if (pl == 15 && !strncmp(p, "/console/logout", 15)) {
        if (strcmp(r->method, "POST"))
            reply_json_err(r, 405, "method not allowed here", "POST /console/logout");
        else
            h_logout(s, r);
        return;
    }
    if (pl == 16 && !strncmp(p, "/console/session", 16)) {
        session_info si;
        if (!is_get(r))
            reply_json_err(r, 405, "method not allowed here", "GET /console/session");
        else if (cookie_session(s, r, &si) < 0)
            reply_json_err(r, 401, "no live console session", "log in at /login");
        else
            session_answer(s, r, 200, &si, NULL);
        return;
    }
    if (!is_get(r)) {
        reply_json_err(r, 405, "method not allowed here", "the console's pages and assets are read with GET");
        return;
    }
    if (pl == 1) {
        session_info si;
        if (cookie_session(s, r, &si) < 0) {
            http_hdr h[] = {SEC_HDRS, {"Cache-Control", "no-store"}, {"Location", "/login"}};
            http_reply(r, 303, NULL, "", 0, h, sizeof h / sizeof h[0]);
            return;
        }
        send_asset(r, asset_find("index.html", 10));
        return;
    }
    const console_asset *a = NULL;
    if (pl == 6)
        a = asset_find("login.html", 10);
    else if (pl == 12)
        a = asset_find("favicon.svg", 11);
    else if (pl > 8 && !strncmp(p, "/assets/", 8) && strcmp(p + pl - 5, ".html"))
        a = asset_find(p + 8, pl - 8);
    if (a == NULL) {
        reply_json_err(r, 404, "no such console page or asset", "open the console at /");
        return;
    }
    send_asset(r, a);
}
