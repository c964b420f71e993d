// Slowloris: 5,000 connections that each send one byte at a time, slowly, against an in-process
// server whose idle timeout is the defence. Time is scaled down: a byte every 100 ms against an
// idle timeout of 300 ms (a real attack sends a byte every few seconds against a timeout of tens of
// seconds). Half of the connections stop sending after a few bytes; the server must reap each of
// those on time, and keep every connection that still trickles. Meanwhile a well-behaved client
// does request/response round trips, and its latency under the attack must stay within twice its
// latency without it.
//
// Threads: the server runs its own loop on its own thread, as a server would; the 5,000 attackers
// run on the test's loop; the well-behaved client is a blocking socket on a third thread, so that
// its latency is the server's, not that of the loop sending the attack.
//
// Reaping on time: the timer wheel fires a timer at exactly its due millisecond (reactor/
// timer_wheel.h: no lateness of its own), the loop rounds due times up to the next millisecond
// (reactor/timers.h) and runs due timers once the iteration that sees them due gets to its timer
// phase. The server records, in its own loop's clock, how long each reaped connection had been
// silent: never less than the timeout, and no more late than the loop itself is. How late the loop
// is depends on the machine (on two cores shared with the attack, and with a compiler or two,
// tens of milliseconds at times), so the server's loop also runs a probe, a 1 ms interval timer,
// during the attack: no reaping may come later after its timeout than the longest gap between two
// of the probe's ticks. The idle timeouts of 5,000 sockets then add no lateness of their own.
//
// Latency: the 99th percentile of one batch of round trips is at the mercy of a single preemption,
// so each phase runs kLatencyBatches batches of kRoundTripsPerBatch and the test compares medians of
// the batches' 99th percentiles. The unloaded batches run before the attack and again after it,
// pooled, so that a change in what else the machine runs weighs on both sides. The bound is twice
// the unloaded value, but not less than kLatencyFloorUs, and that floor is a deliberate loosening:
// the attack is generated on the same two cores (its 50,000 segments a second are sent, and taken
// through the kernel's TCP stack, on the cores the server and the client need), and on a two-vCPU
// VM with nothing else running that alone puts the loaded p99 at 1 to 3 times the unloaded one
// (about 20-100 us alone, 50-250 us under attack); with another process compiling on the machine,
// loaded medians up to about 1 ms were seen. The floor keeps the test from failing on that noise;
// what it still catches is a client left waiting for milliseconds, behind the attack's traffic or
// its timers.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "net/server.h"
#include "net/socket.h"
#include "tests/poll_until.h"
#include "tests/socket_pairs.h"
#include "tests/splitmix64.h"

namespace net {
namespace {

using namespace reactor::testing_support;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kAttackers = 5000;
constexpr std::int64_t kIdleTimeoutMs = 300;
constexpr std::int64_t kTrickleIntervalMs = 100;
constexpr std::size_t kConnectBatch = 250;  // below the listen backlog (511)
constexpr int kLatencyBatches = 5;
constexpr int kRoundTripsPerBatch = 2000;  // the 99th percentile is the 20th slowest
constexpr double kLatencyFloorUs = 2000;

// The server, on its own thread: answers each line ("...\n") with the same line; a connection
// silent for kIdleTimeoutMs is destroyed. What it saw is readable once stop() has returned.
class LineServerThread {
 public:
  struct Reaped {
    int port;
    std::uint64_t silentMs;  // loop time from the connection's last byte to its reaping
  };

  LineServerThread() {
    std::promise<int> listening;
    auto port = listening.get_future();
    thread_ = std::thread([this, &listening] { run(listening); });
    port_ = port.get();
  }
  ~LineServerThread() { stop(); }

  int port() const { return port_; }

  // Destroys the connections left, closes the server and joins the thread.
  void stop() {
    if (!thread_.joinable()) return;
    loop_.post([this] {
      for (Socket* socket : std::vector<Socket*>(open_.begin(), open_.end())) socket->destroy();
      server_->close();
      loop_.stop();
    });
    thread_.join();
  }

  // A 1 ms interval on the server's loop that records the longest gap between two of its ticks:
  // how late the loop can be with any timer while the probe runs.
  void startProbe() {
    loop_.post([this] {
      lastTickMs_ = loop_.now();
      probe_ = loop_.setInterval([this] {
        longestTickGapMs_ = std::max(longestTickGapMs_, loop_.now() - lastTickMs_);
        lastTickMs_ = loop_.now();
      }, 1);
    });
  }
  // Returns once the probe has stopped (true), so that what the test does next is not measured.
  bool stopProbe() {
    auto stopped = std::make_shared<std::promise<void>>();
    loop_.post([this, stopped] {
      loop_.clearInterval(probe_);
      stopped->set_value();
    });
    return stopped->get_future().wait_for(10s) == std::future_status::ready;
  }

  // Readable once stop() has returned.
  const std::vector<Reaped>& reaped() const { return reaped_; }
  std::size_t accepted() const { return accepted_; }
  std::uint64_t longestTickGapMs() const { return longestTickGapMs_; }

