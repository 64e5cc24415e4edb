/*
 * exchange.c — one HTTP request/response over the port vtables.
 *
 * Used by every network operation of the library (libfota2 request, agent
 * download, status report). Memory is fixed: the request head is built in a
 * FOTA_REQUEST_MAX buffer in its own stack frame (released before the
 * response is read), the response is read through a FOTA_RECV_CHUNK buffer
 * and the caller's fota_http.
 */
#include "fota_internal.h"

#include <string.h>

#ifndef FOTA_RECV_CHUNK
#define FOTA_RECV_CHUNK 1024
#endif

/* Builds and sends the head and body. Kept out of line so its request
 * buffer does not share the frame with the receive buffer. */
__attribute__((noinline)) static int send_request(const fota_ports *ports, const fota_opts *opts,
                                                  const char *extra, uint64_t deadline,
                                                  fota_conn **conn)
{
  const fota_transport *t = ports->transport;
  const fota_system *sys = ports->system;
  char head[FOTA_REQUEST_MAX];
  fota_target target;
  int n = fota__build_head(opts, extra, head, sizeof head, &target);
  if (n < 0)
    return n;
  unsigned left = fota__left_ms(sys, deadline);
  if (!left)
    return FOTA_ERR_TIMEOUT;
  int rc = t->connect(t->ctx, &target, opts, left, conn);
  if (rc)
    return rc;
  left = fota__left_ms(sys, deadline);
  rc = left ? t->send(t->ctx, *conn, head, (size_t)n, left) : FOTA_ERR_TIMEOUT;
  if (!rc && opts->body && opts->body_len) {
    left = fota__left_ms(sys, deadline);
    rc = left ? t->send(t->ctx, *conn, opts->body, opts->body_len, left) : FOTA_ERR_TIMEOUT;
  }
  if (rc) {
    t->close(t->ctx, *conn);
    *conn = NULL;
  }
  return rc;
}

int fota__exchange(const fota_ports *ports, const fota_opts *opts, const char *extra,
                   uint64_t deadline, unsigned read_timeout_ms, fota_http *http,
                   fota_http_body_fn fn, void *user)
{
  if (!ports || !ports->transport || !ports->system || !opts || !http)
    return FOTA_ERR_INVAL;
  const fota_transport *t = ports->transport;
  const fota_system *sys = ports->system;
  fota_conn *conn = NULL;
  int head_only = opts->method && strcmp(opts->method, "HEAD") == 0;
  fota_http_init(http);
  http->head_only = head_only;
  int rc = send_request(ports, opts, extra, deadline, &conn);
  if (rc)
    return rc;
  uint8_t buf[FOTA_RECV_CHUNK];
  for (;;) {
    unsigned left = fota__left_ms(sys, deadline);
    if (!left) {
      rc = FOTA_ERR_TIMEOUT;
      break;
    }
    unsigned wait = read_timeout_ms && read_timeout_ms < left ? read_timeout_ms : left;
    long got = t->recv(t->ctx, conn, buf, sizeof buf, wait);
    if (got == 0) {
      rc = fota_http_eof(http);
      break;
    }
    if (got < 0) {
      rc = (int)got;
      /* a reset inside the head is "closed inside the headers" for libfota2 */
      if (rc == FOTA_ERR_IO && !fota_http_head_done(http))
        rc = FOTA_ERR_CLOSED_HEADERS;
      break;
    }
    rc = fota_http_feed(http, buf, (size_t)got, fn, user);
    if (rc)
      break;
    if (http->state == FOTA_HTTP_DONE)
      break;
  }
  t->close(t->ctx, conn);
  return rc;
}
