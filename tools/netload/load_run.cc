#include "tools/netload/load_run.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "net/resolver.h"
#include "tools/common/process_stats.h"
#include "tools/netload/connection_churn.h"
#include "tools/netload/persistent_connections.h"

namespace netload {

namespace {

constexpr std::int64_t kProgressIntervalMs = 1000;
constexpr std::int64_t kSettleSampleMs = 50;
constexpr int kSettleMaxSamples = 60;  // idle waits at most 3 s for the server to settle
constexpr std::int64_t kDeadlineSlackMs = 30'000;  // opening, settling and closing, beyond the load

std::int64_t milliseconds(double seconds) {
  return std::llround(seconds * 1000);
}

std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// Signed, so that a server that gave memory back reports a negative difference, not a huge one.
std::optional<std::int64_t> residentSetBytes(int pid) {
  const auto bytes = tools::residentSetBytes(pid);
  if (!bytes) return std::nullopt;
  return static_cast<std::int64_t>(*bytes);
}

double microseconds(std::uint64_t nanoseconds) {
  return static_cast<double>(nanoseconds) / 1000;
}

}  // namespace

LoadRun::LoadRun(reactor::Loop& loop, const Options& options)
    : loop_(loop), options_(options), signals_(loop, [this] { finish(); }) {}

LoadRun::~LoadRun() = default;

Result LoadRun::run() {
  if (options_.serverPid && options_.mode == Mode::kIdle) {
    rssBefore_ = residentSetBytes(*options_.serverPid);
    descriptorsBefore_ = tools::openDescriptorCount(*options_.serverPid);
  }
  deadline_ = loop_.setTimeout(
      [this] {
        abort("the run did not finish in time");
        loop_.stop();
      },
      milliseconds(options_.warmupS + options_.durationS) + kDeadlineSlackMs);
  deadline_.unref();
  progressOnTerminal_ = isatty(STDERR_FILENO) != 0;
  if ((progressOnTerminal_ && !options_.quiet) || options_.progress) {
    lastProgress_ = snapshot();
    progressTimer_ = loop_.setInterval([this] { showProgress(); }, kProgressIntervalMs);
    progressTimer_.unref();
  }
  if (options_.path.empty() && net::isIP(options_.host) == 0) {
    // Looked up once, so that cps does not ask the resolver for every connection; each connection
    // still tries the addresses in turn, as Node's client does.
    net::lookup(loop_, options_.host, 0, [this](const net::LookupResult& found) {
      if (phase_ == Phase::kDone) return;
      if (!found.errorCode.empty()) {
        abort(net::Error::fromLookup(found.errorCode, options_.host).what());
        return;
      }
      std::vector<std::string> addresses;
      for (const net::SocketAddress& address : found.addresses)
        addresses.push_back(address.info().address);
      startWorkload(std::move(addresses));
    });
  } else {
    startWorkload({});
  }
  loop_.run();
  if (failure_) throw RunFailure(*failure_);
  return result();
}

void LoadRun::startWorkload(std::vector<std::string> resolved) {
  net::ConnectOptions target;
  target.noDelay = true;  // every benchmark peer sets TCP_NODELAY too
  if (options_.path.empty()) {
    target.host = options_.host;
    target.port = options_.port;
    if (!resolved.empty()) {
      target.lookup = [resolved = std::move(resolved)](const std::string&, int, auto done) {
        done(nullptr, resolved);
      };
    }
  } else {
    target.path = options_.path;
  }
  RunControl& control = *this;
  if (options_.mode == Mode::kCps) {
    workload_ =
        std::make_unique<ConnectionChurn>(loop_, options_.concurrency, target, meter_, control);
  } else {
    workload_ = std::make_unique<PersistentConnections>(loop_, options_, target, meter_, control);
  }
  workload_->start();
}

void LoadRun::loadStarted() {
  if (phase_ != Phase::kStarting) return;
  if (options_.mode == Mode::kIdle) {
    settleThenStartWindow();
  } else if (options_.warmupS > 0) {
    phase_ = Phase::kWarmup;
    phaseTimer_ = loop_.setTimeout([this] { startWindow(); }, milliseconds(options_.warmupS));
  } else {
    startWindow();
  }
}

// The server may still be accepting (the kernel completes connections before the server sees
// them) and allocating: wait until its descriptors show every connection and its RSS stopped
// moving between two samples, within a bound.
void LoadRun::settleThenStartWindow() {
  if (!options_.serverPid) {
    startWindow();
    return;
  }
  phase_ = Phase::kSettling;
  settleTimer_ = loop_.setInterval(
      [this] {
        const int pid = *options_.serverPid;
        const auto descriptors = tools::openDescriptorCount(pid);
        const bool accepted = !descriptors || !descriptorsBefore_ ||
                              *descriptors >= *descriptorsBefore_ + workload_->openConnections();
        const auto rss = residentSetBytes(pid);
        const bool steady = rss && rssSettled_ == rss;
        rssSettled_ = rss;
        if ((accepted && steady) || ++settleSamples_ >= kSettleMaxSamples) {
          settleTimer_.close();
          startWindow();
        }
      },
      kSettleSampleMs);
}

void LoadRun::startWindow() {
  phase_ = Phase::kWindow;
  windowStart_ = snapshot();
  idleOpened_ = workload_->openConnections();
  meter_.inWindow = true;
  if (options_.count) {
    const std::uint64_t count = *options_.count;
    switch (options_.mode) {
      case Mode::kPingpong:  // messages of `size` bytes, counted as bytes received
        meter_.countLimit = saturatingAdd(
            meter_.bytes, count > UINT64_MAX / options_.size ? UINT64_MAX : count * options_.size);
        break;
      case Mode::kStream:
        meter_.countLimit = saturatingAdd(meter_.bytes, count);
        break;
      case Mode::kRr:
        meter_.countLimit = saturatingAdd(meter_.roundTrips, count);
        break;
      case Mode::kCps:
        meter_.countLimit = saturatingAdd(meter_.connects, count);
        break;
      case Mode::kIdle:
        break;
    }
  }
  phaseTimer_ = loop_.setTimeout([this] { finish(); }, milliseconds(options_.durationS));
}

void LoadRun::finish() {
  if (phase_ == Phase::kDone) return;
  if (phase_ == Phase::kWindow) {
    windowEnd_ = snapshot();
    if (options_.serverPid) serverRssAtEnd_ = residentSetBytes(*options_.serverPid);
  }
  phase_ = Phase::kDone;
  meter_.inWindow = false;
  phaseTimer_.close();
  settleTimer_.close();
  progressTimer_.close();
  deadline_.close();
  signals_.stop();
  clearProgressLine();
  if (workload_) workload_->stop();
}

LoadRun::Snapshot LoadRun::snapshot() const {
  Snapshot s;
  s.time = Clock::now();
  s.bytes = meter_.bytes;
  s.roundTrips = meter_.roundTrips;
  s.connects = meter_.connects;
  s.clientCpuS = tools::cpuSeconds().value_or(0);
  if (options_.serverPid) s.serverCpuS = tools::cpuSeconds(*options_.serverPid);
  return s;
}

void LoadRun::connectionError(std::string_view message) {
  ++meter_.errors;
  if (errorShown_) return;
  errorShown_ = true;
  clearProgressLine();
  std::fprintf(stderr, "netload: %.*s (only the first error is shown; all are counted)\n",
               static_cast<int>(message.size()), message.data());
}

void LoadRun::countReached() {
  finish();
}

void LoadRun::allConnectionsLost() {
  finish();
}

void LoadRun::abort(std::string reason) {
  failure_ = std::move(reason);
  finish();
}

std::string_view LoadRun::phaseName() const {
  switch (phase_) {
    case Phase::kStarting:
      return "starting";
    case Phase::kWarmup:
      return "warm-up";
    case Phase::kSettling:
      return "settling";
    case Phase::kWindow:
      return "window";
    case Phase::kDone:
      break;
  }
  return "done";
}

void LoadRun::showProgress() {
  const Snapshot now = snapshot();
  const double seconds = std::chrono::duration<double>(now.time - lastProgress_.time).count();
  const double bytes = static_cast<double>(now.bytes - lastProgress_.bytes);
  double messages = bytes / static_cast<double>(options_.size);
  if (options_.mode == Mode::kRr)
    messages = static_cast<double>(now.roundTrips - lastProgress_.roundTrips);
  if (options_.mode == Mode::kCps)
    messages = static_cast<double>(now.connects - lastProgress_.connects);
  std::string open;
  if (options_.mode != Mode::kCps && workload_)
    open = std::to_string(workload_->openConnections()) + " open, ";
  // On a terminal the line is redrawn in place; elsewhere (--progress in a CI log) one line each.
  std::fprintf(stderr, "%snetload %s, %s: %.0f %s/s, %.1f MiB/s, %s%llu errors%s",
               progressOnTerminal_ ? "\r" : "", modeName(options_.mode).data(), phaseName().data(),
               messages / seconds, options_.mode == Mode::kCps ? "conn" : "msg",
               bytes / (1 << 20) / seconds, open.c_str(),
               static_cast<unsigned long long>(meter_.errors),
               progressOnTerminal_ ? "\033[K" : "\n");
  if (!progressOnTerminal_) std::fflush(stderr);
  progressShown_ = progressOnTerminal_;
  lastProgress_ = now;
}

void LoadRun::clearProgressLine() {
  if (!progressShown_) return;
  std::fputs("\r\033[K", stderr);
  progressShown_ = false;
}

Result LoadRun::result() const {
  Result r;
  r.mode = modeName(options_.mode);
  r.connections = options_.mode == Mode::kCps ? options_.concurrency : options_.connections;
  r.errors = meter_.errors;
  const Snapshot start = windowStart_.value_or(Snapshot{});
  const Snapshot end = windowEnd_.value_or(start);
  r.durationS = std::chrono::duration<double>(end.time - start.time).count();
  r.clientCpuS = end.clientCpuS - start.clientCpuS;
  if (start.serverCpuS && end.serverCpuS) r.serverCpuS = *end.serverCpuS - *start.serverCpuS;
  r.serverRssBytes = serverRssAtEnd_;
  const std::uint64_t bytes = end.bytes - start.bytes;
  switch (options_.mode) {
    case Mode::kPingpong:
    case Mode::kStream:
      r.size = options_.size;
      r.messages = bytes / options_.size;
      r.bytes = bytes;
      break;
    case Mode::kRr:
      r.size = options_.size;
      r.messages = end.roundTrips - start.roundTrips;
      r.bytes = bytes;
      if (meter_.latency.count() > 0) {
        const LatencyHistogram& h = meter_.latency;
        r.latency = LatencySummary{microseconds(h.quantile(0.5)), microseconds(h.quantile(0.9)),
                                   microseconds(h.quantile(0.99)), microseconds(h.quantile(0.999)),
                                   microseconds(h.max())};
      }
      break;
    case Mode::kCps:
      r.bytes = bytes;
      r.connects = end.connects - start.connects;
      break;
    case Mode::kIdle:
      r.connects = idleOpened_;
      r.connectsRate = false;
      if (rssBefore_ && rssSettled_ && idleOpened_ > 0) {
        r.serverRssBeforeBytes = rssBefore_;
        r.serverRssPerConnectionBytes =
            (*rssSettled_ - *rssBefore_) / static_cast<std::int64_t>(idleOpened_);
      }
      break;
  }
  return r;
}

}  // namespace netload
