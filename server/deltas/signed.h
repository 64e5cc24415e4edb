/*
 * signed.h — openfota signed packages on the server: the keys (the private
 * key that signs generated deltas, the public keys uploads must be signed
 * with), the upload check, and the delta generator's worker queue.
 * docs/server.md, "Deltas"; docs/package-format.md.
 */
#ifndef OPENFOTA_SERVER_SIGNED_H
#define OPENFOTA_SERVER_SIGNED_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "ofpkg.h"

#define SIGNED_PUBKEYS_MAX 8
#define SIGNED_KEY_FILE_MAX 16384 /* a key file larger than this is refused */

typedef struct signed_pubkey {
    uint8_t der[512]; /* SubjectPublicKeyInfo (DER or PEM text) as given to ofpkg_verify */
    size_t len;
    uint8_t id[OFPKG_KEY_ID_LEN];
    char path[256];   /* where it came from, for messages */
} signed_pubkey;

typedef struct signed_keys {
    ofpkg_signer *signer; /* owned; NULL: the server makes no deltas */
    signed_pubkey pub[SIGNED_PUBKEYS_MAX];
    size_t npub;          /* 0: uploads are checked without a signature check */
} signed_keys;

struct of_server;

/* Load signing_key and signing_pubkey from the config into s->keys (logs
 * what it did). 0 ok, -1 with a message in err (the server does not start). */
int signed_keys_load(struct of_server *s, char *err, size_t errlen);
void signed_keys_free(struct of_server *s);

/* 1 when the first bytes (len of them, may be short) are an openfota signed
 * package's magic. */
int signed_sniff(const uint8_t *head, size_t len);

/* Full check of an uploaded signed package held in an open file of size
 * bytes: manifest rules, total length, payload SHA-256, and — when the server
 * has public keys — a key it trusts and the signature. The fd stays owned by
 * the caller. OFPKG_OK or an error with a message for the operator. */
ofpkg_err signed_check_fd(const signed_keys *k, int fd, uint64_t size, ofpkg_manifest *m, char *msg,
                          size_t msglen);

/* ---- the generator (delta_gen.c) ----------------------------------------- */

#define DELTA_QUEUE_MAX 64

typedef struct delta_gen delta_gen;

/* Start n worker threads. NULL when threads cannot start. */
delta_gen *delta_gen_start(struct of_server *s, unsigned n);
/* Queue the delta base -> target (copies). 0 queued, -1 queue full or stopping. */
int delta_gen_submit(delta_gen *g, const cat_package *base, const cat_package *target);
/* Jobs waiting and running (for status). */
unsigned delta_gen_pending(delta_gen *g);
/* Stop: queued jobs are dropped, running ones finish. NULL is fine. */
void delta_gen_stop(delta_gen *g);

/* The work of one job, exposed for tests: make the signed delta package from
 * two signed full packages held in memory. *out is malloc'ed (caller frees).
 * Sets *full_image when the delta engine found no delta smaller than the new
 * image alone. */
ofpkg_err signed_make_delta(ofpkg_signer *signer, const uint8_t *base_pkg, size_t base_len,
                            const uint8_t *target_pkg, size_t target_len, uint8_t **out, size_t *out_len,
                            int *full_image, char *msg, size_t msglen);

#endif
