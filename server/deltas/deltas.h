/*
 * deltas.h — signed releases and the server-made deltas between them.
 *
 *   signed.h / signed.c     the delta signing key, trusted upload keys, the
 *                           check of a signed package at upload; the
 *                           generator's interface (delta_gen_*)
 *   delta_cache.h / .c      which deltas exist or are being made, and the
 *                           check's choice between delta, wait (code 43) and
 *                           the full package
 *   delta_gen.c             the bounded generator worker threads
 */
#ifndef OPENFOTA_SERVER_DELTAS_H
#define OPENFOTA_SERVER_DELTAS_H

#include "delta_cache.h"
#include "signed.h"

#endif
