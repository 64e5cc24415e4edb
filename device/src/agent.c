/*
 * agent.c — extended download for devices we control (fota_download).
 *
 * On top of the libfota2 exchange:
 *   - resume: after a cut, ask "Range: bytes=<off>-" with "If-Range: <etag>"
 *     (only when an ETag is known — resuming without a validator could splice
 *     two versions). 206 must start exactly at <off>; a 200 means the
 *     package changed (or the server ignores ranges): restart from zero.
 *     Resume also works across reboots: the caller persists fota_resume and
 *     the bytes already in the slot are re-hashed from flash.
 *   - hashes: MD5 and SHA-256 of every accepted byte, checked at the end
 *     against expect_md5/expect_sha256 when given.
 *   - length cap: min(slot size, max_len, expect_len). An announced length
 *     over the cap is refused before a byte is written; a server sending more
 *     than it announced is cut at the announced length by the parser; the
 *     writer never accepts a byte past the cap.
 *   - time: an overall deadline across all attempts and a per-read timeout,
 *     so a server dripping a byte a minute is abandoned.
 *   - framing: a 200/206 whose body just runs to the close is refused unless
 *     an expected length or hash is given (truncation would go unnoticed).
 *   - installers: with aopts->apply (delta), the body is fed to the installer
 *     instead of the slot; such downloads restart from zero after a cut.
 *   - server-made deltas: an installer that can install signed delta
 *     packages makes the request say "X-Openfota-Agent: signed,delta" (the
 *     server then waits for the delta rather than sending the full package
 *     meanwhile); a 503 with JSON code 43 ("delta being made") is waited
 *     out through the system port, Retry-After seconds (bounded), a bounded
 *     number of times, then FOTA_ERR_DELTA_PENDING.
 */
#include "fota_internal.h"

#include <string.h>

typedef struct dl {
  fota_http *http;
  fota__writer *w;
  fota_resume *r;
  uint64_t cap;
  int accepted;   /* head checked, body goes to the writer */
  int refused;    /* head refused: error code in `why` */
  int why;
  int restarted;  /* a 200 to a resumed request */
  int begun;      /* installer begun */
  const fota_agent_opts *ao;
  const fota_storage *st;
  unsigned slot;
  size_t msg_len;
  char msg[64];   /* start of a body that is not a package: its JSON {"code":N} */
} dl;

/* The agent header: sent when the installer can take what the server makes
 * for agents (signed delta packages), unless the caller's headers already
 * say it. check.c takes any value but "0" as "an agent that waits for the
 * delta"; the value names what this device can install. */
static const char agent_hdr[] = "X-Openfota-Agent: signed,delta\r\n";

static int announces_agent(const fota_opts *o, const fota_agent_opts *ao)
{
  const unsigned want = FOTA_CAP_SIGNED | FOTA_CAP_DELTA;
  return ao->apply && (ao->apply->caps & want) == want &&
         !fota__headers_have(o->headers, "x-openfota-agent:");
}

/* Seconds to wait after a code-43 answer: Retry-After clamped to 1..max,
 * the default when it is missing or not delta-seconds. */
static unsigned wait_s(long retry_after, unsigned max)
{
  unsigned long s = retry_after < 0 ? FOTA_DELTA_WAIT_DEFAULT_S : (unsigned long)retry_after;
  if (s < 1)
    s = 1;
  return s > max ? max : (unsigned)s;
}

/* Back to byte zero (and a fresh installer if one is running). */
static int restart_writer(dl *d)
{
  fota__writer_init(d->w, d->st, d->slot, d->cap, d->ao->apply);
  d->r->offset = 0;
  d->r->total = 0;
  d->r->etag[0] = '\0';
  if (d->ao->apply && d->begun) {
    if (d->ao->apply->abort)
      d->ao->apply->abort(d->ao->apply->ctx);
    d->begun = 0;
    int rc = d->ao->apply->begin(d->ao->apply->ctx, d->st, d->slot ? 0u : 1u, d->slot, d->cap);
    if (rc)
      return rc;
    d->begun = 1;
  }
  return 0;
}

/* Called with the first body bytes (or at the end for empty bodies): decides
 * whether this response may be written. */
