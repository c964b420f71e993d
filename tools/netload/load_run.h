// LoadRun: one run of netload, from the name lookup to the result. It owns the workload of the
// mode and the meter its handlers update, and it alone decides the phases:
//
//   lookup (host names only) -> workload starts (connections open, traffic begins)
//     -> warm-up (--warmup; idle with --server-pid instead waits for the server to settle)
//     -> window (--duration, or until --count, SIGINT, or every connection lost)
//     -> done: the workload closes everything, and run() returns when the loop has nothing left.
//
// The window's edges are snapshots of the meter, this process's CPU time and the server's (with
// --server-pid), on the monotonic clock; the result is their difference. A deadline (unreferenced,
// generous) turns a run that never ends into a failure instead of a hang.
//
// Single-threaded: run() drives the loop it was given, which must not be running.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "reactor/loop.h"
#include "tools/common/signal_watch.h"
#include "tools/netload/options.h"
#include "tools/netload/report.h"
#include "tools/netload/workload.h"

namespace netload {

// The run could not be done (no connection could be made, the name did not resolve, ...).
class RunFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LoadRun final : private RunControl {
 public:
  LoadRun(reactor::Loop& loop, const Options& options);
  ~LoadRun();

  // Runs the whole load on the loop; throws RunFailure when the run could not be done.
  Result run();

 private:
  enum class Phase { kStarting, kWarmup, kSettling, kWindow, kDone };
  struct Snapshot {
    Clock::time_point time;
    std::uint64_t bytes = 0;
    std::uint64_t roundTrips = 0;
    std::uint64_t connects = 0;
    double clientCpuS = 0;
    std::optional<double> serverCpuS;
  };

  Snapshot snapshot() const;
  // `resolved`: the addresses of a host name, looked up once; empty for a numeric host or a path.
  void startWorkload(std::vector<std::string> resolved);
  void startWindow();
  void settleThenStartWindow();
  void finish();
  std::string_view phaseName() const;
  void showProgress();
  void clearProgressLine();
  Result result() const;

  void loadStarted() override;
  void connectionError(std::string_view message) override;
  void countReached() override;
  void allConnectionsLost() override;
  void abort(std::string reason) override;

  reactor::Loop& loop_;
  const Options& options_;
  Meter meter_;
  std::unique_ptr<Workload> workload_;
  tools::SignalWatch signals_;
  Phase phase_ = Phase::kStarting;
  reactor::Timeout phaseTimer_;   // the end of warm-up, then of the window
  reactor::Timeout settleTimer_;  // idle: samples the server while it settles
  reactor::Timeout progressTimer_;
  reactor::Timeout deadline_;
  std::optional<Snapshot> windowStart_;
  std::optional<Snapshot> windowEnd_;
  Snapshot lastProgress_;
  bool progressShown_ = false;
  bool progressOnTerminal_ = false;  // stderr is a terminal: the line is redrawn in place
  bool errorShown_ = false;
  std::optional<std::string> failure_;
  // idle with --server-pid: the server before the first connection, and once all are open.
  std::optional<std::int64_t> rssBefore_;
  std::optional<std::size_t> descriptorsBefore_;
  std::optional<std::int64_t> rssSettled_;
  int settleSamples_ = 0;
  std::size_t idleOpened_ = 0;  // idle: connections open when the window started
  std::optional<std::int64_t> serverRssAtEnd_;
};

}  // namespace netload
