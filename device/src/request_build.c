/*
 * request_build.c — the libfota2 request, byte for byte.
 *
 * A libfota2 module turns its opts table into one HTTP/1.1 request:
 *   1. url defaults to the vendor platform; a "###" prefix is stripped and
 *      the rest used as-is;
 *   2. otherwise the parameters are appended to the URL text with no
 *      separator and no encoding, in the order
 *      imei|mac|nil, project_key, firmware_name, version (legacy `libfota`:
 *      project_key, firmware_name, version, imei);
 *   3. the URL is split into scheme, user:pw@, host, port, path;
 *   4. the head is request line, Host (with port), Connection: Close,
 *      Authorization (from user:pw@), the caller's headers, Content-Length
 *      (with a body), blank line.
 * Missing project_key or version fail locally (result 5) before anything is
 * sent. opts is never written: building twice gives the same bytes.
 *
 * Memory: the full URL is assembled at the tail of the caller's buffer and
 * the request head is written from its start; host and userinfo are copied
 * out first, the path is moved with memmove, so no second URL buffer is
 * needed.
 */
#include "fota_internal.h"

#include <string.h>

#define USERINFO_MAX 128

static int has_prefix(const char *s, const char *p)
{
  return strncmp(s, p, strlen(p)) == 0;
}

/* Which identity key a model uses when opts->imei is NULL. */
enum ident_kind { IDENT_NIL, IDENT_IMEI, IDENT_MAC };

static enum ident_kind model_ident(const char *model)
{
  static const char *const cellular[] = {"Air780E", "Air8000", "Air700"};
  static const char *const wifi_mcu[] = {"Air8101", "Air1601", "Air1602", "Air1780"};
  if (!model)
    return IDENT_NIL;
  for (size_t i = 0; i < sizeof cellular / sizeof cellular[0]; i++)
    if (has_prefix(model, cellular[i]))
      return IDENT_IMEI;
  for (size_t i = 0; i < sizeof wifi_mcu / sizeof wifi_mcu[0]; i++)
    if (has_prefix(model, wifi_mcu[i]))
      return IDENT_MAC;
  return IDENT_NIL;
}

static int ident_pair(const fota_opts *o, fota__sb *b)
{
  if (o->imei) {
    fota__sb_str(b, "imei=");
    fota__sb_str(b, o->imei);
    return 0;
  }
  switch (model_ident(o->model)) {
  case IDENT_IMEI:
    return FOTA_ERR_NO_IDENTITY; /* a module reads its IMEI; here the caller must pass it */
  case IDENT_MAC:
    if (!o->mac)
      return FOTA_ERR_NO_IDENTITY;
    fota__sb_str(b, "mac=");
    fota__sb_str(b, o->mac);
    return 0;
  default:
    fota__sb_str(b, "nil");
    return 0;
  }
}

/* Appends the parameters of a non-### URL. */
static int append_params(const fota_opts *o, fota__sb *b)
{
  if (!o->project_key)
    return FOTA_ERR_NO_PROJECT_KEY;
  if (!o->version)
    return FOTA_ERR_VERSION;
  if (!o->firmware_name)
    return FOTA_ERR_INVAL;
  int rc = 0;
  if (o->flags & FOTA_OPT_LEGACY_ORDER) {
    fota__sb_str(b, "project_key=");
    fota__sb_str(b, o->project_key);
    fota__sb_str(b, "&firmware_name=");
    fota__sb_str(b, o->firmware_name);
    fota__sb_str(b, "&version=");
    fota__sb_str(b, o->version);
    fota__sb_str(b, "&");
    rc = ident_pair(o, b);
  } else {
    rc = ident_pair(o, b);
    fota__sb_str(b, "&project_key=");
    fota__sb_str(b, o->project_key);
    fota__sb_str(b, "&firmware_name=");
    fota__sb_str(b, o->firmware_name);
    fota__sb_str(b, "&version=");
    fota__sb_str(b, o->version);
  }
  return rc;
}

static int parse_port(const char *s, size_t n, uint16_t *out)
{
  if (n == 0 || n > 5)
    return FOTA_ERR_URL;
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return FOTA_ERR_URL;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v == 0 || v > 65535)
    return FOTA_ERR_URL;
  *out = (uint16_t)v;
  return 0;
}

