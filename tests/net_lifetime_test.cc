// Lifetimes the library promises, each found broken once: the connection count a server keeps
// (it drops when a connection is destroyed, as in Node, not at its deferred 'close'), listeners
// that throw (the socket is still released and counted out), a custom lookup that answers twice,
// and a loop destroyed with work still pending in every state a socket or server can be in, or by
// its thread's exit: everything is closed and freed, and no thread touches the loop afterwards.
// Runs against every backend; under AddressSanitizer a leak or a use after free fails it too.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"
#include "tools/common/process_stats.h"

namespace net {
namespace {

using namespace reactor::testing_support;

ConnectOptions to(int port, const char* host) {
  ConnectOptions options;
  options.port = port;
  options.host = host;
  return options;
}

// A server takes a spare descriptor for the process on its first listen() (net/server.h, on
// descriptor exhaustion): taken before a test counts descriptors, it is not counted as a leak.
void takeTheSpareDescriptor() {
  reactor::Loop loop;
  auto server = Server::create(loop);
  server->listen(0, "127.0.0.1");
  server->close();
  loop.run();
}

class LifetimeTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  void SetUp() override {
    takeTheSpareDescriptor();
    descriptorsWithoutLoop = tools::openDescriptorCount();
    loop = std::make_unique<reactor::Loop>(GetParam().make());
  }

  std::optional<std::size_t> descriptorsWithoutLoop;
  std::unique_ptr<reactor::Loop> loop;

  std::shared_ptr<Server> listeningServer(ConnectionListener onConnection = {}) {
    auto server = Server::create(*loop, {}, std::move(onConnection));
    bool listening = false;
    server->listen(0, "127.0.0.1", [&] { listening = true; });
    EXPECT_TRUE(runUntil(*loop, [&] { return listening; }));
    return server;
  }
};

TEST_P(LifetimeTest, ServerStopsCountingAConnectionWhenItIsDestroyed) {
  int connections = 0;
  int drops = 0;
  std::vector<std::size_t> countsAfterDestroy;
  std::shared_ptr<Server> server;
  server = listeningServer([&](std::shared_ptr<Socket> socket) {
    ++connections;
    socket->destroy();
    server->getConnections([&](const Error*, std::size_t count) { countsAfterDestroy.push_back(count); });
  });
  server->setMaxConnections(1);
  server->on("drop", [&](const DropInfo&) { ++drops; });
  const int port = server->address().port;
  Fd first = connectBlocking(port);
  Fd second = connectBlocking(port);
  ASSERT_TRUE(runUntil(*loop, [&] { return connections + drops == 2 && countsAfterDestroy.size() == 2; }));
  EXPECT_EQ(connections, 2) << "a destroyed connection still counted against maxConnections";
  EXPECT_EQ(drops, 0);
  EXPECT_EQ(countsAfterDestroy, (std::vector<std::size_t>{0, 0}));
  server->close();
  EXPECT_TRUE(runToCompletion(*loop));
}

// Node 20: the server's 'close' comes before the 'close' of the connection whose destroy() let it.
TEST_P(LifetimeTest, ServerCloseComesBeforeItsLastConnectionsClose) {
  std::string order;
  std::shared_ptr<Server> server;
  server = listeningServer([&](std::shared_ptr<Socket> socket) {
    server->close([&](const Error*) { order += "server "; });
    socket->on("close", [&](bool) { order += "socket "; });
    socket->destroy();
  });
  Fd client = connectBlocking(server->address().port);
  EXPECT_TRUE(runToCompletion(*loop));
  EXPECT_EQ(order, "server socket ");
}

TEST_P(LifetimeTest, ThrowingCloseAndErrorListenersStillReleaseTheSocket) {
  std::weak_ptr<Socket> accepted;
  std::shared_ptr<Server> server;
  server = listeningServer([&](std::shared_ptr<Socket> socket) {
    accepted = socket;
    socket->on("error", [](const Error&) { throw std::runtime_error("from 'error'"); });
    socket->on("close", [](bool) { throw std::runtime_error("from 'close'"); });
    socket->destroy(Error("ERR_TEST", "boom"));
  });
  Fd client = connectBlocking(server->address().port);
  EXPECT_THROW(loop->run(), std::runtime_error);
  std::size_t connections = 99;
  server->getConnections([&](const Error*, std::size_t count) { connections = count; });
  server->close();
  EXPECT_TRUE(runToCompletion(*loop));
  EXPECT_EQ(connections, 0u);
  EXPECT_TRUE(accepted.expired()) << "a throwing listener left the socket holding itself";
}

TEST_P(LifetimeTest, ACustomLookupThatAnswersTwiceConnectsOnce) {
  const auto descriptorsBefore = tools::openDescriptorCount();
  int connections = 0;
  auto server = listeningServer([&](std::shared_ptr<Socket>) { ++connections; });
  ConnectOptions options;
  options.port = server->address().port;
  options.host = "twice.test";
  options.lookup = [](const std::string&, int, auto done) {
    done(nullptr, {"127.0.0.1"});
    done(nullptr, {"127.0.0.1"});
  };
  int connects = 0;
  auto socket = createConnection(*loop, options, [&] { ++connects; });
  ASSERT_TRUE(runUntil(*loop, [&] { return connections == 1 && connects == 1; }));
  socket->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(*loop));
  EXPECT_EQ(connections, 1);
  EXPECT_EQ(connects, 1);
  EXPECT_EQ(tools::openDescriptorCount(), descriptorsBefore);
}

