/*
 * http.c — the HTTP/1.1 server behind http.h.
 *
 * N worker threads, each with its own epoll set (edge-triggered) and its own
 * connections; the listening socket is in every set with EPOLLEXCLUSIVE, so
 * one worker is woken per new connection. With isolate_prefix, one more
 * worker does not listen: a request whose path starts with the prefix (the
 * admin API) is handed to it once its head is parsed (hand_over/adopt_inbox),
 * so slow admin work never holds up the device checks of the others. A
 * connection is a small state machine:
 *
 *   HEAD   read until the head is complete (at most conn_memory bytes, and
 *          within the connection timeout), check and split it
 *          (http_head.c), HEADERS phase;
 *   BODY   Content-Length bytes counted here, chunked bodies decoded by
 *          http-parser; BODY phases, then END;
 *   SEND   the answer: head and a small body in one send(); a file body
 *          with sendfile() after the head sent with MSG_MORE, so head and
 *          first body bytes share a segment; at most SEND_BUDGET bytes per
 *          turn, then other ready connections go first;
 *   LINGER after an answer that closes the connection: shut the write side
 *          and drop what the client still sends (HTTP_DRAIN_MAX bytes, a
 *          few seconds), so it reads the answer instead of a reset.
 *
 * Memory: an idle connection is its struct alone (no buffers); a read
 * buffer exists while a request is being read, a request (its head and
 * decoded arguments) while it is being handled.
 *
 * Ownership: the worker owns its connections; a connection owns its buffers,
 * its current request and the file descriptor of a file being sent. The
 * handler owns r->user and frees it in r->on_done, which runs exactly once
 * for every request whose handler set it, however the request ends.
 */
#include "http.h"

#include "http_head.h"
#include "log.h"
#include "proxy.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SEND_BUDGET (4u << 20)       /* body bytes one connection sends per turn */
#define BODY_BUF (64u << 10)         /* read buffer while a large body arrives */
#define LINGER_MS 3000u              /* how long a closing connection drains input */
#define ACCEPT_BATCH 64
#define TLS_FBUF (16u << 10)         /* file bytes per TLS write (one record) without kernel TLS */
#define BLANK_LINES_MAX 8u           /* empty lines tolerated before a request line */
#define ACCEPT_PAUSE_MS 100u         /* out of file descriptors: the listener rests this long */
#define FD_SHORT_LOG_MS 10000u       /* ... and it is logged at most once per this interval */

enum cstate { CS_HEAD, CS_DISPATCH, CS_BODY, CS_SEND, CS_LINGER };

typedef struct worker worker;

typedef struct conn {
    int fd;
    worker *w;
    struct conn *prev, *next;  /* all connections of the worker */
    struct conn *rnext;        /* ready list: work left after a turn */
    int in_ready;
    enum cstate st;
    int can_read, can_write, peer_eof;
    int rdhup;                 /* the peer's FIN or an error was reported */
    uint64_t last_ms;          /* last byte in or out */
    uint64_t head_t0;          /* first byte of the head being read (leading empty lines count) */
    unsigned blank_lines;      /* empty lines seen before this request line */
    uint64_t linger_t0;
    /* input */
    char *in;
    size_t in_off, in_len, in_cap;
    /* the request */
    http_req *r;
    uint64_t body_left;        /* Content-Length bytes still to come */
    int chunked, body_done;
    http_parser bp;            /* chunked body decoder */
    int keep_alive;
    int must_linger;           /* answered before the request was read whole */
    int nodelay;               /* TCP_NODELAY is set */
    int want_out;              /* EPOLLOUT is in the epoll set */
    /* output */
    char *out;
    size_t out_len, out_off, out_head; /* out_head: bytes of the answer's head */
    int ffd;
    uint64_t foff, fend;
    uint64_t body_total, body_sent;
    uint64_t drained;
    /* HTTPS (tls.h); ssl NULL on a plain connection */
    SSL *ssl;
    int ssl_dead;              /* a fatal TLS error: no close_notify */
    int ssl_read_wants_write;  /* the handshake must send before it can read on */
    char *fbuf;                /* file bytes (and the head before them) being written, TLS_FBUF */
    size_t fb_off, fb_len, fb_head; /* fb_head: bytes of fbuf that are the answer's head */
} conn;

struct worker {
    http_server *s;
    pthread_t th;
    int ep, evfd;
    int lfd;                   /* the listening socket (shared, EPOLLEXCLUSIVE); -1 for the admin worker */
    atomic_int stop;
    pthread_mutex_t inbox_mu;  /* connections handed over by other workers */
    conn *inbox;
    conn *all;
    conn *ready, *ready_tail;
    time_t date_at;
    char date[40];
    uint64_t last_sweep;
    uint64_t accept_resume_ms; /* out of descriptors: the listener is out of the epoll set until then; 0 = in */
};

struct http_server {
    int fd;
    unsigned port;
    int ipv6;
    http_handler_fn handler;
    void *ctx;
    unsigned timeout_s;
    unsigned max_conns;
    size_t head_max;
    unsigned nworkers;         /* listening workers; w[nworkers] is the isolated one, if any */
    worker *w;
    worker *iso;               /* runs requests under isolate_prefix, NULL when none */
    char isolate_prefix[32];
    size_t isolate_len;
    tls_ctx *tls;              /* HTTPS listener when set (borrowed) */
    proxy_list proxies;        /* peers whose X-Forwarded-For is believed */
    char isolate_path[32];     /* one more exact path run there ("" none) */
    atomic_uint nconns;
    atomic_int stopping;
    atomic_uint fd_short;          /* accepts failed for want of a descriptor, not yet logged */
    atomic_uint_fast64_t fd_short_log_ms; /* when that was last logged */
};

struct http_prebuilt {
    unsigned status;
    char *ctype;
    char *body;
    size_t len;
    http_hdr *hdrs;
    size_t nhdrs;
    char *strings; /* names and values of hdrs */
};

typedef struct http_args {
    size_t n;
    char *kv[]; /* decoded name, value, name, value, ... */
} http_args;

static char LISTEN_TAG, WAKE_TAG; /* epoll data.ptr of the two non-connection fds */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *reason(unsigned st)
{
    switch (st) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    case 505: return "HTTP Version Not Supported";
    default: return st < 300 ? "OK" : st < 400 ? "Redirection" : st < 500 ? "Client Error" : "Server Error";
    }
}

