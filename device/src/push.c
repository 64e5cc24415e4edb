/*
 * push.c — the TCP push listener and its one-line JSON parser.
 *
 * Wire: the device connects to the server's push port and sends its IMEI
 * and "\n". The server may then send lines of JSON, one object per line:
 *   {"fota":"true","url":"http://...","version":"..."}
 * "fota" is the string "true" (JSON true is accepted too); "url" is
 * required with it; "version" is optional (informational: the check keeps
 * reporting the device's own version); other keys are ignored; for a
 * repeated key the last one wins. Lines longer than FOTA_PUSH_LINE_MAX are
 * dropped whole. A trigger that arrives while an update runs is ignored (the
 * seed's fota_running guard): bytes received during a request are drained
 * and dropped afterwards.
 *
 * With a push key (fota_push_opts.key) the server speaks first:
 *   {"nonce":"<hex>"}
 * and the device identifies with
 *   {"imei":"<id>","auth":"<hex HMAC-SHA256(key, nonce + id)>"}
 * A server that sends nothing within nonce_wait_ms does not authenticate:
 * the plain id line is sent as without a key.
 */
#include "fota_internal.h"

#include <string.h>

typedef struct jp {
  const char *s, *e;
} jp;

static void ws(jp *p)
{
  while (p->s < p->e && (*p->s == ' ' || *p->s == '\t' || *p->s == '\r' || *p->s == '\n'))
    p->s++;
}

static int hex4(const char *s, unsigned *out)
{
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

/* Parses a JSON string at p->s into out (cap bytes, NUL-terminated; out may
 * be NULL to skip). Returns 0, FOTA_ERR_PROTOCOL or FOTA_ERR_TOOBIG. */
static int jstring(jp *p, char *out, size_t cap)
{
  if (p->s >= p->e || *p->s != '"')
    return FOTA_ERR_PROTOCOL;
  p->s++;
  size_t n = 0;
  int over = 0;
  while (p->s < p->e && *p->s != '"') {
    unsigned char c = (unsigned char)*p->s++;
    char u[4];
    size_t ul = 1;
    u[0] = (char)c;
    if (c < 0x20)
      return FOTA_ERR_PROTOCOL;
    if (c == '\\') {
      if (p->s >= p->e)
        return FOTA_ERR_PROTOCOL;
      char e = *p->s++;
      switch (e) {
      case '"': case '\\': case '/': u[0] = e; break;
      case 'b': u[0] = '\b'; break;
      case 'f': u[0] = '\f'; break;
      case 'n': u[0] = '\n'; break;
      case 'r': u[0] = '\r'; break;
      case 't': u[0] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (p->e - p->s < 4 || hex4(p->s, &cp))
          return FOTA_ERR_PROTOCOL;
        p->s += 4;
        if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
          return FOTA_ERR_PROTOCOL; /* NUL and surrogates are not accepted */
        if (cp < 0x80) {
          u[0] = (char)cp;
        } else if (cp < 0x800) {
          u[0] = (char)(0xc0 | (cp >> 6));
          u[1] = (char)(0x80 | (cp & 0x3f));
          ul = 2;
        } else {
          u[0] = (char)(0xe0 | (cp >> 12));
          u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
          u[2] = (char)(0x80 | (cp & 0x3f));
          ul = 3;
        }
        break;
      }
      default:
        return FOTA_ERR_PROTOCOL;
      }
    }
    if (out && !over) {
      if (n + ul >= cap)
        over = 1;
      else {
        memcpy(out + n, u, ul);
        n += ul;
      }
    }
  }
  if (p->s >= p->e)
    return FOTA_ERR_PROTOCOL;
  p->s++; /* closing quote */
  if (out)
    out[n] = '\0';
  return over ? FOTA_ERR_TOOBIG : 0;
}

static int word(jp *p, const char *w)
{
  size_t n = strlen(w);
  if ((size_t)(p->e - p->s) < n || memcmp(p->s, w, n) != 0)
    return 0;
  p->s += n;
  return 1;
}

