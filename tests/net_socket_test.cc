// net::Socket against net::Server on loopback: Node's event order, half-close, backpressure,
// timeouts, errors with Node's codes, and reentrancy. Runs against every backend.
#include "net/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <algorithm>
#include <string>
#include <vector>

#include "net/server.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"
#include "tests/splitmix64.h"
#include "tests/test_backends.h"

namespace net {
namespace {

using namespace reactor::testing_support;

struct SocketPairFds {
  int first;
  int second;
};

// A connected TCP pair over 127.0.0.1 as plain descriptors (the test hands them over).
SocketPairFds tcpFds() {
  auto pair = tcpPair();
  return SocketPairFds{pair.local.release(), pair.peer.release()};
}

class SocketTest : public ::testing::TestWithParam<TestBackend> {
 protected:
  reactor::Loop loop{GetParam().make()};

  // A listening echo server on 127.0.0.1 with a free port.
  std::shared_ptr<Server> echoServer(ServerOptions options = {}) {
    auto server = Server::create(loop, options, [](std::shared_ptr<Socket> socket) {
      Socket* raw = socket.get();
      socket->on("data", [raw](std::string_view data) { raw->write(data); });
    });
    listenOnLoopback(*server);
    return server;
  }

  void listenOnLoopback(Server& server) {
    bool listening = false;
    server.listen(0, "127.0.0.1", [&] { listening = true; });
    ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  }