static int tcp_acked(int fd, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t sl = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) < 0 || sl < sizeof ti)
        return -1;
    *out = ti.tcpi_bytes_acked;
    return 0;
}


/* ---------------------------------------------------------------- requests */

static void req_free(http_req *r)
{
    http_args *a = r->args;
    if (a != NULL) {
        for (size_t i = 0; i < 2 * a->n; i++)
            free(a->kv[i]);
        free(a);
    }
    free(r->head);
    free(r);
}

/* End the connection's request: on_done exactly once, then free it. */
static void req_end(conn *c, int ok)
{
    http_req *r = c->r;
    if (r == NULL)
        return;
    c->r = NULL;
    uint64_t sent = 0;
    if (ok) {
        sent = c->body_total;
    } else if (r->responded) {
        sent = c->body_sent + (c->out_off > c->out_head ? c->out_off - c->out_head : 0);
        if (sent > c->body_total)
            sent = c->body_total;
        /* what the client's TCP acknowledged since the answer was queued,
         * minus the answer's head, bounds what it really has */
        uint64_t now;
        if (r->acked_valid && tcp_acked(c->fd, &now) == 0) {
            uint64_t acked = now > r->acked_base + c->out_head ? now - r->acked_base - c->out_head : 0;
            if (acked < sent)
                sent = acked;
        }
    }
    if (r->on_done)
        r->on_done(r, ok, sent);
    req_free(r);
}

/* ---------------------------------------------------------------- answers */

static const char *date_now(worker *w)
{
    time_t t = time(NULL);
    if (t != w->date_at) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w->date, sizeof w->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_at = t;
    }
    return w->date;
}

/* Build the answer into c->out: head, then a memory body (unless HEAD or a
 * status without body). clen is the Content-Length to announce. */
static int build_answer(conn *c, int is_head, unsigned minor, unsigned status, const char *ctype, const http_hdr *hdrs,
                        size_t nh, const void *body, size_t blen, uint64_t clen, int mem_body)
{
    for (size_t i = 0; i < nh; i++)
        if (strcasecmp(hdrs[i].name, "Connection") == 0 && strcasecmp(hdrs[i].value, "close") == 0)
            c->keep_alive = 0;
    int no_len = status < 200 || status == 204 || status == 304;
    int send_body = !is_head && !no_len;
    size_t need = 192 + (ctype ? strlen(ctype) + 16 : 0) + (mem_body && send_body ? blen : 0);
    for (size_t i = 0; i < nh; i++)
        need += strlen(hdrs[i].name) + strlen(hdrs[i].value) + 4;
    char *o = malloc(need);
    if (o == NULL)
        return -1;
    size_t k = (size_t)snprintf(o, need, "HTTP/1.1 %u %s\r\nDate: %s\r\n", status, reason(status), date_now(c->w));
    if (!no_len)
        k += (size_t)snprintf(o + k, need - k, "Content-Length: %llu\r\n", (unsigned long long)clen);
    if (ctype)
        k += (size_t)snprintf(o + k, need - k, "Content-Type: %s\r\n", ctype);
    for (size_t i = 0; i < nh; i++)
        if (strcasecmp(hdrs[i].name, "Connection") != 0)
            k += (size_t)snprintf(o + k, need - k, "%s: %s\r\n", hdrs[i].name, hdrs[i].value);
    if (!c->keep_alive)
        k += (size_t)snprintf(o + k, need - k, "Connection: close\r\n");
    else if (minor == 0)
        k += (size_t)snprintf(o + k, need - k, "Connection: keep-alive\r\n");
    k += (size_t)snprintf(o + k, need - k, "\r\n");
    c->out_head = k;
    if (mem_body && send_body && blen) {
        memcpy(o + k, body, blen);
        k += blen;
    }
    free(c->out);
    c->out = o;
    c->out_len = k;
    c->out_off = 0;
    c->body_total = send_body ? clen : 0;
    c->body_sent = 0;
    return send_body;
}

static int queue_answer(http_req *r, unsigned status, const char *ctype, const http_hdr *hdrs, size_t nh,
                        const void *body, size_t blen, int fd, uint64_t foff, uint64_t flen)
{
    conn *c = r->conn;
    if (r->responded) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    r->responded = 1;
    r->status = status;
    if (!c->body_done) {
        c->keep_alive = 0; /* answered before the whole body: close after */
        c->must_linger = 1;
    }
    const http_head *h = r->head;
    int sb = build_answer(c, r->is_head, h->http_minor, status, ctype, hdrs, nh, body, blen, fd >= 0 ? flen : blen,
                          fd < 0);
    if (sb < 0) {
        if (fd >= 0)
            close(fd);
        r->close_conn = 1;
        return -1;
    }
    r->body_len = c->body_total;
    if (c->keep_alive && !c->nodelay) {
        /* a kept connection must not hold an answer's last small segment
         * back for the client's delayed ACK (Nagle); a closing one is
         * flushed by its FIN, so it saves the call */
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->nodelay = 1;
    }
    if (fd >= 0) {
        if (sb && flen > 0) {
            c->ffd = fd;
            c->foff = foff;
            c->fend = foff + flen;
            r->acked_valid = tcp_acked(c->fd, &r->acked_base) == 0;
        } else {
            close(fd);
        }
    }
    return 0;
}

/* An answer to a request we could not take (bad head, limits): close after. */
static void answer_error(conn *c, unsigned status, const char *why)
{
    log_debug("http: %u %s: %s", status, reason(status), why);
    char body[320];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"hint\":\"fix the client's request\"}", why);
    if (n < 0 || (size_t)n >= sizeof body)
        n = 0;
    c->keep_alive = 0;
    c->must_linger = 1;
    if (build_answer(c, 0, 1, status, "application/json", NULL, 0, body, (size_t)n, (uint64_t)n, 1) < 0) {
        c->out_len = c->out_off = 0;
    }
    c->st = CS_SEND;
}

int http_reply(http_req *r, unsigned status, const char *ctype, const void *body, size_t len, const http_hdr *hdrs,
               size_t nhdrs)
{
    return queue_answer(r, status, ctype, hdrs, nhdrs, body, len, -1, 0, 0);
}

