/*
 * http_parse.c — incremental HTTP/1.1 response parser (see fota_http.h).
 *
 * One state machine, fed arbitrary slices. Lines (status, headers, chunk
 * sizes, trailers) are collected in p->line, bounded by FOTA_HTTP_LINE_MAX;
 * body bytes are passed straight through to the callback. The parser is
 * strict about framing, since framing decides how many bytes end up in
 * flash: conflicting or ambiguous lengths are refused, never guessed.
 */
#include "fota_internal.h"
#include "fota_http.h"

#include <string.h>

void fota_http_init(fota_http *p)
{
  memset(p, 0, sizeof *p);
  p->state = FOTA_HTTP_STATUS_LINE;
  p->retry_after = -1;
}

int fota_http_head_done(const fota_http *p)
{
  return p->state != FOTA_HTTP_STATUS_LINE && p->state != FOTA_HTTP_HEADERS;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  c = (char)fota__lower((unsigned char)c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decimal up to 18 digits (no overflow possible), whole string. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
  if (n == 0 || n > 18)
    return FOTA_ERR_PROTOCOL;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i]))
      return FOTA_ERR_PROTOCOL;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}

static int parse_status(fota_http *p, const char *l, size_t n)
{
  /* "HTTP/1.1 200 OK" — reason optional */
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
    return FOTA_ERR_PROTOCOL;
  if (!is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) || (n > 12 && l[12] != ' '))
    return FOTA_ERR_PROTOCOL;
  int st = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
  if (st < 100 || st > 599)
    return FOTA_ERR_PROTOCOL;
  p->status = st;
  return 0;
}