  std::shared_ptr<Socket> connectTo(int port, std::string host = "127.0.0.1") {
    auto socket = Socket::create(loop);
    socket->connect(port, std::move(host));
    return socket;
  }
};

// Records the events of a socket, in order, with their interesting arguments.
struct EventLog {
  std::vector<std::string> events;
  std::string data;
  std::optional<Error> error;
  void attach(Socket& socket) {
    socket.on("connect", [this] { events.push_back("connect"); });
    socket.on("ready", [this] { events.push_back("ready"); });
    socket.on("data", [this](std::string_view chunk) { data.append(chunk); });
    socket.on("end", [this] { events.push_back("end"); });
    socket.on("finish", [this] { events.push_back("finish"); });
    socket.on("error", [this](const Error& e) {
      events.push_back("error");
      error = e;
    });
    socket.on("close", [this](bool hadError) { events.push_back(hadError ? "close(true)" : "close(false)"); });
  }
  bool closed() const { return !events.empty() && events.back().starts_with("close"); }
};

TEST_P(SocketTest, ConnectThenReadyAndAddressesAreKnown) {
  auto server = echoServer();
  const int port = server->address().port;
  auto client = connectTo(port);
  EXPECT_TRUE(client->connecting());
  EXPECT_EQ(client->readyState(), "opening");
  EXPECT_TRUE(client->pending());
  EventLog log;
  log.attach(*client);
  ASSERT_TRUE(runUntil(loop, [&] { return log.events.size() >= 2; }));
  EXPECT_EQ(log.events, (std::vector<std::string>{"connect", "ready"}));
  EXPECT_EQ(client->readyState(), "open");
  EXPECT_FALSE(client->pending());
  EXPECT_EQ(client->remoteAddress(), "127.0.0.1");
  EXPECT_EQ(client->remoteFamily(), "IPv4");
  EXPECT_EQ(client->remotePort(), port);
  EXPECT_EQ(client->localAddress(), "127.0.0.1");
  EXPECT_GT(client->localPort(), 0);
  client->destroy();
  server->close();
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_EQ(log.events.back(), "close(false)");
}

TEST_P(SocketTest, EchoesMegabytesIntactWithBackpressure) {
  auto server = echoServer();
  auto client = connectTo(server->address().port);
  SplitMix64 random(42);
  std::string sent;
  sent.reserve(4 << 20);
  while (sent.size() < (4u << 20)) sent.push_back(static_cast<char>(random.next()));
  std::string received;
  bool sawBackpressure = false;
  int drains = 0;
  client->on("data", [&](std::string_view chunk) {
    received.append(chunk);
    if (received.size() == sent.size()) client->end();
  });
  client->on("drain", [&] { ++drains; });
  std::size_t offset = 0;
  std::function<void()> pump = [&] {
    while (offset < sent.size()) {
      std::size_t size = std::min<std::size_t>(1 + random.below(64 * 1024), sent.size() - offset);
      bool more = client->write(std::string_view(sent).substr(offset, size));
      offset += size;
      if (!more) {
        sawBackpressure = true;
        client->once("drain", [&] { pump(); });
        return;
      }
    }
  };
  client->on("connect", [&] { pump(); });
  bool closed = false;
  client->on("close", [&](bool hadError) {
    EXPECT_FALSE(hadError);
    closed = true;
    server->close();
  });
  ASSERT_TRUE(runToCompletion(loop, 30s));
  EXPECT_TRUE(closed);
  EXPECT_TRUE(received == sent) << "received " << received.size() << " of " << sent.size() << " bytes";
  EXPECT_TRUE(sawBackpressure);
  EXPECT_GT(drains, 0);
  EXPECT_EQ(client->bytesWritten(), sent.size());
  EXPECT_EQ(client->bytesRead(), sent.size());
}

TEST_P(SocketTest, PeerEndGivesEndThenAutomaticEndThenClose) {
  EventLog serverSide;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    serverSide.attach(*socket);
    socket->resume();
  });
  listenOnLoopback(*server);
  auto client = connectTo(server->address().port);
  EventLog clientSide;
  clientSide.attach(*client);
  client->resume();
  client->on("connect", [&] { client->end("bye"); });
  ASSERT_TRUE(runUntil(loop, [&] { return serverSide.closed() && clientSide.closed(); }));
  EXPECT_EQ(serverSide.data, "bye");
  EXPECT_EQ(serverSide.events, (std::vector<std::string>{"end", "finish", "close(false)"}));
  EXPECT_EQ(clientSide.events, (std::vector<std::string>{"connect", "ready", "finish", "end", "close(false)"}));
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

// Node's net.connect({port, allowHalfOpen: true}): the option reaches the new socket.
TEST_P(SocketTest, AllowHalfOpenIsAConnectOption) {
  auto server = Server::create(loop, {}, [](std::shared_ptr<Socket> socket) { socket->end("bye"); });
  listenOnLoopback(*server);
  ConnectOptions options;
  options.port = server->address().port;
  options.host = "127.0.0.1";
  options.allowHalfOpen = true;
  auto client = createConnection(loop, options);
  EXPECT_TRUE(client->allowHalfOpen());
  std::string stateAfterEnd;
  client->on("data", [](std::string_view) {});
  client->on("end", [&] {
    stateAfterEnd = std::string(client->readyState());
    client->end();
  });
  ASSERT_TRUE(runUntil(loop, [&] { return client->destroyed(); }));
  EXPECT_EQ(stateAfterEnd, "writeOnly");
  EXPECT_FALSE(Socket::create(loop)->allowHalfOpen());  // Node's default
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, AllowHalfOpenKeepsTheOtherDirectionOpen) {
  std::string stateAfterEnd;
  ServerOptions options;
  options.allowHalfOpen = true;
  auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
    Socket* raw = socket.get();
    socket->on("data", [](std::string_view) {});
    socket->on("end", [raw, &stateAfterEnd] {
      stateAfterEnd = std::string(raw->readyState());
      raw->write("late reply");
      raw->end();
    });
  });
  listenOnLoopback(*server);
  auto client = connectTo(server->address().port);
  EventLog clientSide;
  clientSide.attach(*client);
  client->on("connect", [&] { client->end(); });
  ASSERT_TRUE(runUntil(loop, [&] { return clientSide.closed(); }));
  EXPECT_EQ(stateAfterEnd, "writeOnly");
  EXPECT_EQ(clientSide.data, "late reply");
  EXPECT_EQ(clientSide.events.back(), "close(false)");
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, WriteAfterEndFailsWithNodesCode) {
  auto server = echoServer();
  auto client = connectTo(server->address().port);
  EventLog log;
  log.attach(*client);
  std::string callbackCode;
  bool returned = true;
  client->on("connect", [&] {
    client->end();
    returned = client->write("too late", [&](const Error* error) { callbackCode = error ? error->code() : "none"; });
  });
  ASSERT_TRUE(runUntil(loop, [&] { return log.closed(); }));
  EXPECT_FALSE(returned);
  EXPECT_EQ(callbackCode, "ERR_STREAM_WRITE_AFTER_END");
  ASSERT_TRUE(log.error);
  EXPECT_EQ(log.error->code(), "ERR_STREAM_WRITE_AFTER_END");
  EXPECT_EQ(log.events.back(), "close(true)");
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, WriteAfterDestroyOnlyFailsTheWrite) {
  auto server = echoServer();
  auto client = connectTo(server->address().port);
  EventLog log;
  log.attach(*client);
  std::string callbackCode;
  client->destroy();
  client->destroy();  // a second destroy is a no-op
  client->write("x", [&](const Error* error) { callbackCode = error ? error->code() : "none"; });
  ASSERT_TRUE(runUntil(loop, [&] { return log.closed() && !callbackCode.empty(); }));
  EXPECT_EQ(callbackCode, "ERR_STREAM_DESTROYED");
  EXPECT_FALSE(log.error);
  EXPECT_EQ(log.events, (std::vector<std::string>{"close(false)"}));
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, ConnectionRefusedCarriesNodesDetails) {
  // A port that was free a moment ago: bind, read it back, close.
  auto probe = Server::create(loop);
  listenOnLoopback(*probe);
  const int port = probe->address().port;
  probe->close();
  ASSERT_TRUE(runToCompletion(loop));

  auto client = connectTo(port);
  EventLog log;
  log.attach(*client);
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_EQ(log.events, (std::vector<std::string>{"error", "close(true)"}));
  ASSERT_TRUE(log.error);
  EXPECT_EQ(log.error->code(), "ECONNREFUSED");
  EXPECT_EQ(log.error->syscall(), "connect");
  EXPECT_EQ(log.error->address(), "127.0.0.1");
  EXPECT_EQ(log.error->port(), port);
  EXPECT_EQ(std::string(log.error->what()), "connect ECONNREFUSED 127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(client->destroyed());
}

TEST_P(SocketTest, ErrorWithoutListenerIsThrownOutOfRun) {
  auto probe = Server::create(loop);
  listenOnLoopback(*probe);
  const int port = probe->address().port;
  probe->close();
  ASSERT_TRUE(runToCompletion(loop));
  auto client = connectTo(port);
  bool closed = false;
  client->on("close", [&] { closed = true; });
  try {
    loop.run();
    ADD_FAILURE() << "run() returned without throwing";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), "ECONNREFUSED");
  }
  EXPECT_TRUE(closed);  // 'close' was emitted before the error was thrown
}

