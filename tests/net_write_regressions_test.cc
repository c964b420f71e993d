// Regressions of the write path, each once a bug:
//  - an empty write queued behind a large one, or alone on a connecting socket, stayed in the queue
//    for good: 0 bytes queued but a queue not empty, so write interest stayed on and the loop called
//    sendmsg() with nothing to send as fast as it could; the callback never ran, and neither
//    'drain' nor 'finish' came, so end() never completed. An empty write completes like any other,
//    as in Node;
//  - when one sendmsg() completed several queued writes and the callback of the first destroyed the
//    socket, the callbacks of the others were never called at all, although the peer received
//    their bytes. Every write callback runs exactly once: with success when its bytes reached the
//    kernel, with the error that ended the socket otherwise (Node 20 calls them all).
// tests/net_write_model_test.cc holds the whole write path to a model; these are the exact cases.
// Runs against every backend.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/checking_reader.h"
#include "tests/loop_test_support.h"
#include "tests/poll_until.h"
#include "tests/seeded_bytes.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

constexpr std::uint64_t kSeed = 11;
// More than the kernel takes at once on loopback, whatever its autotuning (tcp_wmem's default
// maximum is 4 MiB): a write of this size is always partly queued.
constexpr std::size_t kLargeWrite = 32 << 20;

std::string seededString(SeededBytes& stream, std::size_t size) {
  std::string data(size, '\0');
  stream.fill(data.data(), size);
  return data;
}

// What a write callback was called with, as the tests compare it: "name:ok" or "name:CODE".
std::string outcome(const char* name, const Error* error) {
  return std::string(name) + ":" + (error != nullptr ? error->code() : std::string("ok"));
}

// How many loop iterations `ms` milliseconds take when nothing is ready: a few, unless something
// keeps the loop from waiting.
int iterationsIn(reactor::Loop& loop, int ms) {
  bool due = false;
  loop.setTimeout([&] { due = true; }, ms);
  int iterations = 0;
  while (!due) {
    loop.runOnce();
    ++iterations;
  }
  return iterations;
}

class WriteRegressionTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  reactor::Loop loop{GetParam().make()};

  // A server on 127.0.0.1 whose connections' bytes go to `sink`, checked as they arrive; `ended`
  // once a connection read the end of stream.
  std::shared_ptr<Server> sinkServer(StreamChecker& sink, bool& ended) {
    auto server = Server::create(loop, {}, [&sink, &ended](std::shared_ptr<Socket> connection) {
      connection->on("data", [&sink](std::string_view data) { sink.take(data); });
      connection->on("end", [&ended] { ended = true; });
      connection->on("error", [](const Error&) {});
    });
    bool listening = false;
    server->listen(0, "127.0.0.1", [&] { listening = true; });
    EXPECT_TRUE(runUntil(loop, [&] { return listening; }));
    return server;
  }
};

