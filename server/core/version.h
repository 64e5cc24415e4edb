/*
 * version.h — the device version "CORE.X.Z" and the script upgrade rule.
 *
 * libfota2 sends version=<core>.<X>.<Z>: the core (firmware) build number and
 * the first and third parts of the script VERSION "X.Y.Z" (Y is dropped by the
 * device library). Parts are compared as numbers, so "2012.1.1" equals
 * "2012.001.001". Only decimal digits are accepted; every part is bounded, so
 * no input can wrap around (a part of 18446744073709551616 is an error, not 0).
 */
#ifndef OPENFOTA_SERVER_VERSION_H
#define OPENFOTA_SERVER_VERSION_H

#include <stddef.h>
#include <stdint.h>

#define VERSION_CORE_MAX 999999u /* core build numbers are 4 digits today */
#define VERSION_PART_MAX 999u    /* X and Z, as on the vendor platform */
#define VERSION_TEXT_MAX 24      /* "999999.999.999" + NUL fits */

typedef struct of_version {
    uint32_t core; /* firmware (core) build number */
    uint32_t x;    /* script major (A) */
    uint32_t z;    /* script patch (C) */
} of_version;

typedef enum version_err {
    VERSION_OK = 0,
    VERSION_EMPTY,      /* nothing given */
    VERSION_PARTS,      /* not exactly three dot-separated parts */
    VERSION_NOT_DIGITS, /* a part holds something other than 0-9, or is empty */
    VERSION_TOO_BIG,    /* a part over its maximum (core 999999, X/Z 999) */
} version_err;

/* Parse len bytes at s (not NUL-terminated necessarily). On error *v is left
 * unspecified. Never reads past s+len. */
version_err version_parse(const char *s, size_t len, of_version *v);

/* A short English reason for an error code (static string). */
const char *version_strerror(version_err e);

/* Canonical text "CORE.XXX.ZZZ" into buf (at least VERSION_TEXT_MAX bytes). */
void version_format(const of_version *v, char *buf, size_t buflen);

/* The seed's script rule, B ignored: upgrading script A1.C1 to A2.C2 is
 * allowed when (A2 == A1 && C2 > C1) || (A2 > A1 && C2 >= C1). */
int version_script_upgrade(uint32_t a1, uint32_t c1, uint32_t a2, uint32_t c2);

/* -1, 0, 1 comparing (core, x, z) lexicographically. */
int version_cmp(const of_version *a, const of_version *b);

#endif
