// ChaosProxy: a TCP proxy on loopback that mistreats the bytes it carries, for fault tests. Every
// connection accepted on 127.0.0.1:port() is relayed to 127.0.0.1:upstreamPort, and on the way,
// in both directions, the proxy
//  - fragments: it forwards in pieces of random size, log-uniform from 1 byte to largestPiece (as
//    many single bytes as pieces of 8 KiB and more), each piece its own send() with TCP_NODELAY;
//  - delays: a share of the pieces waits a random 1..longestDelayMs on a timer first;
//  - coalesces: while a piece waits, reads keep arriving behind it, so the piece that leaves may
//    join the bytes of several writes (up to its size);
//  - resets a share of the connections: those whose accept index resets() names are torn down
//    with SO_LINGER 0 on both sides (RST to the client and to the server) once a random number of
//    bytes, from 1 to resetWithinBytes, has gone upstream.
// Order is kept: each direction is one queue with one piece in flight. Half-closes are relayed (a
// FIN is forwarded once what came before it has gone), and a reset from either side is relayed as
// a reset to the other. Reading stops while a direction holds bufferLimit bytes, so a slow reader
// slows its writer down, as it would without the proxy.
//
// Why raw sockets, driven by a reactor::Loop, and not net::Socket: the proxy must set SO_LINGER on
// the descriptors it resets, which net::Socket does not expose; and a tool that injects faults into
// the library's sockets should not share their code, or a bug could hide itself. It uses the loop
// only for readiness and timers.
//
// Determinism: every random choice comes from SplitMix64 seeded with the seed and the accept index,
// so which connections are reset, and after how many bytes, is fixed by the seed. Where the pieces
// are cut depends on how much has arrived when a piece is cut, which depends on timing; what each
// connection delivers does not.
//
// Ownership and threading: the proxy owns its listening socket and every connection (closed ones
// are kept, without descriptors or buffers, so that results can be read by index). It belongs to the
// thread of its loop, which must outlive it; run it on the test's own loop or on a loop of its own
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "reactor/loop.h"

namespace reactor::testing_support {

struct ChaosOptions {
  int upstreamPort = 0;
  std::uint64_t seed = 1;
  std::size_t largestPiece = 16 * 1024;
  unsigned delayPercent = 30;          // share of pieces held back by a timer
  std::int64_t longestDelayMs = 3;
  unsigned resetPercent = 10;          // chance that a connection is reset
  std::size_t resetWithinBytes = 64 * 1024;
  std::size_t bufferLimit = 256 * 1024;  // per direction; reading pauses beyond it
};

// What the proxy did, to show that the chaos happened.
struct ChaosStats {
  std::size_t pieces = 0;            // send() calls that forwarded a piece, or part of one
  std::size_t singleBytePieces = 0;
  std::size_t delayedPieces = 0;
};

class ChaosProxy : private IoHandler {
 public:
  // Listens on 127.0.0.1 with a free port. Throws std::system_error if it cannot.
  ChaosProxy(Loop& loop, ChaosOptions options);
  ~ChaosProxy();
  ChaosProxy(const ChaosProxy&) = delete;
  ChaosProxy& operator=(const ChaosProxy&) = delete;

  int port() const { return port_; }
  // Whether the connection accepted `index`-th (from 0) is to be reset: a pure function of the seed.
  bool resets(std::size_t index) const;

  std::size_t accepted() const { return connections_.size(); }
  // Connections torn down on purpose so far.
  std::size_t resetsDone() const { return resetsDone_; }
  // Connections still holding descriptors.
  std::size_t open() const;
  const ChaosStats& stats() const { return stats_; }

 private:
  struct Connection;
  void onReady(std::uint8_t ready) override;

  Loop& loop_;
  ChaosOptions options_;
  int listener_ = -1;
  int port_ = 0;
  std::size_t resetsDone_ = 0;
  ChaosStats stats_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace reactor::testing_support