static int is_tchar(char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
    return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int name_is(const char *name, size_t n, const char *want)
{
  return strlen(want) == n && fota__strncaseeq(name, want, n);
}

/* "bytes first-last/total" or "bytes first-last/" followed by a star */
static int parse_content_range(fota_http *p, const char *v, size_t n)
{
  if (n < 6 || !fota__strncaseeq(v, "bytes ", 6))
    return FOTA_ERR_PROTOCOL;
  const char *s = v + 6, *end = v + n;
  const char *dash = memchr(s, '-', (size_t)(end - s));
  if (!dash)
    return FOTA_ERR_PROTOCOL;
  const char *slash = memchr(dash, '/', (size_t)(end - dash));
  if (!slash)
    return FOTA_ERR_PROTOCOL;
  uint64_t a, b, c = 0;
  if (parse_u64(s, (size_t)(dash - s), &a) || parse_u64(dash + 1, (size_t)(slash - dash - 1), &b))
    return FOTA_ERR_PROTOCOL;
  if (!(end - slash == 2 && slash[1] == '*')) {
    if (parse_u64(slash + 1, (size_t)(end - slash - 1), &c) || b >= c)
      return FOTA_ERR_PROTOCOL;
  }
  if (a > b)
    return FOTA_ERR_PROTOCOL;
  p->has_range = 1;
  p->range_first = a;
  p->range_last = b;
  p->range_total = c;
  return 0;
}

static int parse_header(fota_http *p, const char *l, size_t n)
{
  if (l[0] == ' ' || l[0] == '\t')
    return FOTA_ERR_PROTOCOL; /* obs-fold */
  if (++p->headers > FOTA_HTTP_HEADERS_MAX)
    return FOTA_ERR_TOOBIG;
  size_t c = 0;
  while (c < n && is_tchar(l[c]))
    c++;
  if (c == 0 || c >= n || l[c] != ':')
    return FOTA_ERR_PROTOCOL;
  const char *v = l + c + 1;
  size_t vn = n - c - 1;
  while (vn && (*v == ' ' || *v == '\t'))
    v++, vn--;
  while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
    vn--;
  if (name_is(l, c, "content-length")) {
    uint64_t len;
    if (parse_u64(v, vn, &len))
      return FOTA_ERR_PROTOCOL;
    if (p->has_length && len != p->content_length)
      return FOTA_ERR_PROTOCOL; /* conflicting lengths */
    p->has_length = 1;
    p->content_length = len;
  } else if (name_is(l, c, "transfer-encoding")) {
    if (p->chunked || !(vn == 7 && fota__strncaseeq(v, "chunked", 7)))
      return FOTA_ERR_PROTOCOL; /* only a single "chunked" is understood */
    p->chunked = 1;
  } else if (name_is(l, c, "content-range")) {
    if (p->has_range)
      return FOTA_ERR_PROTOCOL;
    return parse_content_range(p, v, vn);
  } else if (name_is(l, c, "retry-after")) {
    /* delta-seconds only; an HTTP-date, anything else or a second line:
     * unknown (-2), and the caller falls back to its own wait */
    long ra = p->retry_after == -1 && vn ? 0 : -2;
    for (size_t i = 0; i < vn && ra >= 0; i++) {
      if (!is_digit(v[i]))
        ra = -2;
      else if ((ra = ra * 10 + (v[i] - '0')) > FOTA_HTTP_RETRY_AFTER_MAX)
        ra = FOTA_HTTP_RETRY_AFTER_MAX;
    }
    p->retry_after = ra;
  } else if (name_is(l, c, "etag")) {
    if (vn < sizeof p->etag) {
      memcpy(p->etag, v, vn);
      p->etag[vn] = '\0';
    } else {
      p->etag[0] = '\0'; /* too long to keep: resume will not be offered */
    }
  }
  return 0;
}

static int end_of_head(fota_http *p)
{
  if (p->has_length && p->chunked)
    return FOTA_ERR_PROTOCOL; /* smuggling-shaped framing */
  if (p->status < 200) { /* 1xx: the real head follows */
    int head_only = p->head_only;
    size_t used = p->head_bytes;
    fota_http_init(p);
    p->head_only = head_only;
    p->head_bytes = used; /* the head limit covers interim heads too */
    return 0;
  }
  if (p->head_only || p->status == 204 || p->status == 304) {
    p->state = FOTA_HTTP_DONE;
  } else if (p->chunked) {
    p->state = FOTA_HTTP_CHUNK_SIZE;
  } else if (p->has_length) {
    p->left = p->content_length;
    p->state = p->left ? FOTA_HTTP_BODY_LEN : FOTA_HTTP_DONE;
  } else {
    p->state = FOTA_HTTP_BODY_EOF;
  }
  return 0;
}

static int parse_chunk_size(fota_http *p, const char *l, size_t n)
{
  size_t i = 0;
  uint64_t v = 0;
  while (i < n && hexval(l[i]) >= 0) {
    if (i >= 15)
      return FOTA_ERR_PROTOCOL; /* > 2^60: refuse before overflow */
    v = (v << 4) | (uint64_t)hexval(l[i]);
    i++;
  }
  if (i == 0)
    return FOTA_ERR_PROTOCOL;
  while (i < n && (l[i] == ' ' || l[i] == '\t'))
    i++;
  if (i < n && l[i] != ';')
    return FOTA_ERR_PROTOCOL;
  if (v == 0) {
    p->state = FOTA_HTTP_TRAILERS;
  } else {
    p->left = v;
    p->state = FOTA_HTTP_CHUNK_DATA;
  }
  return 0;
}

/* A complete line (without CR LF) in p->line. */
static int on_line(fota_http *p)
{
  const char *l = p->line;
  size_t n = p->line_len;
  p->line_len = 0;
  switch (p->state) {
  case FOTA_HTTP_STATUS_LINE:
    return parse_status(p, l, n) ? FOTA_ERR_PROTOCOL : (p->state = FOTA_HTTP_HEADERS, 0);
  case FOTA_HTTP_HEADERS:
    return n == 0 ? end_of_head(p) : parse_header(p, l, n);
  case FOTA_HTTP_CHUNK_SIZE:
    return parse_chunk_size(p, l, n);
  case FOTA_HTTP_CHUNK_END:
    if (n != 0)
      return FOTA_ERR_PROTOCOL;
    p->state = FOTA_HTTP_CHUNK_SIZE;
    return 0;
  case FOTA_HTTP_TRAILERS:
    if (n == 0)
      p->state = FOTA_HTTP_DONE;
    return 0;
  default:
    return FOTA_ERR_PROTOCOL;
  }
}

static int in_head(const fota_http *p)
{
  return p->state == FOTA_HTTP_STATUS_LINE || p->state == FOTA_HTTP_HEADERS;
}

int fota_http_feed(fota_http *p, const uint8_t *d, size_t len, fota_http_body_fn fn, void *user)
{
  size_t i = 0;
  while (i < len && p->state != FOTA_HTTP_DONE) {
    if (p->state == FOTA_HTTP_BODY_LEN || p->state == FOTA_HTTP_CHUNK_DATA ||
        p->state == FOTA_HTTP_BODY_EOF) {
      size_t take = len - i;
      if (p->state != FOTA_HTTP_BODY_EOF && take > p->left)
        take = (size_t)p->left;
      if (fn) {
        int rc = fn(user, d + i, take);
        if (rc)
          return rc;
      }
      p->body_len += take;
      i += take;
      if (p->state != FOTA_HTTP_BODY_EOF) {
        p->left -= take;
        if (p->left == 0)
          p->state = p->state == FOTA_HTTP_BODY_LEN ? FOTA_HTTP_DONE : FOTA_HTTP_CHUNK_END;
      }
      continue;
    }
    /* line states */
    char c = (char)d[i++];
    if (in_head(p) && ++p->head_bytes > FOTA_HTTP_HEAD_MAX)
      return FOTA_ERR_TOOBIG;
    if (c == '\n') {
      if (p->line_len && p->line[p->line_len - 1] == '\r')
        p->line_len--;
      int rc = on_line(p);
      if (rc)
        return rc;
      continue;
    }
    if (c == '\0')
      return FOTA_ERR_PROTOCOL;
    if (p->line_len && p->line[p->line_len - 1] == '\r')
      return FOTA_ERR_PROTOCOL; /* bare CR */
    if (p->line_len >= sizeof p->line - 1)
      return FOTA_ERR_TOOBIG;
    p->line[p->line_len++] = c;
  }
  return 0;
}

int fota_http_eof(fota_http *p)
{
  if (in_head(p))
    return FOTA_ERR_CLOSED_HEADERS;
  if (p->state == FOTA_HTTP_DONE || p->state == FOTA_HTTP_BODY_EOF) {
    p->state = FOTA_HTTP_DONE;
    return 0;
  }
  return FOTA_ERR_CLOSED_BODY;
}
