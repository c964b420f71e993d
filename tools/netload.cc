// netload: the project's load generator, built on its own net library (net::Socket on a
// reactor::Loop), for benchmarking echo servers: ours (tools/echo-server) and the peers of
// bench/peers/ side by side. Modes: pingpong (blocks bouncing on N connections: throughput), rr
// (one request in flight per connection: latency percentiles), cps (connections per second),
// stream (one-way throughput against a discard server) and idle (N open connections: the
// server's memory per connection). It reports over a measured window after a warm-up, with its
// own CPU time and, given the server's PID, the server's CPU time and RSS from /proc.
//
// It must not be the bottleneck against very fast servers, so the steady state allocates nothing
// per message: listeners are created once per connection, and received bytes are written back
// straight from the view the library lends. The command line and the output (one final line,
// JSON with --json) follow a fixed contract that scripts parse; --help prints it.
//
// Exit status: 0 after a run that did work without errors; 1 when the run could not be done
// (nothing to connect to, --mode stream against a server that echoes), when errors occurred, or
// when the window saw no work (the result line is printed in those two cases, and the reason goes
// to stderr); 2 on a bad argument.
#include <sys/resource.h>

#include <cstdio>
#include <optional>
#include <string>

#include "reactor/loop.h"
#include "tools/netload/load_run.h"
#include "tools/netload/options.h"
#include "tools/netload/report.h"

namespace {

// Room beyond the connections themselves: stdio, the loop's poller and wake-up descriptors, the
// signal pipe, files read under /proc.
constexpr rlim_t kSpareDescriptors = 64;

// Raises the soft descriptor limit when the connections need more; false if the hard limit is
// lower.
bool reserveDescriptors(std::size_t connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return true;
  const rlim_t needed = static_cast<rlim_t>(connections) + kSpareDescriptors;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur >= needed) return true;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) return false;
  limit.rlim_cur = needed;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const netload::Options options = netload::parseOptions(argc, argv);
  const std::size_t connections =
      options.mode == netload::Mode::kCps ? options.concurrency : options.connections;
  if (!reserveDescriptors(connections)) {
    std::fprintf(
        stderr,
        "netload: %zu connections need more descriptors than the hard limit allows (ulimit -Hn)\n",
        connections);
    return 1;
  }
  try {
    netload::LoadRun run(reactor::Loop::forThisThread(), options);
    const netload::Result result = run.run();
    const std::string line =
        options.json ? netload::formatJson(result) : netload::formatKeyValues(result);
    std::printf("%s\n", line.c_str());
    if (const std::optional<std::string> failure = netload::failureOf(result)) {
      std::fflush(stdout);
      std::fprintf(stderr, "netload: the run failed: %s\n", failure->c_str());
      return 1;
    }
  } catch (const netload::RunFailure& failure) {
    std::fprintf(stderr, "netload: %s\n", failure.what());
    return 1;
  }
  return 0;
}