static int jnumber(jp *p)
{
  const char *st = p->s;
  while (p->s < p->e && ((*p->s >= '0' && *p->s <= '9') || strchr("+-.eE", *p->s)))
    p->s++;
  return p->s > st ? 0 : FOTA_ERR_PROTOCOL;
}

int fota_push_parse(const char *line, size_t len, fota_push_msg *m)
{
  if (!line || !m)
    return FOTA_ERR_INVAL;
  memset(m, 0, sizeof *m);
  jp p = {line, line + len};
  ws(&p);
  if (p.s >= p.e || *p.s++ != '{')
    return FOTA_ERR_PROTOCOL;
  ws(&p);
  int first = 1;
  int have_url = 0;
  for (;;) {
    if (p.s < p.e && *p.s == '}' && first) {
      p.s++;
      break;
    }
    char key[16];
    int rc = jstring(&p, key, sizeof key);
    if (rc == FOTA_ERR_TOOBIG)
      key[0] = '\0'; /* a long key is simply not one of ours */
    else if (rc)
      return rc;
    ws(&p);
    if (p.s >= p.e || *p.s++ != ':')
      return FOTA_ERR_PROTOCOL;
    ws(&p);
    if (p.s >= p.e)
      return FOTA_ERR_PROTOCOL;
    int is_fota = strcmp(key, "fota") == 0;
    if (*p.s == '"') {
      if (strcmp(key, "url") == 0) {
        rc = jstring(&p, m->url, sizeof m->url);
        have_url = m->url[0] != '\0';
      } else if (strcmp(key, "version") == 0) {
        rc = jstring(&p, m->version, sizeof m->version);
      } else if (is_fota) {
        char v[8];
        rc = jstring(&p, v, sizeof v);
        if (rc == FOTA_ERR_TOOBIG)
          rc = 0, v[0] = '\0';
        m->fota = strcmp(v, "true") == 0;
      } else {
        rc = jstring(&p, NULL, 0);
      }
      if (rc)
        return rc;
    } else if (word(&p, "true")) {
      if (is_fota)
        m->fota = 1;
    } else if (word(&p, "false") || word(&p, "null")) {
      if (is_fota)
        m->fota = 0;
    } else if (jnumber(&p)) {
      return FOTA_ERR_PROTOCOL; /* objects, arrays and junk are not expected */
    }
    first = 0;
    ws(&p);
    if (p.s >= p.e)
      return FOTA_ERR_PROTOCOL;
    if (*p.s == ',') {
      p.s++;
      ws(&p);
      continue;
    }
    if (*p.s++ != '}')
      return FOTA_ERR_PROTOCOL;
    break;
  }
  ws(&p);
  if (p.s != p.e)
    return FOTA_ERR_PROTOCOL; /* one object per line */
  if (m->fota && !have_url)
    return FOTA_ERR_INVAL;
  return 0;
}

static void pause_ms(const fota_system *sys, unsigned ms, volatile int *stop)
{
  while (ms && !(stop && *stop)) {
    unsigned step = ms < 200 ? ms : 200;
    sys->sleep_ms(sys->ctx, step);
    ms -= step;
  }
}

/* Reads and drops whatever arrived while an update ran. */
static int drain(const fota_transport *t, fota_conn *c)
{
  uint8_t junk[128];
  for (;;) {
    long n = t->recv(t->ctx, c, junk, sizeof junk, 1);
    if (n == FOTA_ERR_TIMEOUT)
      return 0;
    if (n <= 0)
      return -1;
  }
}

__attribute__((noinline)) static void on_line(const fota_ports *ports, const fota_push_opts *po, const fota_opts *base,
                    fota_callback cb, void *user, const char *line, size_t n, int *ran)
{
  fota_push_msg m;
  if (n == 0 || fota_push_parse(line, n, &m) != 0 || !m.fota)
    return;
  if (fota_running())
    return; /* ignored: an update is already running */
  fota_opts o = *base; /* version stays the device's own: the check reports it */
  o.url = m.url;
  (void)po;
  (void)fota_request_ex(ports, &o, cb, user);
  *ran = 1;
}