int http_reply_fd(http_req *r, unsigned status, int fd, uint64_t off, uint64_t len, const char *ctype,
                  const http_hdr *hdrs, size_t nhdrs)
{
    if (len == 0) {
        close(fd);
        return http_reply(r, status, ctype, "", 0, hdrs, nhdrs);
    }
    return queue_answer(r, status, ctype, hdrs, nhdrs, NULL, 0, fd, off, len);
}

void http_reply_now_and_close(http_req *r, unsigned status, const char *why, const char *json_body)
{
    (void)why; /* the reason phrase comes from the status table */
    http_hdr h[] = {{"Connection", "close"}};
    if (http_reply(r, status, "application/json", json_body, strlen(json_body), h, 1) == 0)
        r->raw_sent = 1;
}

http_prebuilt *http_prebuilt_new(unsigned status, const char *ctype, const void *body, size_t len,
                                 const http_hdr *hdrs, size_t nhdrs)
{
    http_prebuilt *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    size_t sl = 0;
    for (size_t i = 0; i < nhdrs; i++)
        sl += strlen(hdrs[i].name) + strlen(hdrs[i].value) + 2;
    p->status = status;
    p->ctype = ctype ? strdup(ctype) : NULL;
    p->body = malloc(len ? len : 1);
    p->hdrs = calloc(nhdrs ? nhdrs : 1, sizeof *p->hdrs);
    p->strings = malloc(sl ? sl : 1);
    if ((ctype && p->ctype == NULL) || p->body == NULL || p->hdrs == NULL || p->strings == NULL) {
        http_prebuilt_free(p);
        return NULL;
    }
    memcpy(p->body, body, len);
    p->len = len;
    char *q = p->strings;
    for (size_t i = 0; i < nhdrs; i++) {
        size_t a = strlen(hdrs[i].name) + 1, b = strlen(hdrs[i].value) + 1;
        p->hdrs[i].name = memcpy(q, hdrs[i].name, a);
        p->hdrs[i].value = memcpy(q + a, hdrs[i].value, b);
        q += a + b;
    }
    p->nhdrs = nhdrs;
    return p;
}

int http_reply_prebuilt(http_req *r, http_prebuilt *p)
{
    return http_reply(r, p->status, p->ctype, p->body, p->len, p->hdrs, p->nhdrs);
}

void http_prebuilt_free(http_prebuilt *p)
{
    if (p == NULL)
        return;
    free(p->ctype);
    free(p->body);
    free(p->hdrs);
    free(p->strings);
    free(p);
}

/* ---------------------------------------------------------------- request accessors */

const char *http_header(http_req *r, const char *name)
{
    return http_head_get(r->head, name);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte */
static char *url_decode(const char *p, size_t n)
{
    char *o = malloc(n + 1);
    if (o == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '+') {
            o[j++] = ' ';
        } else if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            o[j++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else {
            o[j++] = p[i];
        }
    }
    o[j] = 0;
    return o;
}

static http_args *args_parse(const char *q, size_t ql)
{
    size_t n = 1;
    for (size_t i = 0; i < ql; i++)
        n += q[i] == '&';
    http_args *a = calloc(1, sizeof *a + 2 * n * sizeof(char *));
    if (a == NULL)
        return NULL;
    const char *p = q, *end = q + ql;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            a->kv[2 * a->n] = url_decode(p, (size_t)((eq ? eq : e) - p));
            a->kv[2 * a->n + 1] = eq ? url_decode(eq + 1, (size_t)(e - eq - 1)) : NULL;
            if (a->kv[2 * a->n] == NULL) {
                free(a->kv[2 * a->n + 1]);
            } else {
                a->n++;
            }
        }
        p = e + 1;
    }
    return a;
}

int http_is_tls(const http_req *r)
{
    const conn *c = r->conn;
    return c != NULL && c->ssl != NULL;
}

int http_tls_peer_names(http_req *r, char *buf, size_t cap)
{
    conn *c = r->conn;
    buf[0] = 0;
    return c && c->ssl ? tls_peer_names(c->ssl, buf, cap) : 0;
}

