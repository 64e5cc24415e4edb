/*
 * tls_mbedtls.c — TLS for the sockets transport, by mbedTLS.
 *
 * Mirrors libfota2's options: server_cert (a PEM CA chain) turns on server
 * verification against the URL's host name; without it the server is not
 * authenticated (as on the modules). client_cert + client_key (+
 * client_password) give mutual TLS. All waits are poll()s bounded by the
 * caller's timeout.
 */
#include "fota_port_posix.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

typedef struct tls {
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  int fd;
  unsigned timeout_ms;
} tls;

static int wait_fd(int fd, short ev, unsigned timeout_ms)
{
  struct pollfd p = {.fd = fd, .events = ev};
  for (;;) {
    int r = poll(&p, 1, timeout_ms > 0x7fffffffu ? 0x7fffffff : (int)timeout_ms);
    if (r > 0)
      return 1;
    if (r == 0)
      return 0;
    if (errno != EINTR)
      return -1;
  }
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
  tls *t = ctx;
  for (;;) {
    ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
      return (int)n;
    if (errno == EINTR)
      continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(t->fd, POLLOUT, t->timeout_ms) == 1)
      continue;
    return MBEDTLS_ERR_NET_SEND_FAILED;
  }
}

static int bio_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
  tls *t = ctx;
  for (;;) {
    int w = wait_fd(t->fd, POLLIN, timeout ? timeout : t->timeout_ms);
    if (w == 0)
      return MBEDTLS_ERR_SSL_TIMEOUT;
    if (w < 0)
      return MBEDTLS_ERR_NET_RECV_FAILED;
    ssize_t n = recv(t->fd, buf, len, 0);
    if (n >= 0)
      return (int)n;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
      continue;
    return MBEDTLS_ERR_NET_RECV_FAILED;
  }
}

static int pem_len(const char *s) { return (int)strlen(s) + 1; /* mbedTLS wants the NUL */ }

static void tls_free(tls *t)
{
  mbedtls_ssl_free(&t->ssl);
  mbedtls_ssl_config_free(&t->conf);
  mbedtls_x509_crt_free(&t->ca);
  mbedtls_x509_crt_free(&t->cert);
  mbedtls_pk_free(&t->key);
  mbedtls_ctr_drbg_free(&t->drbg);
  mbedtls_entropy_free(&t->entropy);
  free(t);
}

int fota_tls_connect(int fd, const char *host, const fota_opts *opts, unsigned timeout_ms,
                     void **out)
{
  tls *t = calloc(1, sizeof *t);
  if (!t)
    return FOTA_ERR_IO;
  t->fd = fd;
  t->timeout_ms = timeout_ms;
  mbedtls_ssl_init(&t->ssl);
  mbedtls_ssl_config_init(&t->conf);
  mbedtls_x509_crt_init(&t->ca);
  mbedtls_x509_crt_init(&t->cert);
  mbedtls_pk_init(&t->key);
  mbedtls_entropy_init(&t->entropy);
  mbedtls_ctr_drbg_init(&t->drbg);
  int rc = FOTA_ERR_TLS;
  static const unsigned char pers[] = "openfota-device";
  if (mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, pers, sizeof pers - 1))
    goto out;
  if (mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT))
    goto out;
  mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
  if (opts && opts->server_cert) {
    if (mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)opts->server_cert,
                               (size_t)pem_len(opts->server_cert)))
      goto out;
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  } else {
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  if (opts && opts->client_cert && opts->client_key) {
    const char *pw = opts->client_password;
    if (mbedtls_x509_crt_parse(&t->cert, (const unsigned char *)opts->client_cert,
                               (size_t)pem_len(opts->client_cert)) ||
        mbedtls_pk_parse_key(&t->key, (const unsigned char *)opts->client_key,
                             (size_t)pem_len(opts->client_key), (const unsigned char *)pw,
                             pw ? strlen(pw) : 0) ||
        mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key))
      goto out;
  }
  mbedtls_ssl_conf_read_timeout(&t->conf, timeout_ms);
  if (mbedtls_ssl_setup(&t->ssl, &t->conf) || mbedtls_ssl_set_hostname(&t->ssl, host))
    goto out;
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, NULL, bio_recv_timeout);
  for (;;) {
    int r = mbedtls_ssl_handshake(&t->ssl);
    if (r == 0)
      break;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
      continue;
    rc = r == MBEDTLS_ERR_SSL_TIMEOUT ? FOTA_ERR_TIMEOUT : FOTA_ERR_TLS;
    goto out;
  }
  *out = t;
  return 0;
out:
  tls_free(t);
  return rc;
}

int fota_tls_send(void *p, const void *buf, size_t len, unsigned timeout_ms)
{
  tls *t = p;
  t->timeout_ms = timeout_ms;
  const unsigned char *b = buf;
  while (len) {
    int r = mbedtls_ssl_write(&t->ssl, b, len);
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
      continue;
    if (r <= 0)
      return FOTA_ERR_IO;
    b += r;
    len -= (size_t)r;
  }
  return 0;
}

long fota_tls_recv(void *p, void *buf, size_t cap, unsigned timeout_ms)
{
  tls *t = p;
  t->timeout_ms = timeout_ms;
  mbedtls_ssl_conf_read_timeout(&t->conf, timeout_ms);
  for (;;) {
    int r = mbedtls_ssl_read(&t->ssl, buf, cap);
    if (r > 0)
      return r;
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
      return 0;
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
      continue;
    return r == MBEDTLS_ERR_SSL_TIMEOUT ? FOTA_ERR_TIMEOUT : FOTA_ERR_IO;
  }
}

void fota_tls_close(void *p)
{
  tls *t = p;
  if (!t)
    return;
  mbedtls_ssl_close_notify(&t->ssl);
  tls_free(t);
}
