// soak: minutes of mixed load, faults and timers against the echo-server, then a summary; `make soak`
// runs it for ten minutes (not part of CI; SOAK_SECONDS=N for another length).
//
// It starts build/.../bin/echo-server with an idle timeout as a child process and, on one loop of
// its own, runs waves until the time is up. Each wave mixes
//  - clients that stream seeded bytes straight to the server and check every echoed byte
//    (EchoCheckClient), in random sizes from a few bytes to a few hundred KiB;
//  - the same through a ChaosProxy that fragments, delays, coalesces and resets a share of its
//    connections: a reset client must fail cleanly with one 'error', any other must be intact;
//  - silent connections that send nothing: the server's idle timeout must end them, each within
//    the timeout plus a margin for this busy, shared machine.
// Between waves it samples the server's RSS and descriptors. At the end it checks that the server's
// descriptors came back to where they were before the first wave, and prints bytes checked, faults
// injected, errors, peak RSS and descriptor counts. Exit status 0 only when nothing was lost.
//
// The server is a separate process so that its memory and descriptors are measured alone; it is
// stopped by its PID with SIGTERM at the end.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "net/net.h"
#include "reactor/loop.h"
#include "tests/chaos_proxy.h"
#include "tests/child_process.h"
#include "tests/echo_check_client.h"
#include "tools/common/process_stats.h"
#include "tests/splitmix64.h"

namespace {

using namespace reactor::testing_support;
using tools::openDescriptorCount;
using tools::residentSetBytes;
using testing_support::ChildProcess;
using testing_support::siblingBinary;
using SteadyClock = std::chrono::steady_clock;

// Long enough that no client which is still sending is idle that long: the proxied ones share this
// process's loop with the proxy and a hundred others, and at 300 ms a loaded machine (a load
// average of 5 on two cores) had the server end some of them as idle, which the checks count as
// lost bytes although the server did what it was told.
constexpr std::int64_t kIdleTimeoutMs = 1000;
constexpr std::int64_t kReapMarginMs = 1000;  // scheduling noise on a shared machine, not the wheel's
constexpr int kDirectClients = 60;
constexpr int kProxiedClients = 40;
constexpr int kSilentConnections = 50;
constexpr auto kWaveDeadline = std::chrono::seconds(60);

struct Totals {
  std::size_t waves = 0;
  std::size_t bytesChecked = 0;
  std::size_t clients = 0;
  std::size_t faultsInjected = 0;
  std::size_t cleanFailures = 0;
  std::size_t lost = 0;  // clients that neither delivered every byte nor failed cleanly after a reset
  std::size_t silentReaped = 0;
  std::size_t silentLate = 0;
  std::size_t peakRss = 0;
  std::size_t peakDescriptors = 0;
};

// A connection that sends nothing: the server's idle timeout must end it.
struct SilentConnection {
  std::shared_ptr<net::Socket> socket;
  SteadyClock::time_point connectedAt{};
  bool ended = false;
  bool late = false;
};

bool runUntil(reactor::Loop& loop, SteadyClock::time_point deadline, const auto& done) {
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    reactor::Timeout tick = loop.setTimeout([] {}, 10);  // bounds each wait, so the deadline is seen
    loop.runOnce();
    tick.close();
  }
  return true;
}

void runWave(reactor::Loop& loop, int serverPort, ChaosProxy& proxy, SplitMix64& random, Totals& totals) {
  const std::size_t proxiedBefore = proxy.accepted();
  std::vector<std::unique_ptr<EchoCheckClient>> clients;
  std::vector<bool> proxied;
  for (int i = 0; i < kDirectClients + kProxiedClients; ++i) {
    const bool viaProxy = i >= kDirectClients;
    const std::size_t size = std::size_t{1} << (4 + random.below(15));  // 16 B .. 256 KiB
    auto client = std::make_unique<EchoCheckClient>(loop, random.next(), size);
    client->connect(viaProxy ? proxy.port() : serverPort);
    client->start();
    clients.push_back(std::move(client));
    proxied.push_back(viaProxy);
  }
  std::vector<SilentConnection> silent(kSilentConnections);
  for (auto& connection : silent) {
    connection.socket = net::Socket::create(loop);
    SilentConnection* self = &connection;
    connection.socket->on("connect", [self] { self->connectedAt = SteadyClock::now(); });
    connection.socket->on("end", [self] {
      self->ended = true;
      const auto waited = SteadyClock::now() - self->connectedAt;
      self->late = waited > std::chrono::milliseconds(kIdleTimeoutMs + kReapMarginMs);
    });
    connection.socket->on("error", [](const net::Error&) {});
    connection.socket->connect(serverPort, "127.0.0.1");
  }

  const auto deadline = SteadyClock::now() + kWaveDeadline;
  runUntil(loop, deadline, [&] {
    return std::all_of(clients.begin(), clients.end(), [](const auto& c) { return c->closed(); }) &&
           std::all_of(silent.begin(), silent.end(), [](const auto& s) { return s.ended; });
  });

  for (std::size_t i = 0; i < clients.size(); ++i) {
    EchoCheckClient& client = *clients[i];
    ++totals.clients;
    totals.bytesChecked += client.bytesChecked();
    const bool resetByProxy = proxied[i] && proxy.resets(proxiedBefore + (i - kDirectClients));
    if (client.intact()) continue;
    if (resetByProxy && client.failedCleanly()) {
      ++totals.cleanFailures;
      continue;
    }
    ++totals.lost;
    std::fprintf(stderr, "soak: client %zu of wave %zu%s: %s\n", i, totals.waves, proxied[i] ? " (proxied)" : "",
                 client.describe().c_str());
  }
  for (auto& connection : silent) {
    totals.silentReaped += connection.ended;
    totals.silentLate += connection.late;
    if (!connection.ended) ++totals.lost;
    connection.socket->destroy();
  }
  clients.clear();
  runUntil(loop, SteadyClock::now() + std::chrono::seconds(5), [&] { return proxy.open() == 0; });
  totals.faultsInjected = proxy.resetsDone();
  ++totals.waves;
}

