/*
 * fota_port_posix.h — host ports of of_device (Linux/POSIX; TLS by mbedTLS).
 *
 * Not part of the portable core: these live in device/port/ and are not
 * built for microcontrollers.
 */
#ifndef OPENFOTA_FOTA_PORT_POSIX_H
#define OPENFOTA_FOTA_PORT_POSIX_H

#include "fota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sockets transport (IPv4/IPv6, getaddrinfo, non-blocking connect with
 * timeout, poll-based send/recv). https:// targets go through mbedTLS with
 * opts->server_cert (PEM CA; without it the server is NOT authenticated),
 * opts->client_cert/client_key/client_password (mutual TLS). The returned
 * struct is static; ctx is unused. */
const fota_transport *fota_posix_transport(void);

/* TLS-only helpers used by the sockets transport (port/tls_mbedtls.c). */
int fota_tls_connect(int fd, const char *host, const fota_opts *opts, unsigned timeout_ms,
                     void **tls);
int fota_tls_send(void *tls, const void *buf, size_t len, unsigned timeout_ms);
long fota_tls_recv(void *tls, void *buf, size_t cap, unsigned timeout_ms);
void fota_tls_close(void *tls);

/* File-backed slots: <dir>/slot0.bin, slot1.bin (image slots), state0.bin,
 * state1.bin (boot state). Files are created at their size filled with 0xff.
 * The caller owns fs and keeps it alive while the storage is in use. */
typedef struct fota_posix_fs {
  char dir[256];
  uint64_t slot_size;    /* image slot size */
  uint32_t erase_unit;   /* default 4096 */
  fota_storage storage;  /* filled by fota_posix_storage_init; ctx = this */
} fota_posix_fs;
int fota_posix_storage_init(fota_posix_fs *fs, const char *dir, uint64_t slot_size);

/* Monotonic clock, nanosleep, getrandom; reboot() calls on_reboot if set
 * (else exits the process with status 0); net_ready always 1; deep_sleep
 * sleeps. The caller owns ps. */
typedef struct fota_posix_sys {
  void (*on_reboot)(void *arg);
  void *arg;
  fota_system system;    /* filled by fota_posix_system_init; ctx = this */
} fota_posix_sys;
void fota_posix_system_init(fota_posix_sys *ps);

#ifdef __cplusplus
}
#endif
#endif
