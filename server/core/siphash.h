/*
 * siphash.h — SipHash-2-4 (Aumasson & Bernstein), a keyed 64-bit hash for
 * hash tables fed by the network: without the key an attacker cannot make
 * many keys share one bucket. Checked against the reference test vectors
 * (tests/unit/server/test_siphash.c).
 *
 * siphash_random_key fills a 128-bit key from getrandom(2); every table
 * takes a fresh key at start. No allocation, no state beyond the key.
 */
#ifndef OPENFOTA_SERVER_SIPHASH_H
#define OPENFOTA_SERVER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct siphash_key {
    uint64_t k0, k1;
} siphash_key;

/* SipHash-2-4 of len bytes at data (data may be NULL when len is 0). */
uint64_t siphash24(const siphash_key *key, const void *data, size_t len);

/* 16 random bytes from getrandom(2). 0 ok, -1 when the kernel gave none
 * (then the key is still filled, from the clock and address space, and
 * the caller should log that the hash is weaker). */
int siphash_random_key(siphash_key *key);

#endif