 private:
  void run(std::promise<int>& listening) {
    reactor::Loop::KeepAlive keepRunning(loop_);  // until stop(), whatever the server does
    ServerOptions options;
    options.noDelay = true;
    server_ = Server::create(loop_, options, [this](std::shared_ptr<Socket> socket) { serve(*socket); });
    server_->listen(0, "127.0.0.1");
    listening.set_value(server_->address().port);
    loop_.run();
    server_.reset();
  }

  void serve(Socket& socket) {
    ++accepted_;
    Socket* raw = &socket;
    open_.insert(raw);
    const int port = socket.remotePort();
    auto lastByteMs = std::make_shared<std::uint64_t>(loop_.now());
    auto line = std::make_shared<std::string>();
    socket.on("data", [this, raw, lastByteMs, line](std::string_view data) {
      *lastByteMs = loop_.now();
      for (char c : data) {
        line->push_back(c);
        if (c == '\n') raw->write(std::exchange(*line, std::string()));
      }
    });
    socket.on("error", [](const Error&) {});
    socket.on("close", [this, raw](bool) { open_.erase(raw); });
    socket.setTimeout(kIdleTimeoutMs, [this, raw, port, lastByteMs] {
      reaped_.push_back({port, loop_.now() - *lastByteMs});
      raw->destroy();
    });
  }

  reactor::Loop loop_;
  std::thread thread_;
  int port_ = 0;
  std::shared_ptr<Server> server_;
  std::unordered_set<Socket*> open_;
  std::vector<Reaped> reaped_;
  std::size_t accepted_ = 0;
  reactor::Timeout probe_;
  std::uint64_t lastTickMs_ = 0;
  std::uint64_t longestTickGapMs_ = 0;
};

// The well-behaved client: `batches` batches of round trips of one short line on a blocking socket
// with TCP_NODELAY; the 99th percentile of each batch, in microseconds. Empty if anything failed.
std::vector<double> roundTripP99s(int port, int batches, int perBatch) {
  const Fd client = withReceiveTimeout(connectBlocking(port));
  const int fd = client.get();
  const int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  std::vector<double> p99s;
  if (fd >= 0) {
    const std::string request = "how are you?\n";
    auto roundTrip = [&]() -> std::optional<double> {
      const auto start = Clock::now();
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return {};
      std::string reply;
      char buffer[64];
      while (reply.size() < request.size()) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) return {};
        reply.append(buffer, static_cast<std::size_t>(n));
      }
      if (reply != request) return {};
      return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    };
    for (int i = 0; i < 50; ++i) roundTrip();  // warm-up: caches, allocator, the server's buffers
    for (int batch = 0; batch < batches; ++batch) {
      std::vector<double> samples;
      for (int i = 0; i < perBatch; ++i) {
        if (auto sample = roundTrip()) samples.push_back(*sample);
      }
      if (samples.size() != static_cast<std::size_t>(perBatch)) {
        p99s.clear();
        break;
      }
      std::sort(samples.begin(), samples.end());
      p99s.push_back(samples[samples.size() * 99 / 100]);
    }
  }
  return p99s;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// One attacking connection on the test's loop: a byte now, then one every kTrickleIntervalMs
// (starting at a random phase, so that 5,000 of them do not send in step); a stopper falls silent
// after `bytesBeforeSilence` bytes.
struct Attacker {
  std::shared_ptr<Socket> socket;
  bool stopper = false;
  int bytesBeforeSilence = 0;
  int sent = 0;
  bool connected = false;
  bool closed = false;
  bool failed = false;
  reactor::Timeout timer;

