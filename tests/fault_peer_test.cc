// Hostile peers against an in-process net::Server: a peer that resets its connection in the middle
// of a transfer (SO_LINGER 0, then close), and a peer that never reads while the server streams to
// it. The peers are raw sockets (tests/raw_peer.h), so that they do exactly what the test says;
// well-behaved clients run alongside on the same loop to show that nobody else is disturbed.
// Runs against every backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/echo_check_client.h"
#include "tests/poll_until.h"
#include "tools/common/process_stats.h"
#include "tests/raw_peer.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;
using tools::openDescriptorCount;
using tools::residentSetBytes;

// What the server saw on one accepted connection, in order.
struct ServerSide {
  std::shared_ptr<Socket> socket;
  std::vector<std::string> events;
  std::vector<Error> errors;
  bool closed = false;
  bool eventAfterClose = false;

  void attach(std::shared_ptr<Socket> accepted) {
    socket = std::move(accepted);
    auto note = [this](std::string event) {
      eventAfterClose |= closed;
      events.push_back(std::move(event));
    };
    socket->on("end", [note] { note("end"); });
    socket->on("timeout", [note] { note("timeout"); });
    socket->on("error", [this, note](const Error& error) {
      note("error");
      errors.push_back(error);
    });
    socket->on("close", [this, note](bool hadError) {
      note(hadError ? "close(true)" : "close(false)");
      closed = true;
    });
  }
  std::string describe() const {
    std::string text;
    for (const auto& event : events) text += (text.empty() ? "" : ", ") + event;
    for (const auto& error : errors) text += std::string(" [") + error.what() + "]";
    return text;
  }
};

class FaultPeerTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  reactor::Loop loop{GetParam().make()};

  int listen(Server& server) {
    bool listening = false;
    server.listen(0, "127.0.0.1", [&] { listening = true; });
    EXPECT_TRUE(pollUntil(loop, [&] { return listening; }));
    return listening ? server.address().port : 0;
  }

  // Closes the server and waits for its 'close', which comes only once every connection it
  // accepted has closed: a connection the server lost count of would hold it open.
  void expectServerCloses(Server& server) {
    bool closed = false;
    server.close([&](const Error*) { closed = true; });
    EXPECT_TRUE(pollUntil(loop, [&] { return closed; })) << "the server still counts open connections";
  }
};

// ---- a peer resets mid-transfer --------------------------------------------------------------

// Two kinds of resetting peer: one stops reading, so that the server is blocked writing its echo
// (the reset meets a write); one keeps reading, so that the server is reading (it meets a read).
TEST_P(FaultPeerTest, PeerResetMidTransferIsOneEconnresetThenCloseAndSparesTheOthers) {
  constexpr std::size_t kHealthy = 16;
  constexpr std::size_t kHealthyBytes = 512 * 1024;
  constexpr std::size_t kStalledPeers = 3;
  constexpr std::size_t kReadingPeers = 3;
  std::map<int, ServerSide> accepted;  // by the client's port
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    Socket* raw = socket.get();
    accepted[socket->remotePort()].attach(socket);
    socket->on("data", [raw](std::string_view data) {
      if (!raw->write(data)) {
        raw->pause();
        raw->once("drain", [raw] { raw->resume(); });
      }
    });
  });
  const int port = listen(*server);
  ASSERT_GT(port, 0);
  const auto descriptorsBefore = openDescriptorCount();

  std::vector<std::unique_ptr<EchoCheckClient>> healthy;
  for (std::size_t i = 0; i < kHealthy; ++i) {
    healthy.push_back(std::make_unique<EchoCheckClient>(loop, 7000 + i, kHealthyBytes));
    healthy.back()->connect(port);
  }
  std::vector<RawPeer> stalled, reading;
  for (std::size_t i = 0; i < kStalledPeers; ++i) stalled.emplace_back(port);
  for (std::size_t i = 0; i < kReadingPeers; ++i) reading.emplace_back(port);
  ASSERT_TRUE(pollUntil(loop, [&] { return accepted.size() == kHealthy + kStalledPeers + kReadingPeers; }));
  for (auto& client : healthy) client->start();
  auto serverSideOf = [&](const RawPeer& peer) -> ServerSide& { return accepted.at(peer.localPort()); };

  const std::string chunk(256 * 1024, 'r');
  // Stalled: send until the kernel takes no more, read nothing. The server echoes until its queue
  // reaches the high-water mark, then pauses: it is mid-write, waiting for the peer to read.
  ASSERT_TRUE(pollUntil(loop, [&] {
    return std::all_of(stalled.begin(), stalled.end(), [&](RawPeer& peer) {
      const Socket& socket = *serverSideOf(peer).socket;
      if (socket.isPaused() && socket.writableLength() > 0) return true;
      peer.sendSome(chunk);  // the kernel's buffers absorb a lot before the server blocks
      return false;
    });
  })) << "the server never blocked writing to the stalled peers";
  // Reading: exchange data until the server has echoed some, then send more and reset at once,
  // while the server is reading that.
  for (auto& peer : reading) {
    const std::size_t sent = peer.sendSome(std::string_view(chunk).substr(0, 64 * 1024));
    std::size_t echoed = 0;
    ASSERT_TRUE(pollUntil(loop, [&] { return (echoed += peer.drain()) >= sent; }));
    peer.sendSome(std::string_view(chunk).substr(0, 64 * 1024));
  }
  // Reset them all in the same iteration, while the healthy clients are busy.
  std::vector<ServerSide*> resetSides;
  for (auto* group : {&stalled, &reading}) {
    for (auto& peer : *group) {
      resetSides.push_back(&serverSideOf(peer));
      peer.reset();
    }
  }
  ASSERT_TRUE(pollUntil(loop, [&] {
    return std::all_of(resetSides.begin(), resetSides.end(), [](const ServerSide* side) { return side->closed; }) &&
           std::all_of(healthy.begin(), healthy.end(), [](const auto& client) { return client->closed(); });
  }, 10s));
  pollUntil(loop, [] { return false; }, 50ms);  // nothing may follow 'close'

  std::map<std::string, int> syscalls;
  for (const ServerSide* side : resetSides) {
    for (const auto& error : side->errors) ++syscalls[error.syscall()];
    EXPECT_EQ(side->events, (std::vector<std::string>{"error", "close(true)"})) << side->describe();
    ASSERT_EQ(side->errors.size(), 1u);
    EXPECT_EQ(side->errors[0].code(), "ECONNRESET") << side->errors[0].what();
    EXPECT_TRUE(side->errors[0].syscall() == "read" || side->errors[0].syscall() == "write")
        << side->errors[0].what();
    EXPECT_FALSE(side->eventAfterClose);
    EXPECT_TRUE(side->socket->destroyed());
  }
  std::printf("resets met by: %d reads, %d writes\n", syscalls["read"], syscalls["write"]);
  for (std::size_t i = 0; i < kHealthy; ++i) EXPECT_TRUE(healthy[i]->intact()) << i << ": " << healthy[i]->describe();
  EXPECT_EQ(openDescriptorCount(), descriptorsBefore);
  expectServerCloses(*server);
}