char *http_peer(http_req *r, char *buf, size_t cap)
{
    conn *c = r->conn;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    snprintf(buf, cap, "?");
    if (c == NULL || getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
        return buf;
    int family = ss.ss_family;
    const unsigned char *a = family == AF_INET ? (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr
                             : family == AF_INET6 ? (const unsigned char *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                  : NULL;
    if (a == NULL)
        return buf;
    http_server *s = c->w->s;
    if (s->proxies.n && proxy_list_match(&s->proxies, family, a) &&
        proxy_client(&s->proxies, http_header(r, "X-Forwarded-For"), http_header(r, "X-Real-IP"), buf, cap))
        return buf;
    inet_ntop(family, a, buf, (socklen_t)cap);
    return buf;
}

const char *http_arg(http_req *r, const char *name)
{
    if (r->query == NULL)
        return NULL;
    if (r->args == NULL)
        r->args = args_parse(r->query, r->query_len);
    http_args *a = r->args;
    if (a == NULL)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->kv[2 * i], name) == 0)
            return a->kv[2 * i + 1];
    return NULL;
}

/* ---------------------------------------------------------------- connections */

static void conn_free(conn *c)
{
    free(c->in);
    free(c->out);
    free(c->fbuf);
    free(c);
}

/* The worker's list of all its connections. */
static void conn_link(worker *w, conn *c)
{
    c->w = w;
    c->prev = NULL;
    c->next = w->all;
    if (w->all)
        w->all->prev = c;
    w->all = c;
}

static void conn_unlink(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->all = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_close(conn *c)
{
    worker *w = c->w;
    req_end(c, 0);
    if (c->ffd >= 0)
        close(c->ffd);
    c->ffd = -1;
    conn_unlink(c);
    if (c->ssl) {
        if (!c->ssl_dead && SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl); /* close_notify, best effort */
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    close(c->fd);
    c->fd = -1;
    atomic_fetch_sub(&w->s->nconns, 1);
    if (c->in_ready)
        return; /* freed when the ready list reaches it */
    conn_free(c);
}

static void ready_push(conn *c)
{
    worker *w = c->w;
    if (c->in_ready)
        return;
    c->in_ready = 1;
    c->rnext = NULL;
    if (w->ready_tail)
        w->ready_tail->rnext = c;
    else
        w->ready = c;
    w->ready_tail = c;
}

static void start_linger(conn *c)
{
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    c->st = CS_LINGER;
    c->linger_t0 = now_ms();
    c->drained = 0;
    if (c->ssl && !c->ssl_dead && SSL_is_init_finished(c->ssl))
        SSL_shutdown(c->ssl);
    shutdown(c->fd, SHUT_WR); /* what still comes is dropped undecrypted (step_linger) */
}

/* Make room for reading: compact, and grow to cap. -1 out of memory. */
static int in_reserve(conn *c, size_t cap)
{
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap >= cap)
        return 0;
    char *n = realloc(c->in, cap);
    if (n == NULL)
        return -1;
    c->in = n;
    c->in_cap = cap;
    return 0;
}

static int wait_writable(conn *c);

/* recv(), or SSL_read on an HTTPS connection (which also runs the
 * handshake): bytes, 0 at the end of input, -1 with errno (EAGAIN: nothing
 * now). A TLS error is logged once and ends the connection. */
static ssize_t io_recv(conn *c, char *buf, size_t n)
{
    if (c->ssl == NULL)
        return recv(c->fd, buf, n, 0);
    size_t got = 0;
    c->ssl_read_wants_write = 0;
    ERR_clear_error();
    int rc = SSL_read_ex(c->ssl, buf, n, &got);
    if (rc == 1)
        return (ssize_t)got;
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->ssl_read_wants_write = 1;
        wait_writable(c);
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    c->ssl_dead = 1;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return 0; /* the peer closed without close_notify */
    char why[200] = "";
    ERR_error_string_n(ERR_get_error(), why, sizeof why);
    ERR_clear_error();
    log_debug("https: %s: connection closed", SSL_is_init_finished(c->ssl) ? why : "handshake failed");
    if (!SSL_is_init_finished(c->ssl))
        log_debug("https: handshake: %s", why);
    errno = EPROTO;
    return -1;
}

/* One recv: 1 bytes came, 0 nothing now, -1 end of input or error.
 * A connection without a buffer reads into the stack first and keeps a
 * buffer only when bytes came: idle connections hold none. A short read
 * means the socket is empty; the next bytes bring a new edge. */
static int conn_read(conn *c)
{
    size_t cap = c->w->s->head_max;
    if (c->st == CS_BODY && (c->chunked || c->body_left > cap))
        cap = BODY_BUF;
    char stackbuf[4096];
    char *dst;
    size_t room;
    if (c->in == NULL && cap <= sizeof stackbuf) {
        dst = stackbuf;
        room = cap;
    } else {
        if (in_reserve(c, cap) < 0)
            return -1;
        if (c->in_len == c->in_cap)
            return 1; /* full: the caller decides */
        dst = c->in + c->in_len;
        room = c->in_cap - c->in_len;
    }
    ssize_t n = io_recv(c, dst, room);
    if (n > 0) {
        /* a short plain read empties the socket; a TLS read returns one
         * record, so an HTTPS connection reads on until SSL says WANT_READ */
        if ((size_t)n < room && !c->rdhup && c->ssl == NULL)
            c->can_read = 0;
        if (dst == stackbuf) {
            if (in_reserve(c, cap) < 0)
                return -1;
            memcpy(c->in, stackbuf, (size_t)n);
        }
        c->in_len += (size_t)n;
        c->last_ms = now_ms();
        return 1;
    }
    if (n == 0) {
        c->peer_eof = 1;
        return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->ssl_read_wants_write) /* else: go on when the socket is writable */
            c->can_read = 0;
        return 0;
    }
    return errno == EINTR ? 1 : -1;
}

enum { STEP_WAIT = 0, STEP_GO = 1, STEP_CLOSE = -1, STEP_MOVED = 2 };

/* Give a connection whose request head is parsed to another worker (the
 * isolated one, for admin requests): out of this worker's epoll set and
 * list, into the other's inbox; it adopts it and goes on from CS_DISPATCH.
 * From here on only the other worker touches c. */
static void hand_over(conn *c, worker *to)
{
    epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    conn_unlink(c);
    pthread_mutex_lock(&to->inbox_mu);
    c->next = to->inbox;
    to->inbox = c;
    pthread_mutex_unlock(&to->inbox_mu);
    uint64_t one = 1;
    (void)!write(to->evfd, &one, sizeof one);
}

static void conn_run(conn *c);

/* The connections handed to this worker, taken out of its inbox (a list
 * linked by next; the caller links each into the worker). */
static conn *inbox_take(worker *w)
{
    pthread_mutex_lock(&w->inbox_mu);
    conn *list = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->inbox_mu);
    return list;
}

/* Take the connections handed to this worker and run them. */
static void adopt_inbox(worker *w)
{
    uint64_t v;
    (void)!read(w->evfd, &v, sizeof v);
    for (conn *c = inbox_take(w), *next; c; c = next) {
        next = c->next;
        conn_link(w, c);
        c->can_read = 1; /* bytes may have come during the hand-over */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (c->want_out ? EPOLLOUT : 0),
                                 .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
            conn_close(c);
            continue;
        }
        conn_run(c);
    }
}

static int finish_request(conn *c)
{
    http_server *s = c->w->s;
    http_req *r = c->r;
    if (!r->responded)
        s->handler(s->ctx, r, HTTP_PHASE_END, NULL, 0);
    if (r->close_conn)
        return STEP_CLOSE;
    if (!r->responded) {
        static const char body[] = "{\"error\":\"internal error\",\"hint\":\"see the server log\"}";
        if (http_reply(r, 500, "application/json", body, sizeof body - 1, NULL, 0) < 0)
            return STEP_CLOSE;
    }
    c->st = CS_SEND;
    return STEP_GO;
}

/* Body bytes to the handler; STEP_CLOSE when the body is too slow or the
 * handler dropped the connection. */
static int deliver(conn *c, const char *data, size_t len)
{
    http_server *s = c->w->s;
    http_req *r = c->r;
    r->body_seen += len;
    uint64_t el = now_ms() - r->t0_ms, grace = (uint64_t)s->timeout_s * 1000;
    if (el > grace && r->body_seen < (el - grace) * HTTP_MIN_BODY_RATE / 1000) {
        log_info("http: request body slower than %u bytes/s: connection closed", HTTP_MIN_BODY_RATE);
        return STEP_CLOSE;
    }
    if (!r->responded && !r->close_conn)
        s->handler(s->ctx, r, HTTP_PHASE_BODY, data, len);
    return r->close_conn ? STEP_CLOSE : STEP_GO;
}

