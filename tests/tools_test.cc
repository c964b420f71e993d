// The command-line tools run as real processes: echo-server's first line, echo and discard modes,
// option errors, and a clean exit on SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "tests/child_process.h"
#include "tests/socket_pairs.h"

namespace {

using namespace std::chrono_literals;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;
using reactor::testing_support::connectBlocking;
using reactor::testing_support::Fd;
using reactor::testing_support::withReceiveTimeout;

constexpr std::string_view kListeningOn = "listening on 127.0.0.1:";

// A blocking client socket connected to 127.0.0.1:port, with a receive timeout as a deadline.
Fd connectTo(int port) {
  Fd fd = withReceiveTimeout(connectBlocking(port));
  EXPECT_GE(fd.get(), 0) << std::strerror(errno);
  return fd;
}

int portFrom(const std::string& line) { return std::stoi(line.substr(kListeningOn.size())); }

TEST(EchoServerTool, EchoesEveryByteAndExitsCleanlyOnSigterm) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess server(siblingBinary("echo-server"), {"--port", "0"});
  auto listening = server.waitForLineStartingWith(kListeningOn, deadline);
  ASSERT_TRUE(listening) << server.transcript();
  EXPECT_EQ(server.lines().front(), *listening);  // the first line, as documented
  const Fd client = connectTo(portFrom(*listening));
  const int fd = client.get();
  std::string sent(std::size_t{256} << 10, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 + i / 251);
  ASSERT_EQ(send(fd, sent.data(), sent.size(), MSG_NOSIGNAL), static_cast<ssize_t>(sent.size()));
  shutdown(fd, SHUT_WR);
  std::string received;
  char buffer[65536];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) received.append(buffer, static_cast<std::size_t>(n));
  EXPECT_TRUE(received == sent) << "received " << received.size() << " of " << sent.size() << " bytes";
  EXPECT_TRUE(server.exitsCleanlyOnSigterm(deadline)) << server.transcript();
}

TEST(EchoServerTool, DiscardModeSendsNothingBack) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess server(siblingBinary("echo-server"), {"--mode", "discard"});
  auto listening = server.waitForLineStartingWith(kListeningOn, deadline);
  ASSERT_TRUE(listening) << server.transcript();
  const Fd client = connectTo(portFrom(*listening));
  ASSERT_EQ(send(client.get(), "dropped", 7, MSG_NOSIGNAL), 7);
  shutdown(client.get(), SHUT_WR);
  char byte;
  EXPECT_EQ(read(client.get(), &byte, 1), 0);  // end of stream, no data
}

TEST(EchoServerTool, HelpAndBadOptions) {
  const auto deadline = Clock::now() + 10s;
  ChildProcess help(siblingBinary("echo-server"), {"--help"});
  std::optional<int> status = help.waitForExit(deadline);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_TRUE(help.lineStartingWith("usage: echo-server")) << help.transcript();
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--port", "70000"}, {"--mode", "loud"}, {"--nonsense"}, {"--port"}}) {
    ChildProcess server(siblingBinary("echo-server"), bad);
    status = server.waitForExit(deadline);
    ASSERT_TRUE(status) << bad.front();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << bad.front() << " status " << *status;
  }
}

// Every numeric option, each negative, too large, not a number and empty; the port that
// wrapped around to 80 (4294967376 = 2^32 + 80) among them.
TEST(EchoServerTool, EveryNumberIsRangeChecked) {
  const auto deadline = Clock::now() + 20s;
  for (const std::string flag : {"--port", "--idle-timeout", "--max-connections"}) {
    for (const std::string bad : {"-1", "4294967376", "2147483648", "99999999999999999999", "ten", "", "1.5", " 1",
                                  "+1", "0x10"}) {
      if (flag == "--port" && bad == "2147483648") continue;  // covered by 4294967376
      std::string joined = flag;  // --flag=VALUE
      joined += '=';
      joined += bad;
      for (const std::vector<std::string>& args : {std::vector<std::string>{flag, bad}, {joined}}) {
        ChildProcess server(siblingBinary("echo-server"), args);
        const std::optional<int> status = server.waitForExit(deadline);
        ASSERT_TRUE(status) << flag << " '" << bad << "'";
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << flag << " '" << bad << "' status " << *status;
        EXPECT_FALSE(server.lineStartingWith("listening on")) << flag << " '" << bad << "'" << server.transcript();
      }
    }
  }
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"-p", "65536"}, {"-t", "-5"}, {"-c", "x"}, {"-p"}, {"--port="}, {"stray"},
        {"--allow-half-open=yes"}, {"--host", ""}}) {
    ChildProcess server(siblingBinary("echo-server"), bad);
    const std::optional<int> status = server.waitForExit(deadline);
    ASSERT_TRUE(status) << bad.front();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << bad.front() << " status " << *status;
  }
}

// getopt_long's forms: --port=N, --port N, -p N, -pN; --version.
TEST(EchoServerTool, LongShortAndEqualsFormsAndVersion) {
  const auto deadline = Clock::now() + 10s;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--port=0", "--mode=discard"}, {"-p", "0", "-m", "echo", "-t", "1000"}, {"-p0", "-A"},
        {"--port", "0", "--max-connections=10", "--idle-timeout=2147483647"}}) {
    ChildProcess server(siblingBinary("echo-server"), args);
    EXPECT_TRUE(server.waitForLineStartingWith(kListeningOn, deadline)) << args.front() << server.transcript();
    EXPECT_TRUE(server.exitsCleanlyOnSigterm(deadline)) << server.transcript();
  }
  ChildProcess version(siblingBinary("echo-server"), {"--version"});
  const std::optional<int> status = version.waitForExit(deadline);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_TRUE(version.lineStartingWith("echo-server (reactornet) ")) << version.transcript();
}

}  // namespace