int fota__url_parse(const char *url, size_t len, fota__url *u)
{
  memset(u, 0, sizeof *u);
  for (size_t i = 0; i < len; i++)
    if (url[i] == '\r' || url[i] == '\n' || url[i] == '\0')
      return FOTA_ERR_URL; /* would split the request line */
  size_t p;
  if (len >= 7 && fota__strncaseeq(url, "http://", 7)) {
    p = 7;
    u->port = 80;
  } else if (len >= 8 && fota__strncaseeq(url, "https://", 8)) {
    p = 8;
    u->tls = 1;
    u->port = 443;
  } else {
    return FOTA_ERR_URL;
  }
  /* authority ends at '/', '?' or the end */
  size_t a = p;
  while (a < len && url[a] != '/' && url[a] != '?' && url[a] != '#')
    a++;
  size_t hs = p;
  for (size_t i = p; i < a; i++)
    if (url[i] == '@')
      hs = i + 1; /* last '@' ends userinfo */
  if (hs > p) {
    u->user = url + p;
    u->user_len = hs - 1 - p;
  }
  size_t he, ps;
  if (hs < a && url[hs] == '[') {
    he = hs + 1;
    while (he < a && url[he] != ']')
      he++;
    if (he >= a)
      return FOTA_ERR_URL;
    u->ipv6 = 1;
    if (he - hs - 1 == 0 || he - hs - 1 >= FOTA_HOST_MAX)
      return FOTA_ERR_URL;
    memcpy(u->host, url + hs + 1, he - hs - 1);
    ps = he + 1;
    if (ps < a && url[ps] != ':')
      return FOTA_ERR_URL;
  } else {
    he = hs;
    while (he < a && url[he] != ':')
      he++;
    if (he == hs || he - hs >= FOTA_HOST_MAX)
      return FOTA_ERR_URL;
    memcpy(u->host, url + hs, he - hs);
    ps = he;
  }
  for (const char *h = u->host; *h; h++) {
    unsigned char c = (unsigned char)*h;
    if (c <= ' ' || c == '/' || c == '\\' || c == '@' || c >= 0x7f)
      return FOTA_ERR_URL;
  }
  if (ps < a) { /* ":port" */
    int rc = parse_port(url + ps + 1, a - ps - 1, &u->port);
    if (rc)
      return rc;
  }
  u->path = url + a;
  u->path_len = len - a;
  return 0;
}

static void base64(fota__sb *b, const uint8_t *p, size_t n)
{
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    char q[4] = {t[(v >> 18) & 63], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
                 i + 2 < n ? t[v & 63] : '='};
    fota__sb_mem(b, q, 4);
  }
}

static int valid_header_text(const char *h)
{
  /* Each line must end in CRLF and contain no NUL/bare CR; no blank line. */
  size_t n = strlen(h);
  if (n == 0)
    return 1;
  if (n < 2 || h[n - 2] != '\r' || h[n - 1] != '\n')
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (h[i] == '\r' && (i + 1 >= n || h[i + 1] != '\n'))
      return 0;
    if (h[i] == '\n' && (i == 0 || h[i - 1] != '\r'))
      return 0;
    if (h[i] == '\n' && i + 2 < n && h[i + 1] == '\r')
      return 0; /* blank line would end the head early */
  }
  return h[0] != '\r';
}

static int valid_method(const char *m)
{
  if (!*m || strlen(m) > 16)
    return 0;
  for (; *m; m++)
    if (*m < 'A' || *m > 'Z')
      return 0;
  return 1;
}

