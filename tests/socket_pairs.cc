#include "tests/socket_pairs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace reactor::testing_support {

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// Where the platform has it (Linux, the BSDs), close-on-exec is set atomically as the descriptor
// is created; elsewhere (macOS) fcntl() sets it right after.
#if defined(SOCK_CLOEXEC)
constexpr int kCloexec = SOCK_CLOEXEC;
#else
constexpr int kCloexec = 0;
#endif

void ensureCloexec(const Fd& fd) {
  if (kCloexec == 0 && fcntl(fd.get(), F_SETFD, FD_CLOEXEC) < 0) fail("fcntl(FD_CLOEXEC)");
}

// Makes an end non-blocking, with fcntl() because macOS has no SOCK_NONBLOCK, and close-on-exec.
void finish(const Fd& fd) {
  const int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) fail("fcntl(O_NONBLOCK)");
  ensureCloexec(fd);
}

}  // namespace

void Fd::reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

SocketPair unixPair() {
  int sv[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | kCloexec, 0, sv) < 0) fail("socketpair");
  SocketPair pair{Fd(sv[0]), Fd(sv[1])};
  finish(pair.local);
  finish(pair.peer);
  return pair;
}

SocketPair tcpPair() {
  Fd listener(socket(AF_INET, SOCK_STREAM | kCloexec, 0));
  if (listener.get() < 0) fail("socket");
  ensureCloexec(listener);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks a free one
  socklen_t length = sizeof address;
  if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("bind");
  if (listen(listener.get(), 1) < 0) fail("listen");
  if (getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0) fail("getsockname");

  // Both ends stay blocking until connected: connect() to a listening loopback socket completes
  // at once, and accept() then finds the connection queued.
  Fd peer(socket(AF_INET, SOCK_STREAM | kCloexec, 0));
  if (peer.get() < 0) fail("socket");
  if (connect(peer.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) fail("connect");
#if defined(SOCK_CLOEXEC)
  Fd local(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
#else
  Fd local(accept(listener.get(), nullptr, nullptr));
#endif
  if (local.get() < 0) fail("accept");
  finish(local);
  finish(peer);
  return SocketPair{std::move(local), std::move(peer)};
}

namespace {

// Connects `fd` to `address`; on failure closes it and returns Fd() with connect()'s errno.
Fd connectOrNothing(Fd fd, const sockaddr* address, socklen_t length) {
  if (connect(fd.get(), address, length) == 0) return fd;
  const int error = errno;
  fd.reset();
  errno = error;
  return Fd();
}

}  // namespace

Fd connectBlocking(int port, const char* ip) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, ip, &address.sin_addr);
  return connectOrNothing(Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), reinterpret_cast<sockaddr*>(&address),
                          sizeof address);
}

Fd connectUnixBlocking(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  return connectOrNothing(Fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)), reinterpret_cast<sockaddr*>(&address),
                          sizeof address);
}

Fd withReceiveTimeout(Fd fd, int seconds) {
  timeval timeout{seconds, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

int localPortOf(const Fd& fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

}  // namespace reactor::testing_support
