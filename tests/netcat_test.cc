// tools/netcat runs as a real process with its stdin, stdout and stderr held by the test: in
// connect mode against an in-process net::Server and against tools/echo-server, in listen mode
// (-l) with the test as the client, over TCP and unix-domain sockets. Checked: stdin reaches the
// peer and the peer's bytes reach stdout unchanged (1 MiB of every byte value included), stdin's
// end half-closes the connection and netcat exits 0 once the peer has ended too, a listening
// netcat binds 127.0.0.1 and reports its port on stderr only, failures exit 1 with Node's code,
// and bad arguments exit 2 with a message.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/child_process.h"
#include "tests/loop_test_support.h"
#include "tests/socket_pairs.h"

namespace {

using namespace std::chrono_literals;
using reactor::testing_support::connectBlocking;
using reactor::testing_support::connectUnixBlocking;
using reactor::testing_support::Fd;
using reactor::testing_support::runUntil;
using reactor::testing_support::withReceiveTimeout;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;

constexpr std::string_view kListeningOnLoopback = "listening on 127.0.0.1:";

ChildProcess netcat(const std::vector<std::string>& args) {
  return ChildProcess(siblingBinary("netcat"), args, ChildProcess::Streams::kAll);
}

bool exitedWith(std::optional<int> status, int code) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

// The first line netcat printed on stderr, once it has printed one.
std::string firstErrorLine(ChildProcess& child, Clock::time_point deadline) {
  child.waitUntil([&] { return child.errorOutput().find('\n') != std::string::npos; }, deadline);
  return child.errorOutput().substr(0, child.errorOutput().find('\n'));
}

int portAfter(std::string_view prefix, const std::string& line) { return std::stoi(line.substr(prefix.size())); }

// An echo-server child on 127.0.0.1 (its default) or on a unix path; the TCP port it picked.
int startEchoServer(ChildProcess& server, Clock::time_point deadline) {
  auto listening = server.waitForLineStartingWith("listening on ", deadline);
  if (!listening) return -1;
  EXPECT_TRUE(listening->starts_with(kListeningOnLoopback)) << *listening;  // loopback unless told otherwise
  return portAfter(kListeningOnLoopback, *listening);
}

// Blocking client sockets whose reads give up after five seconds, so that a missing byte fails
// the test instead of hanging it.
Fd connectTcp(int port) { return withReceiveTimeout(connectBlocking(port)); }
Fd connectUnix(const std::string& path) { return withReceiveTimeout(connectUnixBlocking(path)); }

// Reads `size` bytes, or fewer when the stream ends or the read timeout passes.
std::string readUpTo(const Fd& fd, std::size_t size) {
  std::string received;
  char buffer[4096];
  while (received.size() < size) {
    const ssize_t n = read(fd.get(), buffer, std::min(sizeof buffer, size - received.size()));
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  return received;
}

bool readsEndOfStream(const Fd& fd) {
  char byte;
  return read(fd.get(), &byte, 1) == 0;
}

// A unix socket path of this test process, free before and after: a child killed at the end of a
// test cannot remove its socket file itself.
class SocketPath {
 public:
  explicit SocketPath(const char* name)
      : path_(::testing::TempDir() + "netcat_test_" + std::to_string(getpid()) + "_" + name + ".sock") {
    unlink(path_.c_str());
  }
  ~SocketPath() { unlink(path_.c_str()); }
  SocketPath(const SocketPath&) = delete;
  SocketPath& operator=(const SocketPath&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Closes the server and runs the loop until its 'close', which releases the server's reference
// to itself (as a program's loop would before exiting).
void closeServer(reactor::Loop& loop, net::Server& server) {
  bool closed = false;
  server.close([&](const net::Error*) { closed = true; });
  EXPECT_TRUE(runUntil(loop, [&] { return closed; }));
}

// The test plays the peer: `peer` is its end of a connection netcat accepted. Bytes go both ways,
// netcat's stdin ends (the peer reads end of stream), the peer ends, and netcat exits 0 having
// printed exactly what the peer sent.
void exchangeWithListeningNetcat(ChildProcess& listening, Fd peer, Clock::time_point deadline) {
  ASSERT_EQ(send(peer.get(), "from the peer\n", 14, MSG_NOSIGNAL), 14);
  EXPECT_TRUE(listening.waitUntil([&] { return listening.output() == "from the peer\n"; }, deadline))
      << listening.transcript();
  ASSERT_TRUE(listening.writeToStdin("from stdin\n", deadline));
  EXPECT_EQ(readUpTo(peer, 11), "from stdin\n");
  listening.closeStdin();
  EXPECT_TRUE(readsEndOfStream(peer));
  peer.reset();
  EXPECT_TRUE(exitedWith(listening.waitForExit(deadline), 0)) << listening.transcript();
  EXPECT_EQ(listening.output(), "from the peer\n");
}

TEST(NetcatTool, ConnectPipesBothWaysAndHalfClosesWhenStdinEnds) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  std::string received;
  bool sawEnd = false;
  std::shared_ptr<net::Socket> accepted;
  net::ServerOptions options;
  options.allowHalfOpen = true;  // the test, not the library, decides when the server's side ends
  auto server = net::Server::create(loop, options, [&](const std::shared_ptr<net::Socket>& socket) {
    accepted = socket;
    socket->on("data", [&](std::string_view data) { received.append(data); });
    socket->on("end", [&] { sawEnd = true; });
  });
  server->listen(0, "127.0.0.1");
  ChildProcess client = netcat({"-N", "127.0.0.1", std::to_string(server->address().port)});

  ASSERT_TRUE(client.writeToStdin("from stdin\n", deadline));
  ASSERT_TRUE(runUntil(loop, [&] { return received == "from stdin\n"; })) << "server got '" << received << "'";
  EXPECT_FALSE(sawEnd);  // stdin is still open
  accepted->write("reply\n");
  EXPECT_TRUE(client.waitUntil([&] { return client.output() == "reply\n"; }, deadline)) << client.transcript();

  client.closeStdin();
  ASSERT_TRUE(runUntil(loop, [&] { return sawEnd; }));
  accepted->end("bye\n");
  ASSERT_TRUE(runUntil(loop, [&] { return accepted->destroyed(); }));  // both directions ended
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  EXPECT_EQ(client.output(), "reply\nbye\n");
  EXPECT_EQ(client.errorOutput(), "");
  EXPECT_EQ(received, "from stdin\n");
  closeServer(loop, *server);
}

TEST(NetcatTool, APeerThatEndsFirstStillReceivesStdinUntilItEnds) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  std::string received;
  bool accepted = false;
  bool closed = false;
  net::ServerOptions options;
  options.allowHalfOpen = true;
  auto server = net::Server::create(loop, options, [&](const std::shared_ptr<net::Socket>& socket) {
    socket->on("data", [&](std::string_view data) { received.append(data); });
    socket->on("close", [&] { closed = true; });
    socket->end("hello\n");
    accepted = true;
  });
  server->listen(0, "127.0.0.1");
  ChildProcess client = netcat({"-N", "127.0.0.1", std::to_string(server->address().port)});
  ASSERT_TRUE(runUntil(loop, [&] { return accepted; }));
  EXPECT_TRUE(client.waitUntil([&] { return client.output() == "hello\n"; }, deadline)) << client.transcript();
  ASSERT_TRUE(client.writeToStdin("sent after the peer ended\n", deadline));
  ASSERT_TRUE(runUntil(loop, [&] { return received == "sent after the peer ended\n"; })) << received;
  client.closeStdin();
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  closeServer(loop, *server);
}

TEST(NetcatTool, ConnectToEchoServerGetsEachLineBackWhileStdinIsOpen) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess echo(siblingBinary("echo-server"), {});
  const int port = startEchoServer(echo, deadline);
  ASSERT_GT(port, 0) << echo.transcript();
  ChildProcess client = netcat({"-N", "127.0.0.1", std::to_string(port)});
  ASSERT_TRUE(client.writeToStdin("ping\n", deadline));
  EXPECT_TRUE(client.waitUntil([&] { return client.output() == "ping\n"; }, deadline)) << client.transcript();
  ASSERT_TRUE(client.writeToStdin("pong\n", deadline));
  EXPECT_TRUE(client.waitUntil([&] { return client.output() == "ping\npong\n"; }, deadline)) << client.transcript();
  client.closeStdin();  // echo-server ends its side when ours ends
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  EXPECT_EQ(client.errorOutput(), "");
}

TEST(NetcatTool, BinaryDataPassesThroughUnchanged) {
  const auto deadline = Clock::now() + 20s;
  ChildProcess echo(siblingBinary("echo-server"), {});
  const int port = startEchoServer(echo, deadline);
  ASSERT_GT(port, 0) << echo.transcript();
  std::string data(1 << 20, '\0');  // every byte value, in every position modulo 256
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i ^ (i >> 8) ^ (i >> 16));
  ChildProcess client = netcat({"-N", "127.0.0.1", std::to_string(port)});
  ASSERT_TRUE(client.writeToStdin(data, deadline)) << client.errorOutput();
  client.closeStdin();
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.errorOutput();
  ASSERT_EQ(client.output().size(), data.size());
  EXPECT_TRUE(client.output() == data) << "first difference at byte "
                                      << std::mismatch(data.begin(), data.end(), client.output().begin()).first -
                                             data.begin();
}

