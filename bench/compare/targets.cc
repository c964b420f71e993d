#include "bench/compare/targets.h"

#include <optional>

#include "bench/compare/format.h"

namespace compare {

namespace {

constexpr double kPingpong16kShareOfFloor = 0.95;
constexpr double kPingpong64ShareOfFloor = 0.90;
constexpr double kConnectCpuOverFloor = 1.15;
constexpr double kP99MicrosecondsOverFloor = 5;
constexpr double kIdleBytesPerConnection = 256;
constexpr double kWheelShareOfPlain = 0.98;

// "+6.06", "-1.20"
std::string formatSigned(double value) {
  return (value >= 0 ? "+" : "") + formatValue(value);
}

Verdict judge(bool measured, bool met) {
  return !measured ? Verdict::kNotMeasured : met ? Verdict::kMet : Verdict::kNotMet;
}

// "ours 1234 vs raw 1270 MiB/s"
std::string versus(std::optional<double> ours, const std::string& peer,
                   std::optional<double> theirs, Metric metric) {
  return "ours " + formatValue(ours) + " vs " + peer + " " + formatValue(theirs) + " " +
         std::string(describe(metric).label);
}

class Judge {
 public:
  Judge(const std::vector<Cell>& cells, const Results& results)
      : cells_(cells), results_(results) {}

  std::optional<double> median(std::string_view cellId, const std::string& server,
                               Metric metric) const {
    return results_.median(std::string(cellId), server, metric);
  }

  // ours >= share x floor, for a higher-is-better metric.
  TargetResult shareOfFloor(std::string_view cellId, Metric metric, double share,
                            const std::string& target) const {
    const auto ours = median(cellId, "ours", metric);
    const auto floor = median(cellId, "raw", metric);
    const auto ratio = advantage(metric, ours, floor);
    return {target, formatRatio(ratio) + " (" + versus(ours, "raw", floor, metric) + ")",
            judge(ratio.has_value(), ratio && *ratio >= share)};
  }

  TargetResult connectCpuNearFloor() const {
    const Metric metric = Metric::kServerCpuPerConnection;
    const auto ours = median(kConnectsPerSecond32, "ours", metric);
    const auto floor = median(kConnectsPerSecond32, "raw", metric);
    const std::optional<double> cost = ours && floor ? std::optional(*ours / *floor) : std::nullopt;
    return {"cps: server CPU per connection within " + formatRatio(kConnectCpuOverFloor) +
                " of raw epoll's",
            formatRatio(cost) + " (" + versus(ours, "raw", floor, metric) + ")",
            judge(cost.has_value(), cost && *cost <= kConnectCpuOverFloor)};
  }

  TargetResult connectCpuAheadOfLibraries() const {
    const Metric metric = Metric::kServerCpuPerConnection;
    const auto ours = median(kConnectsPerSecond32, "ours", metric);
    const auto libuv = median(kConnectsPerSecond32, "libuv", metric);
    const auto asio = median(kConnectsPerSecond32, "asio", metric);
    const bool measured = ours && libuv && asio;
    return {"cps: server CPU per connection below libuv's and Asio's",
            "ours " + formatValue(ours) + ", libuv " + formatValue(libuv) + ", Asio " +
                formatValue(asio) + " " + std::string(describe(metric).label),
            judge(measured, measured && *ours < *libuv && *ours < *asio)};
  }

  TargetResult p99NearFloor() const {
    const Metric metric = Metric::kLatencyP99;
    const auto ours = median(kRequestResponse1x64, "ours", metric);
    const auto floor = median(kRequestResponse1x64, "raw", metric);
    const bool measured = ours && floor;
    return {"rr 1 x 64 B: p99 latency within " + formatArgument(kP99MicrosecondsOverFloor) +
                " us of raw epoll's",
            versus(ours, "raw", floor, metric) +
                (measured ? " (ours " + formatSigned(*ours - *floor) + " us)" : ""),
            judge(measured, measured && *ours - *floor <= kP99MicrosecondsOverFloor)};
  }

