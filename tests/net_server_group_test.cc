// net::ServerGroup's contract, both ways (a reusePort listener per loop, and hand-off from the home
// loop): connections spread over every worker loop, each served on one loop from 'connection' to
// 'close', getConnections summed over the loops, maxConnections per loop with 'drop' on the
// worker, and close() stopping the accepting everywhere, waiting for the connections, and emitting
// 'close' once. The workers are LoopThreads; the home loop is driven by the test.
#include "net/server_group.h"

#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "reactor/loop_threads.h"
#include "tests/poll_until.h"
#include "tests/socket_pairs.h"

namespace net {
namespace {

using namespace reactor::testing_support;

constexpr std::size_t kWorkers = 3;

// What the workers saw, written on their threads.
struct Served {
  std::mutex mutex;
  std::map<const reactor::Loop*, int> connectionsPerLoop;
  int servedOnAnotherThread = 0;  // an event of a connection on another thread than its first
  std::vector<DropInfo> drops;
  int dropsOnAnotherLoop = 0;
};

class ServerGroupTest : public ::testing::TestWithParam<Balancing> {
 protected:
  ~ServerGroupTest() override {
    if (group && group->listening()) {
      const int closed = closeEvents + 1;
      group->close();
      EXPECT_TRUE(pollUntil(loop, [&] { return closeEvents == closed; }));
    }
    group.reset();
    threads.stop();
  }

  void startGroup(ServerGroupOptions options = {}) {
    options.balancing = GetParam();
    group = ServerGroup::create(
        loop, threads.loops(), options,
        [served = served](std::shared_ptr<Socket> socket) {
          const std::thread::id thread = std::this_thread::get_id();
          {
            std::lock_guard lock(served->mutex);
            ++served->connectionsPerLoop[&socket->loop()];
            if (&socket->loop() != &reactor::Loop::forThisThread()) ++served->servedOnAnotherThread;
          }
          auto check = [served, thread] {
            if (std::this_thread::get_id() == thread) return;
            std::lock_guard lock(served->mutex);
            ++served->servedOnAnotherThread;
          };
          socket->on("data", [check](Socket& self, std::string_view data) {
            check();
            self.write(data);
          });
          socket->on("close", [check] { check(); });
        },
        [served = served](const DropInfo& info) {
          std::lock_guard lock(served->mutex);
          served->drops.push_back(info);
        });
    group->on("close", [this] { ++closeEvents; });
    ListenOptions listen;
    listen.host = "127.0.0.1";
    group->listen(listen, [this] { listening = true; });
    ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
    port = group->address().port;
    ASSERT_GT(port, 0);
  }

  // A client that sent a byte and got it back: it is being served.
  Fd servedClient() {
    Fd client = connectBlocking(port);
    EXPECT_GE(client.get(), 0);
    EXPECT_EQ(::send(client.get(), "x", 1, 0), 1);
    char echoed = 0;
    EXPECT_TRUE(pollUntil(loop, [&] { return ::recv(client.get(), &echoed, 1, MSG_DONTWAIT) == 1; }));
    return client;
  }

  std::size_t loopsServing() {
    std::lock_guard lock(served->mutex);
    return served->connectionsPerLoop.size();
  }