TEST(NetcatTool, ListenBindsLoopbackReportsItsPortOnStderrAndAcceptsOneConnection) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess listening = netcat({"-l", "-N", "0"});
  const std::string line = firstErrorLine(listening, deadline);
  ASSERT_TRUE(line.starts_with(kListeningOnLoopback)) << listening.transcript();
  const int port = portAfter(kListeningOnLoopback, line);
  Fd peer = connectTcp(port);
  ASSERT_GE(peer.get(), 0);
  ASSERT_NO_FATAL_FAILURE(exchangeWithListeningNetcat(listening, std::move(peer), deadline));
  EXPECT_LT(connectTcp(port).get(), 0);  // it stopped listening once it had its connection
  EXPECT_EQ(listening.errorOutput(), line + "\n");
}

TEST(NetcatTool, UnixDomainSocketsBothWays) {
  const auto deadline = Clock::now() + 10s;
  const SocketPath echoSocket("echo");
  const std::string& echoPath = echoSocket.path();
  ChildProcess echo(siblingBinary("echo-server"), {"--path", echoPath});
  ASSERT_TRUE(echo.waitForLine("listening on " + echoPath, deadline)) << echo.transcript();
  ChildProcess client = netcat({"-N", "-U", echoPath});
  ASSERT_TRUE(client.writeToStdin("over a unix socket\n", deadline));
  client.closeStdin();
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  EXPECT_EQ(client.output(), "over a unix socket\n");

  const SocketPath listenSocket("listen");
  const std::string& listenPath = listenSocket.path();
  ChildProcess listening = netcat({"-lN", "-U", listenPath});
  EXPECT_EQ(firstErrorLine(listening, deadline), "listening on " + listenPath) << listening.transcript();
  Fd peer = connectUnix(listenPath);
  ASSERT_GE(peer.get(), 0);
  ASSERT_NO_FATAL_FAILURE(exchangeWithListeningNetcat(listening, std::move(peer), deadline));
  EXPECT_NE(access(listenPath.c_str(), F_OK), 0);  // the socket file goes once the one connection came
}

