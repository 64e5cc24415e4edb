/*
 * posix_transport.c — sockets transport for the host (see fota_port_posix.h).
 *
 * Every wait is a poll() with the caller's timeout, so a silent peer costs
 * at most that timeout. DNS failure, refusal and unreachable hosts all map
 * to FOTA_ERR_CONNECT (libfota2 result 1).
 */
#include "fota_port_posix.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fota_conn {
  int fd;
  void *tls; /* NULL for plain TCP */
};

static int wait_fd(int fd, short ev, unsigned timeout_ms)
{
  struct pollfd p = {.fd = fd, .events = ev};
  for (;;) {
    int r = poll(&p, 1, timeout_ms > 0x7fffffffu ? 0x7fffffff : (int)timeout_ms);
    if (r > 0)
      return 0;
    if (r == 0)
      return FOTA_ERR_TIMEOUT;
    if (errno != EINTR)
      return FOTA_ERR_IO;
  }
}

static int connect_one(const struct addrinfo *ai, unsigned timeout_ms)
{
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0)
    return -1;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
    return fd;
  if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, timeout_ms) == 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
      return fd;
  }
  close(fd);
  return -1;
}

static int tcp_connect(void *ctx, const fota_target *t, const fota_opts *opts, unsigned timeout_ms,
                       fota_conn **out)
{
  (void)ctx;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)t->port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(t->host, port, &hints, &res) != 0 || !res)
    return FOTA_ERR_CONNECT;
  int fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
    fd = connect_one(ai, timeout_ms);
  freeaddrinfo(res);
  if (fd < 0)
    return FOTA_ERR_CONNECT;
  fota_conn *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return FOTA_ERR_IO;
  }
  c->fd = fd;
  if (t->tls) {
    int rc = fota_tls_connect(fd, t->host, opts, timeout_ms, &c->tls);
    if (rc) {
      close(fd);
      free(c);
      return rc;
    }
  }
  *out = c;
  return 0;
}

static int tcp_send(void *ctx, fota_conn *c, const void *buf, size_t len, unsigned timeout_ms)
{
  (void)ctx;
  if (c->tls)
    return fota_tls_send(c->tls, buf, len, timeout_ms);
  const char *p = buf;
  while (len) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int rc = wait_fd(c->fd, POLLOUT, timeout_ms);
      if (rc)
        return rc;
      continue;
    }
    return FOTA_ERR_IO;
  }
  return 0;
}

static long tcp_recv(void *ctx, fota_conn *c, void *buf, size_t cap, unsigned timeout_ms)
{
  (void)ctx;
  if (c->tls)
    return fota_tls_recv(c->tls, buf, cap, timeout_ms);
  for (;;) {
    ssize_t n = recv(c->fd, buf, cap, 0);
    if (n >= 0)
      return (long)n;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int rc = wait_fd(c->fd, POLLIN, timeout_ms);
      if (rc)
        return rc;
      continue;
    }
    return errno == ECONNRESET ? FOTA_ERR_IO : FOTA_ERR_IO;
  }
}

static void tcp_close(void *ctx, fota_conn *c)
{
  (void)ctx;
  if (!c)
    return;
  if (c->tls)
    fota_tls_close(c->tls);
  close(c->fd);
  free(c);
}

const fota_transport *fota_posix_transport(void)
{
  static const fota_transport t = {NULL, tcp_connect, tcp_send, tcp_recv, tcp_close};
  return &t;
}
