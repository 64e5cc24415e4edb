#include "testsrv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void testsrv_send(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR)
        continue;
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

void testsrv_sendstr(int fd, const char *s) { testsrv_send(fd, s, strlen(s)); }

static size_t read_request(int fd, char *buf, size_t cap)
{
  size_t len = 0;
  size_t need = 0;
  while (len < cap - 1) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0)
      break;
    ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl && !strstr(buf, "HTTP/1.1\r\n"))
      break; /* a line protocol (push): the first line is the request */
    char *end = strstr(buf, "\r\n\r\n");
    if (end) {
      if (!need) {
        need = (size_t)(end - buf) + 4;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl && cl < end)
          need += (size_t)strtoul(cl + 17, NULL, 10);
      }
      if (len >= need)
        break;
    }
  }
  buf[len] = '\0';
  return len;
}

static void *run(void *arg)
{
  testsrv *s = arg;
  while (s->conns < s->max_conns) {
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
      break;
    int idx = s->conns++;
    s->last_len = read_request(fd, s->last_req, sizeof s->last_req);
    int keep = s->fn(fd, s->last_req, s->last_len, idx, s->user);
    if (keep) {
      char tmp[256];
      struct pollfd p = {.fd = fd, .events = POLLIN};
      while (poll(&p, 1, 10000) > 0 && recv(fd, tmp, sizeof tmp, 0) > 0) {
      }
    }
    close(fd);
  }
  return NULL;
}

int testsrv_start(testsrv *s, testsrv_fn fn, void *user, int max_conns)
{
  memset(s, 0, sizeof *s);
  s->fn = fn;
  s->user = user;
  s->max_conns = max_conns;
  s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) || listen(s->lfd, 16))
    return -1;
  socklen_t al = sizeof a;
  getsockname(s->lfd, (struct sockaddr *)&a, &al);
  s->port = ntohs(a.sin_port);
  return pthread_create(&s->th, NULL, run, s);
}

void testsrv_stop(testsrv *s)
{
  shutdown(s->lfd, SHUT_RDWR);
  close(s->lfd);
  pthread_join(s->th, NULL);
}

uint16_t testsrv_closed_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&a, sizeof a);
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  close(fd);
  return ntohs(a.sin_port);
}