  reactor::Loop loop;
  reactor::LoopThreads threads{kWorkers};
  std::shared_ptr<Served> served = std::make_shared<Served>();
  std::shared_ptr<ServerGroup> group;
  bool listening = false;
  int closeEvents = 0;
  int port = 0;
};

TEST_P(ServerGroupTest, ConnectionsSpreadOverEveryLoopAndEachIsServedOnOne) {
  startGroup();
  EXPECT_EQ(group->size(), kWorkers);
  std::vector<Fd> clients;
  // Hand-off deals them out in turn; the kernel's hash reaches every loop within a few dozen
  // (200 missing one of three loops would be a 10^-34 chance).
  while (loopsServing() < kWorkers && clients.size() < 200) clients.push_back(servedClient());
  EXPECT_EQ(loopsServing(), kWorkers);
  if (GetParam() == Balancing::kHandOff) {
    EXPECT_EQ(clients.size(), kWorkers);
  }

  clients.clear();
  group->close();
  ASSERT_TRUE(pollUntil(loop, [&] { return closeEvents == 1; }));
  std::lock_guard lock(served->mutex);
  EXPECT_EQ(served->servedOnAnotherThread, 0);
  for (reactor::Loop* worker : threads.loops()) EXPECT_GT(served->connectionsPerLoop[worker], 0);
}

TEST_P(ServerGroupTest, CloseStopsAcceptingEverywhereWaitsForConnectionsAndEmitsCloseOnce) {
  startGroup();
  Fd client = servedClient();
  std::vector<std::string> closeResults;
  group->close([&](const Error* error) { closeResults.push_back(error ? error->code() : "ok"); });
  EXPECT_FALSE(group->listening());
  EXPECT_EQ(group->address().port, 0);
  // Soon refused on every loop: no listener is left on the port (with reusePort, each worker
  // closes its own as it takes the request).
  const auto allRefused = [&] {
    for (int i = 0; i < 20; ++i) {
      if (connectBlocking(port).get() >= 0 || errno != ECONNREFUSED) return false;
    }
    return true;
  };
  EXPECT_TRUE(pollUntil(loop, allRefused));
  // 'close' waits for the open connection, as a single server's does.
  EXPECT_FALSE(pollUntil(loop, [&] { return closeEvents > 0; }, std::chrono::milliseconds(50)));
  client = Fd();
  ASSERT_TRUE(pollUntil(loop, [&] { return closeEvents == 1; }));
  EXPECT_EQ(closeResults, std::vector<std::string>{"ok"});

  // A second close: not running, and 'close' again on the next tick, as Node's.
  group->close([&](const Error* error) { closeResults.push_back(error ? error->code() : "ok"); });
  ASSERT_TRUE(runUntil(loop, [&] { return closeResults.size() == 2; }));
  EXPECT_EQ(closeResults[1], "ERR_SERVER_NOT_RUNNING");
}

TEST_P(ServerGroupTest, GetConnectionsSumsEveryLoop) {
  startGroup();
  std::vector<Fd> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(servedClient());
  std::optional<std::size_t> count;
  group->getConnections([&](const Error* error, std::size_t n) {
    EXPECT_EQ(error, nullptr);
    count = n;
  });
  ASSERT_TRUE(runUntil(loop, [&] { return count.has_value(); }));
  EXPECT_EQ(*count, 5u);
}

TEST_P(ServerGroupTest, MaxConnectionsIsPerLoopAndDropsOnTheWorker) {
  ServerGroupOptions options;
  options.maxConnectionsPerLoop = 0;
  startGroup(options);
  Fd client = connectBlocking(port);
  ASSERT_GE(client.get(), 0);
  char byte;
  ASSERT_TRUE(pollUntil(loop, [&] { return ::recv(client.get(), &byte, 1, MSG_DONTWAIT) == 0; }));
  std::lock_guard lock(served->mutex);
  ASSERT_EQ(served->drops.size(), 1u);
  EXPECT_EQ(served->drops[0].reason, "maxConnections");
  EXPECT_EQ(served->drops[0].localPort, port);
  EXPECT_TRUE(served->connectionsPerLoop.empty());
}

TEST_P(ServerGroupTest, ListenTwiceThrowsAndAPortInUseFailsWithCloseAfterTheError) {
  startGroup();
  auto blocker = Server::create(loop);  // holds a port without reusePort
  blocker->listen(0, "127.0.0.1");
  const auto thrown = [&] {
    try {
      group->listen(ListenOptions{});
    } catch (const Error& error) {
      return error.code();
    }
    return std::string("nothing");
  }();
  EXPECT_EQ(thrown, "ERR_SERVER_ALREADY_LISTEN");

  ServerGroupOptions options;
  options.balancing = GetParam();
  auto second = ServerGroup::create(loop, threads.loops(), options, {});
  std::optional<Error> error;
  bool closed = false;
  second->on("error", [&](const Error& e) { error = e; });
  second->on("close", [&] { closed = true; });
  ListenOptions taken;
  taken.host = "127.0.0.1";
  taken.port = blocker->address().port;
  second->listen(taken);
  ASSERT_TRUE(pollUntil(loop, [&] { return closed; }));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "EADDRINUSE");
  EXPECT_FALSE(second->listening());
  blocker->close();
}

// A worker loop that ends with a hand-off and the close request still queued: the descriptor is
// closed with the callback that carried it, and the group still closes.
TEST(ServerGroupHandOffTest, HandOffsQueuedOnAWorkerLoopThatEndsAreClosed) {
  reactor::Loop loop;
  std::optional<reactor::Loop> worker;
  worker.emplace();
  bool served = false;
  auto group = ServerGroup::create(loop, {&*worker}, {}, [&](std::shared_ptr<Socket>) { served = true; });
  int closeEvents = 0;
  group->on("close", [&] { ++closeEvents; });
  ListenOptions options;
  options.host = "127.0.0.1";
  group->listen(options);
  Fd client = connectBlocking(group->address().port);
  ASSERT_GE(client.get(), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return worker->alive(); }));  // the hand-off is queued
  group->close();
  worker.reset();  // never ran
  char byte;
  EXPECT_TRUE(pollUntil(loop, [&] { return ::recv(client.get(), &byte, 1, MSG_DONTWAIT) == 0; }));
  EXPECT_TRUE(pollUntil(loop, [&] { return closeEvents == 1; }));
  EXPECT_FALSE(served);
  group.reset();
  EXPECT_FALSE(loop.alive());
}

