/*
 * push_tcp.c — the TCP push listener (see push_tcp.h).
 *
 * Design: one thread runs epoll (level-triggered) over the listening socket,
 * an eventfd (wakes it when another thread queued a command) and every
 * connection. Connections live in a table indexed by fd; identified ones are
 * also in a map device id → connection, guarded by a mutex because other
 * threads ask "is this device connected?". Timers are a scan of the table a
 * few times a second — cheap at 10^4 connections and free of timer-wheel
 * bookkeeping.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "offleet.h"
#include "push_parse.h"
#include "push_tcp.h"
#include "smap.h"

#define OUTBUF_MAX 4096 /* pending bytes to one device before it is dropped */
#define READ_BUDGET 16384 /* bytes read from one connection per turn; then the others go first */

struct conn {
    int fd;
    int identified;
    char id[PUSH_ID_MAX + 1];
    char nonce[PUSH_NONCE_HEX + 1]; /* sent on accept when a push key is set */
    char peer[64];
    int64_t accepted_ms, last_rx_ms;
    size_t inlen;
    int discarding;     /* inside an over-long line after identification */
    int64_t lines_t0;   /* start of the current one-second line window */
    unsigned lines;     /* lines in that window (PUSH_LINES_PER_S at most) */
    char *in;           /* line_max + 1 bytes */
    char *out;          /* OUTBUF_MAX bytes while a command is being written, else NULL */
    size_t outlen;
    int want_out;
};

struct sendq {
    struct sendq *next;
    size_t len;
    char id[PUSH_ID_MAX + 1];
    char line[];
};

struct push_tcp {
    struct push_tcp_cfg cfg;
    unsigned char key[PUSH_KEY_MAX];
    int lfd, efd, wakefd, spare_fd;
    int port;
    pthread_t thr;
    int running;
    struct conn **byfd;
    size_t nfd;
    pthread_mutex_t mu;        /* guards ids, sendq, stats */
    struct smap ids;           /* device id → struct conn * */
    struct sendq *q_head, *q_tail;
    struct push_tcp_stats st;
    /* log rate limit */
    int64_t log_window;
    unsigned log_count, log_dropped;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tlog(struct push_tcp *t, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tlog(struct push_tcp *t, int level, const char *fmt, ...)
{
    int64_t sec = now_ms() / 1000;
    if (level == FLEET_LOG_WARN || level == FLEET_LOG_INFO) {
        /* per-connection events: at most 20 lines a second, the rest counted */
        if (sec != t->log_window) {
            if (t->log_dropped && t->cfg.log) {
                char m[160];
                snprintf(m, sizeof m, "push: %u more push-port events in the last second (counted in the status, not logged one by one)",
                         t->log_dropped);
                t->cfg.log(t->cfg.ctx, FLEET_LOG_WARN, m);
            }
            t->log_window = sec;
            t->log_count = 0;
            t->log_dropped = 0;
        }
        if (++t->log_count > 20) {
            t->log_dropped++;
            return;
        }
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t->cfg.log)
        t->cfg.log(t->cfg.ctx, level, msg);
}

long push_tcp_raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if ((long)rl.rlim_cur < want) {
        rlim_t target = (rlim_t)want;
        if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
            target = rl.rlim_max;
        rl.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (long)rl.rlim_cur;
}

static int split_hostport(const char *s, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        if ((size_t)(end - s - 1) >= hsize)
            return -1;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= hsize)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= psize)
        return -1;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    snprintf(port, psize, "%s", colon + 1);
    return 0;
}

