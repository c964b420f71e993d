// ListenOptions::reusePort: servers on two loops in two threads share one port and the kernel
// hands connections to both; without the option on every listener, the port is in use.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "net/server.h"
#include "reactor/loop_threads.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

ListenOptions onLoopback(int port, bool reusePort) {
  ListenOptions options;
  options.port = port;
  options.host = "127.0.0.1";
  options.reusePort = reusePort;
  return options;
}

class ReusePortTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  // The error the second of two listeners on one port gets, or nullopt when it listens.
  std::optional<Error> secondListenerError(bool firstReuses, bool secondReuses) {
    auto first = Server::create(loop);
    first->listen(onLoopback(0, firstReuses));
    EXPECT_TRUE(first->listening());
    auto second = Server::create(loop);
    std::optional<Error> error;
    bool listening = false;
    second->on("error", [&](const Error& e) { error = e; });
    second->listen(onLoopback(first->address().port, secondReuses), [&] { listening = true; });
    EXPECT_TRUE(runUntil(loop, [&] { return error || listening; }));
    first->close();
    second->close();
    EXPECT_TRUE(runToCompletion(loop));
    return error;
  }

  reactor::Loop loop{GetParam().make()};
};

TEST_P(ReusePortTest, ListenersThatAllReuseThePortShareIt) {
  EXPECT_FALSE(secondListenerError(true, true));
}

TEST_P(ReusePortTest, WithoutReusePortOnEveryListenerThePortIsInUse) {
  for (auto [firstReuses, secondReuses] : {std::pair{false, false}, {true, false}, {false, true}}) {
    std::optional<Error> error = secondListenerError(firstReuses, secondReuses);
    ASSERT_TRUE(error) << firstReuses << secondReuses;
    EXPECT_EQ(error->code(), "EADDRINUSE");
    EXPECT_EQ(error->syscall(), "listen");
  }
}

TEST_P(ReusePortTest, IgnoredForAUnixPath) {
  const std::string path = "/tmp/net-reuse-port-test-" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  auto server = Server::create(loop);
  ListenOptions options;
  options.path = path;
  options.reusePort = true;
  bool listening = false;
  server->listen(options, [&] { listening = true; });
  EXPECT_TRUE(runUntil(loop, [&] { return listening; }));
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

INSTANTIATE_TEST_SUITE_P(Backends, ReusePortTest, ::testing::ValuesIn(testBackends()), backendTestName);

// Two loops, each the default loop of its thread, with a reusePort server each.
TEST(ReusePortThreadsTest, ServersOnTwoLoopsInTwoThreadsBothReceiveConnections) {
  reactor::LoopThreads threads(2);
  std::mutex mutex;
  std::condition_variable changed;
  int port = 0;
  int listening = 0;
  std::optional<Error> error;
  std::array<int, 2> accepted{};
  int servedElsewhere = 0;
  std::array<std::shared_ptr<Server>, 2> servers;  // each touched on its own loop's thread only

  auto listenOn = [&](std::size_t index, int wantedPort) {
    threads.post(index, [&, index, wantedPort] {
      // No loop argument: the server lands on this thread's default loop.
      servers[index] = createServer([&, index](std::shared_ptr<Socket> socket) {
        std::lock_guard lock(mutex);
        ++accepted[index];
        if (&socket->loop() != &threads.loop(index) || &socket->loop() != &reactor::Loop::forThisThread()) {
          ++servedElsewhere;
        }
        socket->destroy();
        changed.notify_all();
      });
      servers[index]->on("error", [&](const Error& e) {
        std::lock_guard lock(mutex);
        error = e;
        changed.notify_all();
      });
      servers[index]->listen(onLoopback(wantedPort, true), [&, server = servers[index].get()] {
        std::lock_guard lock(mutex);
        port = server->address().port;
        ++listening;
        changed.notify_all();
      });
    });
  };
  auto waitFor = [&](auto condition) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return condition() || error.has_value(); }) && !error;
  };

  listenOn(0, 0);
  ASSERT_TRUE(waitFor([&] { return listening == 1; }));
  listenOn(1, port);
  ASSERT_TRUE(waitFor([&] { return listening == 2; })) << (error ? error->what() : "timeout");

  // The kernel picks a listener by a hash of the connection's addresses: a few connections reach
  // both, and 200 all landing on one would be a 2^-199 chance.
  for (int i = 1; i <= 200; ++i) {
    Fd client = connectBlocking(port);
    ASSERT_GE(client.get(), 0);
    ASSERT_TRUE(waitFor([&] { return accepted[0] + accepted[1] == i; }));
    std::lock_guard lock(mutex);
    if (accepted[0] > 0 && accepted[1] > 0) break;
  }
  {
    std::lock_guard lock(mutex);
    EXPECT_GT(accepted[0], 0);
    EXPECT_GT(accepted[1], 0);
    EXPECT_EQ(servedElsewhere, 0);
  }
  for (std::size_t i = 0; i < threads.size(); ++i) threads.post(i, [&, i] { servers[i]->close(); servers[i].reset(); });
  threads.stop();
}

}  // namespace
}  // namespace net