TEST(ServerGroupBadInputTest, RefusedAtTheCall) {
  reactor::Loop loop;
  const auto codeOf = [](auto&& f) {
    try {
      f();
    } catch (const Error& error) {
      return error.code();
    }
    return std::string("nothing");
  };
  EXPECT_EQ(codeOf([&] { ServerGroup::create(loop, {}, {}, {}); }), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(codeOf([&] { ServerGroup::create(loop, {&loop, nullptr}, {}, {}); }), "ERR_INVALID_ARG_VALUE");
  ServerGroupOptions options;
  options.balancing = Balancing::kReusePort;
  auto group = ServerGroup::create(loop, {&loop}, options, {});
  ListenOptions unixPath;
  unixPath.path = "/tmp/net-server-group-test.sock";
  EXPECT_EQ(codeOf([&] { group->listen(unixPath); }), "ERR_INVALID_ARG_VALUE");
  // Bad options throw at the call either way, as Server::listen's, and leave the group idle.
  for (Balancing balancing : {Balancing::kReusePort, Balancing::kHandOff}) {
    options.balancing = balancing;
    auto idle = ServerGroup::create(loop, {&loop}, options, {});
    ListenOptions badPort;
    badPort.port = 65536;
    EXPECT_EQ(codeOf([&] { idle->listen(badPort); }), "ERR_SOCKET_BAD_PORT");
    ListenOptions badBacklog;
    badBacklog.backlog = -1;
    EXPECT_EQ(codeOf([&] { idle->listen(badBacklog); }), "ERR_OUT_OF_RANGE");
    EXPECT_FALSE(idle->listening());
  }
  EXPECT_FALSE(loop.alive());
}

std::string balancingName(const ::testing::TestParamInfo<Balancing>& info) {
  return info.param == Balancing::kReusePort ? "reusePort" : "handOff";
}

INSTANTIATE_TEST_SUITE_P(Balancings, ServerGroupTest, ::testing::Values(Balancing::kReusePort, Balancing::kHandOff),
                         balancingName);

}  // namespace
}  // namespace net
