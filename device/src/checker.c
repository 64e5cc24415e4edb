/*
 * checker.c — when to check: a periodic checker with jitter, the PSM wake
 * cycle, and the manual trigger for MQTT/button handlers.
 *
 * Nothing here owns a thread: fota_checker_poll() is called from the
 * device's loop/task; fota_trigger_check() only sets a flag, so it is safe
 * from another task or an interrupt-driven callback.
 */
#include "fota_internal.h"

#include <string.h>

static fota_checker *volatile g_checker;

uint32_t fota_checker_delay(const fota_checker *c)
{
  uint32_t period = c->period_ms ? c->period_ms : FOTA_CHECK_PERIOD_MS;
  uint32_t jitter = c->jitter_ms ? c->jitter_ms : period / 10;
  if (jitter >= period)
    jitter = period - 1;
  uint32_t r = 0;
  if (c->ports && c->ports->system && c->ports->system->random)
    r = c->ports->system->random(c->ports->system->ctx);
  uint64_t span = 2ull * jitter + 1;
  return (uint32_t)(period - jitter + (uint64_t)r % span);
}

void fota_checker_init(fota_checker *c, const fota_ports *ports, const fota_opts *opts,
                       fota_callback cb, void *user, int check_now)
{
  memset(c, 0, sizeof *c);
  c->ports = ports;
  c->opts = opts;
  c->cb = cb;
  c->user = user;
  const fota_system *sys = ports->system;
  c->next_ms = sys->now_ms(sys->ctx) + (check_now ? 0 : fota_checker_delay(c));
  g_checker = c;
}

int fota_checker_poll(fota_checker *c)
{
  const fota_system *sys = c->ports->system;
  uint64_t now = sys->now_ms(sys->ctx);
  if (!c->trigger && now < c->next_ms)
    return 0;
  c->trigger = 0;
  c->next_ms = now + fota_checker_delay(c);
  if (fota_running())
    return FOTA_ERR_BUSY;
  int rc = fota_request_ex(c->ports, c->opts, c->cb, c->user);
  return rc == FOTA_ERR_BUSY ? rc : 1;
}

uint64_t fota_checker_wait_ms(const fota_checker *c)
{
  const fota_system *sys = c->ports->system;
  uint64_t now = sys->now_ms(sys->ctx);
  return c->trigger || now >= c->next_ms ? 0 : c->next_ms - now;
}

int fota_trigger_check(void)
{
  fota_checker *c = g_checker;
  if (!c)
    return FOTA_ERR_INVAL;
  if (fota_running())
    return FOTA_ERR_BUSY; /* the seed's fota_running guard */
  c->trigger = 1;
  return 0;
}

int fota_psm_cycle(const fota_ports *ports, const fota_opts *opts, const fota_psm_opts *po,
                   fota_callback cb, void *user)
{
  static const fota_psm_opts defaults;
  if (!ports || !ports->system || !opts)
    return FOTA_ERR_INVAL;
  if (!po)
    po = &defaults;
  const fota_system *sys = ports->system;
  unsigned net_wait = po->net_wait_ms ? po->net_wait_ms : 60000;
  unsigned result_wait = po->result_wait_ms ? po->result_wait_ms : FOTA_PSM_WAIT_MS;
  uint64_t period = po->period_ms ? po->period_ms : FOTA_CHECK_PERIOD_MS;
  int rc;
  /* 1. network up (1 s steps, as the seed does) */
  uint64_t until = sys->now_ms(sys->ctx) + net_wait;
  while (sys->net_ready && !sys->net_ready(sys->ctx)) {
    unsigned left = fota__left_ms(sys, until);
    if (!left)
      break;
    sys->sleep_ms(sys->ctx, left < 1000 ? left : 1000);
  }
  if (sys->net_ready && !sys->net_ready(sys->ctx)) {
    fota_report rep;
    memset(&rep, 0, sizeof rep);
    rep.err = FOTA_ERR_CONNECT;
    rep.result = FOTA_RESULT_CONNECT;
    rep.slot = ~0u;
    rep.vendor_code = -1;
    if (cb)
      cb(rep.result, &rep, user);
    rc = FOTA_ERR_CONNECT;
  } else {
    /* 2. check once, the whole exchange bounded by the wait for "FOTA_END" */
    fota_opts o = *opts;
    unsigned t = o.timeout_ms ? o.timeout_ms : FOTA_DEFAULT_FLASH_TIMEOUT_MS;
    o.timeout_ms = t < result_wait ? t : result_wait;
    rc = fota_request_ex(ports, &o, cb, user);
    if (rc == FOTA_RESULT_OK && po->reboot_on_success && sys->reboot)
      sys->reboot(sys->ctx);
  }
  /* 3. sleep until the next period */
  if (sys->deep_sleep)
    sys->deep_sleep(sys->ctx, period);
  return rc;
}