TEST_P(SocketTest, BadArgumentsAreRejectedAtTheCall) {
  auto socket = Socket::create(loop);
  auto codeOf = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const Error& error) {
      return error.code();
    }
    return "no error";
  };
  EXPECT_EQ(codeOf([&] { socket->connect(70000, "127.0.0.1"); }), "ERR_SOCKET_BAD_PORT");
  EXPECT_EQ(codeOf([&] { socket->connect(-1, "127.0.0.1"); }), "ERR_SOCKET_BAD_PORT");
  EXPECT_EQ(codeOf([&] { socket->setTimeout(-1); }), "ERR_OUT_OF_RANGE");
  EXPECT_EQ(codeOf([&] { socket->on("data", [](int, int) {}); }), "ERR_INVALID_ARG_TYPE");
  EXPECT_EQ(codeOf([&] { socket->on("no-such-event", [] {}); }), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(codeOf([&] { socket->connect(std::string(200, 'x')); }), "ERR_INVALID_ARG_VALUE");
  EXPECT_EQ(codeOf([&] { Socket::create(loop, SocketOptions{.fd = STDIN_FILENO}); }), "ERR_INVALID_FD_TYPE");
  EXPECT_FALSE(socket->connecting());
  EXPECT_FALSE(loop.alive());
}