static int on_chunk_body(http_parser *p, const char *at, size_t len)
{
    conn *c = p->data;
    if (deliver(c, at, len) != STEP_GO) {
        c->r->close_conn = 1;
        http_parser_pause(p, 1);
    } else if (c->r->responded) {
        http_parser_pause(p, 1);
    }
    return 0;
}

static int on_chunk_done(http_parser *p)
{
    ((conn *)p->data)->body_done = 1;
    http_parser_pause(p, 1); /* the bytes after it belong to the next request */
    return 0;
}

static http_parser_settings chunk_settings;
static pthread_once_t chunk_once = PTHREAD_ONCE_INIT;

static void chunk_settings_init(void)
{
    http_parser_settings_init(&chunk_settings);
    chunk_settings.on_body = on_chunk_body;
    chunk_settings.on_message_complete = on_chunk_done;
}

static int step_body(conn *c)
{
    size_t avail = c->in_len - c->in_off;
    if (avail == 0)
        return STEP_WAIT;
    const char *p = c->in + c->in_off;
    if (!c->chunked) {
        size_t k = avail < c->body_left ? avail : (size_t)c->body_left;
        c->in_off += k;
        c->body_left -= k;
        if (c->body_left == 0)
            c->body_done = 1;
        if (deliver(c, p, k) != STEP_GO)
            return STEP_CLOSE;
    } else {
        size_t used = http_parser_execute(&c->bp, &chunk_settings, p, avail);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->bp);
        if (e == HPE_PAUSED)
            http_parser_pause(&c->bp, 0);
        c->in_off += used <= avail ? used : avail;
        if (c->r->close_conn)
            return STEP_CLOSE;
        if (e != HPE_OK && e != HPE_PAUSED) {
            if (c->r->responded)
                return STEP_CLOSE;
            req_end(c, 0);
            answer_error(c, e == HPE_INVALID_CHUNK_SIZE ? 400 : 400, "malformed chunked body");
            return STEP_GO;
        }
    }
    if (c->r->responded) {
        c->st = CS_SEND; /* answered mid-body: send, then drain and close */
        return STEP_GO;
    }
    if (c->body_done)
        return finish_request(c);
    return STEP_GO;
}

static int step_head(conn *c)
{
    http_server *s = c->w->s;
    /* the head's deadline runs from its first byte, empty lines included:
     * a client sending only CRLFs is timed out like any slow head */
    if (c->head_t0 == 0 && c->in_len > c->in_off)
        c->head_t0 = now_ms();
    /* a few empty lines before a request line are ignored (RFC 9112, 2.2) */
    while (c->in_len - c->in_off >= 2 && c->in[c->in_off] == '\r' && c->in[c->in_off + 1] == '\n') {
        c->in_off += 2;
        if (++c->blank_lines > BLANK_LINES_MAX) {
            answer_error(c, 400, "too many empty lines before the request line");
            return STEP_GO;
        }
    }
    size_t avail = c->in_len - c->in_off;
    if (avail == 0)
        return STEP_WAIT;
    size_t n = http_head_length(c->in + c->in_off, avail);
    if (n == 0 || n > s->head_max) {
        if (avail >= s->head_max || n > s->head_max) {
            int line = memchr(c->in + c->in_off, '\n', avail) != NULL;
            answer_error(c, line ? 431 : 414,
                         line ? "request head larger than the server's connection_memory"
                              : "request line larger than the server's connection_memory");
            return STEP_GO;
        }
        return STEP_WAIT;
    }
    http_req *r = calloc(1, sizeof *r + n + 1);
    http_head *h = malloc(sizeof *h);
    if (r == NULL || h == NULL) {
        free(r);
        free(h);
        return STEP_CLOSE;
    }
    memcpy(r->raw, c->in + c->in_off, n);
    c->in_off += n;
    c->head_t0 = 0;
    c->blank_lines = 0;
    const char *why;
    unsigned st = http_head_parse(r->raw, n, h, &why);
    if (st != 0) {
        free(h);
        free(r);
        answer_error(c, st, why);
        return STEP_GO;
    }
    r->head = h;
    r->conn = c;
    r->t0_ms = now_ms();
    r->method = h->method;
    r->is_head = h->is_head;
    r->has_content_length = h->has_content_length;
    r->content_length = h->content_length;
    r->path = h->target;
    char *q = strchr(h->target, '?');
    if (q != NULL) {
        *q = 0;
        r->query = q + 1;
        r->query_len = strlen(q + 1);
    }
    r->path_len = strlen(r->path);
    c->r = r;
    c->keep_alive = h->keep_alive;
    c->chunked = h->chunked;
    c->body_left = h->content_length;
    c->body_done = !(h->chunked || h->content_length > 0);
    c->body_sent = c->body_total = 0;
    c->st = CS_DISPATCH;
    if (s->iso && c->w != s->iso && !c->in_ready &&
        (strncmp(r->path, s->isolate_prefix, s->isolate_len) == 0 ||
         (s->isolate_path[0] && strcmp(r->path, s->isolate_path) == 0))) {
        hand_over(c, s->iso);
        return STEP_MOVED;
    }
    return STEP_GO;
}

