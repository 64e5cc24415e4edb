/*
 * testsrv.h — a tiny scripted TCP server for device-library tests.
 * Listens on 127.0.0.1 port 0 in a thread; for each accepted connection
 * reads the request head (and a Content-Length body), then calls the
 * handler, which writes canned bytes to fd and returns (the server closes
 * fd unless the handler returns 1 = "keep open until the client closes").
 */
#ifndef TESTSRV_H
#define TESTSRV_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*testsrv_fn)(int fd, const char *req, size_t req_len, int index, void *user);

typedef struct testsrv {
  int lfd;
  uint16_t port;
  pthread_t th;
  testsrv_fn fn;
  void *user;
  int max_conns;
  int conns;              /* accepted so far */
  char last_req[8192];    /* last request head+body received */
  size_t last_len;
} testsrv;

int testsrv_start(testsrv *s, testsrv_fn fn, void *user, int max_conns);
void testsrv_stop(testsrv *s);
/* A port on 127.0.0.1 where nothing listens. */
uint16_t testsrv_closed_port(void);
/* write all */
void testsrv_send(int fd, const void *buf, size_t len);
void testsrv_sendstr(int fd, const char *s);

#endif
