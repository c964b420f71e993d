// netload runs as a real process against echo-server (also a real process): every mode for a
// fraction of a second with its JSON line read back, the key=value form, --count, SIGINT, the
// server's memory per idle connection, and the exit statuses of bad arguments and of a run with
// no server. Its latency histogram is checked on its own against exact percentiles.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/child_process.h"
#include "tests/splitmix64.h"
#include "tools/netload/latency_histogram.h"

namespace {

using namespace std::chrono_literals;
using testing_support::ChildProcess;
using testing_support::Clock;
using testing_support::siblingBinary;

// The number after "key": in netload's JSON line (keys are unique, nested ones included).
std::optional<double> field(const std::string& json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\":";
  const std::size_t at = json.find(quoted);
  if (at == std::string::npos) return std::nullopt;
  const char* start = json.c_str() + at + quoted.size();
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start) return std::nullopt;
  return value;
}

// echo-server started through sh, which prints its own PID and then becomes the server: the
// test learns the server's PID (for --server-pid) without any help from the server.
struct EchoServer {
  explicit EchoServer(const std::string& mode)
      : process("/bin/sh", {"-c", "echo pid $$ && exec \"$0\" --port 0 --mode \"$1\"", siblingBinary("echo-server"), mode}) {
    const auto listening = testing_support::waitForLoopbackPort(process, Clock::now() + 10s);
    const auto pidLine = process.lineStartingWith("pid ");
    if (!listening || !pidLine) return;
    port = std::to_string(*listening);
    pid = pidLine->substr(4);
  }
  ChildProcess process;
  std::string port;  // empty if the server did not start
  std::string pid;
};

struct Finished {
  int status = -1;  // wait status; -1 when netload did not exit in time
  std::vector<std::string> lines;  // stdout and stderr together
  std::string transcript;
  std::string lastLine() const { return lines.empty() ? std::string() : lines.back(); }
  bool printed(std::string_view text) const {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) { return line.find(text) != line.npos; });
  }
  bool printedResult() const {
    return std::any_of(lines.begin(), lines.end(),
                       [](const std::string& line) { return line.starts_with("{") || line.starts_with("tool="); });
  }
};

// Runs netload to its end, with its stderr sent to the same pipe as its stdout.
Finished runNetload(const std::vector<std::string>& args, Clock::duration limit = 10s) {
  std::vector<std::string> shellArgs = {"-c", "exec \"$0\" \"$@\" 2>&1", siblingBinary("netload")};
  shellArgs.insert(shellArgs.end(), args.begin(), args.end());
  ChildProcess netload("/bin/sh", shellArgs);
  Finished finished;
  if (const auto status = netload.waitForExit(Clock::now() + limit)) finished.status = *status;
  finished.lines = netload.lines();
  finished.transcript = netload.transcript();
  return finished;
}

bool exitedWith(const Finished& finished, int code) {
  return finished.status >= 0 && WIFEXITED(finished.status) && WEXITSTATUS(finished.status) == code;
}

// A short run of `mode` against `server`: no warm-up, 0.3 s measured, JSON.
Finished briefRun(const EchoServer& server, std::vector<std::string> args) {
  args.insert(args.end(), {"--port", server.port, "--duration", "0.3", "--warmup", "0", "--json", "--quiet"});
  return runNetload(args);
}

TEST(NetloadTool, PingpongBouncesBlocksOnEveryConnection) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "pingpong", "--connections", "4", "--size", "4K"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string json = run.lastLine();
  EXPECT_TRUE(json.starts_with("{\"tool\":\"netload\",\"mode\":\"pingpong\"") && json.ends_with("}")) << json;
  EXPECT_EQ(field(json, "connections"), 4);
  EXPECT_EQ(field(json, "size"), 4096);
  EXPECT_GT(field(json, "messages").value_or(0), 0) << json;
  EXPECT_EQ(field(json, "messages"), std::floor(field(json, "bytes").value_or(0) / 4096)) << json;
  EXPECT_GT(field(json, "messages_per_s").value_or(0), 0) << json;
  EXPECT_GT(field(json, "duration_s").value_or(0), 0.25) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
  EXPECT_FALSE(field(json, "p50")) << "latency is rr's alone: " << json;
}