/* The head is parsed: the HEADERS phase, then the body or the END phase. */
static int step_dispatch(conn *c)
{
    http_server *s = c->w->s;
    http_req *r = c->r;
    const http_head *h = r->head;
    s->handler(s->ctx, r, HTTP_PHASE_HEADERS, NULL, 0);
    if (r->close_conn)
        return STEP_CLOSE;
    if (r->responded) {
        c->st = CS_SEND;
        return STEP_GO;
    }
    if (c->body_done)
        return finish_request(c);
    if (h->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        /* a fresh connection's send buffer takes it; if not, the client
         * sends the body after its own wait anyway */
        if (c->ssl == NULL) {
            (void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            /* a TLS write must be retried with the same bytes: one that
             * cannot go out whole now ends the connection */
            size_t w = 0;
            ERR_clear_error();
            if (SSL_write_ex(c->ssl, cont, sizeof cont - 1, &w) != 1 || w != sizeof cont - 1) {
                c->ssl_dead = 1;
                return STEP_CLOSE;
            }
        }
    }
    if (c->chunked) {
        pthread_once(&chunk_once, chunk_settings_init);
        static const char synth[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        http_parser_init(&c->bp, HTTP_REQUEST);
        c->bp.data = c;
        http_parser_execute(&c->bp, &chunk_settings, synth, sizeof synth - 1);
    }
    c->st = CS_BODY;
    return STEP_GO;
}

/* The socket is full: from now on this connection also waits for EPOLLOUT
 * (a new connection is registered for input only, so it costs no
 * writable-event wakeup; most answers never fill the socket). */
static int wait_writable(conn *c)
{
    c->can_write = 0;
    if (c->want_out)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        return -1;
    c->want_out = 1;
    return 0;
}

/* One TLS write of buf: bytes written (> 0), 0 wait (EPOLLOUT or input
 * asked for), -1 error. */
static ssize_t tls_write(conn *c, const char *buf, size_t n)
{
    size_t w = 0;
    ERR_clear_error();
    if (SSL_write_ex(c->ssl, buf, n, &w) == 1)
        return (ssize_t)w;
    int e = SSL_get_error(c->ssl, 0);
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_writable(c) < 0 ? -1 : 0;
    if (e == SSL_ERROR_WANT_READ)
        return 0; /* the next input edge runs the connection again */
    c->ssl_dead = 1;
    ERR_clear_error();
    return -1;
}

/* The answer over TLS: 1 done, 0 wait, 2 budget used, -1 error. A memory
 * answer is written from c->out. A file answer goes through fbuf: the head
 * first, then file bytes read with pread, TLS_FBUF at a time, so head and
 * first bytes share a record; with kernel TLS the file goes by
 * SSL_sendfile instead. */
static int tls_send(conn *c)
{
    int ktls = c->ffd >= 0 && BIO_get_ktls_send(SSL_get_wbio(c->ssl));
    if (c->ffd < 0 || ktls) {
        while (c->out_off < c->out_len) {
            ssize_t n = tls_write(c, c->out + c->out_off, c->out_len - c->out_off);
            if (n <= 0)
                return (int)n;
            c->out_off += (size_t)n;
            c->last_ms = now_ms();
        }
    }
    size_t budget = SEND_BUDGET;
    while (c->ffd >= 0 && ktls && c->foff < c->fend) {
        uint64_t left = c->fend - c->foff;
        size_t chunk = left > budget ? budget : (size_t)left;
        ERR_clear_error();
        ossl_ssize_t n = SSL_sendfile(c->ssl, c->ffd, (off_t)c->foff, chunk, 0);
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, (int)n);
            if (e == SSL_ERROR_WANT_WRITE)
                return wait_writable(c) < 0 ? -1 : 0;
            c->ssl_dead = 1;
            ERR_clear_error();
            return -1;
        }
        c->foff += (uint64_t)n;
        c->body_sent += (uint64_t)n;
        budget -= (size_t)n < budget ? (size_t)n : budget;
        c->last_ms = now_ms();
        if (budget == 0 && c->foff < c->fend)
            return 2;
    }
    while (c->ffd >= 0 && !ktls) {
        if (c->fb_off == c->fb_len) {
            if (c->fbuf == NULL && (c->fbuf = malloc(TLS_FBUF)) == NULL)
                return -1;
            size_t k = 0;
            if (c->out_off < c->out_len) {
                k = c->out_len - c->out_off < TLS_FBUF ? c->out_len - c->out_off : TLS_FBUF;
                memcpy(c->fbuf, c->out + c->out_off, k);
                c->out_off += k;
            }
            c->fb_head = k;
            if (k < TLS_FBUF && c->foff < c->fend) {
                uint64_t left = c->fend - c->foff;
                size_t want = TLS_FBUF - k < left ? TLS_FBUF - k : (size_t)left;
                ssize_t r = pread(c->ffd, c->fbuf + k, want, (off_t)c->foff);
                if (r <= 0) {
                    log_warn("http: a file being sent ended early or cannot be read (changed on disk?): "
                             "connection closed");
                    return -1;
                }
                c->foff += (uint64_t)r;
                k += (size_t)r;
            }
            c->fb_off = 0;
            c->fb_len = k;
            if (k == 0)
                break; /* all sent */
        }
        size_t before = c->fb_off;
        ssize_t n = tls_write(c, c->fbuf + c->fb_off, c->fb_len - c->fb_off);
        if (n <= 0)
            return (int)n;
        c->fb_off += (size_t)n;
        size_t from = before > c->fb_head ? before : c->fb_head;
        if (c->fb_off > from)
            c->body_sent += c->fb_off - from;
        c->last_ms = now_ms();
        budget -= (size_t)n < budget ? (size_t)n : budget;
        if (budget == 0 && (c->fb_off < c->fb_len || c->foff < c->fend))
            return 2;
    }
    if (c->ffd >= 0) {
        close(c->ffd);
        c->ffd = -1;
    }
    free(c->fbuf);
    c->fbuf = NULL;
    c->fb_off = c->fb_len = c->fb_head = 0;
    return 1;
}

/* Send what is queued: 1 done, 0 wait for the socket, 2 budget used, -1 error. */
static int step_send(conn *c)
{
    if (c->ssl)
        return tls_send(c);
    while (c->out_off < c->out_len) {
        int more = (c->ffd >= 0 && c->foff < c->fend) ? MSG_MORE : 0;
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | more);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return wait_writable(c);
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)n;
        c->last_ms = now_ms();
    }
    size_t budget = SEND_BUDGET;
    while (c->ffd >= 0 && c->foff < c->fend) {
        uint64_t left = c->fend - c->foff;
        size_t chunk = left > budget ? budget : (size_t)left;
        off_t o = (off_t)c->foff;
        ssize_t n = sendfile(c->fd, c->ffd, &o, chunk);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return wait_writable(c);
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            log_warn("http: a file being sent ended early (changed on disk?): connection closed");
            return -1;
        }
        c->foff += (uint64_t)n;
        c->body_sent += (uint64_t)n;
        budget -= (size_t)n;
        c->last_ms = now_ms();
        if (budget == 0 && c->foff < c->fend)
            return 2;
    }
    if (c->ffd >= 0) {
        close(c->ffd);
        c->ffd = -1;
    }
    return 1;
}