TEST_P(SocketTest, TimeoutFiresOnIdleButDoesNotClose) {
  auto server = echoServer();
  auto client = connectTo(server->address().port);
  int timeouts = 0;
  int callbacks = 0;
  client->setTimeout(30, [&] { ++callbacks; });  // a once('timeout') listener, as in Node
  client->on("timeout", [&] { ++timeouts; });
  ASSERT_TRUE(runUntil(loop, [&] { return timeouts == 1; }));
  EXPECT_EQ(client->readyState(), "open");
  // Activity re-arms it: an echo round trip, then another idle period.
  client->on("data", [](std::string_view) {});
  client->write("ping");
  ASSERT_TRUE(runUntil(loop, [&] { return timeouts == 2; }));
  EXPECT_FALSE(client->destroyed());
  client->setTimeout(0);
  client->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(timeouts, 2);
  EXPECT_EQ(callbacks, 1);
}

TEST_P(SocketTest, PauseOnConnectReadsNothingUntilResume) {
  std::shared_ptr<Socket> accepted;
  std::string received;
  ServerOptions options;
  options.pauseOnConnect = true;
  auto server = Server::create(loop, options, [&](std::shared_ptr<Socket> socket) {
    accepted = socket;
    socket->on("data", [&](std::string_view chunk) { received.append(chunk); });
  });
  listenOnLoopback(*server);
  auto client = connectTo(server->address().port);
  client->on("connect", [&] { client->write("hello while paused"); });
  ASSERT_TRUE(runUntil(loop, [&] { return accepted != nullptr && client->bytesWritten() > 0; }));
  for (int i = 0; i < 20; ++i) {
    loop.setImmediate([] {});
    loop.runOnce();
  }
  EXPECT_TRUE(accepted->isPaused());
  EXPECT_EQ(accepted->bytesRead(), 0u);
  accepted->resume();
  ASSERT_TRUE(runUntil(loop, [&] { return received == "hello while paused"; }));
  client->destroy();
  accepted->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, ListenerMayDestroyTheSocketAndDropTheLastReference) {
  auto server = echoServer();
  auto client = connectTo(server->address().port);
  int closes = 0;
  std::vector<std::string> afterClose;
  client->on("close", [&] { ++closes; });
  client->on("connect", [&] {
    client->write("x");
    client->on("data", [&](std::string_view) {
      client->destroy();
      client.reset();  // the last reference the program holds, dropped inside the socket's callback
    });
  });
  ASSERT_TRUE(runUntil(loop, [&] { return closes == 1; }));
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(closes, 1);
}

TEST_P(SocketTest, LoopKeepsAnOpenSocketAliveWithoutOwner) {
  auto server = echoServer();
  std::string echoed;
  bool closed = false;
  {
    auto client = connectTo(server->address().port);
    client->on("connect", [raw = client.get()] { raw->end("round trip"); });
    client->on("data", [&](std::string_view chunk) { echoed.append(chunk); });
    client->on("close", [&] { closed = true; server->close(); });
  }
  ASSERT_TRUE(runToCompletion(loop));
  EXPECT_EQ(echoed, "round trip");
  EXPECT_TRUE(closed);
}

// The socket's one reference to itself is weak while it is fresh or closed and strong while it is
// connecting or open (socket.h): shared_from_this() works in every state, the loop alone keeps an
// open socket alive, and a closed one goes with the program's last pointer.
TEST_P(SocketTest, SharedFromThisWorksInEveryStateAndTheSocketGoesWithItsLastOwner) {
  auto server = echoServer();
  auto client = Socket::create(loop);
  EXPECT_EQ(client->shared_from_this(), client);  // fresh
  client->connect(server->address().port, "127.0.0.1");
  EXPECT_EQ(client->shared_from_this(), client);  // connecting
  EXPECT_EQ(client->weak_from_this().lock(), client);
  std::weak_ptr<Socket> watch = client;
  bool closed = false;
  client->on("connect", [raw = client.get()] { raw->end(); });
  client->on("close", [&](bool) {
    closed = true;
    server->close();
  });
  client.reset();  // open from here on with no owner but itself
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_TRUE(watch.expired()) << "a closed socket nobody holds must be freed";

  auto kept = Socket::create(loop);
  kept->destroy();
  EXPECT_TRUE(runToCompletion(loop));
  EXPECT_EQ(kept->shared_from_this(), kept);  // closed, still held by the program
}

