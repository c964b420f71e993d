// What a workload (the traffic of one mode) and the run that drives it share.
//
// Meter holds the counters the traffic handlers bump on every event, as plain fields: those
// handlers are netload's hot path, and the run reads the counters only at the window's edges and
// once a second for the progress line. --count is one threshold on the mode's own counter, so the
// check per event is a single comparison.
//
// RunControl is how a workload tells the run about the rare events: the load has begun, an error,
// the count reached, every connection lost, or a run that cannot go on. A workload may call it
// from inside any socket listener; the run may stop the workload (and so destroy the socket whose
// listener is running) from inside that call, which the net library allows.
//
// Threading: everything belongs to the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/netload/latency_histogram.h"

namespace netload {

using Clock = std::chrono::steady_clock;

struct Meter {
  std::uint64_t bytes = 0;       // received (pingpong, rr, cps) or handed to write() (stream)
  std::uint64_t roundTrips = 0;  // rr
  std::uint64_t connects = 0;    // cps: connections that got their byte back
  std::uint64_t errors = 0;
  // --count on the mode's counter (pingpong, stream: bytes; rr: roundTrips; cps: connects).
  std::uint64_t countLimit = UINT64_MAX;
  bool inWindow = false;  // latency samples are kept only inside the measured window
  LatencyHistogram latency;
};

class RunControl {
 public:
  // The connections are open and the traffic has begun (warm-up starts now).
  virtual void loadStarted() = 0;
  // Counts an error; the first one is printed.
  virtual void connectionError(std::string_view message) = 0;
  virtual void countReached() = 0;
  virtual void allConnectionsLost() = 0;
  // The run cannot be done (no connection could be made): it ends with status 1.
  virtual void abort(std::string reason) = 0;

 protected:
  ~RunControl() = default;
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Opens what the mode needs and starts the traffic; then calls RunControl::loadStarted().
  virtual void start() = 0;
  // Closes every connection at once; no listener acts on anything after this.
  virtual void stop() = 0;
  // Connections open now (idle divides the server's memory by this).
  virtual std::size_t openConnections() const = 0;
};

}  // namespace netload