TEST(NetcatTool, FailedConnectionsExit1WithNodesCode) {
  const auto deadline = Clock::now() + 10s;
  // A bound socket that does not listen: its port refuses connections, and nobody else can take it.
  Fd bound(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(bound.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);

  ChildProcess refused = netcat({"127.0.0.1", std::to_string(ntohs(address.sin_port))});
  EXPECT_TRUE(exitedWith(refused.waitForExit(deadline), 1)) << refused.transcript();
  EXPECT_NE(refused.errorOutput().find("ECONNREFUSED"), std::string::npos) << refused.transcript();
  EXPECT_EQ(refused.output(), "");

  const SocketPath missingSocket("missing");
  ChildProcess missing = netcat({"-U", missingSocket.path()});
  EXPECT_TRUE(exitedWith(missing.waitForExit(deadline), 1)) << missing.transcript();
  EXPECT_NE(missing.errorOutput().find("ENOENT"), std::string::npos) << missing.transcript();
}

TEST(NetcatTool, HelpAndBadArguments) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess help = netcat({"--help"});
  EXPECT_TRUE(exitedWith(help.waitForExit(deadline), 0));
  EXPECT_TRUE(help.lineStartingWith("usage: netcat")) << help.transcript();
  EXPECT_NE(help.output().find("127.0.0.1"), std::string::npos) << "--help tells where -l listens";

  for (const std::vector<std::string>& bad : {std::vector<std::string>{"-x", "127.0.0.1", "1"},
                                              {"-U"},
                                              {"127.0.0.1"},
                                              {"127.0.0.1", "http"},
                                              {"127.0.0.1", "70000"},
                                              {"127.0.0.1", "1", "2"},
                                              {"-l"},
                                              {"-U", "/tmp/x.sock", "80"},
                                              {"--nonsense", "127.0.0.1", "1"},
                                              {"-k", "127.0.0.1", "1"},          // -k needs -l
                                              {"-l", "-z", "0"},                 // nc refuses both too
                                              {"-l", "-w", "1", "0"},            // -w does not apply to -l
                                              {"-U", "-p", "1", "/tmp/x.sock"},  // no port with -U
                                              {"-l", "-p", "1", "127.0.0.1", "2"},
                                              {"", "1"}}) {
    ChildProcess child = netcat(bad);
    EXPECT_TRUE(exitedWith(child.waitForExit(deadline), 2)) << bad.front() << child.transcript();
    EXPECT_TRUE(child.errorOutput().starts_with("netcat: ")) << bad.front() << child.transcript();
    EXPECT_EQ(child.output(), "") << bad.front();
  }
}

