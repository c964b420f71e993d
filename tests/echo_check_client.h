// EchoCheckClient: one net::Socket that sends a seeded byte stream (tests/seeded_bytes.h) to an
// echo server in writes of random sizes, honouring backpressure ('drain'), ends its side once
// everything is written, and checks every byte that comes back against the same stream, in order.
// Load and fault tests run hundreds of them on one loop, then ask each how it went.
//
// Write sizes are log-uniform from 1 byte to 64 KiB (as many writes below 64 bytes as between 4
// and 64 KiB), drawn from their own seeded generator: one seed fixes both the bytes and the way
// they are cut.
//
// Ownership and threading: the client owns its socket, whose listeners point back at the client;
// the destructor detaches and destroys a socket that has not closed yet, so a client may go away
// at any time. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/socket.h"
#include "reactor/loop.h"
#include "tests/seeded_bytes.h"
#include "tests/splitmix64.h"

namespace reactor::testing_support {

class EchoCheckClient {
 public:
  EchoCheckClient(Loop& loop, std::uint64_t seed, std::size_t totalBytes);
  ~EchoCheckClient();
  EchoCheckClient(const EchoCheckClient&) = delete;
  EchoCheckClient& operator=(const EchoCheckClient&) = delete;

  void connect(int port, const std::string& host = "127.0.0.1");
  // Starts writing (at once if connected, else once 'connect' comes). Call once.
  void start();

  bool connected() const { return connected_; }
  bool closed() const { return closes_ > 0; }
  // Closed without an error after every byte came back in order, and nothing more.
  bool intact() const;
  // Closed with exactly one 'error', then 'close(true)', and nothing after it.
  bool failedCleanly() const;
  const std::optional<net::Error>& error() const { return error_; }
  std::size_t bytesChecked() const { return checked_; }
  // One line for failure messages: what was sent, received and emitted.
  std::string describe() const;

  net::Socket& socket() { return *socket_; }

 private:
  void pump();
  void check(std::string_view chunk);

  std::shared_ptr<net::Socket> socket_;
  const std::size_t total_;
  SeededBytes outgoing_;
  SeededBytes expected_;
  SplitMix64 writeSizes_;
  std::size_t written_ = 0;
  std::size_t checked_ = 0;
  std::optional<std::size_t> firstMismatch_;
  std::optional<net::Error> error_;
  bool connected_ = false;
  bool started_ = false;
  int errors_ = 0;
  int closes_ = 0;
  bool closedWithError_ = false;
  bool eventAfterClose_ = false;
};

}  // namespace reactor::testing_support
