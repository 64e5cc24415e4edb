/*
 * query.h — the device check query, parsed from the RAW request URI.
 *
 * libfota2 appends "imei=<ID>&project_key=<KEY>&firmware_name=<NAME>&version=<VER>"
 * without URL-encoding (the older libfota uses another order; mac= replaces
 * imei= on Wi-Fi/MCU models; the literal "nil" replaces the identity pair on
 * unknown models). Parameters are found by name; the FIRST occurrence of a
 * name wins; unknown names are ignored; nothing is decoded. The parser never
 * allocates: results are slices into the caller's buffer, valid as long as it.
 */
#ifndef OPENFOTA_SERVER_QUERY_H
#define OPENFOTA_SERVER_QUERY_H

#include <stddef.h>

#define QUERY_MAX 4096         /* longer raw queries are refused */
#define QUERY_VALUE_MAX 128    /* longer values are refused */
#define DEVICE_ID_MAX 33       /* canonical id: up to 32 chars + NUL */

typedef struct qslice {
    const char *p; /* points into the parsed query; NULL when absent */
    size_t len;
} qslice;

typedef enum query_id_kind {
    QUERY_ID_NONE = 0, /* neither imei= nor mac= nor nil */
    QUERY_ID_IMEI,
    QUERY_ID_MAC,
    QUERY_ID_NIL,      /* the literal "nil" sent by an unknown model */
} query_id_kind;

typedef struct dev_query {
    query_id_kind id_kind;
    qslice id;            /* value of the first imei=/mac= */
    qslice project_key;
    qslice firmware_name;
    qslice version;
    int has_version;      /* version= present (maybe empty) */
} dev_query;

typedef enum query_err {
    QUERY_OK = 0,
    QUERY_TOO_LONG,       /* raw query over QUERY_MAX */
    QUERY_VALUE_TOO_LONG, /* a known parameter's value over QUERY_VALUE_MAX */
} query_err;

/* Parse len bytes of a raw query (the part after '?', no '?'). q may be NULL
 * when len is 0. Fills *out (zeroed first). */
query_err query_parse(const char *q, size_t len, dev_query *out);

/* Validate the identity of a parsed query and write its canonical form into
 * out[DEVICE_ID_MAX]. Returns 0, or -1 with *why set to a static message
 * telling the operator what is wrong (answer: code 3). */
int query_identity(const dev_query *q, char out[DEVICE_ID_MAX], const char **why);

/* Canonical device id for any id text (admin API input): IMEI digits as they
 * are; MAC "aa:bb:cc:dd:ee:ff" / "aa-bb-..." without separators; hex upper
 * case. Accepts 14-17 digits, or 12-32 hex digits. 0 ok, -1 with *why. */
int device_id_canon(const char *s, size_t len, char out[DEVICE_ID_MAX], const char **why);

/* The URL-without-'?' mistake: path is "/upgrade" or
 * "/api/site/firmware_upgrade" directly followed by imei=, mac=, nil or
 * project_key=. Returns 1 and sets *rest_off to where the glued query
 * starts, else 0. */
int query_path_mistake(const char *path, size_t len, size_t *rest_off);

#endif
