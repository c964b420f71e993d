#include "tests/raw_peer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace reactor::testing_support {

namespace {

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

RawPeer::RawPeer(int port) : fd_(connectBlocking(port)) {
  if (fd_.get() < 0) fail("connect");
  if (fcntl(fd_.get(), F_SETFL, fcntl(fd_.get(), F_GETFL) | O_NONBLOCK) < 0) fail("fcntl(O_NONBLOCK)");
}

int RawPeer::localPort() const { return localPortOf(fd_); }

std::size_t RawPeer::sendSome(std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

std::size_t RawPeer::drain(bool* ended) {
  std::size_t total = 0;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0 && ended != nullptr) *ended = true;
    return total;
  }
}

void RawPeer::reset() {
  const linger abortive{1, 0};
  setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &abortive, sizeof abortive);
  fd_.reset();
}

}  // namespace reactor::testing_support