// Every number netcat takes (PORT, -p, -w), each negative, too large, not a number and empty.
TEST(NetcatTool, EveryNumberIsRangeChecked) {
  const auto deadline = Clock::now() + 20s;
  std::vector<std::vector<std::string>> cases;
  for (const std::string bad : {"-1", "65536", "4294967376", "port", "", "1.5", " 1", "+1"}) {
    cases.push_back({"127.0.0.1", bad});            // PORT
    cases.push_back({"-l", bad});                   // PORT to listen on
    cases.push_back({"-l", "-p", bad});             // -p with -l
    cases.push_back({"-p", bad, "127.0.0.1", "1"});  // source port
  }
  for (const std::string bad : {"-1", "0", "2147484", "99999999999999999999", "soon", "", "1.5"}) {
    cases.push_back({"-w", bad, "127.0.0.1", "1"});
    cases.push_back({"-w" + bad, "127.0.0.1", "1"});
  }
  for (const std::vector<std::string>& bad : cases) {
    std::string joined;
    for (const std::string& arg : bad) joined += "'" + arg + "' ";
    ChildProcess child = netcat(bad);
    EXPECT_TRUE(exitedWith(child.waitForExit(deadline), 2)) << joined << child.transcript();
    EXPECT_TRUE(child.errorOutput().starts_with("netcat: ")) << joined << child.transcript();
    EXPECT_EQ(child.output(), "") << joined;
  }
  ChildProcess version = netcat({"--version"});
  EXPECT_TRUE(exitedWith(version.waitForExit(deadline), 0));
  EXPECT_TRUE(version.output().starts_with("netcat (reactornet) ")) << version.transcript();
}

// Without -N (as nc), the end of stdin leaves our side open: the peer sees no end until it ends
// its own side, and then netcat ends too and exits.
TEST(NetcatTool, WithoutDashNStdinsEndDoesNotEndTheConnection) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  std::string received;
  bool sawEnd = false;
  bool closed = false;
  std::shared_ptr<net::Socket> accepted;
  net::ServerOptions options;
  options.allowHalfOpen = true;
  auto server = net::Server::create(loop, options, [&](const std::shared_ptr<net::Socket>& socket) {
    accepted = socket;
    socket->on("data", [&](std::string_view data) { received.append(data); });
    socket->on("end", [&] { sawEnd = true; });
    socket->on("close", [&] { closed = true; });
  });
  server->listen(0, "127.0.0.1");
  ChildProcess client = netcat({"127.0.0.1", std::to_string(server->address().port)});
  ASSERT_TRUE(client.writeToStdin("last words\n", deadline));
  client.closeStdin();
  ASSERT_TRUE(runUntil(loop, [&] { return received == "last words\n"; })) << received;
  EXPECT_FALSE(runUntil(loop, [&] { return sawEnd; }, 300ms)) << "stdin's end ended the connection without -N";
  accepted->end("bye\n");
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_TRUE(sawEnd);
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  EXPECT_EQ(client.output(), "bye\n");
  closeServer(loop, *server);
}

