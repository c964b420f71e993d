/*
 * libuv_echo: the libuv peer of the side-by-side benchmark.
 *
 * Written the way libuv is meant to be used when speed matters:
 *  - One read buffer for the whole loop, handed out by alloc_cb. libuv calls alloc_cb, read() and
 *    read_cb back to back on the loop's thread, and read_cb is done with the bytes when it returns,
 *    so the same 64 KiB serves every read. No malloc per read.
 *  - uv_try_write() first: on loopback it nearly always takes everything, with no request and no
 *    copy. Only a remainder the kernel refused is copied, into one allocation that holds both the
 *    uv_write_t and the bytes, and queued with uv_write(); reading stops until that write is done,
 *    so a slow reader costs at most one read's worth of memory.
 *
 *   libuv_echo [--port N] [--mode echo|discard]
 *
 * Listens on 127.0.0.1:N (0, the default, lets the kernel pick) and prints
 * "listening on 127.0.0.1:PORT" as its first line. SIGINT or SIGTERM ends it with status 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "peer_args.h"

enum { READ_SIZE = 64 * 1024 };

struct pending_write {
  uv_write_t req;
  char data[]; /* the bytes uv_try_write() could not send */
};

static uv_loop_t* loop;
static uv_tcp_t server;
static uv_signal_t sigint_watcher, sigterm_watcher;
static int discard;
static char read_buffer[READ_SIZE];

static void fail(const char* what, int err) {
  fprintf(stderr, "%s: %s\n", what, uv_strerror(err));
  exit(1);
}

static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

static void on_close(uv_handle_t* handle) {
  if (handle != (uv_handle_t*)&server) free(handle);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);

static void on_write_done(uv_write_t* req, int status) {
  uv_stream_t* stream = req->handle;
  free(req); /* req is the first member of its struct pending_write */
  if (status < 0) {
    if (!uv_is_closing((uv_handle_t*)stream)) uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  uv_read_start(stream, on_alloc, on_read);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) { /* UV_EOF or an error such as UV_ECONNRESET */
    uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  if (nread == 0 || discard) return; /* 0: EAGAIN, nothing to do */

  uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
  int written = uv_try_write(stream, &out, 1);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  if (written == nread) return;

  size_t rest = (size_t)nread - (size_t)written;
  struct pending_write* w = malloc(sizeof *w + rest);
  if (!w) fail("malloc", UV_ENOMEM);
  memcpy(w->data, buf->base + written, rest);
  uv_buf_t remainder = uv_buf_init(w->data, (unsigned)rest);
  int err = uv_write(&w->req, stream, &remainder, 1, on_write_done);
  if (err < 0) {
    free(w);
    uv_close((uv_handle_t*)stream, on_close);
    return;
  }
  uv_read_stop(stream);
}

static void on_connection(uv_stream_t* listener, int status) {
  if (status < 0) {
    fprintf(stderr, "connection: %s\n", uv_strerror(status));
    return;
  }
  uv_tcp_t* client = malloc(sizeof *client);
  if (!client) fail("malloc", UV_ENOMEM);
  uv_tcp_init(loop, client);
  if (uv_accept(listener, (uv_stream_t*)client) != 0) {
    uv_close((uv_handle_t*)client, on_close);
    return;
  }
  uv_tcp_nodelay(client, 1);
  uv_read_start((uv_stream_t*)client, on_alloc, on_read);
}

static void close_any(uv_handle_t* handle, void* arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, on_close);
}

static void on_signal(uv_signal_t* watcher, int signum) {
  (void)watcher;
  (void)signum;
  uv_close((uv_handle_t*)&sigint_watcher, NULL);
  uv_close((uv_handle_t*)&sigterm_watcher, NULL);
  uv_close((uv_handle_t*)&server, on_close);
  uv_walk(loop, close_any, NULL); /* every connection; the loop then runs out of handles */
}

int main(int argc, char** argv) {
  struct peer_args args;
  const int status =
      peer_parse_args(argc, argv, "libuv_echo", "libuv echo server on 127.0.0.1.", &args);
  if (status >= 0) return status;
  const int port = args.port;
  discard = args.discard;

  loop = uv_default_loop();
  uv_tcp_init(loop, &server);
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", port, &addr);
  int err = uv_tcp_bind(&server, (const struct sockaddr*)&addr, 0);
  if (err == 0) err = uv_listen((uv_stream_t*)&server, SOMAXCONN, on_connection);
  if (err != 0) fail("listen", err);
  int len = sizeof addr;
  uv_tcp_getsockname(&server, (struct sockaddr*)&addr, &len);
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  uv_signal_init(loop, &sigint_watcher);
  uv_signal_start(&sigint_watcher, on_signal, SIGINT);
  uv_signal_init(loop, &sigterm_watcher);
  uv_signal_start(&sigterm_watcher, on_signal, SIGTERM);

  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}
