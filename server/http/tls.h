/*
 * tls.h — the HTTPS side of the HTTP engine: one OpenSSL server context made
 * from a certificate chain and key file, swapped whole when the files are
 * re-read (SIGHUP), so a renewed certificate goes live without a restart and
 * without touching open connections (each keeps the context it started on).
 *
 * Policy: TLS 1.2 and 1.3 only; for 1.2 the ECDHE + AEAD suites of the
 * common "intermediate" profile (override with tls_ciphers); session
 * resumption by tickets whose keys rotate every TLS_TICKET_ROTATE_S and
 * outlive reloads (the previous key still opens tickets for one more
 * period); kernel TLS is asked for, and used for file bodies (sendfile)
 * where the kernel and OpenSSL provide it.
 *
 * Optional client certificates (mutual TLS): with a CA file, a client that
 * sends a certificate gets it verified against that CA; the request handler
 * reads the verified subject with tls_peer_names. A client without one is
 * still let in: whether a route needs one is the handler's decision.
 *
 * Threads: tls_session may be called from any worker; tls_reload from any
 * thread (a mutex guards the swap). Ownership: tls_ctx is made and freed by
 * the server; a session (SSL *) returned by tls_session belongs to the
 * connection, which frees it with SSL_free.
 */
#ifndef OPENFOTA_SERVER_TLS_H
#define OPENFOTA_SERVER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_TICKET_ROTATE_S (12 * 3600)

typedef struct tls_ctx tls_ctx;

typedef struct tls_options {
    const char *cert_file;  /* PEM: the certificate, then its chain */
    const char *key_file;   /* PEM private key */
    const char *client_ca;  /* PEM CA for client certificates, NULL = none asked */
    const char *ciphers;    /* TLS 1.2 cipher list, NULL = the default */
} tls_options;

/* Read the files and make the first context. NULL with err on failure
 * (the message names the file and what is wrong with it). */
tls_ctx *tls_open(const tls_options *o, char *err, size_t errlen);
/* Re-read the same files; on success new connections use the new
 * certificate. 0 ok, -1 with err (the old context stays in use). */
int tls_reload(tls_ctx *t, char *err, size_t errlen);
void tls_free(tls_ctx *t);

/* A new server-side session for an accepted socket, NULL when out of memory. */
SSL *tls_session(tls_ctx *t, int fd);

/* The certificate's subject line and expiry, for the log ("CN=..., until ..."). */
void tls_describe(tls_ctx *t, char *out, size_t cap);

/* The verified client certificate's names: its subject CN and every DNS /
 * URI SAN, '\n'-separated, into out. Returns the count (0: no verified
 * certificate). */
int tls_peer_names(SSL *ssl, char *out, size_t cap);

#endif