/* Parses {"nonce":"<16..64 hex>"} (other string members are skipped) into
 * out[65]. Returns 0 or FOTA_ERR_PROTOCOL. */
static int nonce_parse(const char *line, size_t len, char *out)
{
  jp p = {line, line + len};
  out[0] = '\0';
  ws(&p);
  if (p.s >= p.e || *p.s++ != '{')
    return FOTA_ERR_PROTOCOL;
  for (;;) {
    char key[8];
    ws(&p);
    int rc = jstring(&p, key, sizeof key);
    if (rc == FOTA_ERR_TOOBIG)
      key[0] = '\0';
    else if (rc)
      return rc;
    ws(&p);
    if (p.s >= p.e || *p.s++ != ':')
      return FOTA_ERR_PROTOCOL;
    ws(&p);
    int ours = strcmp(key, "nonce") == 0;
    if (jstring(&p, ours ? out : NULL, 65))
      return FOTA_ERR_PROTOCOL;
    ws(&p);
    if (p.s < p.e && *p.s == ',') {
      p.s++;
      continue;
    }
    if (p.s >= p.e || *p.s++ != '}')
      return FOTA_ERR_PROTOCOL;
    break;
  }
  size_t n = strlen(out);
  if (n < 16)
    return FOTA_ERR_PROTOCOL;
  for (size_t i = 0; i < n; i++)
    if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f') || (out[i] >= 'A' && out[i] <= 'F')))
      return FOTA_ERR_PROTOCOL;
  return 0;
}

/* Identifies on a fresh connection: the plain id line, or with a key the
 * answer to the server's nonce (line is the listener's line buffer, free
 * here). Returns 0, or -1 when the connection is to be dropped. Kept out of
 * fota_push_listen's frame: its buffers are not on the path of an update. */
__attribute__((noinline)) static int push_identify(const fota_transport *t, const fota_system *sys, fota_conn *c,
                                                   const fota_push_opts *po, char *line)
{
  size_t il = strlen(po->imei);
  if (po->key) {
    uint64_t start = sys->now_ms(sys->ctx);
    unsigned wait = po->nonce_wait_ms ? po->nonce_wait_ms : 5000;
    size_t len = 0;
    for (;;) {
      uint64_t spent = sys->now_ms(sys->ctx) - start;
      if (po->stop && *po->stop)
        return -1;
      if (spent >= wait) {
        if (len)
          return -1; /* half a line and then silence */
        goto plain;  /* no nonce: the server does not authenticate */
      }
      uint8_t ch;
      long n = t->recv(t->ctx, c, &ch, 1, (unsigned)(wait - spent));
      if (n == FOTA_ERR_TIMEOUT)
        continue;
      if (n <= 0)
        return -1;
      if (ch == '\n')
        break;
      if (len >= FOTA_PUSH_LINE_MAX - 1)
        return -1;
      line[len++] = (char)ch;
    }
    char nonce[65];
    if (nonce_parse(line, len, nonce))
      return -1; /* not a nonce: not a server we know how to answer */
    size_t nl = strlen(nonce);
    memcpy(line, nonce, nl);
    memcpy(line + nl, po->imei, il);
    uint8_t mac[32];
    fota_hmac_sha256(po->key, po->key_len, line, nl + il, mac);
    static const char hx[] = "0123456789abcdef";
    memcpy(line, "{\"imei\":\"", 9);
    size_t o = 9;
    memcpy(line + o, po->imei, il);
    o += il;
    memcpy(line + o, "\",\"auth\":\"", 10);
    o += 10;
    for (int i = 0; i < 32; i++) {
      line[o++] = hx[mac[i] >> 4];
      line[o++] = hx[mac[i] & 15];
    }
    memcpy(line + o, "\"}\n", 3);
    o += 3;
    return t->send(t->ctx, c, line, o, 10000) ? -1 : 0;
  }
plain:
  if (t->send(t->ctx, c, po->imei, il, 10000) || t->send(t->ctx, c, "\n", 1, 10000))
    return -1;
  return 0;
}

