/*
 * e2e_client.c — a device built on of_device, for the end-to-end tests
 * against the real server (tests/integration/device_e2e.py). Not a unit test.
 *
 *   device_e2e_client libfota2|agent URL KEY FIRMWARE VERSION IMEI SLOTDIR
 *
 * libfota2: fota_request with these options (the body goes to the inactive
 * slot in SLOTDIR). agent: fota_download with resume, then fota_activate.
 * Prints one JSON line: result, err, status, code (vendor JSON code), len,
 * sha256, slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fota.h"
#include "fota_port_posix.h"

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
         "\"sha256\":\"%s\",\"slot\":%d}\n",
         result, fota_strerror(err), rep->status, rep->vendor_code,
         (unsigned long long)rep->total_len, sha, rep->slot == ~0u ? -1 : (int)rep->slot);
}

static fota_report g_rep;
static void cb(int result, const fota_report *rep, void *user)
{
  (void)result;
  (void)user;
  g_rep = *rep;
}

int main(int argc, char **argv)
{
  if (argc != 8) {
    fprintf(stderr, "usage: %s libfota2|agent URL KEY FIRMWARE VERSION IMEI SLOTDIR\n", argv[0]);
    return 2;
  }
  mkdir(argv[7], 0700);
  static fota_posix_fs fs;
  static fota_posix_sys sys;
  if (fota_posix_storage_init(&fs, argv[7], 1u << 20)) {
    fprintf(stderr, "cannot create slots in %s\n", argv[7]);
    return 1;
  }
  fota_posix_system_init(&sys);
  fota_boot_state bs;
  if (fota_bootstate_load(&fs.storage, &bs)) {
    uint8_t zero[32] = {0};
    fota_bootstate_init(&fs.storage, FOTA_SLOT_A, 1, zero);
  }
  fota_ports ports = {fota_posix_transport(), &fs.storage, &sys.system};
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
  int rc = fota_download(&ports, &o, &ao, &rep);
  if (rc == 0)
    rc = fota_activate(&fs.storage, rep.slot, rep.total_len, rep.sha256);
  print(rc == 0 ? 0 : rep.result ? rep.result : 4, rc, &rep);
  return 0;
}