struct push_tcp *push_tcp_new(const struct push_tcp_cfg *cfg)
{
    struct push_tcp *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->cfg = *cfg;
    t->cfg.listen = NULL;
    if (cfg->push_key && cfg->push_key_len) {
        if (cfg->push_key_len < PUSH_KEY_MIN || cfg->push_key_len > PUSH_KEY_MAX) {
            tlog(t, FLEET_LOG_ERROR, "push: the push key must be %d to %d bytes", PUSH_KEY_MIN, PUSH_KEY_MAX);
            free(t);
            return NULL;
        }
        memcpy(t->key, cfg->push_key, cfg->push_key_len);
        t->cfg.push_key = t->key;
    } else {
        t->cfg.push_key = NULL;
        t->cfg.push_key_len = 0;
    }
    t->lfd = t->efd = t->wakefd = t->spare_fd = -1;
    smap_init(&t->ids);
    pthread_mutex_init(&t->mu, NULL);
    char host[256], port[16];
    if (split_hostport(cfg->listen, host, sizeof host, port, sizeof port) < 0) {
        tlog(t, FLEET_LOG_ERROR, "push: cannot read listen address '%s': use HOST:PORT, e.g. 0.0.0.0:9100",
             cfg->listen);
        goto fail;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai) {
        tlog(t, FLEET_LOG_ERROR, "push: cannot resolve '%s': %s", cfg->listen, gai_strerror(gai));
        goto fail;
    }
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0) {
            t->lfd = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    if (t->lfd < 0) {
        tlog(t, FLEET_LOG_ERROR, "push: cannot listen on %s: %s (is the port in use?)", cfg->listen,
             strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(t->lfd, (struct sockaddr *)&ss, &sl);
    t->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    long lim = push_tcp_raise_nofile((long)t->cfg.max_conn + 64);
    if (lim > 0 && (long)t->cfg.max_conn + 32 > lim) {
        tlog(t, FLEET_LOG_WARN, "push: open-file limit is %ld; connection cap lowered from %u to %ld "
             "(raise 'ulimit -n' for more)", lim, t->cfg.max_conn, lim - 32);
        t->cfg.max_conn = (unsigned)(lim - 32);
    }
    t->nfd = (size_t)(lim > 0 ? lim : 1024) + 16;
    t->byfd = calloc(t->nfd, sizeof *t->byfd);
    t->efd = epoll_create1(EPOLL_CLOEXEC);
    t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!t->byfd || t->efd < 0 || t->wakefd < 0)
        goto fail;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = t->lfd};
    epoll_ctl(t->efd, EPOLL_CTL_ADD, t->lfd, &ev);
    ev.data.fd = t->wakefd;
    epoll_ctl(t->efd, EPOLL_CTL_ADD, t->wakefd, &ev);
    return t;
fail:
    push_tcp_free(t);
    return NULL;
}

int push_tcp_port(const struct push_tcp *t)
{
    return t ? t->port : 0;
}

static void conn_close(struct push_tcp *t, struct conn *c, const char *why)
{
    if (why)
        tlog(t, FLEET_LOG_INFO, "push: closed %s%s%s: %s", c->peer, c->identified ? " device " : "",
             c->identified ? c->id : "", why);
    pthread_mutex_lock(&t->mu);
    if (c->identified && smap_get(&t->ids, c->id) == c) {
        smap_del(&t->ids, c->id);
        t->st.identified--;
    }
    t->st.connected--;
    pthread_mutex_unlock(&t->mu);
    epoll_ctl(t->efd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    t->byfd[c->fd] = NULL;
    free(c->in);
    free(c->out);
    free(c);
}

/* Writes as much of c->out as the socket takes. Returns -1 when the
 * connection failed and was closed. */
static int conn_flush(struct push_tcp *t, struct conn *c)
{
    while (c->outlen) {
        ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            if (c->identified && t->cfg.on_undelivered)
                t->cfg.on_undelivered(t->cfg.ctx, c->id);
            conn_close(t, c, "write failed");
            return -1;
        }
        memmove(c->out, c->out + n, c->outlen - (size_t)n);
        c->outlen -= (size_t)n;
    }
    int want = c->outlen > 0;
    if (!want && c->out) { /* idle connections hold no output buffer */
        free(c->out);
        c->out = NULL;
    }
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = c->fd};
        epoll_ctl(t->efd, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
    return 0;
}

/* A fresh random nonce for c, sent as the server's first line. The socket
 * was just accepted: its send buffer is empty, the line fits at once. */
static int send_nonce(struct conn *c)
{
    unsigned char r[PUSH_NONCE_HEX / 2];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    push_hex(r, sizeof r, c->nonce);
    char line[PUSH_NONCE_HEX + 16];
    int l = snprintf(line, sizeof line, "{\"nonce\":\"%s\"}\n", c->nonce);
    return send(c->fd, line, (size_t)l, MSG_NOSIGNAL | MSG_DONTWAIT) == l ? 0 : -1;
}

