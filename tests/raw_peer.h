// RawPeer: the far end of a connection, driven by plain system calls rather than by the library
// under test, for peers that misbehave on purpose: one that never reads, one that resets (SO_LINGER
// 0, then close), one that sends whatever and whenever the test says.
//
// connect() blocks until the handshake is done (on loopback, against a listening socket, that is
// at once: the kernel completes it before the server accepts); after that every call is
// non-blocking and returns what the kernel took or gave. The descriptor is closed with the object.
// Single-threaded.
#pragma once

#include <cstddef>
#include <string_view>

#include "tests/socket_pairs.h"

namespace reactor::testing_support {

class RawPeer {
 public:
  // Connects to 127.0.0.1:port; throws std::system_error on failure.
  explicit RawPeer(int port);

  int localPort() const;
  // Sends from `data` until the kernel takes no more; returns the bytes taken.
  std::size_t sendSome(std::string_view data);
  // Reads and discards until nothing is left to read; returns the bytes read. `ended` is set once
  // the other side's FIN has been read.
  std::size_t drain(bool* ended = nullptr);
  // SO_LINGER with a zero timeout, then close: the kernel sends RST instead of FIN.
  void reset();
  bool open() const { return fd_.get() >= 0; }

 private:
  Fd fd_;
};

}  // namespace reactor::testing_support
