/*
 * push_tcp.h — the TCP push listener: one epoll thread, non-blocking
 * sockets, a device identifies itself with its first line (push_parse.h) and
 * then stays connected; the server writes one command line to it.
 *
 * Limits: line_max bytes per line, a handshake deadline for the first line
 * (slowloris), an idle timeout, TCP keepalive, PUSH_LINES_PER_S lines a
 * second, a read budget per connection and turn, a connection cap (new
 * connections over the cap are accepted and closed at once, so the backlog
 * never fills). Every refusal is counted and logged (rate-limited).
 *
 * Thread safety: push_tcp_send / push_tcp_connected / push_tcp_stats may be
 * called from any thread; callbacks run on the listener thread and must not
 * call back into push_tcp.
 */
#ifndef OPENFOTA_FLEET_PUSH_TCP_H
#define OPENFOTA_FLEET_PUSH_TCP_H

#include <stddef.h>
#include <stdint.h>

#define PUSH_LINES_PER_S 20 /* lines a second from one identified device before it is closed */

struct push_tcp_cfg {
    const char *listen;      /* "HOST:PORT", borrowed during push_tcp_new */
    unsigned max_conn;
    unsigned line_max;
    unsigned handshake_ms;
    unsigned idle_s;
    unsigned keepalive_s;
    void *ctx;
    /* a device identified itself (version may be "") */
    void (*on_ident)(void *ctx, const char *device_id, const char *version);
    /* a command could not be written (the device went away first) */
    void (*on_undelivered)(void *ctx, const char *device_id);
    void (*log)(void *ctx, int level, const char *msg);
    /* device authentication: NULL = off; else push_key_len bytes (copied) —
     * every connection first gets {"nonce":"…"} and must identify with a
     * matching "auth" (push_parse.h) */
    const unsigned char *push_key;
    size_t push_key_len;
};

struct push_tcp_stats {
    uint64_t connected;          /* open connections now */
    uint64_t identified;         /* of which identified */
    uint64_t accepted;           /* total accepted */
    uint64_t refused_cap;        /* closed at once: over the connection cap */
    uint64_t bad_first_line;     /* garbage first line */
    uint64_t auth_refused;       /* push key set: first line without auth or with a wrong one */
    uint64_t long_lines;         /* line over line_max */
    uint64_t handshake_timeouts; /* no first line in time (slowloris) */
    uint64_t idle_timeouts;
    uint64_t replaced;           /* a device connected again: older connection closed */
    uint64_t commands_sent;      /* command lines fully written */
    uint64_t heartbeats;         /* lines after the first */
    uint64_t line_floods;        /* closed: more than PUSH_LINES_PER_S lines in a second */
};

struct push_tcp;

/* Binds and listens (does not start the thread). NULL on failure (logged). */
struct push_tcp *push_tcp_new(const struct push_tcp_cfg *cfg);
int push_tcp_start(struct push_tcp *t);
void push_tcp_stop(struct push_tcp *t);
void push_tcp_free(struct push_tcp *t);
int push_tcp_port(const struct push_tcp *t);
/* Queues line (len bytes, copied) for the device. 0 when the device is
 * connected now, FLEET_ERR_NOTFOUND when not (nothing queued). */
int push_tcp_send(struct push_tcp *t, const char *device_id, const char *line, size_t len);
int push_tcp_connected(struct push_tcp *t, const char *device_id);
void push_tcp_get_stats(struct push_tcp *t, struct push_tcp_stats *out);

/* Raises RLIMIT_NOFILE's soft limit towards want (up to the hard limit).
 * Returns the resulting soft limit. */
long push_tcp_raise_nofile(long want);

#endif
