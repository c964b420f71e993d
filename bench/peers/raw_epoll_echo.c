/*
 * raw_epoll_echo: the floor of the side-by-side benchmark.
 *
 * A minimal level-triggered epoll echo server with no library in between: one thread, a
 * nonblocking listener drained with accept4() on every readiness event, one read() per readiness
 * event into a 64 KiB stack buffer, and the bytes written straight back. Only when the kernel
 * takes less than all of them are the rest copied to a per-connection buffer; the connection then
 * waits for EPOLLOUT instead of EPOLLIN until that buffer is empty, so a slow reader costs at most
 * one read's worth of memory.
 *
 *   raw_epoll_echo [--port N] [--mode echo|discard]
 *
 * Listens on 127.0.0.1:N (0, the default, lets the kernel pick) and prints
 * "listening on 127.0.0.1:PORT" as its first line. SIGINT or SIGTERM ends it with status 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer_args.h"

enum { READ_SIZE = 64 * 1024, MAX_EVENTS = 256 };

struct conn {
  int fd;
  char* pending;            /* bytes read but not yet written back, or NULL */
  size_t off, len;          /* pending[off, len) is still to be written */
  struct conn *prev, *next; /* every open connection, so that exit frees them all */
};

static int epfd;
static int discard;
static struct conn* conns;
static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void set_interest(struct conn* c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) die("epoll_ctl(MOD)");
}

static void close_conn(struct conn* c) {
  close(c->fd); /* also removes it from the epoll set */
  if (c->prev)
    c->prev->next = c->next;
  else
    conns = c->next;
  if (c->next) c->next->prev = c->prev;
  free(c->pending);
  free(c);
}

static void on_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept4"); /* e.g. EMFILE */
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn* c = calloc(1, sizeof *c);
    if (!c) die("calloc");
    c->fd = fd;
    c->next = conns;
    if (conns) conns->prev = c;
    conns = c;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl(ADD)");
  }
}

static void on_readable(struct conn* c) {
  char buf[READ_SIZE];
  ssize_t n = read(c->fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) { /* end of stream or error (ECONNRESET) */
    close_conn(c);
    return;
  }
  if (discard) return;
  ssize_t w = write(c->fd, buf, (size_t)n);
  if (w < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      close_conn(c);
      return;
    }
    w = 0;
  }
  if (w == n) return;
  /* The kernel's send buffer is full: keep the rest and stop reading until it has gone. */
  c->pending = malloc((size_t)(n - w));
  if (!c->pending) die("malloc");
  memcpy(c->pending, buf + w, (size_t)(n - w));
  c->off = 0;
  c->len = (size_t)(n - w);
  set_interest(c, EPOLLOUT);
}

static void on_writable(struct conn* c) {
  ssize_t w = write(c->fd, c->pending + c->off, c->len - c->off);
  if (w < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) close_conn(c);
    return;
  }
  c->off += (size_t)w;
  if (c->off < c->len) return;
  free(c->pending);
  c->pending = NULL;
  set_interest(c, EPOLLIN);
}

int main(int argc, char** argv) {
  struct peer_args args;
  const int status = peer_parse_args(
      argc, argv, "raw_epoll_echo",
      "Level-triggered epoll echo server on 127.0.0.1 (the benchmark's floor).", &args);
  if (status >= 0) return status;
  const int port = args.port;
  discard = args.discard;

  /* The signals stay blocked except inside epoll_pwait(), so one cannot slip in between the
   * check of `stopping` and the wait. No SA_RESTART: the wait returns EINTR. */
  sigset_t block, unblocked;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &unblocked);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0) die("bind");
  if (listen(lfd, SOMAXCONN) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(lfd, (struct sockaddr*)&addr, &len) != 0) die("getsockname");
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL marks the listener */
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) != 0) die("epoll_ctl(ADD)");

  struct epoll_event events[MAX_EVENTS];
  while (!stopping) {
    int n = epoll_pwait(epfd, events, MAX_EVENTS, -1, &unblocked);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_pwait");
    }
    for (int i = 0; i < n; i++) {
      struct conn* c = events[i].data.ptr;
      if (!c) {
        on_accept(lfd);
        continue;
      }
      /* EPOLLERR and EPOLLHUP are reported whatever the interest; the read or write that
       * follows sees the error or the end of stream and closes. */
      if (c->pending)
        on_writable(c);
      else
        on_readable(c);
    }
  }

  while (conns) close_conn(conns);
  close(lfd);
  close(epfd);
  return 0;
}