TEST(NetcatTool, DashZOnlyConnectsAndDashVSaysSo) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  int connections = 0;
  bool closed = false;
  std::string received;
  auto server = net::Server::create(loop, {}, [&](const std::shared_ptr<net::Socket>& socket) {
    ++connections;
    socket->on("data", [&](std::string_view data) { received.append(data); });
    socket->on("close", [&] { closed = true; });
  });
  server->listen(0, "127.0.0.1");
  const std::string port = std::to_string(server->address().port);
  ChildProcess scan = netcat({"-vz", "127.0.0.1", port});
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }));
  EXPECT_TRUE(exitedWith(scan.waitForExit(deadline), 0)) << scan.transcript();
  EXPECT_EQ(connections, 1);
  EXPECT_EQ(received, "");
  EXPECT_EQ(scan.output(), "");
  EXPECT_EQ(scan.errorOutput(), "Connection to 127.0.0.1 " + port + " port [tcp/*] succeeded!\n");
  closeServer(loop, *server);
  ChildProcess refused = netcat({"-z", "127.0.0.1", port});
  EXPECT_TRUE(exitedWith(refused.waitForExit(deadline), 1)) << refused.transcript();
}

TEST(NetcatTool, DashWEndsAnIdleConnection) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  bool closed = false;
  auto server = net::Server::create(loop, {}, [&](const std::shared_ptr<net::Socket>& socket) {
    socket->on("close", [&] { closed = true; });
  });
  server->listen(0, "127.0.0.1");
  const auto start = Clock::now();
  ChildProcess client = netcat({"-w", "1", "127.0.0.1", std::to_string(server->address().port)});
  ASSERT_TRUE(runUntil(loop, [&] { return closed; }, 8s));
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  EXPECT_GE(Clock::now() - start, 900ms);
  closeServer(loop, *server);
}

TEST(NetcatTool, DashPIsTheSourcePortWhenConnecting) {
  const auto deadline = Clock::now() + 10s;
  reactor::Loop loop;
  int remotePort = -1;
  auto server = net::Server::create(loop, {}, [&](const std::shared_ptr<net::Socket>& socket) {
    remotePort = socket->remotePort();
    socket->end();
  });
  server->listen(0, "127.0.0.1");
  // A port that was free a moment ago (bound, read, released).
  Fd probe(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int sourcePort = ntohs(address.sin_port);
  probe.reset();
  ChildProcess client =
      netcat({"-N", "-p", std::to_string(sourcePort), "127.0.0.1", std::to_string(server->address().port)});
  client.closeStdin();
  ASSERT_TRUE(runUntil(loop, [&] { return remotePort >= 0; }));
  EXPECT_EQ(remotePort, sourcePort);
  EXPECT_TRUE(exitedWith(client.waitForExit(deadline), 0)) << client.transcript();
  closeServer(loop, *server);
}

// -l -p PORT listens on PORT (Debian's nc takes it so); -k accepts one connection after another.
TEST(NetcatTool, DashKKeepsListeningAndDashPNamesThePort) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess listening = netcat({"-lkv", "-p", "0"});
  const std::string line = firstErrorLine(listening, deadline);
  ASSERT_TRUE(line.starts_with(kListeningOnLoopback)) << listening.transcript();
  const int port = portAfter(kListeningOnLoopback, line);
  listening.closeStdin();  // nothing to send: each connection ends once its peer has ended
  for (const char* message : {"first\n", "second\n"}) {
    Fd peer = connectTcp(port);
    ASSERT_GE(peer.get(), 0) << message;
    const std::string before = listening.output();
    ASSERT_EQ(send(peer.get(), message, std::strlen(message), MSG_NOSIGNAL), static_cast<ssize_t>(std::strlen(message)));
    EXPECT_TRUE(listening.waitUntil([&] { return listening.output() == before + message; }, deadline))
        << listening.transcript();
    shutdown(peer.get(), SHUT_WR);
    EXPECT_TRUE(readsEndOfStream(peer)) << message;
  }
  EXPECT_TRUE(listening.waitUntil(
      [&] { return listening.errorOutput().find("Connection received on 127.0.0.1:") != std::string::npos; },
      deadline))
      << listening.transcript();
  listening.signal(SIGTERM);
  EXPECT_TRUE(listening.waitForExit(deadline));
}

}  // namespace
