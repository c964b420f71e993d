// echo-server out of descriptors, as a real process: run under `prlimit --nofile=64` and sent 200
// connections, it must serve what fits, close the excess and say so ('drop' lines on stderr), not
// spin while doing it, keep echoing on the connections it has, and serve again once some close.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "tests/child_process.h"
#include "tests/socket_pairs.h"
#include "tools/common/process_stats.h"

namespace {

using namespace std::chrono_literals;
using reactor::testing_support::Fd;
using reactor::testing_support::localPortOf;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;

constexpr const char* kPrlimit = "/usr/bin/prlimit";
constexpr int kDescriptorLimit = 64;
constexpr int kClients = 200;

Fd connectTo(int port) { return reactor::testing_support::connectBlocking(port); }

enum class Answer { kEcho, kClosed, kNone };

// Sends one byte and waits (poll, at most 2 s and not past `deadline`) for what comes back: the
// byte, the connection closed (end of stream or reset), or nothing.
Answer ping(const Fd& fd, Clock::time_point deadline) {
  const char byte = 'p';
  if (send(fd.get(), &byte, 1, MSG_NOSIGNAL) != 1) return Answer::kClosed;
  pollfd watched{fd.get(), POLLIN, 0};
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::min(deadline, Clock::now() + 2s) - Clock::now());
  if (left <= 0ms || poll(&watched, 1, static_cast<int>(left.count())) != 1) return Answer::kNone;
  char reply = 0;
  const ssize_t n = recv(fd.get(), &reply, 1, 0);
  if (n == 1) return reply == byte ? Answer::kEcho : Answer::kNone;
  return Answer::kClosed;
}

// The "Max open files" soft limit in /proc/PID/limits.
std::optional<int> openFilesLimit(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with("Max open files")) return std::stoi(line.substr(std::string("Max open files").size()));
  }
  return std::nullopt;
}

std::size_t countOf(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(EchoServerExhaustion, ShedsTheExcessWithDropReportsWithoutSpinningAndRecovers) {
  if (access(kPrlimit, X_OK) != 0) GTEST_SKIP() << kPrlimit << " is not installed";
  const auto deadline = Clock::now() + 20s;
  ChildProcess server(kPrlimit,
                      {"--nofile=" + std::to_string(kDescriptorLimit), siblingBinary("echo-server"), "--port", "0"},
                      ChildProcess::Streams::kAll);
  const auto listening = testing_support::waitForLoopbackPort(server, deadline);
  ASSERT_TRUE(listening) << server.transcript() << server.errorOutput();
  const int port = *listening;
  ASSERT_EQ(openFilesLimit(server.pid()), kDescriptorLimit);  // prlimit exec'd echo-server in place

  // One client served and ended first, while descriptors are plentiful. Besides showing the server
  // works, this runs its paths once, closing included: in a sanitizer build the first check of a
  // virtual call on a type needs a descriptor of its own (and is cached afterwards), which it
  // could not get later.
  {
    Fd warmUp = connectTo(port);
    ASSERT_EQ(ping(warmUp, deadline), Answer::kEcho);
    shutdown(warmUp.get(), SHUT_WR);
    pollfd watched{warmUp.get(), POLLIN, 0};
    char byte;
    ASSERT_EQ(poll(&watched, 1, 5000), 1);
    ASSERT_EQ(recv(warmUp.get(), &byte, 1, 0), 0);  // the server ended its side in turn
  }
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connectTo(port));
    ASSERT_GE(clients.back().get(), 0) << "connect " << i;
  }

  // A measuring window of 0.5 s right after the flood: the server sheds what it cannot accept and
  // must then be idle; a level-triggered listener it could not drain would keep it at 100% CPU.
  // The window is spent watching the clients for the server closing them.
  const std::optional<double> cpuBefore = tools::cpuSeconds(server.pid());
  const auto windowStart = Clock::now();
  const auto windowEnd = windowStart + 500ms;
  std::vector<pollfd> watched;
  for (const Fd& client : clients) watched.push_back(pollfd{client.get(), POLLIN, 0});
  for (auto now = Clock::now(); now < windowEnd; now = Clock::now()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(windowEnd - now);
    poll(watched.data(), watched.size(), static_cast<int>(std::max<long>(1, left.count())));
    for (pollfd& entry : watched) entry.fd = entry.revents != 0 ? -1 : entry.fd;  // seen: stop watching
  }
  const std::optional<double> cpuAfter = tools::cpuSeconds(server.pid());
  const double elapsed = std::chrono::duration<double>(Clock::now() - windowStart).count();
  ASSERT_TRUE(cpuBefore && cpuAfter);
  EXPECT_LT(*cpuAfter - *cpuBefore, 0.10 * elapsed)
      << "echo-server used " << *cpuAfter - *cpuBefore << " s of CPU in " << elapsed << " s";

  // Each client is either served (its byte comes back) or was shed (closed by the server).
  std::vector<std::size_t> served, shed;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const Answer answer = ping(clients[i], deadline);
    ASSERT_NE(answer, Answer::kNone) << "client " << i << " got no answer";
    (answer == Answer::kEcho ? served : shed).push_back(i);
  }
  EXPECT_GT(served.size(), 0u);
  EXPECT_LT(served.size(), static_cast<std::size_t>(kDescriptorLimit));
  EXPECT_GE(shed.size(), static_cast<std::size_t>(kClients - kDescriptorLimit));

  // Every shed connection was reported: "echo-server: drop 127.0.0.1:PORT (EMFILE)".
  auto dropLine = [&](std::size_t client) {
    return "echo-server: drop 127.0.0.1:" + std::to_string(localPortOf(clients[client])) + " (EMFILE)\n";
  };
  EXPECT_TRUE(server.waitUntil(
      [&] { return countOf(server.errorOutput(), "echo-server: drop ") >= shed.size(); }, deadline))
      << server.errorOutput();
  EXPECT_EQ(countOf(server.errorOutput(), "echo-server: drop "), shed.size());
  for (std::size_t client : shed) EXPECT_EQ(countOf(server.errorOutput(), dropLine(client)), 1u) << dropLine(client);

  // The connections it kept still echo.
  for (std::size_t client : served) EXPECT_EQ(ping(clients[client], deadline), Answer::kEcho) << "client " << client;

  // Once some of them close, new clients are served again. The server learns of the closes a
  // moment later, so a newcomer may still be shed: try again until one is served.
  for (std::size_t i = 0; i < 10 && i < served.size(); ++i) clients[served[i]].reset();
  std::optional<int> attemptsNeeded;
  for (int attempt = 1; attempt <= 100 && !attemptsNeeded && Clock::now() < deadline; ++attempt) {
    Fd newcomer = connectTo(port);
    if (newcomer.get() >= 0 && ping(newcomer, deadline) == Answer::kEcho) attemptsNeeded = attempt;
  }
  const std::string& log = server.errorOutput();
  EXPECT_TRUE(attemptsNeeded) << "no new connection was served after closing some; stderr ends with:\n"
                              << log.substr(log.size() - std::min<std::size_t>(log.size(), 600));
}

}  // namespace