/* Drop input after an answer that closes; 0 keep waiting, -1 close now. */
static int step_linger(conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n > 0) {
            c->drained += (uint64_t)n;
            if (c->drained > HTTP_DRAIN_MAX)
                return -1;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->can_read = 0;
            return 0;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* Run a connection until it must wait. May free c. */
static void conn_run(conn *c)
{
    http_server *s = c->w->s;
    for (;;) {
        switch (c->st) {
        case CS_SEND: {
            int rc = step_send(c);
            if (rc < 0) {
                conn_close(c);
                return;
            }
            if (rc == 0)
                return;
            if (rc == 2) {
                ready_push(c);
                return;
            }
            req_end(c, 1);
            free(c->out);
            c->out = NULL;
            c->out_len = c->out_off = c->out_head = 0;
            if (!c->keep_alive || atomic_load(&s->stopping)) {
                /* a client that may still be sending (early answer, bytes
                 * we did not read) gets a lingering close, so it reads the
                 * answer instead of a reset; others are closed at once */
                if (c->peer_eof || (!c->must_linger && c->in_off == c->in_len)) {
                    conn_close(c);
                    return;
                }
                start_linger(c);
                continue;
            }
            c->st = CS_HEAD;
            if (c->in_off == c->in_len) {
                free(c->in); /* idle: the connection is its struct alone */
                c->in = NULL;
                c->in_cap = c->in_off = c->in_len = 0;
            }
            continue;
        }
        case CS_LINGER:
            if (!c->can_read)
                return;
            if (step_linger(c) < 0) {
                conn_close(c);
                return;
            }
            return;
        case CS_DISPATCH: {
            int rc = step_dispatch(c);
            if (rc == STEP_CLOSE) {
                conn_close(c);
                return;
            }
            continue;
        }
        case CS_HEAD:
        case CS_BODY: {
            int rc = c->st == CS_HEAD ? step_head(c) : step_body(c);
            if (rc == STEP_CLOSE) {
                conn_close(c);
                return;
            }
            if (rc == STEP_MOVED)
                return; /* another worker has it now */
            if (rc == STEP_GO)
                continue;
            /* wait: need input */
            if (!c->can_read)
                return;
            int rd = conn_read(c);
            if (rd < 0) {
                conn_close(c);
                return;
            }
            if (rd == 0)
                return;
            continue;
        }
        }
    }
}

/* ---------------------------------------------------------------- workers */

/* Log the accepts that failed for want of a descriptor: one line per
 * FD_SHORT_LOG_MS at most, with their count (called on each failure and
 * from the sweep, so the last ones are reported too). */
static void fd_short_report(http_server *s, uint64_t now)
{
    uint_fast64_t last = atomic_load(&s->fd_short_log_ms);
    if (atomic_load(&s->fd_short) == 0 || (last != 0 && now - last < FD_SHORT_LOG_MS))
        return;
    if (!atomic_compare_exchange_strong(&s->fd_short_log_ms, &last, now))
        return; /* another worker logs it */
    unsigned n = atomic_exchange(&s->fd_short, 0);
    if (n)
        log_warn("http: out of file descriptors: %u accept(s) failed in the last %u s; new connections wait in "
                 "the backlog while existing ones are served (raise the open-file limit, ulimit -n, or lower "
                 "max_connections)",
                 n, FD_SHORT_LOG_MS / 1000);
}

/* accept() failed with EMFILE/ENFILE: take the listener out of this
 * worker's epoll set for ACCEPT_PAUSE_MS (the connections it has keep being
 * served; a level-triggered listener would wake it again at once), and
 * count it for the log. worker_main puts it back. */
static void accept_pause(worker *w)
{
    http_server *s = w->s;
    uint64_t now = now_ms();
    atomic_fetch_add(&s->fd_short, 1);
    fd_short_report(s, now);
    if (w->accept_resume_ms == 0 && epoll_ctl(w->ep, EPOLL_CTL_DEL, w->lfd, NULL) == 0)
        w->accept_resume_ms = now + ACCEPT_PAUSE_MS;
}

static void accept_resume(worker *w, uint64_t now)
{
    if (w->accept_resume_ms == 0 || now < w->accept_resume_ms)
        return;
    struct epoll_event le = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &LISTEN_TAG};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &le) == 0)
        w->accept_resume_ms = 0;
    else
        w->accept_resume_ms = now + ACCEPT_PAUSE_MS;
}

static void accept_some(worker *w)
{
    http_server *s = w->s;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                accept_pause(w);
            return;
        }
        if (atomic_fetch_add(&s->nconns, 1) >= s->max_conns) {
            atomic_fetch_sub(&s->nconns, 1);
            close(fd);
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            atomic_fetch_sub(&s->nconns, 1);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->ffd = -1;
        if (s->tls && (c->ssl = tls_session(s->tls, fd)) == NULL) {
            atomic_fetch_sub(&s->nconns, 1);
            close(fd);
            free(c);
            continue;
        }
        c->st = CS_HEAD;
        c->can_write = 1; /* can_read comes with the first EPOLLIN */
        c->last_ms = now_ms();
        conn_link(w, c);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            conn_close(c);
            continue;
        }
        /* a client usually writes its request right after connecting: try
         * it now (no buffer is taken if nothing is there yet; an edge comes
         * later) instead of going round epoll_wait first */
        c->can_read = 1;
        conn_run(c);
    }
}