TEST_P(SocketTest, HostNameIsLookedUpOffTheLoop) {
  auto server = Server::create(loop);
  bool listening = false;
  server->listen(0, [&] { listening = true; });  // "::", dual-stack: both ::1 and 127.0.0.1 work
  ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  auto client = Socket::create(loop);
  std::string lookedUp;
  int family = 0;
  bool connected = false;
  client->on("lookup", [&](const Error* error, std::string_view address, int fam, std::string_view host) {
    EXPECT_EQ(error, nullptr);
    EXPECT_EQ(host, "localhost");
    lookedUp = address;
    family = fam;
  });
  client->connect(server->address().port, "localhost", [&] { connected = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return connected; }));
  EXPECT_TRUE(lookedUp == "127.0.0.1" || lookedUp == "::1") << lookedUp;
  EXPECT_TRUE(family == 4 || family == 6);
  client->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// What an idle accepted connection costs a server in heap (glibc's chunks, headers included), set up
// as tools/echo-server sets it up: the Socket with its control block, a 'data' and an 'error'
// listener that capture nothing (the data listener takes the socket as an argument); no read
// buffer (the loop lends one per read) and no write queue. The loop's descriptor table has grown
// beforehand. With an idle timeout, its state and its intrusive timer come on top, and the
// 'timeout' listener. For scale: libuv's uv_tcp_t alone is 248 bytes, and its uv_timer_t 152 more.
TEST_P(SocketTest, IdleConnectionCostsLittleHeap) {
  constexpr int kConnections = 200;
  struct Case {
    std::int64_t idleTimeoutMs;
    double maxBytes;
  };
  for (const Case& c : {Case{0, 216}, Case{60'000, 336}}) {
    int accepted = 0, closed = 0;
    bool warmingUp = true;  // only then is 'close' listened to, to know when the warm-up is over
    auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
      ++accepted;
      socket->on("error", [](const Error&) {});
      socket->on("data", [](Socket& connection, std::string_view data) { connection.write(data); });
      if (warmingUp) socket->on("close", [&closed](bool) { ++closed; });
      if (c.idleTimeoutMs > 0) {
        socket->setTimeout(c.idleTimeoutMs);
        socket->once("timeout", [](Socket& idle) { idle.end(); });
      }
    });
    listenOnLoopback(*server);
    std::vector<Fd> clients;
    clients.reserve(2 * kConnections);
    auto connect = [&](int count) {
      const int target = accepted + count;
      for (int i = 0; i < count; ++i) clients.push_back(connectBlocking(server->address().port));
      ASSERT_TRUE(runUntil(loop, [&] { return accepted == target; }));
    };
    // Warm up with twice as many: the descriptor table and the allocator's free lists grow once.
    connect(2 * kConnections);
    clients.clear();  // each server-side socket reads the end of stream, ends and closes
    ASSERT_TRUE(runUntil(loop, [&] { return closed == accepted; }));
    warmingUp = false;
    const std::size_t before = mallinfo2().uordblks;
    connect(kConnections);
    const std::size_t after = mallinfo2().uordblks;
    const double perConnection = static_cast<double>(after - before) / kConnections;
    const std::string name = c.idleTimeoutMs > 0 ? "with_idle_timeout" : "plain";
    RecordProperty("heap_bytes_per_idle_connection_" + name, std::to_string(perConnection));
    std::printf("heap per idle connection (%s): %.0f bytes\n", name.c_str(), perConnection);
    // The kqueue emulation (tests/kqueue_emulation) keeps per-descriptor tables of its own.
    if (std::string_view(GetParam().name) == "epoll") {
      EXPECT_LE(perConnection, c.maxBytes) << name;
    }
    clients.clear();
    server->close();  // 'close' once every connection has closed
    EXPECT_TRUE(runToCompletion(loop));
  }
}
#endif

