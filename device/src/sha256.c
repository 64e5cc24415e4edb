/*
 * sha256.c — SHA-256 (FIPS 180-4) for of_device, portable and small, so the
 * Cortex-M build needs no crypto library. Verified against mbedTLS in
 * tests/unit/device.
 */
#include "fota.h"

#include <string.h>

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static void block(uint32_t s[8], const uint8_t *p)
{
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d;
  s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

void fota_sha256_init(fota_sha256 *c)
{
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->s, iv, sizeof iv);
  c->n = 0;
}

void fota_sha256_update(fota_sha256 *c, const void *data, size_t len)
{
  const uint8_t *p = data;
  size_t have = (size_t)(c->n & 63);
  c->n += len;
  if (have) {
    size_t take = 64 - have < len ? 64 - have : len;
    memcpy(c->buf + have, p, take);
    p += take;
    len -= take;
    if (have + take < 64)
      return;
    block(c->s, c->buf);
  }
  for (; len >= 64; p += 64, len -= 64)
    block(c->s, p);
  if (len)
    memcpy(c->buf, p, len);
}

void fota_sha256_final(fota_sha256 *c, uint8_t out[32])
{
  uint64_t bits = c->n * 8;
  static const uint8_t pad[64] = {0x80};
  size_t have = (size_t)(c->n & 63);
  fota_sha256_update(c, pad, have < 56 ? 56 - have : 120 - have);
  uint8_t l[8];
  for (int i = 0; i < 8; i++)
    l[i] = (uint8_t)(bits >> (56 - 8 * i));
  fota_sha256_update(c, l, 8);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (uint8_t)(c->s[i] >> (24 - 8 * j));
}

void fota_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t len, uint8_t out[32])
{
  uint8_t k[64];
  fota_sha256 c;
  memset(k, 0, sizeof k);
  if (key_len > sizeof k) { /* RFC 2104: long keys are hashed first */
    fota_sha256_init(&c);
    fota_sha256_update(&c, key, key_len);
    fota_sha256_final(&c, k);
  } else if (key_len) {
    memcpy(k, key, key_len);
  }
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < sizeof k; i++)
      k[i] ^= pass ? (0x36 ^ 0x5c) : 0x36; /* ipad, then opad */
    fota_sha256_init(&c);
    fota_sha256_update(&c, k, sizeof k);
    if (pass)
      fota_sha256_update(&c, out, 32);
    else
      fota_sha256_update(&c, msg, len);
    fota_sha256_final(&c, out);
  }
  memset(k, 0, sizeof k);
}