static void do_accept(struct push_tcp *t)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && t->spare_fd >= 0) {
                /* out of descriptors: free the spare, take the connection
                 * off the queue and close it, so the backlog drains */
                close(t->spare_fd);
                fd = accept(t->lfd, NULL, NULL);
                if (fd >= 0)
                    close(fd);
                t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                pthread_mutex_lock(&t->mu);
                t->st.refused_cap++;
                pthread_mutex_unlock(&t->mu);
                tlog(t, FLEET_LOG_WARN, "push: out of file descriptors; refused a connection");
                continue;
            }
            break;
        }
        char peer[64] = "?";
        char hbuf[48], sbuf[8];
        if (getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof hbuf, sbuf, sizeof sbuf,
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            snprintf(peer, sizeof peer, "%s:%s", hbuf, sbuf);
        pthread_mutex_lock(&t->mu);
        int over = t->st.connected >= t->cfg.max_conn;
        if (over)
            t->st.refused_cap++;
        pthread_mutex_unlock(&t->mu);
        if (over || (size_t)fd >= t->nfd) {
            close(fd);
            tlog(t, FLEET_LOG_WARN, "push: refused %s: %u connections open (the cap)", peer, t->cfg.max_conn);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        char *in = malloc(t->cfg.line_max + 1);
        if (!c || !in) {
            free(c);
            free(in);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->in = in;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        c->accepted_ms = c->last_rx_ms = now_ms();
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        int idle = (int)t->cfg.keepalive_s, intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(t->efd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c->in);
            free(c);
            close(fd);
            continue;
        }
        t->byfd[fd] = c;
        pthread_mutex_lock(&t->mu);
        t->st.accepted++;
        t->st.connected++;
        pthread_mutex_unlock(&t->mu);
        if (t->cfg.push_key && send_nonce(c) < 0)
            conn_close(t, c, "could not send the nonce");
    }
}

/* Handles one complete line; returns -1 when the connection was closed. */
static int conn_line(struct push_tcp *t, struct conn *c, const char *line, size_t len)
{
    if (c->identified) {
        /* heartbeats come every few minutes: a stream of lines (empty
         * ones are the cheapest to send) is a flood, not a device */
        int64_t now = now_ms();
        if (now - c->lines_t0 >= 1000) {
            c->lines_t0 = now;
            c->lines = 0;
        }
        int flood = ++c->lines > PUSH_LINES_PER_S;
        pthread_mutex_lock(&t->mu);
        if (flood)
            t->st.line_floods++;
        else
            t->st.heartbeats++;
        pthread_mutex_unlock(&t->mu);
        if (flood) {
            tlog(t, FLEET_LOG_WARN, "push: %s device %s sent more than %d lines in a second; closing", c->peer,
                 c->id, PUSH_LINES_PER_S);
            conn_close(t, c, NULL);
            return -1;
        }
        return 0;
    }
    char id[PUSH_ID_MAX + 1], ver[PUSH_VERSION_MAX + 1], auth[PUSH_AUTH_HEX + 1];
    const char *why = NULL;
    if (push_parse_ident_auth(line, len, id, ver, auth, &why) != 0) {
        pthread_mutex_lock(&t->mu);
        t->st.bad_first_line++;
        pthread_mutex_unlock(&t->mu);
        tlog(t, FLEET_LOG_WARN, "push: %s sent a bad first line (%zu bytes): %s", c->peer, len, why);
        static const char msg[] =
            "{\"error\":\"bad first line: send the device id (IMEI digits) or {\\\"imei\\\":\\\"...\\\"} "
            "and a newline\"}\n";
        (void)!send(c->fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        conn_close(t, c, NULL);
        return -1;
    }
    if (t->cfg.push_key) {
        /* checked before the id is taken: an impostor never displaces the
         * device's own connection */
        const char *err = NULL;
        if (!auth[0])
            err = memchr(line, '{', len)
                      ? "{\"error\":\"auth required: this server authenticates devices; answer the nonce with "
                        "{\\\"imei\\\":\\\"...\\\",\\\"auth\\\":\\\"<hex HMAC-SHA256>\\\"}\"}\n"
                      : "{\"error\":\"auth required: a plain id line is not accepted; answer the nonce with "
                        "{\\\"imei\\\":\\\"...\\\",\\\"auth\\\":\\\"<hex HMAC-SHA256>\\\"}\"}\n";
        else if (push_auth_verify(t->cfg.push_key, t->cfg.push_key_len, c->nonce, id, auth) != 0)
            err = "{\"error\":\"auth does not match: HMAC-SHA256(device key, nonce + device id) expected\"}\n";
        if (err) {
            pthread_mutex_lock(&t->mu);
            t->st.auth_refused++;
            pthread_mutex_unlock(&t->mu);
            tlog(t, FLEET_LOG_WARN, "push: %s claimed device %s %s; refused", c->peer, id,
                 auth[0] ? "with a wrong auth" : "without auth");
            (void)!send(c->fd, err, strlen(err), MSG_NOSIGNAL | MSG_DONTWAIT);
            conn_close(t, c, NULL);
            return -1;
        }
    }
    memcpy(c->id, id, sizeof id);
    c->identified = 1;
    pthread_mutex_lock(&t->mu);
    struct conn *old = smap_get(&t->ids, c->id);
    int rc = smap_put(&t->ids, c->id, c, NULL);
    if (rc == 0 && old) {
        old->identified = 0; /* no longer the device's connection */
        t->st.replaced++;
    } else if (rc == 0) {
        t->st.identified++;
    }
    pthread_mutex_unlock(&t->mu);
    if (rc < 0) {
        c->identified = 0;
        conn_close(t, c, "out of memory");
        return -1;
    }
    if (old) {
        tlog(t, FLEET_LOG_INFO, "push: device %s connected again from %s; closing its older connection %s",
             c->id, c->peer, old->peer);
        conn_close(t, old, NULL);
    }
    tlog(t, FLEET_LOG_DEBUG, "push: device %s connected from %s", c->id, c->peer);
    if (t->cfg.on_ident)
        t->cfg.on_ident(t->cfg.ctx, c->id, ver);
    return 0;
}

/* Reads at most READ_BUDGET bytes: the epoll set is level-triggered, so
 * what is left brings the connection back on the next round, after the
 * others had their turn (one busy client never holds the thread). */
static void conn_read(struct push_tcp *t, struct conn *c)
{
    char buf[4096];
    for (size_t budget = READ_BUDGET; budget > 0; budget -= sizeof buf) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0) {
            conn_close(t, c, c->identified ? "device closed the connection" : NULL);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                conn_close(t, c, "read failed");
            return;
        }
        c->last_rx_ms = now_ms();
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                if (c->discarding) {
                    c->discarding = 0;
                    c->inlen = 0;
                    continue;
                }
                c->in[c->inlen] = '\0';
                size_t len = c->inlen;
                c->inlen = 0;
                if (conn_line(t, c, c->in, len) < 0)
                    return;
                continue;
            }
            if (c->discarding)
                continue;
            if (c->inlen >= t->cfg.line_max) {
                pthread_mutex_lock(&t->mu);
                t->st.long_lines++;
                pthread_mutex_unlock(&t->mu);
                tlog(t, FLEET_LOG_WARN, "push: %s%s%s sent a line over %u bytes; closing", c->peer,
                     c->identified ? " device " : "", c->identified ? c->id : "", t->cfg.line_max);
                conn_close(t, c, NULL);
                return;
            }
            c->in[c->inlen++] = ch;
        }
    }
}

