/*
 * console.h — the web console (docs/console.md): what an operator sees in a
 * browser at the server's root URL.
 *
 *   console.c        routes /, /login, /assets/..., /console/login|logout|session
 *                    on the ordinary HTTP workers (never the admin worker):
 *                    the built-in assets with ETag, Cache-Control and security
 *                    headers (CSP default-src 'self', nosniff, frame DENY,
 *                    no-referrer), and the session endpoints
 *   session.h        the session store interface; session_mem.c keeps them
 *                    in memory (bounded)
 *   console_parse.h  the parsers of outside input (Cookie, login body, Origin)
 *   console_assets.h the assets table, generated at build time from assets/
 *                    by embed_assets.c
 *
 * The console's pages use only the admin API (/admin/v1). There a request is
 * authenticated by a Bearer token as before, or by the session cookie: a
 * login takes any named admin token (auth.h) and the session acts with that
 * token's name and role; console_admin_auth() (called by admin_gate) accepts a live
 * session and, for any method other than GET/HEAD, also demands the
 * session's anti-forgery token in X-CSRF-Token and an Origin (when sent)
 * naming this server.
 */
#ifndef OPENFOTA_SERVER_CONSOLE_H
#define OPENFOTA_SERVER_CONSOLE_H

#include <stddef.h>

#include "auth.h"
#include "http.h"

struct of_server;

#define CONSOLE_COOKIE "openfota_session"
#define CONSOLE_SESSIONS_MAX 256       /* live sessions at most (least recently used ends first) */
#define CONSOLE_IDLE_S (30 * 60)       /* a session unused this long ends */
#define CONSOLE_ABSOLUTE_S (12 * 3600) /* and every session ends this long after login */

/* 1 when the raw path belongs to the console. */
int console_is_path(const char *path, size_t len);
/* Every console request (routed in serve.c). */
void console_handle(struct of_server *s, http_req *r, http_phase phase, const char *data, size_t len);

/* Create the session store (s->sessions). 0 ok, -1 out of memory. */
int console_start(struct of_server *s);
/* Free it (after the HTTP engine stopped). */
void console_stop(struct of_server *s);

/* Admin API authentication by session cookie (called by admin_gate when
 * there is no Authorization header):
 *   1  a live session (and, for a state-changing method, the right
 *      X-CSRF-Token and an Origin of this server): *who is the token name
 *      and role the session logged in with;
 *   0  no session cookie or no live session (*why NULL: answer 401);
 *  -1  a live session but the request is refused (*why says why: 403). */
int console_admin_auth(struct of_server *s, http_req *r, auth_principal *who, const char **why);

#endif
