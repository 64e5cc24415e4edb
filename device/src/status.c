/*
 * status.c — optional status reports to the update server.
 *
 *   POST <url>   (e.g. http://server:8080/api/v1/device/status)
 *   Content-Type: application/json
 *   {"id":"…","version":"…","state":"downloading|downloaded|installed|failed",
 *    "reason":"…","sha256":"…"}
 *
 * Signed reports add X-Openfota-Time (ms since 1970) and X-Openfota-Auth
 * (hex HMAC-SHA256 under the device's key of time + "\n" + body).
 *
 * Best effort: a report that fails never changes the outcome of an update.
 * The body is built in a fixed buffer; over-long fields are refused
 * (FOTA_ERR_TOOBIG) rather than cut.
 */
#include "fota_internal.h"

#include <string.h>

#define STATUS_BODY_MAX 768

static void json_str(fota__sb *b, const char *s)
{
  static const char hx[] = "0123456789abcdef";
  fota__sb_str(b, "\"");
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      fota__sb_mem(b, e, 2);
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
      fota__sb_mem(b, e, 6);
    } else {
      fota__sb_mem(b, s, 1);
    }
  }
  fota__sb_str(b, "\"");
}

int fota_status_json(char *out, size_t cap, const char *id, const char *version, const char *state,
                     const char *reason, const char *sha256_hex)
{
  if (!out || !state)
    return FOTA_ERR_INVAL;
  fota__sb b;
  fota__sb_init(&b, out, cap);
  fota__sb_str(&b, "{\"id\":");
  json_str(&b, id);
  fota__sb_str(&b, ",\"version\":");
  json_str(&b, version);
  fota__sb_str(&b, ",\"state\":");
  json_str(&b, state);
  fota__sb_str(&b, ",\"reason\":");
  json_str(&b, reason);
  fota__sb_str(&b, ",\"sha256\":");
  json_str(&b, sha256_hex);
  fota__sb_str(&b, "}");
  return b.over ? FOTA_ERR_TOOBIG : (int)b.len;
}

void fota_status_sign(const uint8_t *key, size_t key_len, uint64_t time_ms, const char *body, size_t len,
                      char out[65])
{
  char msg[24 + STATUS_BODY_MAX];
  fota__sb b;
  fota__sb_init(&b, msg, sizeof msg);
  fota__sb_u64(&b, time_ms);
  fota__sb_str(&b, "\n");
  fota__sb_mem(&b, body, len);
  uint8_t mac[32];
  fota_hmac_sha256(key, key_len, msg, b.len, mac);
  fota__sb hb;
  fota__sb_init(&hb, out, 65);
  fota__sb_hex(&hb, mac, 32);
}

static int status_send(const fota_ports *ports, const char *url, const uint8_t *key, size_t key_len,
                       uint64_t time_ms, const char *id, const char *version, const char *state,
                       const char *reason, const char *sha256_hex, unsigned timeout_ms)
{
  if (!ports || !ports->transport || !ports->system || !url || !state)
    return FOTA_ERR_INVAL;
  char body[STATUS_BODY_MAX];
  int n = fota_status_json(body, sizeof body, id, version, state, reason, sha256_hex);
  if (n < 0)
    return n;
  char hdrs[200];
  fota__sb hb;
  fota__sb_init(&hb, hdrs, sizeof hdrs);
  fota__sb_str(&hb, "Content-Type: application/json\r\n");
  if (key && key_len) {
    char auth[65];
    fota_status_sign(key, key_len, time_ms, body, (size_t)n, auth);
    fota__sb_str(&hb, "X-Openfota-Time: ");
    fota__sb_u64(&hb, time_ms);
    fota__sb_str(&hb, "\r\nX-Openfota-Auth: ");
    fota__sb_str(&hb, auth);
    fota__sb_str(&hb, "\r\n");
  }
  if (hb.over)
    return FOTA_ERR_TOOBIG;
  fota_opts o;
  memset(&o, 0, sizeof o);
  o.url = url;
  o.flags = FOTA_OPT_RAW_URL;
  o.method = "POST";
  o.headers = hdrs;
  o.body = body;
  o.body_len = (size_t)n;
  const fota_system *sys = ports->system;
  uint64_t deadline = sys->now_ms(sys->ctx) + (timeout_ms ? timeout_ms : 10000);
  fota_http http;
  int rc = fota__exchange(ports, &o, NULL, deadline, 0, &http, NULL, NULL);
  return rc ? rc : http.status;
}

int fota_status_report(const fota_ports *ports, const char *url, const char *id,
                       const char *version, const char *state, const char *reason,
                       const char *sha256_hex, unsigned timeout_ms)
{
  return status_send(ports, url, NULL, 0, 0, id, version, state, reason, sha256_hex, timeout_ms);
}

int fota_status_report_signed(const fota_ports *ports, const char *url, const uint8_t *key, size_t key_len,
                              uint64_t time_ms, const char *id, const char *version, const char *state,
                              const char *reason, const char *sha256_hex, unsigned timeout_ms)
{
  if (!key || !key_len)
    return FOTA_ERR_INVAL;
  return status_send(ports, url, key, key_len, time_ms, id, version, state, reason, sha256_hex, timeout_ms);
}