// Sockets and servers in every state, timers and queued callbacks holding them, a lookup that never
// answers: the loop is destroyed with all of it pending. Nothing may leak (not a descriptor, not a
// socket holding itself), and nothing may touch the loop afterwards.
TEST_P(LifetimeTest, LoopDestroyedWithEverythingPendingClosesAndFreesIt) {
  std::vector<std::weak_ptr<Socket>> sockets;
  std::vector<std::weak_ptr<Server>> servers;
  std::shared_ptr<Socket> heldFresh, heldDestroyed;
  {
    auto listening = listeningServer([&](std::shared_ptr<Socket> socket) { sockets.push_back(socket); });
    servers.push_back(listening);
    const int port = listening->address().port;

    // An open connection (accepted, and the client end) with writes queued behind a full buffer.
    auto client = createConnection(*loop, to(port, "127.0.0.1"));
    sockets.push_back(client);
    ASSERT_TRUE(runUntil(*loop, [&] { return !client->connecting() && sockets.size() == 2; }));
    const std::string chunk(1 << 20, 'x');
    while (client->write(chunk, [](const Error*) {})) {
    }
    client->setTimeout(60'000);

    // A server that is closing, waiting for its one connection.
    auto closing = listeningServer([&](std::shared_ptr<Socket> socket) { sockets.push_back(socket); });
    servers.push_back(closing);
    auto closingsClient = createConnection(*loop, to(closing->address().port, "127.0.0.1"));
    sockets.push_back(closingsClient);
    ASSERT_TRUE(runUntil(*loop, [&] { return !closingsClient->connecting() && sockets.size() == 4; }));
    closing->close();

    // Connecting: to an address, and to a name a custom lookup never answers.
    sockets.push_back(createConnection(*loop, to(port, "127.0.0.1")));
    ConnectOptions silent = to(port, "silent.test");
    silent.lookup = [](const std::string&, int, auto) {};
    sockets.push_back(createConnection(*loop, silent));

    servers.push_back(Server::create(*loop));  // never listened on

    // Held by the program: a fresh socket with an idle timeout armed, and one destroyed whose
    // 'close' is still to come. Held by the loop: a socket in a timer, an immediate and a tick.
    heldFresh = Socket::create(*loop);
    heldFresh->setTimeout(1000);
    heldDestroyed = createConnection(*loop, to(port, "127.0.0.1"));
    heldDestroyed->destroy();
    for (int i = 0; i < 3; ++i) {
      auto socket = Socket::create(*loop);
      sockets.push_back(socket);
      if (i == 0) loop->setTimeout([socket] {}, 60'000);
      if (i == 1) loop->setImmediate([socket] {});
      if (i == 2) loop->nextTick([socket] {});
    }
    sockets.push_back(heldFresh);
    sockets.push_back(heldDestroyed);
  }
  loop.reset();
  heldFresh.reset();
  heldDestroyed.reset();
  for (const auto& socket : sockets) EXPECT_TRUE(socket.expired());
  for (const auto& server : servers) EXPECT_TRUE(server.expired());
  EXPECT_EQ(tools::openDescriptorCount(), descriptorsWithoutLoop);
}

// getaddrinfo still running on its threads when the loop goes: a socket connecting to a name and a
// server listening on one. (Descriptors are not counted here: the lookups' threads hold their own
// for a while.)
TEST_P(LifetimeTest, LoopDestroyedWithLookupsInFlightFreesTheirSocketAndServer) {
  std::weak_ptr<Socket> connecting = createConnection(*loop, to(1, "runsc"));
  auto resolving = Server::create(*loop);
  resolving->listen(0, "vm");
  std::weak_ptr<Server> server = resolving;
  resolving.reset();
  loop.reset();
  EXPECT_TRUE(connecting.expired());
  EXPECT_TRUE(server.expired());
}

INSTANTIATE_TEST_SUITE_P(Backends, LifetimeTest, ::testing::ValuesIn(testBackends()), backendTestName);

// The calling thread's default loop is destroyed when the thread exits, with whatever it had
// pending.
TEST(DefaultLoopLifetime, ThreadExitClosesWhatItsLoopHeld) {
  takeTheSpareDescriptor();
  const auto descriptorsBefore = tools::openDescriptorCount();
  std::weak_ptr<Socket> connecting, open;
  std::weak_ptr<Server> server;
  std::thread([&] {
    auto listening = createServer();
    listening->listen(0, "127.0.0.1");
    server = listening;
    auto client = createConnection(listening->address().port, "127.0.0.1");
    open = client;
    ConnectOptions silent;
    silent.port = listening->address().port;
    silent.host = "silent.test";
    silent.lookup = [](const std::string&, int, auto) {};
    connecting = createConnection(silent);
    reactor::Loop::forThisThread().runOnce();
  }).join();
  EXPECT_TRUE(connecting.expired());
  EXPECT_TRUE(open.expired());
  EXPECT_TRUE(server.expired());
  EXPECT_EQ(tools::openDescriptorCount(), descriptorsBefore);
}

}  // namespace
}  // namespace net