static void drain_sendq(struct push_tcp *t)
{
    uint64_t v;
    while (read(t->wakefd, &v, sizeof v) > 0) {
    }
    pthread_mutex_lock(&t->mu);
    struct sendq *q = t->q_head;
    t->q_head = t->q_tail = NULL;
    pthread_mutex_unlock(&t->mu);
    while (q) {
        struct sendq *next = q->next;
        pthread_mutex_lock(&t->mu);
        struct conn *c = smap_get(&t->ids, q->id);
        pthread_mutex_unlock(&t->mu);
        if (c && !c->out)
            c->out = malloc(OUTBUF_MAX);
        if (!c || !c->out || c->outlen + q->len > OUTBUF_MAX) {
            if (c) {
                tlog(t, FLEET_LOG_WARN, "push: device %s does not read its commands; closing", c->id);
                conn_close(t, c, NULL);
            }
            if (t->cfg.on_undelivered)
                t->cfg.on_undelivered(t->cfg.ctx, q->id);
        } else {
            memcpy(c->out + c->outlen, q->line, q->len);
            c->outlen += q->len;
            if (conn_flush(t, c) == 0) {
                pthread_mutex_lock(&t->mu);
                t->st.commands_sent++;
                pthread_mutex_unlock(&t->mu);
            }
        }
        free(q);
        q = next;
    }
}