// A custom lookup (Node's `lookup` option) answers two addresses; the first refuses (nothing
// listens on 127.0.0.2), so the connection is made to the second, as Node 20's autoSelectFamily does.
TEST_P(SocketTest, ConnectTriesEachLookedUpAddressInTurn) {
  auto server = echoServer();  // 127.0.0.1 only
  ConnectOptions options;
  options.port = server->address().port;
  options.host = "two.addresses.test";
  options.lookup = [](const std::string& host, int family, auto done) {
    EXPECT_EQ(host, "two.addresses.test");
    EXPECT_EQ(family, 0);
    done(nullptr, {"127.0.0.2", "127.0.0.1"});
  };
  auto client = Socket::create(loop);
  std::vector<std::string> tried;
  client->on("lookup", [&](const Error* error, std::string_view address, int family, std::string_view host) {
    EXPECT_EQ(error, nullptr);
    EXPECT_EQ(family, 4);
    EXPECT_EQ(host, "two.addresses.test");
    tried.emplace_back(address);
  });
  bool connected = false;
  client->connect(options, [&] { connected = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return connected || client->destroyed(); }));
  EXPECT_TRUE(connected);
  EXPECT_EQ(tried, (std::vector<std::string>{"127.0.0.2", "127.0.0.1"}));
  EXPECT_EQ(client->remoteAddress(), "127.0.0.1");
  client->destroy();

  // Without autoSelectFamily only the first address is tried, and its failure is the error.
  options.autoSelectFamily = false;
  auto single = Socket::create(loop);
  EventLog log;
  log.attach(*single);
  single->connect(options);
  ASSERT_TRUE(runUntil(loop, [&] { return log.closed(); }));
  ASSERT_TRUE(log.error);
  EXPECT_EQ(log.error->code(), "ECONNREFUSED");
  EXPECT_EQ(log.error->address(), "127.0.0.2");
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, FailedCustomLookupIsTheSocketsError) {
  ConnectOptions options;
  options.port = 80;
  options.host = "nowhere.test";
  options.lookup = [](const std::string& host, int, auto done) {
    const Error error = Error::fromLookup("ENOTFOUND", host);
    done(&error, {});
  };
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client);
  client->connect(options);
  ASSERT_TRUE(runToCompletion(loop));
  ASSERT_TRUE(log.error);
  EXPECT_EQ(log.error->code(), "ENOTFOUND");
  EXPECT_EQ(log.events, (std::vector<std::string>{"error", "close(true)"}));
}

int intOption(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  getsockopt(fd, level, name, &value, &length);
  return value;
}

TEST_P(SocketTest, ConnectsFromTheGivenLocalAddressAndPort) {
  auto server = echoServer();
  std::shared_ptr<Socket> accepted;
  server->on("connection", [&](std::shared_ptr<Socket> socket) { accepted = socket; });
  auto probe = Server::create(loop);  // a free local port: bind, read back, close
  listenOnLoopback(*probe);
  const int localPort = probe->address().port;
  probe->close();
  ConnectOptions options;
  options.port = server->address().port;
  options.host = "127.0.0.1";
  options.localAddress = "127.0.0.1";
  options.localPort = localPort;
  options.noDelay = true;
  options.keepAlive = true;
  options.keepAliveInitialDelay = 5000;
  bool connected = false;
  auto client = Socket::create(loop);
  client->connect(options, [&] { connected = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return connected && accepted != nullptr; }));
  EXPECT_EQ(client->localPort(), localPort);
  EXPECT_EQ(accepted->remotePort(), localPort);
  EXPECT_EQ(client->localAddress(), "127.0.0.1");
  client->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

// Node's count (its test-net-bytes-written-large): 10 MB written at once reads 10,000,000 at once,
// although the kernel has taken only part of it.
TEST_P(SocketTest, BytesWrittenCountsWhatWriteAcceptedQueuedBytesIncluded) {
  SocketPairFds fds = tcpFds();
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first});
  EXPECT_FALSE(socket->write(std::string(10'000'000, 'x')));
  EXPECT_EQ(socket->bytesWritten(), 10'000'000u);
  EXPECT_GT(socket->writableLength(), 0u);
  socket->write("");
  EXPECT_EQ(socket->bytesWritten(), 10'000'000u);
  socket->destroy();
  ::close(fds.second);
  EXPECT_TRUE(runToCompletion(loop));
}