/* Connects to the push server; the target lives only in this frame. */
__attribute__((noinline)) static int push_connect(const fota_transport *t, const fota_push_opts *po,
                                                  const fota_opts *base, fota_conn **c)
{
  fota_target target;
  memset(&target, 0, sizeof target);
  size_t hl = strlen(po->host);
  memcpy(target.host, po->host, hl + 1);
  target.port = po->port;
  return t->connect(t->ctx, &target, base, 10000, c);
}

int fota_push_listen(const fota_ports *ports, const fota_push_opts *po, const fota_opts *base,
                     fota_callback cb, void *user)
{
  if (!ports || !ports->transport || !ports->system || !po || !po->host || !po->imei || !base)
    return FOTA_ERR_INVAL;
  const fota_transport *t = ports->transport;
  const fota_system *sys = ports->system;
  unsigned reconnect = po->reconnect_ms ? po->reconnect_ms : 10000;
  unsigned idle = po->idle_ms ? po->idle_ms : 1000;
  size_t hl = strlen(po->host);
  if (hl == 0 || hl >= FOTA_HOST_MAX)
    return FOTA_ERR_URL;
  if (po->key) { /* the id goes into a JSON string and the MAC input as it is */
    size_t il = strlen(po->imei);
    if (il == 0 || il > 64)
      return FOTA_ERR_INVAL;
    for (size_t i = 0; i < il; i++)
      if (po->imei[i] == '"' || po->imei[i] == '\\' || (unsigned char)po->imei[i] < 0x20)
        return FOTA_ERR_INVAL;
  }
  char line[FOTA_PUSH_LINE_MAX];
  unsigned connects = 0;
  int ever = 0;
  while (!(po->stop && *po->stop)) {
    if (po->max_connects && connects >= po->max_connects)
      return ever ? 0 : FOTA_ERR_CONNECT;
    connects++;
    fota_conn *c = NULL;
    int rc = push_connect(t, po, base, &c);
    if (rc) {
      pause_ms(sys, reconnect, po->stop);
      continue;
    }
    ever = 1;
    if (push_identify(t, sys, c, po, line)) {
      t->close(t->ctx, c);
      pause_ms(sys, reconnect, po->stop);
      continue;
    }
    size_t len = 0;
    int dropping = 0;
    uint8_t buf[256];
    uint64_t last_sent = sys->now_ms(sys->ctx);
    while (!(po->stop && *po->stop)) {
      if (po->heartbeat_ms && sys->now_ms(sys->ctx) - last_sent >= po->heartbeat_ms) {
        if (t->send(t->ctx, c, "\n", 1, 10000))
          break;
        last_sent = sys->now_ms(sys->ctx);
      }
      long n = t->recv(t->ctx, c, buf, sizeof buf, idle);
      if (n == FOTA_ERR_TIMEOUT)
        continue;
      if (n <= 0)
        break;
      int ran = 0;
      for (long i = 0; i < n && !ran; i++) {
        char ch = (char)buf[i];
        if (ch == '\n') {
          if (!dropping) {
            size_t l = len;
            if (l && line[l - 1] == '\r')
              l--;
            on_line(ports, po, base, cb, user, line, l, &ran);
          }
          len = 0;
          dropping = 0;
        } else if (dropping) {
          continue;
        } else if (len < sizeof line) {
          line[len++] = ch;
        } else {
          dropping = 1; /* over FOTA_PUSH_LINE_MAX: the whole line is dropped */
          len = 0;
        }
      }
      if (ran) { /* everything after the trigger arrived during the update: dropped */
        len = 0;
        dropping = 0;
        if (drain(t, c))
          break;
      }
    }
    t->close(t->ctx, c);
    if (!(po->stop && *po->stop))
      pause_ms(sys, reconnect, po->stop);
  }
  return 0;
}
