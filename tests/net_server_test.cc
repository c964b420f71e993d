// net::Server's contract, checked against what Node 20 does: listening and its errors with Node's
// messages, unix-domain sockets, accepting, maxConnections and 'drop', close() waiting for the
// connections, getConnections, ref/unref, ownership and reentrancy, and descriptor exhaustion
// (reported as 'drop').
// Peers are plain client sockets, so that these tests depend on net::Socket only where the server
// hands one out. Runs against every backend.
#include "net/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/socket.h"
#include "tests/child_process.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/test_backends.h"
#include "tests/thrown_by.h"

namespace net {
namespace {

using namespace reactor::testing_support;

// --- plain client sockets -------------------------------------------------------------------------

// A blocking connect to a listening loopback socket completes at once (the kernel finishes the
// handshake before anyone accepts); the descriptor is made non-blocking afterwards.
Fd connectTcp(int port, const char* ip = "127.0.0.1") {
  Fd fd = connectBlocking(port, ip);
  if (fd.get() >= 0) fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  return fd;
}

// errno of a connect that fails, 0 if it succeeds.
int connectErrno(int port) { return connectBlocking(port).get() < 0 ? errno : 0; }

Fd connectUnix(const std::string& path) { return connectUnixBlocking(path); }

// Whether the peer closed the connection (EOF or reset) within `limit`; poll()s, never sleeps.
bool seesConnectionClosed(const Fd& fd, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  pollfd watched{fd.get(), POLLIN, 0};
  if (poll(&watched, 1, static_cast<int>(limit.count())) != 1) return false;
  char byte;
  const ssize_t n = recv(fd.get(), &byte, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}


// A unix socket path unique to this process and test, removed when the test ends.
class TempSocketPath {
 public:
  TempSocketPath() {
    static std::atomic<int> counter{0};
    path_ = "/tmp/net-server-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".sock";
    unlink(path_.c_str());
  }
  ~TempSocketPath() { unlink(path_.c_str()); }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

bool fileExists(const std::string& path) {
  struct stat status {};
  return stat(path.c_str(), &status) == 0;
}

class ServerTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  reactor::Loop loop{GetParam().make()};

  // Listens on 127.0.0.1 (or `host`) with a free port and waits for 'listening'.
  std::shared_ptr<Server> listeningServer(ServerOptions options = {}, std::string host = "127.0.0.1") {
    auto server = Server::create(loop, options);
    bool listening = false;
    server->listen(0, std::move(host), [&] { listening = true; });
    EXPECT_TRUE(runUntil(loop, [&] { return listening; }));
    return server;
  }

  // Closes `server` and runs the loop until it has emitted 'close'. Every test ends this way: a
  // listening server holds itself alive, and must not outlive its loop.
  void closeAndWait(Server& server) {
    bool closed = false;
    server.close([&](const Error*) { closed = true; });
    EXPECT_TRUE(runUntil(loop, [&] { return closed; }));
  }
};

// --- listen -------------------------------------------------------------------------------------

TEST_P(ServerTest, ListenOnPortZeroReportsTheRealPortAndFamily) {
  auto server = Server::create(loop);
  server->listen(0, "127.0.0.1");
  EXPECT_TRUE(server->listening());
  AddressInfo address = server->address();
  EXPECT_EQ(address.address, "127.0.0.1");
  EXPECT_EQ(address.family, "IPv4");
  EXPECT_GT(address.port, 0);
  closeAndWait(*server);
  EXPECT_FALSE(server->listening());
  EXPECT_EQ(server->address(), AddressInfo{});
}

TEST_P(ServerTest, DefaultHostIsTheIpv6WildcardWhenIpv6Works) {
  auto server = Server::create(loop);
  server->listen(0);
  AddressInfo address = server->address();
  EXPECT_GT(address.port, 0);
  if (address.family == "IPv6") {
    EXPECT_EQ(address.address, "::");
    // Dual-stack: an IPv4 client gets in.
    bool connected = false;
    server->on("connection", [&](std::shared_ptr<Socket> socket) {
      connected = true;
      socket->destroy();
    });
    Fd client = connectTcp(address.port);
    EXPECT_TRUE(runUntil(loop, [&] { return connected; }));
  } else {
    EXPECT_EQ(address.address, "0.0.0.0");  // a machine without IPv6
  }
  closeAndWait(*server);
}

TEST_P(ServerTest, ListeningIsEmittedOnALaterTickAndCallsTheCallback) {
  auto server = Server::create(loop);
  std::vector<std::string> heard;
  server->listen(0, "127.0.0.1", [&] { heard.push_back("callback"); });
  server->on("listening", [&] { heard.push_back("listener added after listen()"); });
  EXPECT_TRUE(heard.empty());
  ASSERT_TRUE(runUntil(loop, [&] { return heard.size() == 2; }));
  EXPECT_EQ(heard, (std::vector<std::string>{"callback", "listener added after listen()"}));
  closeAndWait(*server);
}

TEST_P(ServerTest, CloseBeforeTheListeningTickSuppressesListening) {
  auto server = Server::create(loop);
  bool listening = false;
  server->listen(0, "127.0.0.1", [&] { listening = true; });
  closeAndWait(*server);
  EXPECT_FALSE(listening);
}

TEST_P(ServerTest, LocalhostListensOnIpv4Loopback) {
  auto server = Server::create(loop);
  server->listen(0, "localhost");
  EXPECT_EQ(server->address().address, "127.0.0.1");
  closeAndWait(*server);
}

TEST_P(ServerTest, HostNameIsResolvedOffTheLoopThread) {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* answers = nullptr;
  if (name[0] == '\0' || getaddrinfo(name, nullptr, &hints, &answers) != 0) GTEST_SKIP() << "host name unresolvable";
  const std::string expected = SocketAddress::fromSockaddr(answers->ai_addr, answers->ai_addrlen).info().address;
  freeaddrinfo(answers);

  auto server = Server::create(loop);
  bool listening = false;
  server->listen(0, name, [&] { listening = true; });
  EXPECT_FALSE(server->listening());  // the lookup is still running
  ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  EXPECT_EQ(server->address().address, expected);
  EXPECT_GT(server->address().port, 0);
  closeAndWait(*server);
}

TEST_P(ServerTest, CloseDuringTheLookupWinsOverIt) {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  auto server = Server::create(loop);
  bool listening = false;
  std::string closeError;
  server->listen(0, name, [&] { listening = true; });
  server->close([&](const Error* error) { closeError = error ? error->code() : "none"; });
  ASSERT_TRUE(runToCompletion(loop));  // returns once the lookup's answer has come back
  EXPECT_EQ(closeError, "ERR_SERVER_NOT_RUNNING");
  EXPECT_FALSE(listening);
  EXPECT_FALSE(server->listening());
}

TEST_P(ServerTest, AddressInUseOnLoopbackGivesNodesError) {
  auto first = listeningServer();
  const int port = first->address().port;
  auto second = Server::create(loop);
  std::optional<Error> error;
  second->on("error", [&](const Error& e) { error = e; });
  second->listen(port, "127.0.0.1");
  EXPECT_FALSE(error) << "the error must come on a later tick";
  ASSERT_TRUE(runUntil(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(std::string(error->what()), "listen EADDRINUSE: address already in use 127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(error->code(), "EADDRINUSE");
  EXPECT_EQ(error->errnum(), EADDRINUSE);
  EXPECT_EQ(error->syscall(), "listen");
  EXPECT_EQ(error->address(), "127.0.0.1");
  EXPECT_EQ(error->port(), port);
  EXPECT_FALSE(second->listening());
  closeAndWait(*first);
}

TEST_P(ServerTest, AddressInUseOnTheDefaultAddressIsReportedAgainstIt) {
  auto first = Server::create(loop);
  first->listen(0);
  const AddressInfo taken = first->address();
  auto second = Server::create(loop);
  std::optional<Error> error;
  second->on("error", [&](const Error& e) { error = e; });
  second->listen(taken.port);
  ASSERT_TRUE(runUntil(loop, [&] { return error.has_value(); }));
  // Node: "listen EADDRINUSE: address already in use :::3000" (or 0.0.0.0:3000 without IPv6).
  EXPECT_EQ(std::string(error->what()),
            "listen EADDRINUSE: address already in use " + taken.address + ":" + std::to_string(taken.port));
  EXPECT_EQ(error->address(), taken.address);
  EXPECT_EQ(error->port(), taken.port);
  closeAndWait(*first);
}

TEST_P(ServerTest, AddressNotAvailableWithPortZeroOmitsThePort) {
  auto server = Server::create(loop);
  std::optional<Error> error;
  server->on("error", [&](const Error& e) { error = e; });
  server->listen(0, "192.0.2.1");  // TEST-NET-1: not an address of this machine
  ASSERT_TRUE(runUntil(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(std::string(error->what()), "listen EADDRNOTAVAIL: address not available 192.0.2.1");
  EXPECT_FALSE(error->port().has_value());
}

TEST_P(ServerTest, BadPortsAndBacklogsThrowAtTheCall) {
  auto server = Server::create(loop);
  for (int port : {70000, -1}) {
    auto error = thrownBy([&] { server->listen(port); });
    ASSERT_TRUE(error) << port;
    EXPECT_EQ(error->code(), "ERR_SOCKET_BAD_PORT");
    EXPECT_EQ(std::string(error->what()), "options.port should be >= 0 and < 65536. Received type number (" +
                                              std::to_string(port) + ").");
  }
  auto backlogError = thrownBy([&] { server->listen(0, "127.0.0.1", -5); });
  ASSERT_TRUE(backlogError);
  EXPECT_EQ(backlogError->code(), "ERR_OUT_OF_RANGE");
  EXPECT_FALSE(server->listening());
  EXPECT_FALSE(loop.alive());
}

TEST_P(ServerTest, ListenWhileListeningThrows) {
  auto server = listeningServer();
  auto error = thrownBy([&] { server->listen(0); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "ERR_SERVER_ALREADY_LISTEN");
  EXPECT_EQ(std::string(error->what()), "Listen method has been called more than once without closing.");
  EXPECT_TRUE(server->listening());
  closeAndWait(*server);
}

TEST_P(ServerTest, ListenAgainAfterClose) {
  auto server = listeningServer();
  closeAndWait(*server);
  bool listening = false;
  server->listen(0, "127.0.0.1", [&] { listening = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  closeAndWait(*server);
}

TEST_P(ServerTest, ErrorWithoutListenerIsThrownOutOfRun) {
  auto first = listeningServer();
  auto second = Server::create(loop);
  second->listen(first->address().port, "127.0.0.1");
  reactor::Timeout guard = loop.setTimeout([&] { loop.stop(); }, 5000);
  std::optional<Error> thrown = thrownBy([&] { loop.run(); });
  loop.clearTimeout(guard);
  ASSERT_TRUE(thrown);
  EXPECT_EQ(thrown->code(), "EADDRINUSE");
  EXPECT_FALSE(second->listening());
  EXPECT_TRUE(first->listening());
  closeAndWait(*first);
}

// --- close --------------------------------------------------------------------------------------

TEST_P(ServerTest, CloseWhenNotListeningReportsNotRunningAndStillEmitsClose) {
  auto server = Server::create(loop);
  std::vector<std::string> heard;
  server->close([&](const Error* error) {
    heard.push_back(error ? error->code() + ": " + error->what() : "no error");
  });
  server->on("close", [&] { heard.push_back("close"); });
  EXPECT_TRUE(heard.empty());
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_EQ(heard, (std::vector<std::string>{"ERR_SERVER_NOT_RUNNING: Server is not running.", "close"}));
}

TEST_P(ServerTest, CloseTwiceCallsTheSecondCallbackWithNotRunning) {
  auto server = listeningServer();
  std::vector<std::string> heard;
  server->close([&](const Error* error) { heard.push_back(error ? error->code() : "first: none"); });
  server->close([&](const Error* error) { heard.push_back(error ? error->code() : "second: none"); });
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_EQ(heard, (std::vector<std::string>{"first: none", "ERR_SERVER_NOT_RUNNING"}));
}

TEST_P(ServerTest, CloseStopsAcceptingAtOnceAndWaitsForOpenConnections) {
  std::shared_ptr<Socket> accepted;
  auto server = listeningServer();
  server->on("connection", [&](std::shared_ptr<Socket> socket) { accepted = socket; });
  const int port = server->address().port;
  Fd client = connectTcp(port);
  ASSERT_TRUE(runUntil(loop, [&] { return accepted != nullptr; }));

  bool closed = false;
  std::string closeError = "not called";
  server->close([&](const Error* error) {
    closed = true;
    closeError = error ? error->code() : "none";
  });
  EXPECT_FALSE(server->listening());
  EXPECT_EQ(connectErrno(port), ECONNREFUSED);

  std::optional<std::size_t> count;
  server->getConnections([&](const Error*, std::size_t n) { count = n; });
  ASSERT_TRUE(runUntil(loop, [&] { return count.has_value(); }));
  EXPECT_EQ(*count, 1u);
  EXPECT_FALSE(closed) << "'close' must wait for the open connection";

  bool socketClosed = false;
  accepted->on("close", [&] { socketClosed = true; });
  client.reset();  // the accepted socket reads EOF, ends, and closes
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_TRUE(socketClosed);
  EXPECT_EQ(closeError, "none");
}

TEST_P(ServerTest, CloseFromTheConnectionListenerAfterDroppingTheLastPointer) {
  auto server = Server::create(loop);
  std::weak_ptr<Server> weak = server;
  int connections = 0;
  bool closed = false;
  server->on("close", [&] { closed = true; });
  server->on("connection", [&](std::shared_ptr<Socket> socket) {
    ++connections;
    socket->destroy();
    server->close();
    server.reset();  // the program's last pointer; the server lives on until 'close'
  });
  server->listen(0, "127.0.0.1");
  const int port = weak.lock()->address().port;
  Fd first = connectTcp(port);
  Fd second = connectTcp(port);  // pending in the same accept batch: must not be accepted
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_EQ(connections, 1);
  EXPECT_TRUE(weak.expired());
  EXPECT_TRUE(seesConnectionClosed(second));
}

TEST_P(ServerTest, ListeningServerKeepsItselfAliveUntilClose) {
  std::weak_ptr<Server> weak;
  int connections = 0;
  {
    auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
      ++connections;
      socket->destroy();
    });
    server->listen(0, "127.0.0.1");
    weak = server;
  }
  ASSERT_FALSE(weak.expired());
  Fd client = connectTcp(weak.lock()->address().port);
  ASSERT_TRUE(runUntil(loop, [&] { return connections == 1; }));
  closeAndWait(*weak.lock());
  EXPECT_TRUE(weak.expired());
}

// --- accepting ----------------------------------------------------------------------------------

TEST_P(ServerTest, EmitsOneConnectionPerClientWithItsAddress) {
  std::vector<std::shared_ptr<Socket>> accepted;
  auto server = listeningServer();
  server->on("connection", [&](std::shared_ptr<Socket> socket) { accepted.push_back(socket); });
  const int port = server->address().port;
  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connectTcp(port));
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 3; }));
  std::vector<int> clientPorts, remotePorts;
  for (auto& client : clients) clientPorts.push_back(localPortOf(client));
  for (auto& socket : accepted) {
    remotePorts.push_back(socket->remotePort());
    EXPECT_EQ(socket->remoteAddress(), "127.0.0.1");
    EXPECT_EQ(socket->localPort(), port);
  }
  EXPECT_EQ(remotePorts, clientPorts);

  std::optional<std::size_t> count;
  server->getConnections([&](const Error* error, std::size_t n) {
    EXPECT_EQ(error, nullptr);
    count = n;
  });
  EXPECT_FALSE(count) << "getConnections answers on the next tick";
  ASSERT_TRUE(runUntil(loop, [&] { return count.has_value(); }));
  EXPECT_EQ(*count, 3u);

  for (auto& socket : accepted) socket->destroy();
  closeAndWait(*server);
}

TEST_P(ServerTest, ConnectionListenerGivenAtCreation) {
  int connections = 0;
  auto server = createServer(loop, {}, [&](std::shared_ptr<Socket> socket) {
    ++connections;
    socket->destroy();
  });
  server->listen(0, "127.0.0.1");
  Fd client = connectTcp(server->address().port);
  ASSERT_TRUE(runUntil(loop, [&] { return connections == 1; }));
  EXPECT_TRUE(seesConnectionClosed(client));
  closeAndWait(*server);
}

TEST_P(ServerTest, MaxConnectionsDropsTheExtraClientWithItsAddresses) {
  std::vector<std::shared_ptr<Socket>> accepted;
  std::vector<DropInfo> drops;
  auto server = listeningServer();
  server->setMaxConnections(1);
  EXPECT_EQ(server->maxConnections(), 1);
  server->on("connection", [&](std::shared_ptr<Socket> socket) { accepted.push_back(socket); });
  server->on("drop", [&](const DropInfo& info) { drops.push_back(info); });
  const int port = server->address().port;

  Fd first = connectTcp(port);
  ASSERT_TRUE(runUntil(loop, [&] { return accepted.size() == 1; }));
  Fd second = connectTcp(port);
  ASSERT_TRUE(runUntil(loop, [&] { return drops.size() == 1; }));
  EXPECT_EQ(accepted.size(), 1u);
  EXPECT_EQ(drops[0].localAddress, "127.0.0.1");
  EXPECT_EQ(drops[0].localPort, port);
  EXPECT_EQ(drops[0].localFamily, "IPv4");
  EXPECT_EQ(drops[0].remoteAddress, "127.0.0.1");
  EXPECT_EQ(drops[0].remotePort, localPortOf(second));
  EXPECT_EQ(drops[0].remoteFamily, "IPv4");
  EXPECT_TRUE(seesConnectionClosed(second));

  std::optional<std::size_t> count;
  server->getConnections([&](const Error*, std::size_t n) { count = n; });
  ASSERT_TRUE(runUntil(loop, [&] { return count.has_value(); }));
  EXPECT_EQ(*count, 1u);

  accepted[0]->destroy();
  closeAndWait(*server);
}

TEST_P(ServerTest, MaxConnectionsZeroRefusesEveryConnectionAndNegativeMeansNoLimit) {
  int connections = 0;
  int drops = 0;
  auto server = listeningServer();
  server->on("connection", [&](std::shared_ptr<Socket> socket) {
    ++connections;
    socket->destroy();
  });
  server->on("drop", [&] { ++drops; });
  const int port = server->address().port;
  server->setMaxConnections(0);
  Fd refused = connectTcp(port);
  ASSERT_TRUE(runUntil(loop, [&] { return drops == 1; }));
  server->setMaxConnections(-1);
  Fd admitted = connectTcp(port);
  ASSERT_TRUE(runUntil(loop, [&] { return connections == 1; }));
  EXPECT_EQ(drops, 1);
  closeAndWait(*server);
}

TEST_P(ServerTest, ServerOptionsReachTheAcceptedSocket) {
  ServerOptions options;
  options.allowHalfOpen = true;
  options.pauseOnConnect = true;
  options.highWaterMark = 1234;
  std::shared_ptr<Socket> accepted;
  auto server = listeningServer(options);
  server->on("connection", [&](std::shared_ptr<Socket> socket) { accepted = socket; });
  Fd client = connectTcp(server->address().port);
  ASSERT_TRUE(runUntil(loop, [&] { return accepted != nullptr; }));
  EXPECT_EQ(accepted->writableHighWaterMark(), 1234u);
  EXPECT_TRUE(accepted->isPaused());
  accepted->destroy();
  closeAndWait(*server);
}

// --- ref / unref --------------------------------------------------------------------------------

TEST_P(ServerTest, UnrefedServerLetsRunReturn) {
  auto server = Server::create(loop);
  server->unref();  // before listen(): applied once listening, as in Node
  bool listening = false;
  server->listen(0, "127.0.0.1", [&] { listening = true; });
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(listening);
  EXPECT_TRUE(server->listening());
  server->ref();
  EXPECT_TRUE(loop.alive());
  server->unref();
  EXPECT_FALSE(loop.alive());
  closeAndWait(*server);
}

// --- unix-domain sockets ------------------------------------------------------------------------

TEST_P(ServerTest, UnixSocketListensAcceptsAndRemovesItsFileOnClose) {
  TempSocketPath path;
  std::shared_ptr<Socket> accepted;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) { accepted = socket; });
  bool listening = false;
  server->listen(path.str(), [&] { listening = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  EXPECT_EQ(server->address(), (AddressInfo{path.str(), "", 0}));
  Fd client = connectUnix(path.str());
  ASSERT_GE(client.get(), 0);
  ASSERT_TRUE(runUntil(loop, [&] { return accepted != nullptr; }));
  accepted->destroy();
  EXPECT_TRUE(seesConnectionClosed(client));
  closeAndWait(*server);
  EXPECT_FALSE(fileExists(path.str()));
  EXPECT_EQ(server->address(), (AddressInfo{path.str(), "", 0})) << "Node still reports the path after close";
}

TEST_P(ServerTest, StaleSocketFileGivesAddressInUseAndIsLeftAlone) {
  TempSocketPath path;
  {
    // A socket file whose server is gone: bound, never unlinked.
    Fd stale(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    SocketAddress address = SocketAddress::fromPath(path.str());
    ASSERT_EQ(bind(stale.get(), address.get(), address.length()), 0);
  }
  ASSERT_TRUE(fileExists(path.str()));
  auto server = Server::create(loop);
  std::optional<Error> error;
  server->on("error", [&](const Error& e) { error = e; });
  server->listen(path.str());
  ASSERT_TRUE(runUntil(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(std::string(error->what()), "listen EADDRINUSE: address already in use " + path.str());
  EXPECT_EQ(error->code(), "EADDRINUSE");
  EXPECT_EQ(error->address(), path.str());
  EXPECT_FALSE(server->listening());
  EXPECT_TRUE(fileExists(path.str()));
}

TEST_P(ServerTest, UnixPathInAMissingDirectoryGivesNodesEacces) {
  const std::string path = "/nonexistent-net-server-test-dir/x.sock";
  auto server = Server::create(loop);
  std::optional<Error> error;
  server->on("error", [&](const Error& e) { error = e; });
  server->listen(path);
  ASSERT_TRUE(runUntil(loop, [&] { return error.has_value(); }));
  EXPECT_EQ(std::string(error->what()), "listen EACCES: permission denied " + path);
}

TEST_P(ServerTest, UnixPathTooLongThrowsAtTheCall) {
  auto server = Server::create(loop);
  auto error = thrownBy([&] { server->listen("/tmp/" + std::string(200, 'x')); });
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code(), "ERR_INVALID_ARG_VALUE");
  EXPECT_FALSE(server->listening());
  EXPECT_FALSE(loop.alive());
}

TEST_P(ServerTest, ReadableAllAndWritableAllOpenTheSocketFileToEveryone) {
  TempSocketPath path;
  const mode_t previousMask = umask(077);
  auto server = Server::create(loop);
  ListenOptions options;
  options.path = path.str();
  server->listen(options);
  struct stat restricted {};
  ASSERT_EQ(stat(path.str().c_str(), &restricted), 0);
  EXPECT_EQ(restricted.st_mode & 0077, 0u) << "without the options the umask decides";
  closeAndWait(*server);

  options.readableAll = true;
  options.writableAll = true;
  server->listen(options);
  umask(previousMask);
  struct stat opened {};
  ASSERT_EQ(stat(path.str().c_str(), &opened), 0);
  EXPECT_EQ(opened.st_mode & 0666, 0666u);
  closeAndWait(*server);
}

// --- descriptor exhaustion ----------------------------------------------------------------------

// Runs in a forked child, whose descriptor limit can be lowered without touching the test
// process. Returns "" on success, else what went wrong.
std::string exhaustionScenario(const TestBackend& backend) {
  reactor::Loop loop{backend.make()};
  int connections = 0;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    ++connections;
    socket->destroy();
  });
  server->on("error", [](const Error&) {});
  std::vector<DropInfo> drops;
  server->on("drop", [&](const DropInfo& info) { drops.push_back(info); });
  server->listen(0, "127.0.0.1");
  const int port = server->address().port;

  // One connection served normally first. Besides checking the server works, this runs every
  // path of the loop once while descriptors are plentiful: the sanitizers' checks of a virtual call
  // need a spare descriptor the first time they see a type (and are cached afterwards).
  Fd warmUp = connectTcp(port);
  if (!runUntil(loop, [&] { return connections == 1; })) return "the first connection was not served";

  // Two connections wait in the backlog; then every remaining descriptor is taken.
  Fd waiting1 = connectTcp(port);
  Fd waiting2 = connectTcp(port);
  if (waiting1.get() < 0 || waiting2.get() < 0) return "could not connect";
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 256);
  setrlimit(RLIMIT_NOFILE, &limit);
  std::vector<Fd> fillers;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.emplace_back(fd);
  if (errno != EMFILE) return std::string("filling the table stopped with ") + std::strerror(errno);

  // Level-triggered readiness on a listener whose connection cannot be accepted would make every
  // iteration return at once. Until a 300 ms timer fires, only a handful may run.
  bool timerFired = false;
  loop.setTimeout([&] { timerFired = true; }, 300);
  int iterations = 0;
  while (!timerFired) {
    loop.runOnce();
    ++iterations;
  }
  if (iterations > 20) return "the loop spun: " + std::to_string(iterations) + " iterations in 300 ms";
  if (connections != 1) return "a connection was accepted without a descriptor";
  if (!seesConnectionClosed(waiting1, std::chrono::milliseconds(0)) ||
      !seesConnectionClosed(waiting2, std::chrono::milliseconds(0))) {
    return "the waiting clients were not told";
  }
  // Each shed connection is reported, with the addresses known once it was accepted.
  if (drops.size() != 2) return "expected 2 'drop' events, got " + std::to_string(drops.size());
  for (std::size_t i = 0; i < drops.size(); ++i) {
    const int clientPort = localPortOf(i == 0 ? waiting1 : waiting2);
    if (drops[i].reason != "EMFILE" || drops[i].remoteAddress != "127.0.0.1" || drops[i].remotePort != clientPort ||
        drops[i].localPort != port) {
      return "drop " + std::to_string(i) + " was " + drops[i].reason + " from " + drops[i].remoteAddress + ":" +
             std::to_string(drops[i].remotePort);
    }
  }
  if (!server->listening()) return "the server stopped listening";

  // With descriptors free again, new clients are served.
  fillers.clear();
  Fd later = connectTcp(port);
  if (!runUntil(loop, [&] { return connections == 2; })) return "no connection after descriptors were freed";
  bool closed = false;
  server->close([&](const Error*) { closed = true; });
  if (!runUntil(loop, [&] { return closed; })) return "the server did not close";
  return "";
}

TEST_P(ServerTest, DescriptorExhaustionNeitherSpinsTheLoopNorStopsTheServer) {
  const auto report = testing_support::runForked(
      [&] {
        const std::string failure = exhaustionScenario(GetParam());
        return failure.empty() ? std::string("ok") : failure;
      },
      std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(report.text, "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