// ---- a peer never reads ----------------------------------------------------------------------

// The server streams to peers that never read, writing until write() returns false and again on
// 'drain', as a program should. What it holds per connection must stop at the high-water mark
// plus one write, whatever the peer does; once the kernel's buffers are full nothing moves, and the
// idle timeout reaps the connection.
TEST_P(FaultPeerTest, PeerThatNeverReadsCostsAtMostTheHighWaterMarkUntilTheIdleTimeoutReapsIt) {
  constexpr std::size_t kSlowReaders = 4;
  constexpr std::int64_t kIdleMs = 200;
  constexpr std::size_t kChunk = 64 * 1024;
  const std::string chunk(kChunk, 's');
  struct Streamed {
    std::function<void()> pump;
    std::size_t written = 0;
    std::size_t mostQueued = 0;
    std::uint64_t lastProgressMs = 0;  // the loop's time of the last write() or 'drain'
    std::uint64_t idleAtTimeoutMs = 0;
    std::size_t residentAtTimeout = 0;
  };
  std::map<int, ServerSide> accepted;
  std::map<int, Streamed> streamed;  // a map's elements stay where they are: listeners point at them
  const auto residentBefore = residentSetBytes();
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    Socket* raw = socket.get();
    const int port = socket->remotePort();
    accepted[port].attach(socket);
    Streamed& stream = streamed[port];
    stream.pump = [&stream, &chunk, raw, this] {
      stream.lastProgressMs = loop.now();
      while (!raw->destroyed()) {
        const bool more = raw->write(std::string_view(chunk));
        stream.written += chunk.size();
        stream.mostQueued = std::max(stream.mostQueued, raw->writableLength());
        if (!more) {
          raw->once("drain", [&stream] { stream.pump(); });
          return;
        }
      }
    };
    raw->setTimeout(kIdleMs, [&stream, raw, this] {
      stream.idleAtTimeoutMs = loop.now() - stream.lastProgressMs;
      stream.residentAtTimeout = residentSetBytes().value_or(0);
      raw->destroy();
    });
    stream.pump();
  });
  const int port = listen(*server);
  ASSERT_GT(port, 0);
  const auto descriptorsBefore = openDescriptorCount();
  std::vector<RawPeer> peers;
  for (std::size_t i = 0; i < kSlowReaders; ++i) peers.emplace_back(port);
  ASSERT_TRUE(pollUntil(loop, [&] {
    return accepted.size() == kSlowReaders &&
           std::all_of(accepted.begin(), accepted.end(), [](const auto& entry) { return entry.second.closed; });
  }, 10s)) << "the stalled connections were not reaped";

  std::size_t mostResident = 0;
  for (const auto& [peerPort, side] : accepted) {
    const Streamed& stream = streamed.at(peerPort);
    EXPECT_EQ(side.events, (std::vector<std::string>{"timeout", "close(false)"})) << side.describe();
    // The queue stops at the high-water mark plus the write that crossed it.
    EXPECT_LT(stream.mostQueued, side.socket->writableHighWaterMark() + kChunk);
    EXPECT_GT(stream.written, 4 * kChunk) << "the server hardly streamed: the test proves nothing";
    EXPECT_GE(stream.idleAtTimeoutMs, static_cast<std::uint64_t>(kIdleMs));  // reaped for being idle, not early
    mostResident = std::max(mostResident, stream.residentAtTimeout);
  }
  if (residentBefore) {
    const double growth = static_cast<double>(mostResident) - static_cast<double>(*residentBefore);
    std::printf("slow readers: %zu connections stalled, RSS %+.0f KiB at the stall\n", kSlowReaders, growth / 1024);
    EXPECT_LT(growth, static_cast<double>(kSlowReaders) * (1 << 20));
  }
  peers.clear();
  EXPECT_EQ(openDescriptorCount(), descriptorsBefore);
  expectServerCloses(*server);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultPeerTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
