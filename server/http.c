/*
 * http.c — libmicrohttpd behind the http.h interface.
 *
 * MHD runs an epoll thread pool. We bind the listening socket ourselves (so
 * HOST:PORT, [::1]:PORT and port 0 all work the same) and hand it to MHD.
 * The URI log callback sees the request target before MHD decodes it; we
 * copy it into the per-request struct, which is freed in the completion
 * callback. Limits: connection count, per-connection inactivity timeout
 * (slowloris) and per-connection memory (which also bounds the request line
 * and headers: MHD answers 414/431 past it).
 */
#include "http.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct http_server {
    struct MHD_Daemon *d;
    unsigned timeout_s;
    int fd;
    unsigned port;
    int ipv6;
    http_handler_fn handler;
    void *ctx;
};

struct http_prebuilt {
    struct MHD_Response *resp;
    unsigned status;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void http_reply_now_and_close(http_req *r, unsigned status, const char *reason, const char *json_body)
{
    r->responded = 1;
    r->raw_sent = 1;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    char head[256];
    size_t bl = strlen(json_body);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     status, reason, bl);
    if (n <= 0 || (size_t)n >= sizeof head)
        return;
    /* small: fits the socket buffer of a fresh answer; best effort */
    if (send(ci->connect_fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
        send(ci->connect_fd, json_body, bl, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(ci->connect_fd, SHUT_WR);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    size_t len = strlen(uri);
    http_req *r = calloc(1, sizeof *r + len + 1);
    if (r == NULL)
        return NULL;
    memcpy(r->raw, uri, len + 1);
    char *q = strchr(r->raw, '?');
    if (q != NULL) {
        *q = 0;
        r->query = q + 1;
        r->query_len = len - (size_t)(q + 1 - r->raw);
    }
    r->path = r->raw;
    r->path_len = strlen(r->raw);
    r->conn = c;
    r->uri_at = (uintptr_t)uri;
    r->uri_len = len;
    return r;
}

static int tcp_acked(struct MHD_Connection *c, uint64_t *out)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return -1;
    struct tcp_info ti;
    socklen_t sl = sizeof ti;
    if (getsockopt(ci->connect_fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) < 0 || sl < sizeof ti)
        return -1;
    *out = ti.tcpi_bytes_acked;
    return 0;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    http_req *r = *con_cls;
    if (r == NULL)
        return;
    int ok = (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    uint64_t sent = 0;
    if (ok) {
        sent = r->body_len;
    } else if (r->acked_valid && r->body_len > 0) {
        /* interrupted: what the client's TCP acknowledged since the answer
         * was queued, minus a header allowance, bounded by the body length */
        uint64_t now;
        if (tcp_acked(c, &now) == 0 && now > r->acked_base + 256) {
            sent = now - r->acked_base - 256;
            if (sent > r->body_len)
                sent = r->body_len;
        }
    }
    if (r->on_done)
        r->on_done(r, ok, sent);
    free(r);
    *con_cls = NULL;
}

struct framing {
    int ncl, nte, te_ok, bad;
    const char *prev_end; /* end of the previous header value in MHD's buffer */
};

/* A NUL byte inside a request line or header line ends MHD's C string early;
 * the bytes after it stay in MHD's read buffer, between the end of that
 * string and the start of the next element MHD parsed from the same buffer.
 * Both ends are pointers MHD handed us into one buffer, so the span is read
 * only when it is ordered and short; anything but line-end or blank bytes
 * there means an embedded NUL. */
static int span_has_data(uintptr_t from, uintptr_t to)
{
    if (to <= from || to - from > 65536)
        return 0; /* not one ordered span: no verdict */
    for (const unsigned char *p = (const unsigned char *)from; (uintptr_t)p < to; p++)
        if (*p != 0 && *p != '\r' && *p != '\n' && *p != ' ' && *p != '\t')
            return 1;
    return 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c);
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct framing *f = cls;
    /* field names are tokens (no space before ':'), values carry no control
     * characters but HTAB (no bare CR, no leftover of a folded line) */
    if (key == NULL || key[0] == 0)
        f->bad = 1;
    if (key != NULL && f->prev_end != NULL && span_has_data((uintptr_t)f->prev_end, (uintptr_t)key))
        f->bad = 1; /* NUL inside the previous header's value */
    f->prev_end = (value != NULL && value[0]) ? value + strlen(value) : NULL;
    for (const unsigned char *k = (const unsigned char *)key; k && *k; k++)
        if (!is_tchar(*k))
            f->bad = 1;
    for (const unsigned char *v = (const unsigned char *)value; v && *v; v++)
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
            f->bad = 1;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->ncl++;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->nte++;
        f->te_ok = value != NULL && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

/* Request smuggling guards MHD 0.9.75 does not apply itself: Content-Length
 * with Transfer-Encoding, Content-Length twice, or a Transfer-Encoding other
 * than exactly "chunked" -> 400 and the connection is closed. */
static int framing_ok(struct MHD_Connection *c)
{
    struct framing f = {0, 0, 0, 0, NULL};
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
    if (f.bad)
        return -1;
    return f.ncl <= 1 && f.nte <= 1 && !(f.ncl && f.nte) && (f.nte == 0 || f.te_ok);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)url;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (r == NULL)
        return MHD_NO; /* out of memory in on_uri */
    if (!r->started) {
        r->started = 1;
        r->t0_ms = now_ms();
        r->method = method;
        r->is_head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno == 0 && *end == 0 && end != cl) {
                r->has_content_length = 1;
                r->content_length = v;
            }
        }
        int fr = framing_ok(c);
        if (fr >= 0 && span_has_data(r->uri_at + r->uri_len, (uintptr_t)version))
            fr = -1; /* NUL inside the request target */
        if (fr < 0) {
            static const char body[] = "{\"error\":\"malformed request (a header name that is not a token, or a "
                                       "control character in the target or a header value)\",\"hint\":\"fix the client\"}";
            http_hdr h[] = {{"Connection", "close"}};
            http_reply(r, 400, "application/json", body, sizeof body - 1, h, 1);
            return MHD_YES;
        }
        if (!fr) {
            static const char body[] = "{\"error\":\"ambiguous message framing (Content-Length with "
                                       "Transfer-Encoding, two Content-Length, or a Transfer-Encoding other than "
                                       "chunked)\",\"hint\":\"send one Content-Length or Transfer-Encoding: chunked\"}";
            http_hdr h[] = {{"Connection", "close"}};
            http_reply(r, 400, "application/json", body, sizeof body - 1, h, 1);
            return MHD_YES;
        }
        s->handler(s->ctx, r, HTTP_PHASE_HEADERS, NULL, 0);
        return r->close_conn ? MHD_NO : MHD_YES;
    }
    if (r->raw_sent) {
        /* answered directly mid-body: drop input for a while, then close */
        if (*upload_data_size == 0)
            return MHD_NO; /* body over: close */
        r->drained += *upload_data_size;
        *upload_data_size = 0;
        return r->drained > HTTP_DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (*upload_data_size != 0) {
        r->body_seen += *upload_data_size;
        uint64_t el = now_ms() - r->t0_ms, grace = (uint64_t)s->timeout_s * 1000;
        if (el > grace && r->body_seen < (el - grace) * HTTP_MIN_BODY_RATE / 1000) {
            log_info("http: request body slower than %u bytes/s: connection closed", HTTP_MIN_BODY_RATE);
            return MHD_NO;
        }
        if (!r->responded && !r->close_conn)
            s->handler(s->ctx, r, HTTP_PHASE_BODY, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r->close_conn ? MHD_NO : MHD_YES;
    }
    if (r->raw_sent)
        return MHD_NO;
    if (r->responded)
        return MHD_YES;
    s->handler(s->ctx, r, HTTP_PHASE_END, NULL, 0);
    if (r->close_conn)
        return MHD_NO;
    if (!r->responded) {
        static const char body[] = "{\"error\":\"internal error\",\"hint\":\"see the server log\"}";
        http_reply(r, 500, "application/json", body, sizeof body - 1, NULL, 0);
    }
    return MHD_YES;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    log_debug("http: %s", buf);
}

static int add_headers(struct MHD_Response *resp, const char *ctype, const http_hdr *hdrs, size_t n)
{
    if (ctype && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (MHD_add_response_header(resp, hdrs[i].name, hdrs[i].value) != MHD_YES)
            return -1;
    return 0;
}

static int queue(http_req *r, unsigned status, struct MHD_Response *resp, uint64_t body_len)
{
    r->responded = 1;
    r->body_len = r->is_head ? 0 : body_len;
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (rc != MHD_YES) {
        r->close_conn = 1;
        return -1;
    }
    return 0;
}

int http_reply(http_req *r, unsigned status, const char *ctype, const void *body, size_t len, const http_hdr *hdrs,
               size_t nhdrs)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL || add_headers(resp, ctype, hdrs, nhdrs) < 0) {
        if (resp)
            MHD_destroy_response(resp);
        r->responded = 1;
        r->close_conn = 1;
        return -1;
    }
    return queue(r, status, resp, len);
}

int http_reply_fd(http_req *r, unsigned status, int fd, uint64_t off, uint64_t len, const char *ctype,
                  const http_hdr *hdrs, size_t nhdrs)
{
    if (len == 0) {
        close(fd);
        return http_reply(r, status, ctype, "", 0, hdrs, nhdrs);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (resp == NULL) {
        close(fd);
        r->responded = 1;
        r->close_conn = 1;
        return -1;
    }
    if (add_headers(resp, ctype, hdrs, nhdrs) < 0) {
        MHD_destroy_response(resp);
        r->responded = 1;
        r->close_conn = 1;
        return -1;
    }
    r->acked_valid = tcp_acked(r->conn, &r->acked_base) == 0;
    return queue(r, status, resp, len);
}

http_prebuilt *http_prebuilt_new(unsigned status, const char *ctype, const void *body, size_t len,
                                 const http_hdr *hdrs, size_t nhdrs)
{
    http_prebuilt *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->status = status;
    p->resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (p->resp == NULL || add_headers(p->resp, ctype, hdrs, nhdrs) < 0) {
        if (p->resp)
            MHD_destroy_response(p->resp);
        free(p);
        return NULL;
    }
    return p;
}

int http_reply_prebuilt(http_req *r, http_prebuilt *p)
{
    r->responded = 1;
    if (MHD_queue_response(r->conn, p->status, p->resp) != MHD_YES) {
        r->close_conn = 1;
        return -1;
    }
    return 0;
}

void http_prebuilt_free(http_prebuilt *p)
{
    if (p == NULL)
        return;
    MHD_destroy_response(p->resp);
    free(p);
}

const char *http_header(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_arg(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

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
    s->timeout_s = o->timeout_s;
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
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (s->ipv6)
        flags |= MHD_USE_IPv6;
    unsigned threads = o->threads ? o->threads : 1;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                            MHD_OPTION_LISTEN_SOCKET, s->fd,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)o->conn_memory,
                            MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)1024,
                            MHD_OPTION_STRICT_FOR_CLIENT, 1,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_END);
    if (s->d == NULL) {
        snprintf(err, errlen, "cannot start the HTTP server (threads=%u, max_connections=%u)", threads,
                 o->max_connections);
        close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

unsigned http_port(const http_server *s) { return s->port; }
int http_is_ipv6(const http_server *s) { return s->ipv6; }

void http_stop(http_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    close(s->fd);
    free(s);
}
