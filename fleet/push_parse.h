/*
 * push_parse.h — what a device says on the TCP push port, and what the
 * server sends back.
 *
 * A device identifies itself with its first line (terminated by '\n', an
 * optional '\r' before it is ignored):
 *   - its IMEI digits:            860000000000009
 *   - a hex unique id (MAC/MCU):  0123456789ab        (8..32 hex digits, at least one a-f;
 *                                 12..32 digits are upper-cased like the server's ids)
 *   - JSON:                       {"imei":"860000000000009"}
 *                                 ("mac" or "id" instead of "imei"; optional
 *                                  "version" is remembered)
 * Later lines are heartbeats: their content is ignored.
 *
 * Device authentication (optional, when the server has a push key): the
 * server first sends {"nonce":"<32 hex>"}\n; the device then identifies with
 * JSON that carries "auth": hex HMAC-SHA256(device_key, nonce + device_id),
 * where device_key = HMAC-SHA256(push_key, device_id) and device_id is the
 * canonical id (IMEI digits; hex ids upper case without separators).
 *
 * The command is one line of JSON:
 *   {"fota":"true","url":"<check URL ending in ?>","version":"<v>"}\n
 */
#ifndef OPENFOTA_FLEET_PUSH_PARSE_H
#define OPENFOTA_FLEET_PUSH_PARSE_H

#include <stddef.h>

#define PUSH_ID_MAX 64      /* longest device id (without NUL) */
#define PUSH_VERSION_MAX 31 /* longest version text (without NUL) */

/* Is s (len bytes) a device id the fleet accepts: 1..64 of [0-9A-Za-z_.:-]? */
int push_id_valid(const char *s, size_t len);

/* Is s (len bytes) an id a push may name: the forms the server takes as a
 * device identity in a check (IMEI 14..17 digits, MAC aa:bb:cc:dd:ee:ff or
 * aa-bb-..., 12..32 hex digits)? 1 yes; 0 with *why (static text) set.
 * push_devid.c */
int push_device_id_valid(const char *s, size_t len, const char **why);

/* Rewrites a hex unique id (12..32 hex digits with a-f letters or ':'/'-'
 * separators) into the server's canonical form: upper case, no separators.
 * IMEI digits and other ids are left as they are. */
void push_id_canon(char *id);

/* Parses a first line (len bytes, no '\n'; may contain NULs). On success
 * returns 0 and writes the NUL-terminated id into id[PUSH_ID_MAX+1] and the
 * version (or "") into version[PUSH_VERSION_MAX+1]. On failure returns
 * FLEET_ERR_PROTOCOL and *why (static text) says what was wrong. */
int push_parse_ident(const char *line, size_t len, char *id, char *version, const char **why);

#define PUSH_AUTH_HEX 64   /* "auth": 64 hex digits (HMAC-SHA256) */
#define PUSH_NONCE_HEX 32  /* the server's nonce: 16 random bytes in hex */
#define PUSH_KEY_MIN 16    /* shortest push key (bytes) */
#define PUSH_KEY_MAX 64    /* longest push key (bytes) */

/* push_parse_ident that also returns the JSON "auth" member: auth[PUSH_AUTH_HEX+1]
 * gets its 64 hex digits, or "" when the line has none (a plain id line, or
 * JSON without "auth"). An "auth" that is not a string of 64 hex digits is a
 * bad first line. */
int push_parse_ident_auth(const char *line, size_t len, char *id, char *version, char *auth,
                          const char **why);

/* device_key = HMAC-SHA256(key, id). */
void push_device_key(const unsigned char *key, size_t key_len, const char *id, unsigned char out[32]);

/* Checks auth (64 hex digits, either case) against
 * HMAC-SHA256(HMAC-SHA256(key, id), nonce + id) in constant time.
 * Returns 0 when it matches, FLEET_ERR_PROTOCOL when not. */
int push_auth_verify(const unsigned char *key, size_t key_len, const char *nonce, const char *id,
                     const char *auth);

/* Reads a push key: hex digits (surrounding blanks and newlines ignored),
 * PUSH_KEY_MIN..PUSH_KEY_MAX bytes. Returns the byte count or -1 with *why. */
int push_key_parse(const char *text, size_t len, unsigned char out[PUSH_KEY_MAX], const char **why);

/* Lower-case hex of n bytes into out[2n+1]. */
void push_hex(const unsigned char *in, size_t n, char *out);

/* Writes the command line (with the final '\n', NUL-terminated) into buf.
 * version may be NULL or "". Returns its length without NUL, or
 * FLEET_ERR_LIMIT when it does not fit, FLEET_ERR_INVAL for a bad url. */
int push_build_command(const char *url, const char *version, char *buf, size_t size);

#endif