  void sendByte() {
    if (socket->destroyed()) return;
    socket->write(std::string_view("x"));
    if (stopper && ++sent == bytesBeforeSilence) timer.close();
  }
};

TEST(FaultSlowloris, IdleTimeoutReapsSilentConnectionsOnTimeKeepsTricklingOnesAndServesTheRest) {
  LineServerThread server;
  const int port = server.port();

  std::vector<double> unloaded = roundTripP99s(port, kLatencyBatches, kRoundTripsPerBatch);
  ASSERT_EQ(unloaded.size(), static_cast<std::size_t>(kLatencyBatches)) << "round trips failed without load";

  server.startProbe();
  reactor::Loop loop;
  SplitMix64 random(20240605);
  std::vector<Attacker> attackers(kAttackers);
  for (std::size_t i = 0; i < kAttackers; ++i) {
    Attacker& attacker = attackers[i];
    attacker.stopper = i % 2 == 1;
    attacker.bytesBeforeSilence = 2 + static_cast<int>(random.below(4));
    attacker.socket = Socket::create(loop);
    const auto phaseMs = static_cast<std::int64_t>(random.below(kTrickleIntervalMs));
    attacker.socket->on("connect", [&attacker, &loop, phaseMs] {
      attacker.connected = true;
      attacker.sendByte();
      attacker.timer = loop.setTimeout(
          [&attacker, &loop] {
            attacker.timer = loop.setInterval([&attacker] { attacker.sendByte(); }, kTrickleIntervalMs);
            attacker.sendByte();
          },
          phaseMs);
    });
    attacker.socket->on("error", [&attacker](const Error&) { attacker.failed = true; });
    attacker.socket->on("close", [&attacker](bool) {
      attacker.closed = true;
      attacker.timer.close();
    });
  }
  // However the test ends, no attacker's socket or timer outlives the attacker it points at.
  struct Teardown {
    std::vector<Attacker>& attackers;
    ~Teardown() {
      for (Attacker& attacker : attackers) {
        attacker.timer.close();
        attacker.socket->removeAllListeners();
        attacker.socket->destroy();
      }
    }
  } teardown{attackers};
  for (std::size_t first = 0; first < kAttackers; first += kConnectBatch) {
    for (std::size_t i = first; i < std::min(first + kConnectBatch, kAttackers); ++i) {
      attackers[i].socket->connect(port, "127.0.0.1");
    }
    ASSERT_TRUE(pollUntil(loop, [&] {
      return std::all_of(attackers.begin() + static_cast<std::ptrdiff_t>(first),
                         attackers.begin() + static_cast<std::ptrdiff_t>(std::min(first + kConnectBatch, kAttackers)),
                         [](const Attacker& a) { return a.connected || a.closed; });
    }, 10s)) << "connections did not complete";
  }
  const auto allConnected = Clock::now();

  // Under attack: the round trips run on their own thread while this loop keeps trickling.
  auto loadedRun = std::async(std::launch::async, [port] {
    return roundTripP99s(port, kLatencyBatches, kRoundTripsPerBatch);
  });
  ASSERT_TRUE(pollUntil(loop, [&] { return loadedRun.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
                        30s));
  const std::vector<double> loaded = loadedRun.get();

  // Every stopper is reaped, and the tricklers are watched for at least three timeouts more.
  auto stoppersClosed = [&] {
    return std::all_of(attackers.begin(), attackers.end(), [](const Attacker& a) { return !a.stopper || a.closed; });
  };
  const bool allReaped = pollUntil(loop, stoppersClosed, 10s);
  const auto watchedUntil = allConnected + std::chrono::milliseconds(3 * kIdleTimeoutMs);
  pollUntil(loop, [&] { return Clock::now() >= watchedUntil; }, 5s);
  ASSERT_TRUE(server.stopProbe()) << "the server's loop did not answer";

  std::size_t tricklersClosed = 0, failures = 0;
  for (const Attacker& attacker : attackers) {
    tricklersClosed += !attacker.stopper && attacker.closed;
    failures += attacker.failed;
  }
  for (Attacker& attacker : attackers) {
    attacker.timer.close();
    attacker.socket->destroy();
  }
  pollUntil(loop, [&] { return std::all_of(attackers.begin(), attackers.end(), [](const Attacker& a) { return a.closed; }); },
            10s);
  const std::vector<double> unloadedAfter = roundTripP99s(port, kLatencyBatches, kRoundTripsPerBatch);
  ASSERT_EQ(unloadedAfter.size(), static_cast<std::size_t>(kLatencyBatches)) << "round trips failed after the attack";
  unloaded.insert(unloaded.end(), unloadedAfter.begin(), unloadedAfter.end());
  server.stop();

  EXPECT_TRUE(allReaped) << "some connections that fell silent were not reaped";
  EXPECT_EQ(tricklersClosed, 0u) << "connections still trickling were reaped";
  EXPECT_EQ(failures, 0u);
  EXPECT_EQ(server.accepted(), kAttackers + 3);  // and the three well-behaved connections
  std::uint64_t earliest = UINT64_MAX, latest = 0;
  for (const auto& reaped : server.reaped()) {
    earliest = std::min(earliest, reaped.silentMs);
    latest = std::max(latest, reaped.silentMs);
  }
  EXPECT_EQ(server.reaped().size(), kAttackers / 2);
  EXPECT_GE(earliest, static_cast<std::uint64_t>(kIdleTimeoutMs)) << "reaped before the timeout";
  EXPECT_LE(latest - kIdleTimeoutMs, server.longestTickGapMs()) << "reaped later than the loop's latency explains";

  ASSERT_EQ(loaded.size(), static_cast<std::size_t>(kLatencyBatches)) << "round trips failed under attack";
  const double before = median(unloaded), during = median(loaded);
  std::printf("slowloris: reaped %zu after %llu..%llu ms of silence (longest gap of a 1 ms timer: %llu ms); "
              "round-trip p99 (median of %zu batches of %d): %.0f us alone, %.0f us under attack\n",
              server.reaped().size(), static_cast<unsigned long long>(earliest),
              static_cast<unsigned long long>(latest), static_cast<unsigned long long>(server.longestTickGapMs()),
              loaded.size(), kRoundTripsPerBatch, before, during);
  RecordProperty("p99_unloaded_us", std::to_string(before));
  RecordProperty("p99_loaded_us", std::to_string(during));
  EXPECT_LE(during, std::max(2 * before, kLatencyFloorUs))
      << "p99 of each batch, alone (before, then after the attack): " << ::testing::PrintToString(unloaded)
      << "; under attack: " << ::testing::PrintToString(loaded);
}

}  // namespace
}  // namespace net
