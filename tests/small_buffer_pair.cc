#include "tests/small_buffer_pair.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace reactor::testing_support {

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void setBuffer(const Fd& fd, int option, int bytes) {
  if (setsockopt(fd.get(), SOL_SOCKET, option, &bytes, sizeof bytes) < 0) fail("setsockopt(buffer size)");
}

// With fcntl() rather than SOCK_NONBLOCK, SOCK_CLOEXEC or accept4(), which macOS lacks.
void makeNonBlocking(const Fd& fd) {
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) fail("fcntl(O_NONBLOCK)");
}

Fd closeOnExec(Fd fd) {
  if (fd.get() >= 0 && fcntl(fd.get(), F_SETFD, FD_CLOEXEC) < 0) fail("fcntl(FD_CLOEXEC)");
  return fd;
}

}  // namespace

SocketPair smallBufferTcpPair(int sendBufferBytes, int receiveBufferBytes) {
  Fd listener = closeOnExec(Fd(socket(AF_INET, SOCK_STREAM, 0)));
  if (listener.get() < 0) fail("socket");
  setBuffer(listener, SO_RCVBUF, receiveBufferBytes);  // inherited by the accepted end
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("bind");
  if (listen(listener.get(), 1) < 0) fail("listen");
  if (getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0) fail("getsockname");

  Fd local = closeOnExec(Fd(socket(AF_INET, SOCK_STREAM, 0)));
  if (local.get() < 0) fail("socket");
  setBuffer(local, SO_SNDBUF, sendBufferBytes);
  // Blocking until connected: on loopback connect() completes at once, and accept() then finds
  // the connection queued.
  if (connect(local.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("connect");
  Fd peer = closeOnExec(Fd(accept(listener.get(), nullptr, nullptr)));
  if (peer.get() < 0) fail("accept");
  makeNonBlocking(local);
  makeNonBlocking(peer);
  return SocketPair{std::move(local), std::move(peer)};
}

}  // namespace reactor::testing_support
