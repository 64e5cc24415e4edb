/*
 * console_parse.h — the console's parsers of outside input, pure (no server
 * state), so that unit tests and the fuzz target reach them directly:
 * the Cookie header, the login body, and the Origin check.
 * No function keeps a pointer to its input; out buffers belong to the caller.
 */
#ifndef OPENFOTA_SERVER_CONSOLE_PARSE_H
#define OPENFOTA_SERVER_CONSOLE_PARSE_H

#include <stddef.h>

#define CONSOLE_LOGIN_MAX 4096 /* login body bytes at most */

/* The value of cookie `name` in a Cookie header ("a=1; b=2"). Values are
 * taken as sent (no quotes removed, no decoding). 0 found (out holds it,
 * NUL-terminated), -1 absent, malformed, or longer than cap - 1. */
int console_cookie_get(const char *header, const char *name, char *out, size_t cap);

/* The admin token of a login body: JSON {"token":"..."} when ctype starts
 * with application/json, else application/x-www-form-urlencoded
 * "token=...[&...]" (%XX and '+' decoded). 0 ok (out NUL-terminated), -1
 * with *why set to a sentence saying what was wrong. */
int console_login_token(const char *ctype, const char *body, size_t len, char *out, size_t cap, const char **why);

/* 1 when the Origin header names this server: "http://HOST" or
 * "https://HOST" where HOST is the request's Host header, or the origin
 * (scheme://host[:port]) of public_url (may be NULL or ""). A missing Origin
 * (origin NULL) is 1: browsers send it on every request that changes state,
 * other clients do not. The literal "null" origin is refused. */
int console_origin_ok(const char *origin, const char *host, const char *public_url);

#endif
