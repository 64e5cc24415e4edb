/*
 * request.c — libfota2.request(): one check, one result code.
 *
 * Behaviour of the LuatOS library this mirrors: one HTTP/1.1 request with
 * the options' URL/parameters, no redirects, no Range; a 200/206 body is the
 * package and goes to the module's update area (here: the inactive slot of
 * the storage port); the callback gets 0–5 exactly once. The overall
 * timeout (default 300 s) bounds connect + send + the whole response.
 *
 * Body framing: Content-Length or chunked; without either the body runs to
 * the close of the connection (Connection: Close is always sent).
 */
#include "fota_internal.h"

#include <string.h>

static const fota_ports *g_ports;
static volatile int g_running;

void fota_set_ports(const fota_ports *ports) { g_ports = ports; }
const fota_ports *fota_get_ports(void) { return g_ports; }

int fota__guard_enter(void)
{
  return __atomic_exchange_n(&g_running, 1, __ATOMIC_ACQ_REL) ? FOTA_ERR_BUSY : 0;
}

void fota__guard_leave(void) { __atomic_store_n(&g_running, 0, __ATOMIC_RELEASE); }

int fota_running(void) { return __atomic_load_n(&g_running, __ATOMIC_ACQUIRE); }

typedef struct sink {
  fota_http *http;
  fota__writer w;
  char why[96];   /* start of a "no upgrade" body, for its JSON code */
  size_t why_len;
} sink;

static int sink_body(void *user, const uint8_t *d, size_t n)
{
  sink *s = user;
  if (s->http->status != 200 && s->http->status != 206) {
    /* "no upgrade" answers: keep the first bytes (the vendor's JSON reason) */
    size_t room = sizeof s->why - 1 - s->why_len;
    size_t t = n < room ? n : room;
    for (size_t i = 0; i < t; i++)
      s->why[s->why_len++] = (char)d[i];
    return 0;
  }
  return fota__writer_put(&s->w, d, n);
}

/* The slot a libfota2-style download goes to: the inactive one; slot B
 * when no boot state exists yet (slot A runs). When the other slot holds an
 * image still on trial, *cap becomes 0 so any body is refused (result 4)
 * rather than overwriting it. */
static unsigned pick_slot(const fota_storage *st, uint64_t *cap)
{
  *cap = UINT64_MAX;
  if (!st)
    return ~0u;
  int s = fota_inactive_slot(st);
  if (s == FOTA_ERR_BUSY) {
    *cap = 0;
    return FOTA_SLOT_B;
  }
  unsigned slot = s >= 0 ? (unsigned)s : FOTA_SLOT_B;
  *cap = st->slot_size(st->ctx, slot);
  return slot;
}

int fota_request_ex(const fota_ports *ports, const fota_opts *opts, fota_callback cb, void *user)
{
  if (!ports || !ports->transport || !ports->system || !opts)
    return FOTA_ERR_INVAL;
  int rc = fota__guard_enter();
  if (rc)
    return rc;
  fota_report rep;
  memset(&rep, 0, sizeof rep);
  const fota_system *sys = ports->system;
  unsigned timeout = opts->timeout_ms ? opts->timeout_ms
                     : ports->storage ? FOTA_DEFAULT_FLASH_TIMEOUT_MS : FOTA_DEFAULT_TIMEOUT_MS;
  uint64_t deadline = sys->now_ms(sys->ctx) + timeout;
  fota_http http;
  sink s;
  s.http = &http;
  uint64_t cap;
  unsigned slot = pick_slot(ports->storage, &cap);
  fota__writer_init(&s.w, ports->storage, slot, cap, NULL);
  http.status = 0;
  s.why_len = 0;
  rc = fota__exchange(ports, opts, NULL, deadline, 0, &http, sink_body, &s);
  rep.err = rc;
  rep.status = http.status;
  rep.body_len = s.w.off;
  rep.total_len = s.w.off;
  rep.slot = s.w.off ? slot : ~0u;
  if (rc == FOTA_OK && (http.status == 200 || http.status == 206) && s.w.off == 0)
    rep.err = FOTA_ERR_EMPTY;
  else if (rc == FOTA_OK && http.status != 200 && http.status != 206)
    rep.err = FOTA_ERR_HTTP_STATUS;
  fota_md5_final(&s.w.md5, rep.md5);
  fota_sha256_final(&s.w.sha, rep.sha256);
  rep.vendor_code = http.status >= 300 ? fota__vendor_code(s.why, s.why_len) : -1;
  rep.result = fota_result_from_http(rc, http.status, s.w.off);
  fota__guard_leave();
  if (cb)
    cb(rep.result, &rep, user);
  return rep.result;
}

int fota_request(const fota_opts *opts, fota_callback cb, void *user)
{
  if (!g_ports)
    return FOTA_ERR_INVAL;
  return fota_request_ex(g_ports, opts, cb, user);
}