TEST_P(WriteRegressionTest, EmptyWriteQueuedBehindALargeOneCompletesAndEndFinishes) {
  SocketPair pair = tcpPair();
  CheckingReader peer(pair.peer.get(), kSeed);
  SocketOptions options;
  options.fd = pair.local.release();
  auto socket = Socket::create(loop, options);
  std::vector<std::string> events;
  socket->on("finish", [&] { events.push_back("finish"); });
  socket->on("close", [&](bool) { events.push_back("close"); });

  SeededBytes stream(kSeed);
  ASSERT_FALSE(socket->write(seededString(stream, kLargeWrite),
                             [&](const Error* error) { events.push_back(outcome("large", error)); }));
  socket->write("", [&](const Error* error) { events.push_back(outcome("empty", error)); });
  socket->end();

  ASSERT_TRUE(pollUntil(loop, [&] {
    peer.readAvailable();
    return peer.received() == kLargeWrite;
  }));
  // Every byte is out: nothing is left to wait for but the timer.
  const int iterations = iterationsIn(loop, 50);
  EXPECT_LE(iterations, 10) << "the loop does not wait: write interest is on with nothing to send";
  EXPECT_TRUE(runUntil(loop, [&] { return events.size() >= 3; }, 2s));
  EXPECT_EQ(events, (std::vector<std::string>{"large:ok", "empty:ok", "finish"}));
  EXPECT_TRUE(pollUntil(loop, [&] {
    peer.readAvailable();
    return peer.ended();
  }, 2s)) << "no FIN after the queued bytes";
  EXPECT_EQ(peer.received(), kLargeWrite);
  EXPECT_FALSE(peer.firstMismatch().has_value());
  socket->destroy();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(WriteRegressionTest, EmptyWriteOnAConnectingSocketCompletesAndEndFinishes) {
  StreamChecker sink(kSeed);
  bool peerEnded = false;
  auto server = sinkServer(sink, peerEnded);
  auto socket = Socket::create(loop);
  std::vector<std::string> events;
  socket->on("finish", [&] { events.push_back("finish"); });
  socket->on("close", [&](bool) { events.push_back("close"); });
  socket->connect(server->address().port, "127.0.0.1");
  ASSERT_TRUE(socket->connecting());
  socket->write("", [&](const Error* error) { events.push_back(outcome("empty", error)); });
  socket->end();

  EXPECT_TRUE(runUntil(loop, [&] { return peerEnded && events.size() >= 2; }, 2s));
  EXPECT_EQ(events, (std::vector<std::string>{"empty:ok", "finish"}));
  EXPECT_TRUE(peerEnded) << "no FIN";
  EXPECT_EQ(sink.received(), 0u);
  socket->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

// Three small writes and a large one are queued while connecting, so the first sendmsg() hands the
// three and part of the fourth to the kernel at once; the first callback destroys the socket.
TEST_P(WriteRegressionTest, CallbacksOfWritesSentTogetherAllRunWhenTheFirstDestroysTheSocket) {
  constexpr std::size_t kSmallWrite = 100;
  struct Case {
    const char* name;
    std::optional<Error> destroyError;
    const char* expectedCode;
  };
  for (const Case& c : {Case{"destroy()", std::nullopt, "ERR_STREAM_DESTROYED"},
                        Case{"destroy(error)", Error("EBOOM", "destroyed by a write callback"), "EBOOM"}}) {
    SCOPED_TRACE(c.name);
    StreamChecker sink(kSeed);
    bool peerEnded = false;
    auto server = sinkServer(sink, peerEnded);
    auto socket = Socket::create(loop);
    std::vector<std::string> events;
    socket->on("error", [&](const Error& error) { events.push_back("error:" + error.code()); });
    socket->on("close", [&](bool) { events.push_back("close"); });
    socket->connect(server->address().port, "127.0.0.1");
    ASSERT_TRUE(socket->connecting());

    SeededBytes stream(kSeed);
    socket->write(seededString(stream, kSmallWrite), [&](const Error* error) {
      events.push_back(outcome("a", error));
      if (c.destroyError) {
        socket->destroy(*c.destroyError);
      } else {
        socket->destroy();
      }
    });
    socket->write(seededString(stream, kSmallWrite), [&](const Error* e) { events.push_back(outcome("b", e)); });
    socket->write(seededString(stream, kSmallWrite), [&](const Error* e) { events.push_back(outcome("c", e)); });
    socket->write(seededString(stream, kLargeWrite), [&](const Error* e) { events.push_back(outcome("d", e)); });

    EXPECT_TRUE(runUntil(loop, [&] { return !events.empty() && events.back() == "close"; }, 2s));
    std::vector<std::string> expected{"a:ok", "b:ok", "c:ok", std::string("d:") + c.expectedCode};
    if (c.destroyError) expected.push_back("error:EBOOM");
    expected.push_back("close");
    EXPECT_EQ(events, expected);

    // The peer gets every byte the callbacks reported sent, and the part of the large write that
    // went with them.
    EXPECT_TRUE(runUntil(loop, [&] { return peerEnded; }));
    EXPECT_GE(sink.received(), 3 * kSmallWrite);
    EXPECT_LT(sink.received(), 3 * kSmallWrite + kLargeWrite);
    EXPECT_FALSE(sink.firstMismatch().has_value());
    server->close();
    EXPECT_TRUE(runToCompletion(loop));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, WriteRegressionTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