TEST(NetloadTool, RrReportsLatencyPercentilesInOrder) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "rr", "--connections", "2", "--size", "64"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string json = run.lastLine();
  EXPECT_GT(field(json, "messages").value_or(0), 0) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
  ASSERT_NE(json.find("\"latency_us\":{"), std::string::npos) << json;
  std::vector<double> percentiles;
  for (const char* key : {"p50", "p90", "p99", "p999", "max"}) {
    const auto value = field(json, key);
    ASSERT_TRUE(value) << key << " missing: " << json;
    percentiles.push_back(*value);
  }
  EXPECT_GT(percentiles.front(), 0) << json;
  EXPECT_TRUE(std::is_sorted(percentiles.begin(), percentiles.end())) << json;
}

TEST(NetloadTool, CpsConnectsAndClosesOverAndOver) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "cps", "--concurrency", "4"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string json = run.lastLine();
  EXPECT_GT(field(json, "connects").value_or(0), 0) << json;
  EXPECT_EQ(field(json, "bytes"), field(json, "connects")) << "one byte back per connection: " << json;
  EXPECT_GT(field(json, "connects_per_s").value_or(0), 0) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
}

TEST(NetloadTool, StreamWritesToADiscardServer) {
  EchoServer server("discard");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "stream", "--connections", "2"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string json = run.lastLine();
  EXPECT_GT(field(json, "bytes").value_or(0), 0) << json;
  EXPECT_GT(field(json, "mib_per_s").value_or(0), 0) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
}

TEST(NetloadTool, IdleReportsTheServersMemoryPerConnection) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "idle", "--connections", "50", "--server-pid", server.pid});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string json = run.lastLine();
  EXPECT_EQ(field(json, "connects"), 50) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
  EXPECT_GT(field(json, "server_rss_before_bytes").value_or(0), 0) << json;
  EXPECT_GT(field(json, "server_rss_bytes").value_or(0), 0) << json;
  EXPECT_TRUE(field(json, "server_rss_per_connection_bytes")) << json;
  EXPECT_TRUE(field(json, "server_cpu_s")) << json;
  EXPECT_FALSE(field(json, "messages")) << "idle sends nothing: " << json;
}

TEST(NetloadTool, KeyValueLineWithoutJson) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = runNetload({"--port", server.port, "--mode", "rr", "--duration", "0.2", "--warmup", "0"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  const std::string line = run.lastLine();
  EXPECT_TRUE(line.starts_with("tool=netload mode=rr connections=1 size=16384 duration_s=")) << line;
  for (const char* key : {" messages=", " errors=0 ", " p50_us=", " p999_us=", " max_us=", " client_cpu_s="}) {
    EXPECT_NE(line.find(key), std::string::npos) << key << " in " << line;
  }
}

TEST(NetloadTool, CountEndsTheRunBeforeTheDuration) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const auto start = Clock::now();
  const Finished run = runNetload({"--port", server.port, "--mode", "pingpong", "--connections", "2", "--size", "1K",
                                   "--count", "500", "--duration", "60", "--warmup", "0", "--json"});
  ASSERT_TRUE(exitedWith(run, 0)) << run.transcript;
  EXPECT_LT(Clock::now() - start, 30s);
  EXPECT_GE(field(run.lastLine(), "messages").value_or(0), 500) << run.transcript;
  EXPECT_LT(field(run.lastLine(), "duration_s").value_or(60), 30) << run.transcript;
}