static int check_head(dl *d)
{
  fota_http *h = d->http;
  d->accepted = 1;
  /* A body that simply runs to the close cannot be told from a truncated
   * one: without a length (or an expected length/hash) it is refused. */
  if ((h->status == 200 || h->status == 206) && !h->has_length && !h->chunked &&
      !(h->status == 206 && h->range_total) && !d->ao->expect_len && !d->ao->expect_sha256)
    return FOTA_ERR_PROTOCOL;
  if (h->status == 206) {
    if (!h->has_range || h->range_first != d->w->off)
      return FOTA_ERR_PROTOCOL; /* not the piece we asked for */
    if (d->r->total && h->range_total && h->range_total != d->r->total)
      return FOTA_ERR_CHANGED;
    d->r->total = h->range_total;
  } else if (h->status == 200) {
    if (d->w->off) {
      d->restarted = 1; /* package changed or ranges unsupported: from zero */
      int rc = restart_writer(d);
      if (rc)
        return rc;
    }
    d->r->total = h->has_length ? h->content_length : 0;
  } else {
    return FOTA_ERR_HTTP_STATUS;
  }
  if (d->r->total > d->cap)
    return FOTA_ERR_TOO_LARGE;
  memcpy(d->r->etag, h->etag, sizeof d->r->etag);
  return 0;
}

static int dl_body(void *user, const uint8_t *data, size_t n)
{
  dl *d = user;
  if (d->http->status != 200 && d->http->status != 206) {
    /* no package: keep the first bytes (the server's JSON reason), stop
     * reading once they are in */
    size_t t = sizeof d->msg - d->msg_len;
    t = n < t ? n : t;
    memcpy(d->msg + d->msg_len, data, t);
    d->msg_len += t;
    return d->msg_len < sizeof d->msg ? 0 : FOTA_ERR_HTTP_STATUS;
  }
  if (!d->accepted) {
    int rc = check_head(d);
    if (rc) {
      d->refused = 1;
      d->why = rc;
      return rc;
    }
  }
  int rc = fota__writer_put(d->w, data, n);
  d->r->offset = d->w->off;
  return rc;
}

static int retryable(int rc)
{
  return rc == FOTA_ERR_CONNECT || rc == FOTA_ERR_TIMEOUT || rc == FOTA_ERR_CLOSED_HEADERS ||
         rc == FOTA_ERR_CLOSED_BODY || rc == FOTA_ERR_IO || rc == FOTA_ERR_TLS;
}

static void report_status(const fota_ports *ports, const fota_agent_opts *ao, const char *state,
                          int err, const uint8_t *sha)
{
  if (!ao->status_url)
    return;
  char hex[65];
  hex[0] = '\0';
  if (sha) {
    fota__sb b;
    fota__sb_init(&b, hex, sizeof hex);
    fota__sb_hex(&b, sha, 32);
  }
  if (ao->status_key && ao->status_key_len && ao->status_time_ms) {
    (void)fota_status_report_signed(ports, ao->status_url, ao->status_key, ao->status_key_len,
                                    ao->status_time_ms(ports->system->ctx), ao->device_id,
                                    ao->target_version, state, err ? fota_strerror(err) : NULL,
                                    sha ? hex : NULL, 10000);
    return;
  }
  (void)fota_status_report(ports, ao->status_url, ao->device_id, ao->target_version, state,
                           err ? fota_strerror(err) : NULL, sha ? hex : NULL, 10000);
}

/* The download proper. Kept out of line so that its buffers are released
 * before the status reports (which need their own) are sent. */
