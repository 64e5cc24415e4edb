/*
 * fdlimit.h — fit the process's open-file limit (RLIMIT_NOFILE) to the
 * connection cap at start, so accept() does not run out of descriptors in
 * normal operation (each connection is one descriptor; a download holds a
 * second one for the file, the database, logs and workers need a few).
 *
 * No pointers are kept; msg is the caller's buffer.
 */
#ifndef OPENFOTA_SERVER_FDLIMIT_H
#define OPENFOTA_SERVER_FDLIMIT_H

#include <stddef.h>

#define FDLIMIT_MARGIN 1024u /* descriptors beyond the connection cap (files sent, database, workers) */

/* Raise the soft open-file limit to listeners x *max_conns + FDLIMIT_MARGIN
 * (each listener has its own cap), up to the hard limit. When the hard limit
 * is too small:
 *   - lower_ok (the cap was left at its default): *max_conns is lowered to
 *     what fits, msg says so, returns 1;
 *   - otherwise returns -1 with msg saying why the server cannot start.
 * Returns 0 when the cap fits (msg empty). */
int fdlimit_fit(unsigned *max_conns, unsigned listeners, int lower_ok, char *msg, size_t msglen);

#endif
