/*
 * proto.h — the device-facing protocols: every request a device makes.
 *
 *   check.c   the libfota2 check (/api/site/firmware_upgrade, /upgrade):
 *             parse the query, ask the decision core (rules_decide), answer
 *             with the vendor JSON or the package body
 *   report.c  agent status reports (POST /api/v1/device/status)
 *   static.c  the ### static downloads (/download/NAME)
 *   query.c   the check's query parser (pure; fuzzed)
 *
 * Every protocol asks the same decision function (core/rules.h) and records
 * what happened through the writer (store/writer.h); none touches the store
 * directly. Handlers run on the HTTP workers and own nothing past the call
 * but the per-download context they hang on the request (freed in its
 * on_done callback).
 */
#ifndef OPENFOTA_SERVER_PROTO_H
#define OPENFOTA_SERVER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct of_server;

/* Handlers (routed in serve.c) */
void check_handle(struct of_server *s, http_req *r, http_phase phase, const char *data, size_t len);
int check_is_path(const char *path, size_t len);
void static_handle(struct of_server *s, http_req *r, http_phase phase);
void report_handle(struct of_server *s, http_req *r, http_phase phase, const char *data, size_t len);

/* Shared by the download paths: answer with a blob (200/206/416, ETag,
 * Accept-Ranges) and call done(arg, ok, bytes) via r->on_done when set by
 * the caller beforehand. Returns the status sent. */
unsigned serve_blob(struct of_server *s, http_req *r, const char *sha256, uint64_t size);
/* Same with extra headers (copied by the HTTP layer). */
unsigned serve_blob_ex(struct of_server *s, http_req *r, const char *sha256, uint64_t size, const http_hdr *extra,
                       size_t nextra);

/* Static names: [A-Za-z0-9._-]{1,128}, not starting with '.'. 1 valid. */
int static_name_valid(const char *name, size_t len);

/* JSON error for device-facing answers {"code":N,"msg":"..."}. */
void reply_code(http_req *r, unsigned status, int code, const char *msg);
/* The same with a Retry-After header (code 43: delta being generated). */
void reply_code_retry(http_req *r, unsigned status, int code, const char *msg, unsigned retry_after);

#endif