__attribute__((noinline)) static int download_run(const fota_ports *ports, const fota_opts *opts,
                                                  const fota_agent_opts *ao, fota_report *rep)
{
  const fota_system *sys = ports->system;
  const fota_storage *st = ports->storage;
  fota__writer w;
  fota_http http;
  dl d;
  fota_resume rlocal;
  memset(&d, 0, sizeof d);
  fota__writer_init(&w, NULL, 0, 0, NULL);
  int rc = fota__guard_enter();
  if (rc)
    return rep->err = rc;

  /* target slot and cap */
  unsigned slot = ao->slot;
  if (st && slot == FOTA_SLOT_AUTO) {
    int s = fota_inactive_slot(st);
    if (s == FOTA_ERR_BUSY) {
      rc = FOTA_ERR_BUSY;
      goto out;
    }
    slot = s >= 0 ? (unsigned)s : FOTA_SLOT_B;
  }
  uint64_t cap = UINT64_MAX;
  if (st) {
    if (slot > 1) {
      rc = FOTA_ERR_INVAL;
      goto out;
    }
    cap = st->slot_size(st->ctx, slot);
  }
  if (ao->max_len && ao->max_len < cap)
    cap = ao->max_len;
  if (ao->expect_len) {
    if (ao->expect_len > cap) {
      rc = FOTA_ERR_TOO_LARGE;
      goto out;
    }
    cap = ao->expect_len;
  }

  fota_resume *r = ao->resume ? ao->resume : &rlocal;
  if (!ao->resume)
    memset(r, 0, sizeof *r);
  r->etag[sizeof r->etag - 1] = '\0';
  d.http = &http;
  d.w = &w;
  d.r = r;
  d.cap = cap;
  d.ao = ao;
  d.st = st;
  d.slot = slot;
  fota__writer_init(&w, st, slot, cap, ao->apply);
  /* resume from an earlier attempt or boot: only with a validator, a full
   * image, and the same slot */
  if (r->offset && (!st || ao->apply || r->slot != slot || !r->etag[0] || r->offset > cap))
    restart_writer(&d);
  r->slot = slot;
  if (r->offset) {
    rc = fota__writer_rehash(&w, r->offset);
    if (rc)
      goto out;
    r->offset = w.off;
    if (!w.off)
      restart_writer(&d);
  }
  if (ao->apply) {
    rc = ao->apply->begin(ao->apply->ctx, st, slot ? 0u : 1u, slot, cap);
    if (rc)
      goto out;
    d.begun = 1;
  }

  unsigned timeout = ao->deadline_ms ? ao->deadline_ms
                     : opts->timeout_ms ? opts->timeout_ms : FOTA_DEFAULT_FLASH_TIMEOUT_MS;
  uint64_t deadline = sys->now_ms(sys->ctx) + timeout;
  unsigned read_to = ao->read_timeout_ms ? ao->read_timeout_ms : 30000;
  unsigned attempts = ao->max_attempts ? ao->max_attempts : 5;
  unsigned delay = ao->retry_delay_ms ? ao->retry_delay_ms : 1000;
  unsigned waits = ao->delta_waits == FOTA_DELTA_NO_WAIT ? 0
                   : ao->delta_waits                     ? ao->delta_waits
                                                         : FOTA_DELTA_WAITS;
  unsigned wait_max = ao->delta_wait_max_s ? ao->delta_wait_max_s : FOTA_DELTA_WAIT_MAX_S;
  if (wait_max > FOTA_HTTP_RETRY_AFTER_MAX)
    wait_max = FOTA_HTTP_RETRY_AFTER_MAX; /* a day at most: s * 1000 fits sleep_ms */
  int agent = announces_agent(opts, ao);
  /* attempts counts consecutive connections that made no progress: a link
   * that keeps delivering bytes goes on until the deadline */
  for (unsigned fails = 0, waited = 0;;) {
    uint64_t before = w.off;
    char extra[sizeof agent_hdr + 48 + FOTA_ETAG_MAX];
    fota__sb b;
    fota__sb_init(&b, extra, sizeof extra);
    if (agent)
      fota__sb_str(&b, agent_hdr);
    if (w.off && !r->etag[0]) {
      rc = restart_writer(&d); /* no validator: a resumed piece could be from another file */
      if (rc)
        break;
    }
    if (w.off) {
      fota__sb_str(&b, "Range: bytes=");
      fota__sb_u64(&b, w.off);
      fota__sb_str(&b, "-\r\nIf-Range: ");
      fota__sb_str(&b, r->etag);
      fota__sb_str(&b, "\r\n");
    }
    /* (cannot overflow: etag is bounded) */
    const char *ex = b.len && !b.over ? extra : NULL;
    d.accepted = 0;
    d.refused = 0;
    d.msg_len = 0;
    rc = fota__exchange(ports, opts, ex, deadline, read_to, &http, dl_body, &d);
    rep->status = http.status;
    if (rc == FOTA_OK && !d.accepted) { /* complete response without body bytes */
      rc = check_head(&d);
      if (!rc && w.off == 0)
        rc = FOTA_ERR_EMPTY;
    }
    rep->vendor_code = rc == FOTA_ERR_HTTP_STATUS ? fota__vendor_code(d.msg, d.msg_len) : -1;
    if (rc == FOTA_ERR_HTTP_STATUS && http.status == 503 && rep->vendor_code == 43) {
      /* the server is making the delta: wait as told, then ask again; the
       * wait does not use up the download's deadline */
      if (waited >= waits) {
        rc = FOTA_ERR_DELTA_PENDING;
        break;
      }
      unsigned s = wait_s(http.retry_after, wait_max);
      sys->sleep_ms(sys->ctx, s * 1000u);
      deadline += (uint64_t)s * 1000u;
      waited++;
      fails = 0;
      continue;
    }
    if (rc == FOTA_OK && r->total && w.off < r->total)
      rc = FOTA_ERR_CLOSED_BODY; /* a shorter piece than the whole: ask for the rest */
    if (rc == FOTA_OK)
      break;
    fails = w.off > before ? 1 : fails + 1;
    if (!retryable(rc) || !fota__left_ms(sys, deadline) || fails >= attempts)
      break;
    unsigned left = fota__left_ms(sys, deadline);
    sys->sleep_ms(sys->ctx, delay < left ? delay : left);
  }
  if (rc)
    goto out;

  /* complete: length, hashes, installer, signature */
  rep->total_len = w.off;
  if (r->total && w.off != r->total) {
    rc = FOTA_ERR_CLOSED_BODY; /* (more than the total cannot pass the cap check) */
    goto out;
  }
  fota_md5_final(&w.md5, rep->md5);
  fota_sha256_final(&w.sha, rep->sha256);
  if ((ao->expect_len && w.off != ao->expect_len) ||
      (ao->expect_sha256 && memcmp(ao->expect_sha256, rep->sha256, 32) != 0) ||
      (ao->expect_md5 && memcmp(ao->expect_md5, rep->md5, 16) != 0)) {
    rc = FOTA_ERR_HASH;
    goto out;
  }
  if (ao->apply) {
    uint64_t img = 0;
    rc = ao->apply->finish(ao->apply->ctx, &img);
    if (rc)
      goto out;
    rep->total_len = img;
    /* the image hash (what activate checks) is that of the installed image */
    if (st) {
      fota_sha256 c;
      uint8_t buf[256];
      fota_sha256_init(&c);
      for (uint64_t off = 0; off < img;) {
        size_t n = img - off < sizeof buf ? (size_t)(img - off) : sizeof buf;
        if (st->read(st->ctx, slot, off, buf, n)) {
          rc = FOTA_ERR_STORAGE;
          goto out;
        }
        fota_sha256_update(&c, buf, n);
        off += n;
      }
      fota_sha256_final(&c, rep->sha256);
    }
  }
  if (ao->verify) {
    rc = ao->verify(ao->verify_ctx, st, slot, rep->total_len, rep->sha256);
    if (rc)
      goto out;
  }
  rep->slot = st ? slot : ~0u; /* without storage nothing was stored */
  r->offset = 0; /* done: nothing to resume */
  r->etag[0] = '\0';
out:
  if (rc && d.begun && ao->apply->abort)
    ao->apply->abort(ao->apply->ctx);
  rep->err = rc;
  rep->body_len = w.off;
  rep->result = fota_result_from_http(rc, rep->status, w.off);
  fota__guard_leave();
  return rc;
}

int fota_download(const fota_ports *ports, const fota_opts *opts, const fota_agent_opts *ao,
                  fota_report *rep)
{
  static const fota_agent_opts none;
  if (!ports || !ports->transport || !ports->system || !opts)
    return FOTA_ERR_INVAL;
  if (!ao)
    ao = &none;
  fota_report local;
  if (!rep)
    rep = &local;
  memset(rep, 0, sizeof *rep);
  rep->slot = ~0u;
  rep->vendor_code = -1;
  if (fota_running())
    return rep->err = FOTA_ERR_BUSY;
  report_status(ports, ao, "downloading", 0, NULL);
  int rc = download_run(ports, opts, ao, rep);
  if (rc != FOTA_ERR_BUSY)
    report_status(ports, ao, rc ? "failed" : "downloaded", rc, rc ? NULL : rep->sha256);
  return rc;
}
