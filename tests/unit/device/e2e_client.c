/*
 * e2e_client.c — a device built on of_device, for the end-to-end tests
 * against the real server (tests/integration/device_e2e.py). Not a unit test.
 *
 *   device_e2e_client libfota2|agent URL KEY FIRMWARE VERSION IMEI SLOTDIR
 *   device_e2e_client agent-delta URL KEY FIRMWARE VERSION IMEI SLOTDIR
 *                     IMAGE PUBKEY FAMILY SUFFIX HWID COUNTER
 *   device_e2e_client push HOST PORT IMEI PUSHKEY_HEX SLOTDIR
 *
 * libfota2: fota_request with these options (the body goes to the inactive
 * slot in SLOTDIR). agent: fota_download with resume, then fota_activate.
 * agent-delta: slot A holds IMAGE (the running release); fota_download with
 * the signed-package installer and the delta installer behind it — the
 * library itself announces the agent and waits out code 43, no retry loop
 * here — then fota_activate.
 * push: fota_push_listen on HOST:PORT with the device push key (64 hex
 * digits, or "-" for none) until the first pushed command has run its check
 * (tests/integration/fleet_e2e.py, scenario auth); prints {"pushed":1,...}.
 * Prints one JSON line: result, err, status, code (vendor JSON code), len,
 * sha256, slot, body (package bytes received), waits and waited_ms (sleeps
 * through the system port).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fota.h"
#include "fota_port_posix.h"
#if defined(FOTA_HAVE_PKG) && defined(FOTA_HAVE_DELTA)
#include "fota_delta.h"
#include "fota_pkg.h"
#include "ofdelta.h"
#endif

/* The POSIX system port, its sleeps counted. */
static fota_posix_sys g_psys;
static unsigned g_waits;
static unsigned long long g_waited_ms;
static uint64_t c_now(void *c) { (void)c; return g_psys.system.now_ms(&g_psys); }
static void c_sleep(void *c, unsigned ms)
{
  (void)c;
  g_waits++;
  g_waited_ms += ms;
  g_psys.system.sleep_ms(&g_psys, ms);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void print(int result, int err, const fota_report *rep)
{
  char sha[65];
  hex(rep->sha256, 32, sha);
  printf("{\"result\":%d,\"err\":\"%s\",\"status\":%d,\"code\":%d,\"len\":%llu,"
         "\"sha256\":\"%s\",\"slot\":%d,\"body\":%llu,\"waits\":%u,\"waited_ms\":%llu}\n",
         result, fota_strerror(err), rep->status, rep->vendor_code,
         (unsigned long long)rep->total_len, sha, rep->slot == ~0u ? -1 : (int)rep->slot,
         (unsigned long long)rep->body_len, g_waits, g_waited_ms);
}

static long slurp(const char *path, uint8_t *buf, size_t cap)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, cap, f);
  int more = fgetc(f) != EOF;
  fclose(f);
  return more ? -1 : (long)n;
}

static fota_report g_rep;
static void cb(int result, const fota_report *rep, void *user)
{
  (void)result;
  (void)user;
  g_rep = *rep;
}

static volatile int g_stop;
static int g_pushed, g_push_result;
static void push_cb(int result, const fota_report *rep, void *user)
{
  (void)rep;
  (void)user;
  g_pushed++;
  g_push_result = result;
  g_stop = 1;
}

static int push_main(char **argv)
{
  static fota_posix_fs fs;
  mkdir(argv[6], 0700);
  if (fota_posix_storage_init(&fs, argv[6], 1u << 20))
    return 1;
  fota_posix_system_init(&g_psys);
  uint8_t key[32];
  size_t kl = 0;
  if (strcmp(argv[5], "-") != 0) {
    if (strlen(argv[5]) != 64)
      return 2;
    for (; kl < 32; kl++) {
      unsigned v;
      if (sscanf(argv[5] + 2 * kl, "%2x", &v) != 1)
        return 2;
      key[kl] = (uint8_t)v;
    }
  }
  fota_ports ports = {fota_posix_transport(), &fs.storage, &g_psys.system};
  fota_push_opts po = {.host = argv[2], .port = (uint16_t)atoi(argv[3]), .imei = argv[4], .idle_ms = 50,
                       .reconnect_ms = 200, .stop = &g_stop, .max_connects = 5, .key = kl ? key : NULL,
                       .key_len = kl};
  fota_opts o = {.project_key = "e2e", .firmware_name = "push", .version = "1.0.0", .imei = argv[4],
                 .timeout_ms = 10000};
  int rc = fota_push_listen(&ports, &po, &o, push_cb, NULL);
  printf("{\"pushed\":%d,\"result\":%d,\"rc\":\"%s\"}\n", g_pushed, g_push_result, fota_strerror(rc));
  return 0;
}

/* report URL ID KEYHEX|- VERSION STATE: one status report, signed with the
 * device key when given (time from the wall clock); prints the status. */