// Linux refuses TCP_KEEPIDLE above 32767 s (EINVAL), which would leave the system's two hours in
// force: a longer delay is clamped to the kernel's limit.
TEST_P(SocketTest, KeepAliveDelayBeyondTheKernelsLimitIsClamped) {
  SocketPairFds fds = tcpFds();
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first});
  socket->setKeepAlive(true, 2'000'000'000);
#if defined(__linux__)
  EXPECT_EQ(intOption(fds.first, IPPROTO_TCP, TCP_KEEPIDLE), 32767);
#endif
  socket->destroy();
  ::close(fds.second);
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, NoDelayAndKeepAliveReachTheDescriptor) {
  SocketPairFds fds = tcpFds();
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first});
  socket->setNoDelay(true);
  socket->setKeepAlive(true, 7000);
  EXPECT_EQ(intOption(fds.first, IPPROTO_TCP, TCP_NODELAY), 1);
  EXPECT_EQ(intOption(fds.first, SOL_SOCKET, SO_KEEPALIVE), 1);
#if defined(TCP_KEEPIDLE)
  EXPECT_EQ(intOption(fds.first, IPPROTO_TCP, TCP_KEEPIDLE), 7);
#endif
  socket->setNoDelay(false);
  socket->setKeepAlive(false);
  EXPECT_EQ(intOption(fds.first, IPPROTO_TCP, TCP_NODELAY), 0);
  EXPECT_EQ(intOption(fds.first, SOL_SOCKET, SO_KEEPALIVE), 0);
  socket->destroy();
  ::close(fds.second);
  EXPECT_TRUE(runToCompletion(loop));
}

// Node's `fd` option: an existing connected descriptor, owned by the socket from then on.
TEST_P(SocketTest, WrapsAnExistingDescriptor) {
  SocketPairFds fds = tcpFds();
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first});
  EXPECT_EQ(socket->readyState(), "open");
  std::string received;
  socket->on("data", [&](std::string_view chunk) { received.append(chunk); });
  ASSERT_EQ(::write(fds.second, "from the peer", 13), 13);
  ASSERT_TRUE(runUntil(loop, [&] { return received == "from the peer"; }));
  socket->write("to the peer");
  char buffer[32] = {};
  ASSERT_TRUE(runUntil(loop, [&] { return ::recv(fds.second, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT) == 11; }));
  ASSERT_EQ(::recv(fds.second, buffer, sizeof buffer, 0), 11);  // read, so that close() sends FIN, not RST
  EXPECT_EQ(std::string(buffer, 11), "to the peer");
  ::close(fds.second);
  ASSERT_TRUE(runUntil(loop, [&] { return socket->destroyed(); }));  // peer's FIN: end, our end, close

  // readable: false and writable: false: nothing is read, and writes are refused.
  SocketPairFds more = tcpFds();
  auto writeOnly = Socket::create(loop, SocketOptions{.fd = more.first, .readable = false});
  EXPECT_EQ(writeOnly->readyState(), "writeOnly");
  writeOnly->destroy();
  auto readOnly = Socket::create(loop, SocketOptions{.fd = more.second, .writable = false});
  EXPECT_EQ(readOnly->readyState(), "readOnly");
  readOnly->destroy();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, DestroySoonFlushesThenCloses) {
  std::string received;
  bool serverSawEnd = false;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) {
    socket->on("data", [&](std::string_view chunk) { received.append(chunk); });
    socket->on("end", [&] { serverSawEnd = true; });
  });
  listenOnLoopback(*server);
  auto client = connectTo(server->address().port);
  EventLog log;
  log.attach(*client);
  const std::string payload(1 << 20, 'q');
  client->on("connect", [&] {
    client->write(payload);
    client->destroySoon();
  });
  ASSERT_TRUE(runUntil(loop, [&] { return log.closed() && serverSawEnd; }));
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_EQ(log.events.back(), "close(false)");
  EXPECT_TRUE(std::find(log.events.begin(), log.events.end(), "finish") != log.events.end());
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, UnknownHostFailsWithEnotfound) {
  auto client = Socket::create(loop);
  EventLog log;
  log.attach(*client);
  client->connect(80, "no-such-host.invalid");
  ASSERT_TRUE(runToCompletion(loop, 20s));
  ASSERT_TRUE(log.error);
  EXPECT_EQ(log.error->code(), "ENOTFOUND");
  EXPECT_EQ(log.error->syscall(), "getaddrinfo");
  EXPECT_EQ(std::string(log.error->what()), "getaddrinfo ENOTFOUND no-such-host.invalid");
}