static void scan_timers(struct push_tcp *t)
{
    int64_t now = now_ms();
    for (size_t fd = 0; fd < t->nfd; fd++) {
        struct conn *c = t->byfd[fd];
        if (!c)
            continue;
        if (!c->identified && now - c->accepted_ms > (int64_t)t->cfg.handshake_ms) {
            pthread_mutex_lock(&t->mu);
            t->st.handshake_timeouts++;
            pthread_mutex_unlock(&t->mu);
            tlog(t, FLEET_LOG_WARN, "push: %s sent no complete first line within %u ms (%zu bytes so far); closing",
                 c->peer, t->cfg.handshake_ms, c->inlen);
            conn_close(t, c, NULL);
        } else if (c->identified && now - c->last_rx_ms > (int64_t)t->cfg.idle_s * 1000) {
            /* (before its first line only the handshake deadline applies) */
            pthread_mutex_lock(&t->mu);
            t->st.idle_timeouts++;
            pthread_mutex_unlock(&t->mu);
            tlog(t, FLEET_LOG_INFO, "push: %s%s%s idle for %u s; closing", c->peer,
                 c->identified ? " device " : "", c->identified ? c->id : "", t->cfg.idle_s);
            conn_close(t, c, NULL);
        }
    }
}

static void *tcp_thread(void *arg)
{
    struct push_tcp *t = arg;
    struct epoll_event evs[256];
    int64_t last_scan = now_ms();
    while (__atomic_load_n(&t->running, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(t->efd, evs, 256, 200);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == t->lfd) {
                do_accept(t);
            } else if (fd == t->wakefd) {
                drain_sendq(t);
            } else if ((size_t)fd < t->nfd && t->byfd[fd]) {
                struct conn *c = t->byfd[fd];
                if (evs[i].events & EPOLLOUT) {
                    if (conn_flush(t, c) < 0)
                        continue;
                }
                if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                    conn_read(t, c);
            }
        }
        int64_t now = now_ms();
        if (now - last_scan >= 250) {
            scan_timers(t);
            last_scan = now;
        }
    }
    return NULL;
}

int push_tcp_start(struct push_tcp *t)
{
    __atomic_store_n(&t->running, 1, __ATOMIC_RELEASE);
    if (pthread_create(&t->thr, NULL, tcp_thread, t) != 0) {
        t->running = 0;
        return FLEET_ERR_IO;
    }
    return 0;
}

void push_tcp_stop(struct push_tcp *t)
{
    if (!t || !__atomic_load_n(&t->running, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&t->running, 0, __ATOMIC_RELEASE);
    uint64_t one = 1;
    (void)!write(t->wakefd, &one, sizeof one);
    pthread_join(t->thr, NULL);
}

void push_tcp_free(struct push_tcp *t)
{
    if (!t)
        return;
    push_tcp_stop(t);
    if (t->byfd) {
        for (size_t fd = 0; fd < t->nfd; fd++)
            if (t->byfd[fd])
                conn_close(t, t->byfd[fd], NULL);
        free(t->byfd);
    }
    while (t->q_head) {
        struct sendq *n = t->q_head->next;
        free(t->q_head);
        t->q_head = n;
    }
    if (t->lfd >= 0)
        close(t->lfd);
    if (t->efd >= 0)
        close(t->efd);
    if (t->wakefd >= 0)
        close(t->wakefd);
    if (t->spare_fd >= 0)
        close(t->spare_fd);
    smap_free(&t->ids, NULL);
    pthread_mutex_destroy(&t->mu);
    memset(t->key, 0, sizeof t->key);
    free(t);
}

int push_tcp_send(struct push_tcp *t, const char *device_id, const char *line, size_t len)
{
    if (len > OUTBUF_MAX)
        return FLEET_ERR_LIMIT;
    pthread_mutex_lock(&t->mu);
    if (!smap_get(&t->ids, device_id)) {
        pthread_mutex_unlock(&t->mu);
        return FLEET_ERR_NOTFOUND;
    }
    struct sendq *q = malloc(sizeof *q + len);
    if (!q) {
        pthread_mutex_unlock(&t->mu);
        return FLEET_ERR_NOMEM;
    }
    q->next = NULL;
    q->len = len;
    snprintf(q->id, sizeof q->id, "%s", device_id);
    memcpy(q->line, line, len);
    if (t->q_tail)
        t->q_tail->next = q;
    else
        t->q_head = q;
    t->q_tail = q;
    pthread_mutex_unlock(&t->mu);
    uint64_t one = 1;
    (void)!write(t->wakefd, &one, sizeof one);
    return 0;
}

int push_tcp_connected(struct push_tcp *t, const char *device_id)
{
    pthread_mutex_lock(&t->mu);
    int yes = smap_get(&t->ids, device_id) != NULL;
    pthread_mutex_unlock(&t->mu);
    return yes;
}

void push_tcp_get_stats(struct push_tcp *t, struct push_tcp_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->st;
    pthread_mutex_unlock(&t->mu);
}