static int report_main(char **argv)
{
  fota_posix_system_init(&g_psys);
  uint8_t key[32];
  size_t kl = 0;
  if (strcmp(argv[4], "-") != 0) {
    if (strlen(argv[4]) != 64)
      return 2;
    for (; kl < 32; kl++) {
      unsigned v;
      if (sscanf(argv[4] + 2 * kl, "%2x", &v) != 1)
        return 2;
      key[kl] = (uint8_t)v;
    }
  }
  fota_ports ports = {fota_posix_transport(), NULL, &g_psys.system};
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
  int st = kl ? fota_status_report_signed(&ports, argv[2], key, kl, ms, argv[3], argv[5], argv[6], "e2e", NULL, 10000)
              : fota_status_report(&ports, argv[2], argv[3], argv[5], argv[6], "e2e", NULL, 10000);
  printf("{\"status\":%d}\n", st);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 7 && strcmp(argv[1], "push") == 0)
    return push_main(argv);
  if (argc == 7 && strcmp(argv[1], "report") == 0)
    return report_main(argv);
  int delta = argc == 14 && strcmp(argv[1], "agent-delta") == 0;
  if (argc != 8 && !delta) {
    fprintf(stderr, "usage: %s libfota2|agent URL KEY FIRMWARE VERSION IMEI SLOTDIR\n"
                    "       %s agent-delta URL KEY FIRMWARE VERSION IMEI SLOTDIR IMAGE PUBKEY FAMILY "
                    "SUFFIX HWID COUNTER\n", argv[0], argv[0]);
    return 2;
  }
  mkdir(argv[7], 0700);
  static fota_posix_fs fs;
  if (fota_posix_storage_init(&fs, argv[7], 1u << 20)) {
    fprintf(stderr, "cannot create slots in %s\n", argv[7]);
    return 1;
  }
  fota_posix_system_init(&g_psys);
  static const fota_system sys = {NULL, c_now, c_sleep, NULL, NULL, NULL, NULL};
  fota_boot_state bs;
  if (delta) { /* the running release in slot A */
    static uint8_t img[1u << 20];
    long n = slurp(argv[8], img, sizeof img);
    if (n <= 0 || fs.storage.erase(&fs, FOTA_SLOT_A, 0, fs.slot_size) ||
        fs.storage.write(&fs, FOTA_SLOT_A, 0, img, (size_t)n)) {
      fprintf(stderr, "cannot put %s into slot A\n", argv[8]);
      return 1;
    }
    uint8_t h[32];
    fota_sha256 c;
    fota_sha256_init(&c);
    fota_sha256_update(&c, img, (size_t)n);
    fota_sha256_final(&c, h);
    fota_bootstate_init(&fs.storage, FOTA_SLOT_A, (uint64_t)n, h);
  } else if (fota_bootstate_load(&fs.storage, &bs)) {
    uint8_t zero[32] = {0};
    fota_bootstate_init(&fs.storage, FOTA_SLOT_A, 1, zero);
  }
  fota_ports ports = {fota_posix_transport(), &fs.storage, &sys};
  fota_opts o = {.url = argv[2], .project_key = argv[3], .firmware_name = argv[4],
                 .version = argv[5], .imei = argv[6], .model = "Air780EHV", .timeout_ms = 30000};
  if (strcmp(argv[1], "libfota2") == 0) {
    int r = fota_request_ex(&ports, &o, cb, NULL);
    print(r, g_rep.err, &g_rep);
    return 0;
  }
  fota_resume res;
  memset(&res, 0, sizeof res);
  fota_agent_opts ao = {.slot = FOTA_SLOT_AUTO, .resume = &res, .max_attempts = 5,
                        .retry_delay_ms = 100, .read_timeout_ms = 10000};
  fota_report rep;
  if (delta) {
#if defined(FOTA_HAVE_PKG) && defined(FOTA_HAVE_DELTA)
    static uint8_t pub[4096], ws[OFDELTA_DEFAULT_WORKSPACE];
    long pl = slurp(argv[9], pub, sizeof pub - 1);
    if (pl <= 0) {
      fprintf(stderr, "cannot read %s\n", argv[9]);
      return 1;
    }
    pub[pl++] = 0; /* PEM with its NUL */
    static fota_delta_apply da;
    static fota_signed_apply sa;
    fota_delta_apply_init(&da, ws, sizeof ws);
    fota_signed_apply_init(&sa, pub, (size_t)pl, argv[10], argv[11], argv[12],
                           strtoull(argv[13], NULL, 10), &da.ops);
    ao.apply = &sa.ops;
    ao.delta_waits = 60; /* the server says Retry-After: 1 in the test */
    int rc = fota_download(&ports, &o, &ao, &rep);
    if (rc)
      fprintf(stderr, "download: %s / %s\n", fota_strerror(rc), sa.msg);
    if (rc == 0)
      rc = fota_activate(&fs.storage, rep.slot, rep.total_len, rep.sha256);
    print(rc == 0 ? 0 : rep.result ? rep.result : 4, rc, &rep);
    return 0;
#else
    fprintf(stderr, "built without the signed-package and delta installers\n");
    return 3;
#endif
  }
  int rc = fota_download(&ports, &o, &ao, &rep);
  if (rc == 0)
    rc = fota_activate(&fs.storage, rep.slot, rep.total_len, rep.sha256);
  print(rc == 0 ? 0 : rep.result ? rep.result : 4, rc, &rep);
  return 0;
}
