/*
 * device_cert.h — `openfota device cert`: client certificates for devices
 * of projects that require mutual TLS (device_cert.c).
 */
#ifndef OPENFOTA_CLI_DEVICE_CERT_H
#define OPENFOTA_CLI_DEVICE_CERT_H

struct admin_ctx;
struct admin_args;

/* The `device cert ID --ca-dir DIR [--days N]` subcommand. Exit status. */
int device_cert_run(struct admin_ctx *ctx, struct admin_args *a);

#endif
