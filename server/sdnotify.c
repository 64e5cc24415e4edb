/*
 * sdnotify.c — systemd notify protocol and watchdog (sdnotify.h).
 */
#include "sdnotify.h"

#include "log.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int sdnotify_send(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == 0)
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t pl = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || pl >= sizeof sa.sun_path) {
        log_warn("NOTIFY_SOCKET '%.100s' is not a socket path or @abstract name; systemd is not told '%s'", path, msg);
        return -1;
    }
    memcpy(sa.sun_path, path, pl);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warn("cannot tell systemd '%s': %s", msg, strerror(errno));
        return -1;
    }
    ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, alen);
    int e = errno;
    close(fd);
    if (n < 0) {
        log_warn("cannot tell systemd '%s' through %s: %s", msg, path, strerror(e));
        return -1;
    }
    return 1;
}

uint64_t sdnotify_watchdog_usec(void)
{
    const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (us == NULL || us[0] < '0' || us[0] > '9')
        return 0;
    if (pid != NULL && pid[0] && strtoll(pid, NULL, 10) != (long long)getpid())
        return 0; /* meant for another process (we were started by a wrapper) */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(us, &end, 10);
    if (errno || *end || v == 0)
        return 0;
    return (uint64_t)v;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The TLS probe: a blocking socket with send/receive deadlines, one
 * handshake, one request, the status line. */
static int probe_tls(const struct addrinfo *ai, const char *req, size_t rl, int timeout_ms)
{
    int ok = 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ctx == NULL || fd < 0)
        goto out;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        goto out;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* our own listener on this host */
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1)
        goto out;
    if (SSL_write(ssl, req, (int)rl) != (int)rl)
        goto out;
    char buf[64];
    int got = 0;
    while (got < 12) {
        int n = SSL_read(ssl, buf + got, (int)sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += n;
    }
    buf[got] = 0;
    ok = got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200", 4);
out:
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return ok;
}

int sdnotify_probe(const char *host, unsigned port, int tls, int timeout_ms)
{
    const char *h = host;
    if (!strcmp(h, "0.0.0.0") || h[0] == 0)
        h = "127.0.0.1";
    else if (!strcmp(h, "::"))
        h = "::1";
    char ps[16];
    snprintf(ps, sizeof ps, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(h, ps, &hints, &ai) != 0 || ai == NULL)
        return 0;
    char req[128];
    int rl = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                      strchr(h, ':') ? "localhost" : h);
    if (tls) {
        int r = probe_tls(ai, req, (size_t)rl, timeout_ms);
        freeaddrinfo(ai);
        return r;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int ok = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    if (fd < 0)
        goto out;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
        goto out;
    size_t sent = 0;
    char buf[64];
    size_t got = 0;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            goto out;
        struct pollfd p = {.fd = fd, .events = sent < (size_t)rl ? POLLOUT : POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            goto out;
        if (sent < (size_t)rl) {
            ssize_t n = send(fd, req + sent, (size_t)rl - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                goto out;
            if (n > 0)
                sent += (size_t)n;
            continue;
        }
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= 12 || got == sizeof buf - 1)
            break;
    }
    buf[got] = 0;
    ok = got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200", 4);
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return ok;
}

struct sdnotify_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    char host[256];
    unsigned port;
    int tls;
    uint64_t usec;
};

static void *watchdog_main(void *arg)
{
    sdnotify_watchdog *w = arg;
    uint64_t half_ms = w->usec / 2000;
    if (half_ms < 10)
        half_ms = 10;
    int timeout_ms = half_ms / 2 > 5000 ? 5000 : (int)(half_ms / 2);
    int was_ok = 1;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        pthread_mutex_unlock(&w->mu);
        int ok = sdnotify_probe(w->host, w->port, w->tls, timeout_ms);
        if (ok)
            sdnotify_send("WATCHDOG=1");
        else if (was_ok)
            log_warn("watchdog: GET /healthz on the own listener got no 200 within %d ms; systemd is not pinged "
                     "(it restarts the server when this lasts)",
                     timeout_ms);
        if (ok && !was_ok)
            log_info("watchdog: /healthz answers again");
        was_ok = ok;
        pthread_mutex_lock(&w->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(half_ms / 1000);
        ts.tv_nsec += (long)(half_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

sdnotify_watchdog *sdnotify_watchdog_start(const char *host, unsigned port, int tls, uint64_t usec)
{
    if (usec == 0)
        return NULL;
    sdnotify_watchdog *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    snprintf(w->host, sizeof w->host, "%s", host);
    w->port = port;
    w->tls = tls;
    w->usec = usec;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        log_error("watchdog: cannot start its thread; systemd will restart the server when WatchdogSec passes");
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    log_info("watchdog: pinging systemd every %llu ms while /healthz answers",
             (unsigned long long)(usec / 2000));
    return w;
}

void sdnotify_watchdog_stop(sdnotify_watchdog *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
