// The cells of the comparison (issue 4): one load shape each, given to netload, and the metrics
// read from netload's result for it.
//
// A metric is either "higher is better" (throughput) or "lower is better" (latency, server CPU
// per unit of work, memory per connection); the first metric of a cell is its primary one, the
// one by which "ahead of a peer in every cell" is judged. Cell ids are stable: results.json,
// the chart and the targets refer to cells by id.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/compare/json_fields.h"

namespace compare {

enum class Metric {
  kMibPerSecond,
  kMessagesPerSecond,
  kLatencyP50,
  kLatencyP99,
  kConnectsPerSecond,
  kServerCpuPerMib,
  kServerCpuPerConnection,
  kRssPerConnection,
};

struct MetricInfo {
  std::string_view label;     // in results.md
  std::string_view jsonName;  // in results.json
  bool higherIsBetter;
};

const MetricInfo& describe(Metric metric);
// The metric computed from one netload result; nullopt when a field it needs is missing or zero.
std::optional<double> metricValue(Metric metric, const Fields& netload);

struct Cell {
  std::string id;
  std::string title;
  std::vector<std::string>
      loadArguments;  // netload's --mode and shape; port, timing and pid come from the runner
  bool warmsUp;       // idle has no warm-up: its window is the time connections are held
  std::vector<Metric> metrics;  // the first is the primary metric
  bool wheel = false;           // contenders are ours and ours+timeout instead of the peers
};

inline constexpr std::string_view kPingpong1x16k = "pingpong-1x16k";
inline constexpr std::string_view kPingpong100x16k = "pingpong-100x16k";
inline constexpr std::string_view kPingpong1000x16k = "pingpong-1000x16k";
inline constexpr std::string_view kPingpong100x64 = "pingpong-100x64";
inline constexpr std::string_view kRequestResponse1x64 = "rr-1x64";
inline constexpr std::string_view kConnectsPerSecond32 = "cps-32";
inline constexpr std::string_view kIdle = "idle";
inline constexpr std::string_view kWheel = "wheel";

// The pingpong 16 KiB cells by connection count: the throughput chart's curve.
struct CurvePoint {
  int connections;
  std::string_view cellId;
};
inline constexpr CurvePoint kThroughputCurve[] = {
    {1, kPingpong1x16k}, {100, kPingpong100x16k}, {1000, kPingpong1000x16k}};

// Every cell of issue 4, in report order; the idle cell opens `idleConnections` connections.
std::vector<Cell> issueCells(int idleConnections);

}  // namespace compare
