// Connected socket pairs for tests, owned by RAII descriptors. Both ends are non-blocking and
// close-on-exec. Portable to macOS: no SOCK_NONBLOCK or accept4(), which it lacks.
#pragma once

#include <string>
#include <utility>

namespace reactor::testing_support {

// Owns one descriptor and closes it on destruction; -1 means none. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  // Closes the descriptor held, if any, and takes ownership of `fd`.
  void reset(int fd = -1);
  // Gives up ownership without closing: the caller closes the returned descriptor.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// `local` is the end a test watches, `peer` the other one.
struct SocketPair {
  Fd local;
  Fd peer;
};

// A connected AF_UNIX stream pair. Throws std::system_error on failure.
SocketPair unixPair();

// A connected TCP pair over 127.0.0.1: `local` is the accepted end, `peer` the connecting one.
// Throws std::system_error on failure.
SocketPair tcpPair();

// Blocking client sockets, for tests that play a plain peer. On loopback a blocking connect
// completes as soon as the kernel has queued the connection, whether or not the server accepts it.
// Each returns Fd() with errno set when connect() fails.
Fd connectBlocking(int port, const char* ip = "127.0.0.1");
Fd connectUnixBlocking(const std::string& path);
// Reads from `fd` give up after `seconds` (SO_RCVTIMEO): the deadline of a blocking test client.
Fd withReceiveTimeout(Fd fd, int seconds = 5);
// The local port of a TCP socket.
int localPortOf(const Fd& fd);

}  // namespace reactor::testing_support
