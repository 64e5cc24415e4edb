/*
 * http_head.h — one HTTP/1.x request head (request line, header lines, the
 * empty line), checked and split. A pure function: no sockets, no state, so
 * unit tests and the fuzz target drive it directly.
 *
 * The bytes are checked by us first (what real attacks and broken clients
 * send and some parsers let through: NUL, bare CR, bare LF, obs-fold,
 * header names that are not tokens, whitespace before ':', ambiguous
 * framing), then parsed by http-parser (method, target, version,
 * Content-Length, Transfer-Encoding, keep-alive).
 *
 * Ownership: http_head_parse works IN PLACE on the caller's buffer (it
 * writes NUL terminators into it); every pointer in http_head points into
 * that buffer, which must outlive the http_head.
 */
#ifndef OPENFOTA_SERVER_HTTP_HEAD_H
#define OPENFOTA_SERVER_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX_HEADERS 100

typedef struct http_head_field {
    const char *name;  /* NUL-terminated, as sent */
    const char *value; /* NUL-terminated, without surrounding whitespace */
} http_head_field;

typedef struct http_head {
    const char *method; /* static string ("GET", "POST", ...) */
    int is_head;
    unsigned http_minor; /* HTTP/1.<minor>: 0 or 1 */
    char *target;        /* the raw request target, NUL-terminated; an absolute-form target
                            (http://host/path) is reduced to its path and query */
    size_t target_len;
    http_head_field fields[HTTP_HEAD_MAX_HEADERS];
    size_t nfields;
    int has_content_length;
    uint64_t content_length;
    int chunked;         /* Transfer-Encoding: chunked */
    int keep_alive;      /* the client allows another request on this connection */
    int expect_continue; /* Expect: 100-continue */
} http_head;

/* Length of the head at the start of buf (through the empty line that ends
 * it), or 0 when the head is not complete yet. */
size_t http_head_length(const char *buf, size_t len);

/* Checks and splits the head buf[0..len) (len from http_head_length),
 * writing NUL terminators into buf. Returns 0, or the HTTP status to answer
 * (400, 417, 431, 501 or 505; the connection is then closed) with *why set
 * to a one-line reason for the client and the log. */
unsigned http_head_parse(char *buf, size_t len, http_head *h, const char **why);

/* The first value of a header (case-insensitive name) or NULL. */
const char *http_head_get(const http_head *h, const char *name);

#endif