TEST(NetloadTool, SigintEndsTheWindowAndStillReports) {
  // The test is the server, and does not echo. netload sends its first blocks in the same callback
  // that opens the window (no warm-up), so once a block has arrived here the window has begun and
  // SIGINT, handled from before the first connection, ends it.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  ChildProcess netload(siblingBinary("netload"), {"--port", port, "--mode", "pingpong", "--connections", "2", "--size",
                                                  "16", "--duration", "60", "--warmup", "0", "--json"});
  const auto deadline = Clock::now() + 10s;
  auto readable = [&](int fd) {
    pollfd watched{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() >= 0 && poll(&watched, 1, static_cast<int>(left.count()) + 1) == 1;
  };
  std::vector<int> accepted;
  while (accepted.size() < 2 && readable(listener)) accepted.push_back(accept(listener, nullptr, nullptr));
  ASSERT_EQ(accepted.size(), 2u) << netload.transcript();
  // One block back and forth, so that the window did some work (a window with none fails).
  char block[16];
  std::size_t got = 0;
  while (got < sizeof block && readable(accepted[0])) {
    const ssize_t n = read(accepted[0], block + got, sizeof block - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ASSERT_EQ(got, sizeof block) << netload.transcript();
  ASSERT_EQ(write(accepted[0], block, sizeof block), static_cast<ssize_t>(sizeof block));
  ASSERT_TRUE(readable(accepted[0]) && read(accepted[0], block, sizeof block) > 0) << netload.transcript();
  netload.signal(SIGINT);
  const auto status = netload.waitForExit(deadline);
  for (int fd : accepted) close(fd);
  close(listener);
  ASSERT_TRUE(status) << netload.transcript();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "status " << *status;
  ASSERT_FALSE(netload.lines().empty());
  const std::string json = netload.lines().back();
  EXPECT_TRUE(json.starts_with("{\"tool\":\"netload\",\"mode\":\"pingpong\"")) << json;
  EXPECT_LT(field(json, "duration_s").value_or(60), 30) << json;
  EXPECT_EQ(field(json, "errors"), 0) << json;
}

TEST(NetloadTool, BadArgumentsExitWithStatus2AndNameTheFlag) {
  const Finished help = runNetload({"--help"});
  EXPECT_TRUE(exitedWith(help, 0)) << help.transcript;
  EXPECT_TRUE(help.printed("usage: netload")) << help.transcript;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--port", "70000"}, "--port"},
      {{"--mode"}, "--mode"},
      {{"--port", "1", "--mode", "flood"}, "--mode"},
      {{"--port", "1", "--size", "16Q"}, "--size"},
      {{"--port", "1", "--duration", "0"}, "--duration"},
      {{"--port", "1", "--warmup", "-1"}, "--warmup"},
      {{"--port", "1", "--connections", "many"}, "--connections"},
      {{"--port", "1", "--count", "0"}, "--count"},
      {{"--port", "1", "--mode", "idle", "--count", "5"}, "--count"},
      {{"--port", "1", "--server-pid", "2147483647"}, "--server-pid"},
      {{"--port", "1", "--frobnicate"}, "--frobnicate"},
      {{"--json"}, "--port"},
      {{"--port", "1", "stray"}, "stray"},
      {{"--port", "1", "--quiet", "--progress"}, "--progress"},
      {{"--port", "1", "--json=yes"}, "--json"},
  };
  for (const auto& [args, flag] : cases) {
    const Finished run = runNetload(args);
    EXPECT_TRUE(exitedWith(run, 2)) << args.front() << ": " << run.transcript;
    EXPECT_TRUE(run.printed("netload: ") && run.printed(flag)) << "the message names " << flag << ":\n"
                                                               << run.transcript;
    EXPECT_FALSE(run.printedResult()) << run.transcript;
  }
}

// Every numeric option, each negative, too large, not a number and empty, as --flag VALUE and as
// --flag=VALUE.
TEST(NetloadTool, EveryNumberIsRangeChecked) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"--port", {"-1", "0", "65536", "4294967376", "http", "", "1.5", "+1"}},
      {"--connections", {"-1", "0", "1000001", "99999999999999999999", "many", ""}},
      {"--concurrency", {"-1", "0", "1000001", "99999999999999999999", "many", ""}},
      {"--size", {"-1", "0", "268435457", "257M", "99999999999999999999K", "big", "", "K", "1.5K"}},
      {"--duration", {"-1", "0", "1000001", "1e3", "inf", "nan", "soon", "", ".", "1..2"}},
      {"--warmup", {"-1", "1000001", "1e3", "inf", "soon", ""}},
      {"--count", {"-1", "0", "18446744073709551616", "lots", ""}},
      {"--server-pid", {"-1", "0", "2147483648", "self", ""}},
  };
  for (const auto& [flag, values] : cases) {
    for (const std::string& value : values) {
      std::string joined = flag;  // --flag=VALUE
      joined += '=';
      joined += value;
      for (const std::vector<std::string>& args :
           {std::vector<std::string>{flag, value}, std::vector<std::string>{joined}}) {
        std::vector<std::string> full = args;
        if (flag != "--port") full.insert(full.begin(), {"--port", "1"});
        const Finished run = runNetload(full);
        EXPECT_TRUE(exitedWith(run, 2)) << flag << " '" << value << "': " << run.transcript;
        EXPECT_TRUE(run.printed(flag)) << flag << " '" << value << "': " << run.transcript;
        EXPECT_FALSE(run.printedResult()) << run.transcript;
      }
    }
  }
}

