/*
 * sdnotify.h — the systemd notify protocol (sd_notify(3)): one datagram per
 * message to the unix socket named by $NOTIFY_SOCKET ("/path" or "@abstract").
 * Without $NOTIFY_SOCKET (not started by systemd with Type=notify) every call
 * does nothing.
 *
 * The watchdog: when systemd asks for one ($WATCHDOG_USEC, and $WATCHDOG_PID
 * unset or ours), a thread sends WATCHDOG=1 every half interval, each time
 * only after the server answered GET /healthz on its own listener: a server
 * whose HTTP workers hang stops pinging and systemd restarts it.
 */
#ifndef OPENFOTA_SERVER_SDNOTIFY_H
#define OPENFOTA_SERVER_SDNOTIFY_H

#include <stdint.h>

/* Send one message ("READY=1", "STOPPING=1", "STATUS=..."). 1 sent, 0 no
 * $NOTIFY_SOCKET, -1 error (logged once per call). msg is copied. */
int sdnotify_send(const char *msg);

/* The watchdog interval systemd asks for, in microseconds; 0 for none. */
uint64_t sdnotify_watchdog_usec(void);

typedef struct sdnotify_watchdog sdnotify_watchdog;

/* Start the watchdog thread probing http://host:port/healthz, or https://
 * when tls is set (a server with --listen none; the certificate is not
 * checked: it is our own listener). host as in --listen; 0.0.0.0 and :: are
 * probed on loopback; host is copied. NULL when no watchdog is asked for or
 * the thread could not start (logged). */
sdnotify_watchdog *sdnotify_watchdog_start(const char *host, unsigned port, int tls, uint64_t usec);
/* Stop and free; NULL is fine. */
void sdnotify_watchdog_stop(sdnotify_watchdog *w);

/* One GET /healthz on host:port (over TLS when tls is set) within about
 * timeout_ms: 1 when it answered 200. */
int sdnotify_probe(const char *host, unsigned port, int tls, int timeout_ms);

#endif