  TargetResult idleMemory() const {
    const auto ours = median(kIdle, "ours", Metric::kRssPerConnection);
    return {"idle: at most " + formatArgument(kIdleBytesPerConnection) +
                " bytes of server memory per idle connection",
            formatValue(ours) + " bytes",
            judge(ours.has_value(), ours && *ours <= kIdleBytesPerConnection)};
  }

  TargetResult wheelCost() const {
    const Metric metric = Metric::kMibPerSecond;
    const auto with = median(kWheel, "ours+timeout", metric);
    const auto without = median(kWheel, "ours", metric);
    const auto ratio = advantage(metric, with, without);
    return {
        "wheel: with setTimeout at least " + formatRatio(kWheelShareOfPlain) + " of without",
        formatRatio(ratio) + " (" + formatValue(with) + " vs " + formatValue(without) + " MiB/s)",
        judge(ratio.has_value(), ratio && *ratio >= kWheelShareOfPlain)};
  }

  // Ahead of `peer` by every peer cell's primary metric.
  TargetResult aheadInEveryCell(const std::string& peer, const std::string& title) const {
    std::string behind;
    std::string missing;
    int measured = 0;
    for (const Cell& cell : cells_) {
      if (cell.wheel) continue;
      const Metric metric = cell.metrics.front();
      const auto ratio =
          advantage(metric, median(cell.id, "ours", metric), median(cell.id, peer, metric));
      if (!ratio) {
        missing += (missing.empty() ? "" : ", ") + cell.id;
        continue;
      }
      ++measured;
      if (*ratio <= 1) behind += (behind.empty() ? "" : ", ") + cell.id + " " + formatRatio(ratio);
    }
    const std::string target = "ahead of " + title + " in every cell";
    if (!behind.empty()) return {target, "behind in " + behind, Verdict::kNotMet};
    if (measured == 0) return {target, "no cell measured", Verdict::kNotMeasured};
    if (!missing.empty()) return {target, "not measured in " + missing, Verdict::kNotMeasured};
    return {target, "ahead in all cells", Verdict::kMet};
  }

 private:
  const std::vector<Cell>& cells_;
  const Results& results_;
};

}  // namespace

std::string_view verdictText(Verdict verdict) {
  switch (verdict) {
    case Verdict::kMet:
      return "met";
    case Verdict::kNotMet:
      return "not met";
    case Verdict::kNotMeasured:
      return "not measured";
  }
  return "";
}

std::vector<TargetResult> evaluateTargets(const std::vector<Cell>& cells, const Results& results) {
  const Judge judge(cells, results);
  return {
      judge.shareOfFloor(kPingpong100x16k, Metric::kMibPerSecond, kPingpong16kShareOfFloor,
                         "pingpong 100 x 16 KiB: at least " +
                             formatRatio(kPingpong16kShareOfFloor) + " of raw epoll"),
      judge.shareOfFloor(kPingpong1000x16k, Metric::kMibPerSecond, kPingpong16kShareOfFloor,
                         "pingpong 1000 x 16 KiB: at least " +
                             formatRatio(kPingpong16kShareOfFloor) + " of raw epoll"),
      judge.shareOfFloor(kPingpong100x64, Metric::kMessagesPerSecond, kPingpong64ShareOfFloor,
                         "pingpong 100 x 64 B: at least " + formatRatio(kPingpong64ShareOfFloor) +
                             " of raw epoll"),
      judge.connectCpuNearFloor(),
      judge.connectCpuAheadOfLibraries(),
      judge.p99NearFloor(),
      judge.idleMemory(),
      judge.wheelCost(),
      judge.aheadInEveryCell("libuv", "libuv"),
      judge.aheadInEveryCell("asio", "Asio"),
      judge.aheadInEveryCell("node", "Node.js"),
  };
}

}  // namespace compare
