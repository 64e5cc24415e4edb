/*
 * fota_internal.h — helpers shared by of_device's own files (not public).
 * Internal names use the fota__ prefix.
 */
#ifndef OPENFOTA_FOTA_INTERNAL_H
#define OPENFOTA_FOTA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "fota.h"

/* Bounded string builder over a caller buffer. Once an append does not fit,
 * `over` stays set and the content is unspecified (but NUL-terminated). */
typedef struct fota__sb {
  char *buf;
  size_t cap, len;
  int over;
} fota__sb;

void fota__sb_init(fota__sb *b, char *buf, size_t cap);
void fota__sb_mem(fota__sb *b, const void *s, size_t n);
void fota__sb_str(fota__sb *b, const char *s);
void fota__sb_u64(fota__sb *b, uint64_t v);
void fota__sb_hex(fota__sb *b, const uint8_t *p, size_t n);

/* ASCII helpers (locale-free). */
int fota__lower(int c);
int fota__strncaseeq(const char *a, const char *b, size_t n);
size_t fota__strnlen(const char *s, size_t max);

/* 1 when header text h ("K: V\r\n" lines, may be NULL) has a line starting
 * with name (lower case, with the colon, e.g. "host:"). */
int fota__headers_have(const char *h, const char *name);

/* The vendor code of a "no upgrade" answer: {"code":N,...} -> N, else -1.
 * Only b[0..n) is looked at. */
int fota__vendor_code(const char *b, size_t n);

/* Parsed URL (after ### stripping and parameter appending). */
typedef struct fota__url {
  int tls;
  char host[FOTA_HOST_MAX];
  int ipv6;
  uint16_t port;
  const char *user; size_t user_len; /* userinfo slice ("user:pw"), may be empty */
  const char *path; size_t path_len; /* request target slice, never empty ("/") */
} fota__url;

/* Parses url[0..len). Slices point into url. */
int fota__url_parse(const char *url, size_t len, fota__url *u);

/* Builds the request head into buf with extra header text (may be NULL)
 * inserted after the caller's headers (used for Range/If-Range). */
int fota__build_head(const fota_opts *opts, const char *extra, char *buf, size_t cap,
                     fota_target *target);

/* The running guard shared by every entry point. */
int fota__guard_enter(void);
void fota__guard_leave(void);

/* Time left until deadline (0 if passed), clamped to unsigned. */
unsigned fota__left_ms(const fota_system *sys, uint64_t deadline);

/* One HTTP exchange over the ports: connect, send head (+ opts->body),
 * read the response through http, body bytes to fn. deadline is absolute
 * (system clock); each recv waits at most read_timeout_ms (and never past the
 * deadline). Returns FOTA_OK when the whole response was read, else the error
 * that ended it (http->status tells whether a status line arrived). */
#include "fota_http.h"
int fota__exchange(const fota_ports *ports, const fota_opts *opts, const char *extra,
                   uint64_t deadline, unsigned read_timeout_ms, fota_http *http,
                   fota_http_body_fn fn, void *user);

/* Streams an image into a slot: erase ahead by erase units, never past cap,
 * MD5 and SHA-256 of every byte accepted. With apply != NULL bytes go to the
 * installer instead of straight to the slot. */
typedef struct fota__writer {
  const fota_storage *st; /* may be NULL: count and hash only */
  unsigned slot;
  uint64_t off;           /* bytes accepted */
  uint64_t erased;        /* slot bytes erased so far */
  uint64_t cap;           /* hard maximum */
  const fota_apply_ops *apply;
  fota_md5 md5;
  fota_sha256 sha;
} fota__writer;

void fota__writer_init(fota__writer *w, const fota_storage *st, unsigned slot, uint64_t cap,
                       const fota_apply_ops *apply);
int fota__writer_put(fota__writer *w, const uint8_t *d, size_t n);
/* Resume: rehashes the slot's first bytes, up to upto rounded down to an
 * erase unit (w->off ends there; the caller asks the server from w->off). */
int fota__writer_rehash(fota__writer *w, uint64_t upto);

#endif