void sampleServer(pid_t pid, Totals& totals) {
  totals.peakRss = std::max(totals.peakRss, residentSetBytes(pid).value_or(0));
  totals.peakDescriptors = std::max(totals.peakDescriptors, openDescriptorCount(pid).value_or(0));
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const double seconds = argc > 1 ? std::atof(argv[1]) : 600;
  if (!(seconds > 0)) {
    std::fprintf(stderr, "usage: soak [SECONDS]   (default 600)\n");
    return 2;
  }
  ChildProcess server(siblingBinary("echo-server"), {"--port", "0", "--idle-timeout", std::to_string(kIdleTimeoutMs)});
  const auto line = server.waitForLineStartingWith("listening on ", SteadyClock::now() + std::chrono::seconds(10));
  if (!line) {
    std::fprintf(stderr, "soak: echo-server did not start\n");
    return 1;
  }
  const int port = std::atoi(line->substr(line->rfind(':') + 1).c_str());

  reactor::Loop loop;
  ChaosOptions chaos;
  chaos.upstreamPort = port;
  chaos.seed = 20261125;
  ChaosProxy proxy(loop, chaos);
  SplitMix64 random(7);
  Totals totals;

  const auto end = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
  const std::size_t descriptorsAtStart = openDescriptorCount(server.pid()).value_or(0);
  const bool onTerminal = isatty(STDERR_FILENO);
  while (SteadyClock::now() < end) {
    runWave(loop, port, proxy, random, totals);
    sampleServer(server.pid(), totals);
    if (onTerminal) {
      std::fprintf(stderr, "\rsoak: %zu waves, %.1f MiB checked, %zu faults, %zu lost", totals.waves,
                   static_cast<double>(totals.bytesChecked) / (1 << 20), totals.faultsInjected, totals.lost);
    }
  }
  if (onTerminal) std::fprintf(stderr, "\n");
  // The server closes its last connections as it reads their ends: give it a bounded moment.
  std::size_t descriptorsAtEnd = 0;
  runUntil(loop, SteadyClock::now() + std::chrono::seconds(5), [&] {
    descriptorsAtEnd = openDescriptorCount(server.pid()).value_or(0);
    return descriptorsAtEnd == descriptorsAtStart;
  });
  const std::size_t rssAtEnd = residentSetBytes(server.pid()).value_or(0);
  const bool exitedCleanly = server.exitsCleanlyOnSigterm(SteadyClock::now() + std::chrono::seconds(10));

  const bool descriptorsBack = descriptorsAtEnd == descriptorsAtStart;
  std::printf("soak: %.0f s, %zu waves, %zu clients, %.1f MiB checked in order\n", seconds, totals.waves,
              totals.clients, static_cast<double>(totals.bytesChecked) / (1 << 20));
  std::printf("  faults injected (resets by the proxy): %zu, clients that failed cleanly: %zu\n",
              totals.faultsInjected, totals.cleanFailures);
  std::printf("  silent connections reaped by the idle timeout: %zu (late: %zu)\n", totals.silentReaped,
              totals.silentLate);
  std::printf("  lost (bytes or connections unaccounted for): %zu\n", totals.lost);
  std::printf("  server RSS: peak %zu KiB, at the end %zu KiB\n", totals.peakRss / 1024, rssAtEnd / 1024);
  std::printf("  server descriptors: at the start %zu, peak %zu, at the end %zu%s\n", descriptorsAtStart,
              totals.peakDescriptors, descriptorsAtEnd, descriptorsBack ? "" : " (LEAK)");
  std::printf("  server exit on SIGTERM: %s\n", exitedCleanly ? "clean" : "NOT clean");
  const bool ok = totals.lost == 0 && totals.silentLate == 0 && descriptorsBack && exitedCleanly;
  std::printf("soak: %s\n", ok ? "PASSED" : "FAILED");
  return ok ? 0 : 1;
}