TEST(NetloadTool, ShortFormsAndVersion) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = runNetload({"-p", server.port, "-m", "rr", "-c2", "-s", "64", "-d", "0.3", "-w", "0", "-j", "-q"});
  EXPECT_TRUE(exitedWith(run, 0)) << run.transcript;
  EXPECT_GT(field(run.lastLine(), "messages").value_or(0), 0) << run.transcript;
  const Finished version = runNetload({"--version"});
  EXPECT_TRUE(exitedWith(version, 0)) << version.transcript;
  EXPECT_TRUE(version.printed("netload (reactornet) ")) << version.transcript;
}

// A server killed during the window: the result line is printed with its errors, and the exit
// status says the run failed.
TEST(NetloadTool, AServerKilledMidRunFailsTheRun) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  std::vector<std::string> shellArgs = {"-c", "exec \"$0\" \"$@\" 2>&1", siblingBinary("netload"), "--port", server.port,
                                        "--connections", "4", "--duration", "5", "--warmup", "0", "--json"};
  ChildProcess netload("/bin/sh", shellArgs);
  std::this_thread::sleep_for(500ms);
  server.process.signal(SIGKILL);
  const auto status = netload.waitForExit(Clock::now() + 10s);
  ASSERT_TRUE(status) << netload.transcript();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << "status " << *status << "\n" << netload.transcript();
  EXPECT_TRUE(netload.lineStartingWith("netload: the run failed: ")) << netload.transcript();
  EXPECT_TRUE(netload.lineStartingWith("{\"tool\":\"netload\"")) << netload.transcript();
}

// stream never reads: against a server that echoes it used to report bytes=0 and exit 0.
TEST(NetloadTool, StreamAgainstAnEchoingServerFailsAndSaysWhy) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = briefRun(server, {"--mode", "stream"});
  EXPECT_TRUE(exitedWith(run, 1)) << run.transcript;
  EXPECT_TRUE(run.printed("--mode discard")) << run.transcript;
  EXPECT_FALSE(run.printedResult()) << run.transcript;
}

// A window with no work: the test's server accepts and never answers.
TEST(NetloadTool, AWindowWithNoWorkFails) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const Finished run =
      runNetload({"--port", std::to_string(ntohs(address.sin_port)), "--duration", "0.3", "--warmup", "0", "--json"});
  close(listener);
  EXPECT_TRUE(exitedWith(run, 1)) << run.transcript;
  EXPECT_TRUE(run.printed("no work was done")) << run.transcript;
}