TEST_P(SocketTest, UnixDomainSocketsWork) {
  std::string path = ::testing::TempDir() + "net_socket_test_" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  auto server = Server::create(loop, {}, [](std::shared_ptr<Socket> socket) {
    Socket* raw = socket.get();
    socket->on("data", [raw](std::string_view data) { raw->end(data); });
  });
  bool listening = false;
  server->listen(path, [&] { listening = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return listening; }));
  EXPECT_EQ(server->address().address, path);
  std::string echoed;
  auto client = Socket::create(loop);
  client->on("data", [&](std::string_view chunk) { echoed.append(chunk); });
  client->connect(path, [&] { client->write("over a unix socket"); });
  ASSERT_TRUE(runUntil(loop, [&] { return client->destroyed(); }));
  EXPECT_EQ(echoed, "over a unix socket");
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, UnrefedSocketDoesNotKeepTheLoopAlive) {
  auto server = echoServer();
  server->unref();
  auto client = connectTo(server->address().port);
  client->unref();
  EXPECT_TRUE(runToCompletion(loop));  // nothing referenced: run() returns although both are open
  EXPECT_FALSE(client->destroyed());
  client->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

// Node's liveness rule: an open socket keeps the program running only while it is active
// (connecting, reading or writing). Each case below is one where Node 20 exits.
TEST_P(SocketTest, APausedSocketWithNothingToSendLetsTheLoopEnd) {
  SocketPairFds fds = tcpFds();
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first});
  socket->pause();
  EXPECT_TRUE(runToCompletion(loop, std::chrono::seconds(2)));
  EXPECT_FALSE(socket->destroyed());
  socket->resume();
  EXPECT_FALSE(runToCompletion(loop, std::chrono::milliseconds(50))) << "reading again keeps it going";
  socket->destroy();
  ::close(fds.second);
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, UnreadDataAndAnEndNobodyListensForLetTheLoopEnd) {
  SocketPairFds fds = tcpFds();
  ASSERT_EQ(::send(fds.second, "hello", 5, 0), 5);
  ::shutdown(fds.second, SHUT_WR);
  auto socket = Socket::create(loop, SocketOptions{.fd = fds.first, .allowHalfOpen = true});
  EXPECT_TRUE(runToCompletion(loop, std::chrono::seconds(2)));
  EXPECT_FALSE(socket->readableEnded());
  // Nothing was lost meanwhile: a listener added now gets the data, then the end.
  std::string received;
  bool ended = false;
  socket->on("data", [&](std::string_view data) { received.append(data); });
  socket->on("end", [&] { ended = true; });
  ASSERT_TRUE(runUntil(loop, [&] { return ended; }));
  EXPECT_EQ(received, "hello");
  socket->destroy();
  ::close(fds.second);
  EXPECT_TRUE(runToCompletion(loop));
}

TEST_P(SocketTest, AnAcceptedSocketWithUnreadDataInAnUnrefedServerLetsTheLoopEnd) {
  std::shared_ptr<Socket> accepted;
  auto server = Server::create(loop, {}, [&](std::shared_ptr<Socket> socket) { accepted = socket; });
  listenOnLoopback(*server);
  server->unref();
  Fd client = connectBlocking(server->address().port);
  ASSERT_EQ(::send(client.get(), "unread", 6, 0), 6);
  ASSERT_TRUE(runUntil(loop, [&] { return accepted != nullptr; }));
  EXPECT_TRUE(runToCompletion(loop, std::chrono::seconds(2)));
  EXPECT_FALSE(accepted->destroyed());
  accepted->destroy();
  server->close();
  EXPECT_TRUE(runToCompletion(loop));
}

INSTANTIATE_TEST_SUITE_P(Backends, SocketTest, ::testing::ValuesIn(testBackends()), backendTestName);

}  // namespace
}  // namespace net
