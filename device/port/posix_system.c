/*
 * posix_system.c — clock, sleep, reboot hook and randomness for the host.
 */
#include "fota_port_posix.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static uint64_t sys_now(void *ctx)
{
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sys_sleep(void *ctx, unsigned ms)
{
  (void)ctx;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void sys_reboot(void *ctx)
{
  fota_posix_sys *ps = ctx;
  if (ps->on_reboot)
    ps->on_reboot(ps->arg);
  else
    exit(0);
}

static uint32_t sys_random(void *ctx)
{
  (void)ctx;
  uint32_t v = 0;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
    v = (uint32_t)sys_now(NULL) * 2654435761u;
  return v;
}

static int sys_net_ready(void *ctx)
{
  (void)ctx;
  return 1;
}

static void sys_deep_sleep(void *ctx, uint64_t ms)
{
  while (ms) {
    unsigned step = ms > 0x40000000u ? 0x40000000u : (unsigned)ms;
    sys_sleep(ctx, step);
    ms -= step;
  }
}

void fota_posix_system_init(fota_posix_sys *ps)
{
  ps->system.ctx = ps;
  ps->system.now_ms = sys_now;
  ps->system.sleep_ms = sys_sleep;
  ps->system.reboot = sys_reboot;
  ps->system.random = sys_random;
  ps->system.net_ready = sys_net_ready;
  ps->system.deep_sleep = sys_deep_sleep;
}