/* Once a second: connection deadlines. */
static void sweep(worker *w, uint64_t now)
{
    http_server *s = w->s;
    uint64_t idle = (uint64_t)s->timeout_s * 1000;
    conn *next;
    for (conn *c = w->all; c; c = next) {
        next = c->next;
        int expired;
        if (c->st == CS_LINGER)
            expired = now - c->linger_t0 > LINGER_MS;
        else if (c->st == CS_HEAD && c->head_t0 != 0)
            expired = now - c->head_t0 > idle; /* the whole head within the timeout (slowloris) */
        else
            expired = now - c->last_ms > idle;
        if (expired) {
            if (c->st != CS_LINGER && c->st != CS_HEAD)
                log_debug("http: connection idle for %u s: closed", s->timeout_s);
            conn_close(c);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    http_server *s = w->s;
    struct epoll_event ev[128];
    while (!atomic_load(&w->stop)) {
        int wait_ms = w->ready ? 0 : 1000;
        if (w->accept_resume_ms) {
            uint64_t t = now_ms(), left = t >= w->accept_resume_ms ? 0 : w->accept_resume_ms - t;
            if (left < (uint64_t)wait_ms)
                wait_ms = (int)left;
        }
        int n = epoll_wait(w->ep, ev, 128, wait_ms);
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == &LISTEN_TAG) {
                accept_some(w);
                continue;
            }
            if (p == &WAKE_TAG) {
                if (w == s->iso)
                    adopt_inbox(w);
                continue;
            }
            conn *c = p;
            if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                c->can_read = 1;
            if (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                c->rdhup = 1;
            if (ev[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
                c->can_write = 1;
            conn_run(c);
        }
        conn *rl = w->ready;
        w->ready = w->ready_tail = NULL;
        while (rl) {
            conn *c = rl;
            rl = c->rnext;
            c->in_ready = 0;
            c->rnext = NULL;
            if (c->fd < 0)
                conn_free(c); /* closed while queued */
            else
                conn_run(c);
        }
        uint64_t now = now_ms();
        accept_resume(w, now);
        if (now - w->last_sweep >= 1000) {
            w->last_sweep = now;
            sweep(w, now);
            fd_short_report(s, now);
        }
    }
    if (w == s->iso) {
        /* the listening workers have stopped: nothing more comes in */
        for (conn *c = inbox_take(w), *next; c; c = next) {
            next = c->next;
            conn_link(w, c);
        }
    }
    while (w->all)
        conn_close(w->all);
    for (conn *c = w->ready; c;) {
        conn *nx = c->rnext;
        conn_free(c);
        c = nx;
    }
    w->ready = w->ready_tail = NULL;
    return NULL;
}

/* ---------------------------------------------------------------- server */

static int bind_listen(const char *host, unsigned port, int *ipv6, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    int gai = getaddrinfo(host, ps, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "listen address '%s': %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    int saved = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
            *ipv6 = a->ai_family == AF_INET6;
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "cannot listen on %s:%u: %s (is another server using the port? try --listen HOST:PORT)",
                 host, port, strerror(saved));
    return fd;
}

http_server *http_start(const http_options *o, http_handler_fn h, void *ctx, char *err, size_t errlen)
{
    http_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->handler = h;
    s->ctx = ctx;
    s->timeout_s = o->timeout_s ? o->timeout_s : 30;
    s->max_conns = o->max_connections ? o->max_connections : 1000;
    s->head_max = o->conn_memory >= 1024 ? o->conn_memory : 1024;
    s->nworkers = o->threads ? o->threads : 1;
    s->tls = o->tls;
    if (o->proxies)
        s->proxies = *o->proxies;
    atomic_init(&s->nconns, 0);
    atomic_init(&s->stopping, 0);
    atomic_init(&s->fd_short, 0);
    atomic_init(&s->fd_short_log_ms, 0);
    s->fd = bind_listen(o->host, o->port, &s->ipv6, err, errlen);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (o->isolate_prefix && o->isolate_prefix[0])
        snprintf(s->isolate_prefix, sizeof s->isolate_prefix, "%s", o->isolate_prefix);
    s->isolate_len = strlen(s->isolate_prefix);
    if (o->isolate_path)
        snprintf(s->isolate_path, sizeof s->isolate_path, "%s", o->isolate_path);
    unsigned total = s->nworkers + (s->isolate_prefix[0] ? 1 : 0);
    s->w = calloc(total, sizeof *s->w);
    if (s->w == NULL) {
        snprintf(err, errlen, "cannot start the HTTP server: out of memory");
        goto fail;
    }
    if (total > s->nworkers)
        s->iso = &s->w[s->nworkers];
    unsigned started = 0;
    for (unsigned i = 0; i < total; i++) {
        worker *w = &s->w[i];
        w->s = s;
        atomic_init(&w->stop, 0);
        pthread_mutex_init(&w->inbox_mu, NULL);
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        w->lfd = w == s->iso ? -1 : s->fd; /* the isolated worker only takes hand-overs */
        struct epoll_event le = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &LISTEN_TAG};
        struct epoll_event we = {.events = EPOLLIN, .data.ptr = &WAKE_TAG};
        if (w->ep < 0 || w->evfd < 0 || (w->lfd >= 0 && epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &le) < 0) ||
            epoll_ctl(w->ep, EPOLL_CTL_ADD, w->evfd, &we) < 0 ||
            pthread_create(&w->th, NULL, worker_main, w) != 0) {
            snprintf(err, errlen, "cannot start HTTP worker %u of %u: %s", i + 1, total, strerror(errno));
            if (w->ep >= 0)
                close(w->ep);
            if (w->evfd >= 0)
                close(w->evfd);
            break;
        }
        started++;
    }
    if (started < total) {
        atomic_store(&s->stopping, 1);
        for (unsigned i = 0; i < started; i++) {
            uint64_t one = 1;
            atomic_store(&s->w[i].stop, 1);
            (void)!write(s->w[i].evfd, &one, sizeof one);
            pthread_join(s->w[i].th, NULL);
            close(s->w[i].ep);
            close(s->w[i].evfd);
        }
        goto fail;
    }
    return s;
fail:
    free(s->w);
    close(s->fd);
    free(s);
    return NULL;
}

unsigned http_port(const http_server *s) { return s->port; }
int http_is_ipv6(const http_server *s) { return s->ipv6; }

void http_stop(http_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, 1);
    /* the listening workers first, then the isolated one: it must outlive
     * every worker that may still hand it a connection */
    unsigned total = s->nworkers + (s->iso ? 1 : 0);
    for (unsigned i = 0; i < total; i++) {
        if (i == s->nworkers) {
            for (unsigned j = 0; j < s->nworkers; j++)
                pthread_join(s->w[j].th, NULL);
        }
        uint64_t one = 1;
        atomic_store(&s->w[i].stop, 1);
        (void)!write(s->w[i].evfd, &one, sizeof one);
    }
    for (unsigned i = 0; i < total; i++) {
        if (i >= s->nworkers || !s->iso)
            pthread_join(s->w[i].th, NULL);
        close(s->w[i].ep);
        close(s->w[i].evfd);
        pthread_mutex_destroy(&s->w[i].inbox_mu);
    }
    close(s->fd);
    free(s->w);
    free(s);
}
