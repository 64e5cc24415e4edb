/*
 * http.h — the HTTP layer: our own epoll server (http.c) with request
 * heads checked by http_head.c and parsed by http-parser.
 *
 * One handler function receives every request in phases:
 *   HTTP_PHASE_HEADERS  once, headers parsed, before any body byte;
 *   HTTP_PHASE_BODY     zero or more times with body bytes (data, len);
 *   HTTP_PHASE_END      once, after the whole body.
 * The handler answers with one http_reply_* call, in the HEADERS phase (then
 * any body is discarded and the connection closed) or in the END phase. An
 * unanswered request gets 500 at END. Setting r->close_conn in any phase
 * drops the connection without an answer (endless bodies).
 *
 * The path and query are the RAW bytes the client sent (no %-decoding):
 * devices never encode, and static names are validated on the raw form.
 *
 * Ownership: http_req is owned by this layer; it lives from the first phase
 * to the on_done callback (called exactly once when the handler set it),
 * after which it is freed. r->user belongs to the handler, which must release
 * it in on_done (on_done runs also when the client vanished mid-request).
 */
#ifndef OPENFOTA_SERVER_HTTP_H
#define OPENFOTA_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MIN_BODY_RATE 1024u /* bytes/s averaged over a body, after the grace */
#define HTTP_DRAIN_MAX (1u << 20) /* body bytes dropped after an early answer */

typedef struct http_server http_server;
typedef struct http_prebuilt http_prebuilt;

typedef enum http_phase { HTTP_PHASE_HEADERS, HTTP_PHASE_BODY, HTTP_PHASE_END } http_phase;

typedef struct http_hdr {
    const char *name;
    const char *value;
} http_hdr;

typedef struct http_req http_req;
struct http_req {
    /* set by the HTTP layer, read-only for handlers */
    const char *method;
    const char *path;  /* raw path, NUL-terminated */
    size_t path_len;
    const char *query; /* raw query after the first '?', NULL when none */
    size_t query_len;
    int is_head;
    int has_content_length;
    uint64_t content_length;
    uint64_t body_seen;  /* request body bytes received so far */
    /* handler state */
    void *user;
    void (*on_done)(http_req *r, int completed_ok, uint64_t body_bytes_sent);
    int close_conn;
    /* internal (http.c) */
    void *conn;          /* the connection this request arrived on */
    void *head;          /* the parsed head (http_head), inside this allocation */
    void *args;          /* decoded query arguments (http_arg), owned here */
    int responded;
    unsigned status;     /* status of the answer, once answered */
    int raw_sent;        /* answered in the middle of the body: close after draining */
    uint64_t t0_ms;      /* monotonic time the head was complete */
    uint64_t body_len;   /* bytes of the answer's body (0 for HEAD), once answered */
    uint64_t acked_base; /* TCP bytes acknowledged before the answer (estimate) */
    int acked_valid;
    char raw[];          /* the head bytes, split in place by http_head_parse */
};

typedef void (*http_handler_fn)(void *ctx, http_req *r, http_phase phase, const char *data, size_t len);

typedef struct http_options {
    const char *host;      /* numeric address or name to bind */
    unsigned port;         /* 0 = any free port */
    unsigned threads;
    unsigned max_connections;
    unsigned timeout_s;    /* per-connection inactivity deadline; also the grace before the
                              minimum body rate (HTTP_MIN_BODY_RATE bytes/s) applies */
    unsigned conn_memory;  /* per-connection read buffer: bounds the request head (431 past it) */
    const char *isolate_prefix; /* requests whose raw path starts with this run on one worker of their
                                   own (admin work never holds up device checks); NULL = none */
    struct tls_ctx *tls;        /* HTTPS: every connection speaks TLS with this context (tls.h,
                                   borrowed, outlives the server); NULL = plain HTTP */
    const struct proxy_list *proxies; /* trusted reverse proxies (proxy.h, copied); NULL = none */
    const char *isolate_path;   /* one exact raw path also run there (with isolate_prefix); NULL = none */
} http_options;

/* Bind, listen and start the worker threads. NULL with err on failure. */
http_server *http_start(const http_options *o, http_handler_fn h, void *ctx, char *err, size_t errlen);
/* The port actually bound (useful with port 0). */
unsigned http_port(const http_server *s);
/* 1 when bound to an IPv6 address. */
int http_is_ipv6(const http_server *s);
/* Stop accepting, close connections, join threads, free. */
void http_stop(http_server *s);

/* Request header value (case-insensitive name) or NULL. Valid during the request. */
const char *http_header(http_req *r, const char *name);
/* 1 when the request came over HTTPS. */
int http_is_tls(const http_req *r);
/* Names of the client certificate verified on this HTTPS connection (CN,
 * then DNS/URI SANs, '\n'-separated) into buf; the count, 0 when none. */
int http_tls_peer_names(http_req *r, char *buf, size_t cap);
/* The client's address as text ("127.0.0.1", "::1") into buf; "?" when it
 * cannot be had. Behind a trusted proxy (http_options.proxies) it is the
 * address the proxy forwarded (proxy.h). Returns buf. */
char *http_peer(http_req *r, char *buf, size_t cap);
/* URL-decoded query argument (for the admin API only) or NULL. */
const char *http_arg(http_req *r, const char *name);

/* Answer with a copy of body. 0 ok, -1 failed (connection will close). */
int http_reply(http_req *r, unsigned status, const char *ctype, const void *body, size_t len, const http_hdr *hdrs,
               size_t nhdrs);
/* Answer with len bytes of fd from off (sendfile). Takes ownership of fd. */
int http_reply_fd(http_req *r, unsigned status, int fd, uint64_t off, uint64_t len, const char *ctype,
                  const http_hdr *hdrs, size_t nhdrs);
/* Answer in the middle of a request body: the answer goes out at once with
 * "Connection: close", the rest of the body is read and dropped (at most
 * HTTP_DRAIN_MAX bytes, for a few seconds) so the client sees the answer,
 * then the connection is closed. */
void http_reply_now_and_close(http_req *r, unsigned status, const char *reason, const char *json_body);

/* Reusable answers for the hot path (built once, shared by all threads). */
http_prebuilt *http_prebuilt_new(unsigned status, const char *ctype, const void *body, size_t len,
                                 const http_hdr *hdrs, size_t nhdrs);
int http_reply_prebuilt(http_req *r, http_prebuilt *p);
void http_prebuilt_free(http_prebuilt *p);

#endif