int fota__build_head(const fota_opts *o, const char *extra, char *buf, size_t cap,
                     fota_target *target)
{
  if (!o || !buf || cap < 2)
    return FOTA_ERR_INVAL;
  const char *url = o->url ? o->url : FOTA_DEFAULT_URL;
  const char *method = o->method ? o->method : "GET";
  if (!valid_method(method))
    return FOTA_ERR_INVAL;
  if (o->headers && !valid_header_text(o->headers))
    return FOTA_ERR_INVAL;
  if (extra && !valid_header_text(extra))
    return FOTA_ERR_INVAL;

  /* 1+2: the full URL. Written at the start of buf first (its length is
   * not known before), then moved to the tail. */
  int raw = has_prefix(url, "###");
  if (raw)
    url += 3;
  raw |= (o->flags & FOTA_OPT_RAW_URL) != 0;
  fota__sb pb;
  fota__sb_init(&pb, buf, cap);
  fota__sb_str(&pb, url);
  if (!raw) {
    int rc = append_params(o, &pb);
    if (rc)
      return rc;
  }
  if (pb.over)
    return FOTA_ERR_TOOBIG;
  size_t ulen = pb.len;
  char *u_at = buf + cap - 1 - ulen;
  memmove(u_at, buf, ulen);
  u_at[ulen] = '\0';

  /* 3: split it. */
  fota__url u;
  int rc = fota__url_parse(u_at, ulen, &u);
  if (rc)
    return rc;
  char user[USERINFO_MAX];
  size_t user_len = u.user_len;
  if (user_len >= sizeof user)
    return FOTA_ERR_TOOBIG;
  memcpy(user, u.user ? u.user : "", user_len);

  /* 4: the head. */
  fota__sb b;
  b.buf = buf;
  b.cap = cap;
  b.len = 0;
  b.over = 0;
  size_t mlen = strlen(method);
  if (mlen + 1 + 1 + u.path_len + 1 > cap)
    return FOTA_ERR_TOOBIG;
  /* request line: move the path first, it may overlap the write position */
  int slash = (u.path_len == 0 || u.path[0] != '/');
  size_t path_off = mlen + 1;
  memmove(buf + path_off + (size_t)slash, u.path, u.path_len);
  memcpy(buf, method, mlen);
  buf[mlen] = ' ';
  if (slash)
    buf[path_off] = '/';
  size_t path_len = u.path_len + (size_t)slash;
  b.len = path_off + path_len;
  buf[b.len] = '\0';
  fota__sb_str(&b, " HTTP/1.1\r\n");
  if (!fota__headers_have(o->headers, "host:")) {
    fota__sb_str(&b, "Host: ");
    if (u.ipv6)
      fota__sb_str(&b, "[");
    fota__sb_str(&b, u.host);
    if (u.ipv6)
      fota__sb_str(&b, "]");
    fota__sb_str(&b, ":");
    fota__sb_u64(&b, u.port);
    fota__sb_str(&b, "\r\n");
  }
  fota__sb_str(&b, "Connection: Close\r\n");
  if (user_len) {
    fota__sb_str(&b, "Authorization: Basic ");
    base64(&b, (const uint8_t *)user, user_len);
    fota__sb_str(&b, "\r\n");
  }
  if (o->headers)
    fota__sb_str(&b, o->headers);
  if (extra)
    fota__sb_str(&b, extra);
  if (o->body) {
    fota__sb_str(&b, "Content-Length: ");
    fota__sb_u64(&b, o->body_len);
    fota__sb_str(&b, "\r\n");
  }
  fota__sb_str(&b, "\r\n");
  if (b.over)
    return FOTA_ERR_TOOBIG;
  if (target) {
    memset(target, 0, sizeof *target);
    memcpy(target->host, u.host, sizeof target->host);
    target->port = u.port;
    target->tls = u.tls;
    target->path_off = path_off;
    target->path_len = path_len;
  }
  return (int)b.len;
}

int fota_build_request_head(const fota_opts *opts, char *buf, size_t cap, fota_target *target)
{
  return fota__build_head(opts, NULL, buf, cap, target);
}

int fota_build_request(const fota_opts *opts, char *buf, size_t cap, fota_target *target)
{
  int n = fota__build_head(opts, NULL, buf, cap, target);
  if (n < 0)
    return n;
  if (opts->body && opts->body_len) {
    if (opts->body_len >= cap - (size_t)n)
      return FOTA_ERR_TOOBIG;
    memcpy(buf + n, opts->body, opts->body_len);
    n += (int)opts->body_len;
    buf[n] = '\0';
  }
  return n;
}

static int all_digits(const char *s, size_t n)
{
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

int fota_version_string(const char *core, const char *script, char out[FOTA_VERSION_MAX])
{
  if (!core || !script || !out)
    return FOTA_ERR_VERSION;
  if (*core == 'V' || *core == 'v')
    core++;
  size_t cl = strlen(core);
  if (!all_digits(core, cl))
    return FOTA_ERR_VERSION;
  const char *d1 = strchr(script, '.');
  if (!d1)
    return FOTA_ERR_VERSION;
  const char *d2 = strchr(d1 + 1, '.');
  if (!d2 || strchr(d2 + 1, '.'))
    return FOTA_ERR_VERSION;
  size_t xl = (size_t)(d1 - script), yl = (size_t)(d2 - d1 - 1), zl = strlen(d2 + 1);
  if (!all_digits(script, xl) || !all_digits(d1 + 1, yl) || !all_digits(d2 + 1, zl))
    return FOTA_ERR_VERSION;
  fota__sb b;
  fota__sb_init(&b, out, FOTA_VERSION_MAX);
  fota__sb_mem(&b, core, cl);
  fota__sb_str(&b, ".");
  fota__sb_mem(&b, script, xl);
  fota__sb_str(&b, ".");
  fota__sb_mem(&b, d2 + 1, zl);
  if (b.over)
    return FOTA_ERR_TOOBIG;
  return (int)b.len;
}

int fota_firmware_name(const char *project, const char *model, char *out, size_t cap)
{
  if (!project || !model || !out)
    return FOTA_ERR_INVAL;
  const char *dash = strchr(model, '-');
  size_t ml = dash ? (size_t)(dash - model) : strlen(model);
  fota__sb b;
  fota__sb_init(&b, out, cap);
  fota__sb_str(&b, project);
  fota__sb_str(&b, "_LuatOS-SoC_");
  fota__sb_mem(&b, model, ml);
  return b.over ? FOTA_ERR_TOOBIG : (int)b.len;
}