// --progress: a line a second even though stderr is a pipe here, one line each.
TEST(NetloadTool, ProgressIsForcedWhenAsked) {
  EchoServer server("echo");
  ASSERT_FALSE(server.port.empty()) << server.process.transcript();
  const Finished run = runNetload({"--port", server.port, "--duration", "1.5", "--warmup", "0", "--progress"});
  EXPECT_TRUE(exitedWith(run, 0)) << run.transcript;
  EXPECT_TRUE(run.printed("netload pingpong, window: ")) << run.transcript;
  EXPECT_FALSE(run.printed("\r")) << run.transcript;
  const Finished quiet = runNetload({"--port", server.port, "--duration", "0.2", "--warmup", "0"});
  EXPECT_FALSE(quiet.printed("netload pingpong, window: ")) << quiet.transcript;
}

TEST(NetloadTool, NoServerMeansStatus1) {
  // Port 1 on loopback: nothing listens there in a test environment, so connect is refused.
  for (const char* mode : {"pingpong", "cps"}) {
    const Finished run = runNetload({"--port", "1", "--mode", mode, "--duration", "0.2", "--json"});
    EXPECT_TRUE(exitedWith(run, 1)) << mode << ": " << run.transcript;
    EXPECT_TRUE(run.printed("ECONNREFUSED")) << run.transcript;
    EXPECT_FALSE(run.printedResult()) << run.transcript;
  }
}

TEST(NetloadLatencyHistogram, ExactBelow256Nanoseconds) {
  netload::LatencyHistogram histogram;
  EXPECT_EQ(histogram.quantile(0.5), 0u);  // empty
  for (std::uint64_t ns = 1; ns <= 200; ++ns) histogram.record(ns);
  EXPECT_EQ(histogram.count(), 200u);
  EXPECT_EQ(histogram.quantile(0.5), 100u);
  EXPECT_EQ(histogram.quantile(0.99), 198u);
  EXPECT_EQ(histogram.quantile(1.0), 200u);
  EXPECT_EQ(histogram.max(), 200u);
}

TEST(NetloadLatencyHistogram, PercentilesWithinOneBucketOfTheExactOnes) {
  // Samples spread over nine orders of magnitude: each reported percentile is the middle of the
  // bucket of the exact one, so within 1/256 of it.
  reactor::testing_support::SplitMix64 random(20240611);
  netload::LatencyHistogram histogram;
  std::vector<std::uint64_t> samples;
  for (int i = 0; i < 100'000; ++i) {
    const std::uint64_t ns = (random.next() >> (random.below(34) + 30)) + 1;
    samples.push_back(ns);
    histogram.record(ns);
  }
  std::sort(samples.begin(), samples.end());
  for (double q : {0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const auto exact = static_cast<double>(samples[static_cast<std::size_t>(std::ceil(q * samples.size())) - 1]);
    const auto reported = static_cast<double>(histogram.quantile(q));
    EXPECT_LE(std::abs(reported - exact), exact / 256 + 0.5) << "q " << q << ": exact " << exact << ", reported " << reported;
  }
  EXPECT_EQ(histogram.max(), samples.back());
  EXPECT_LE(histogram.quantile(1.0), histogram.max());
}

TEST(NetloadLatencyHistogram, TakesTheWholeRange) {
  netload::LatencyHistogram histogram;
  histogram.record(0);
  histogram.record(UINT64_MAX);
  EXPECT_EQ(histogram.quantile(0.5), 0u);
  EXPECT_GE(histogram.quantile(1.0), UINT64_MAX - UINT64_MAX / 256);  // the middle of the top bucket
  EXPECT_EQ(histogram.max(), UINT64_MAX);
}

}  // namespace
