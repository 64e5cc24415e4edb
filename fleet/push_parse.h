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

/* Rewrites a hex unique id (12..32 hex digits with a-f letters or ':'/'-'
 * separators) into the server's canonical form: upper case, no separators.
 * IMEI digits and other ids are left as they are. */
void push_id_canon(char *id);

/* Parses a first line (len bytes, no '\n'; may contain NULs). On success
 * returns 0 and writes the NUL-terminated id into id[PUSH_ID_MAX+1] and the
 * version (or "") into version[PUSH_VERSION_MAX+1]. On failure returns
 * FLEET_ERR_PROTOCOL and *why (static text) says what was wrong. */
int push_parse_ident(const char *line, size_t len, char *id, char *version, const char **why);

/* Writes the command line (with the final '\n', NUL-terminated) into buf.
 * version may be NULL or "". Returns its length without NUL, or
 * FLEET_ERR_LIMIT when it does not fit, FLEET_ERR_INVAL for a bad url. */
int push_build_command(const char *url, const char *version, char *buf, size_t size);

#endif
