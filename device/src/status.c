/*
 * status.c — optional status reports to the update server.
 *
 *   POST <url>   (e.g. http://server:8080/api/v1/device/status)
 *   Content-Type: application/json
 *   {"id":"…","version":"…","state":"downloading|downloaded|installed|failed",
 *    "reason":"…","sha256":"…"}
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

int fota_status_report(const fota_ports *ports, const char *url, const char *id,
                       const char *version, const char *state, const char *reason,
                       const char *sha256_hex, unsigned timeout_ms)
{
  if (!ports || !ports->transport || !ports->system || !url || !state)
    return FOTA_ERR_INVAL;
  char body[STATUS_BODY_MAX];
  int n = fota_status_json(body, sizeof body, id, version, state, reason, sha256_hex);
  if (n < 0)
    return n;
  fota_opts o;
  memset(&o, 0, sizeof o);
  o.url = url;
  o.flags = FOTA_OPT_RAW_URL;
  o.method = "POST";
  o.headers = "Content-Type: application/json\r\n";
  o.body = body;
  o.body_len = (size_t)n;
  const fota_system *sys = ports->system;
  uint64_t deadline = sys->now_ms(sys->ctx) + (timeout_ms ? timeout_ms : 10000);
  fota_http http;
  int rc = fota__exchange(ports, &o, NULL, deadline, 0, &http, NULL, NULL);
  return rc ? rc : http.status;
}
