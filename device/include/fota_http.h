/*
 * fota_http.h — bounded, incremental HTTP/1.1 response parser of of_device.
 *
 * Feed it bytes as they arrive; body bytes are handed to a callback (slices
 * of the caller's input, no copy). Every buffer has a fixed maximum: one
 * header line at most FOTA_HTTP_LINE_MAX bytes, the whole head at most
 * FOTA_HTTP_HEAD_MAX bytes, at most FOTA_HTTP_HEADERS_MAX header lines.
 * Understands Content-Length, Transfer-Encoding: chunked, Content-Range,
 * ETag and Retry-After (delta-seconds); refuses ambiguous framing (Content-Length with Transfer-Encoding,
 * conflicting Content-Length, unknown transfer codings), NUL, bare CR and
 * obs-fold, chunk sizes that overflow or are not hex.
 */
#ifndef OPENFOTA_FOTA_HTTP_H
#define OPENFOTA_FOTA_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "fota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FOTA_HTTP_LINE_MAX 512
#define FOTA_HTTP_HEAD_MAX 8192
#define FOTA_HTTP_HEADERS_MAX 64
#define FOTA_HTTP_RETRY_AFTER_MAX 86400L

enum fota_http_state {
  FOTA_HTTP_STATUS_LINE, FOTA_HTTP_HEADERS, FOTA_HTTP_BODY_LEN, FOTA_HTTP_BODY_EOF,
  FOTA_HTTP_CHUNK_SIZE, FOTA_HTTP_CHUNK_DATA, FOTA_HTTP_CHUNK_END, FOTA_HTTP_TRAILERS,
  FOTA_HTTP_DONE
};

typedef struct fota_http {
  int state;               /* enum fota_http_state */
  int status;              /* status code once the status line is parsed */
  int has_length;          /* Content-Length seen */
  int chunked;             /* Transfer-Encoding: chunked */
  int has_range;           /* Content-Range: bytes a-b/c seen */
  int head_only;           /* set by the caller for HEAD: no body */
  uint64_t content_length;
  uint64_t range_first, range_last, range_total; /* range_total 0 = "*" */
  uint64_t left;           /* body/chunk bytes left in the current part */
  uint64_t body_len;       /* body bytes delivered */
  long retry_after;        /* Retry-After in seconds (saturated at FOTA_HTTP_RETRY_AFTER_MAX);
                              -1 absent, -2 not delta-seconds (an HTTP-date, garbage, repeated) */
  size_t head_bytes;
  unsigned headers;
  size_t line_len;
  char line[FOTA_HTTP_LINE_MAX];
  char etag[FOTA_ETAG_MAX];
} fota_http;

/* Body callback: data is a slice of the fed buffer, valid for the call.
 * Return 0 to go on or a negative fota_err to stop (fota_http_feed returns it). */
typedef int (*fota_http_body_fn)(void *user, const uint8_t *data, size_t len);

void fota_http_init(fota_http *p);

/* Feeds len bytes. Returns 0 (need more or done: check p->state ==
 * FOTA_HTTP_DONE), FOTA_ERR_PROTOCOL / FOTA_ERR_TOOBIG on a bad response, or
 * the callback's error. Bytes after the end of the message are ignored. */
int fota_http_feed(fota_http *p, const uint8_t *data, size_t len, fota_http_body_fn fn, void *user);

/* The peer closed. Returns 0 when the message is complete (or read-to-close
 * framing ends here), FOTA_ERR_CLOSED_HEADERS when the head was incomplete,
 * FOTA_ERR_CLOSED_BODY when the announced body was not complete. */
int fota_http_eof(fota_http *p);

/* 1 once the whole head is parsed. */
int fota_http_head_done(const fota_http *p);

#ifdef __cplusplus
}
#endif
#endif
